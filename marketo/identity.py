"""Asking Marketo's Identity service for an access token."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from .backoff import RetryPolicy
from .credentials import MarketoCredentials
from .errors import InvalidCredentials, MarketoError, MarketoUnreachable
from .models import AccessToken
from .transport import INSTANCE_EXTENSION


async def request_token(
    http: httpx.AsyncClient,
    credentials: MarketoCredentials,
    *,
    retry: RetryPolicy,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    rng: random.Random | None = None,
) -> AccessToken:
    """One token from Identity, retrying only what can get better by retrying."""
    url = f"{credentials.identity_endpoint}/oauth/token"
    # Adobe documents the three parameters in the query string of a GET (httpx's log of the URL is
    # kept free of the secret below).
    params = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret.reveal(),
    }
    last: MarketoError | None = None
    for attempt in range(1, retry.max_attempts + 1):
        if attempt > 1:
            await sleep(retry.delay(attempt - 1, rng))
        sent_at = clock()
        try:
            response = await http.get(
                url,
                params=params,
                headers={"Accept": "application/json"},
                extensions={INSTANCE_EXTENSION: credentials.instance_key},
            )
        except httpx.TimeoutException:
            last = MarketoUnreachable("timeout", "Marketo Identity did not answer in time", retryable=True)
            continue
        except httpx.TransportError as exc:
            last = MarketoUnreachable(
                "connection", f"Could not connect to Marketo Identity ({type(exc).__name__})", retryable=True
            )
            continue
        body = _json_or_none(response)
        if response.status_code in (400, 401, 403) or (body and "error" in body and "access_token" not in body):
            description = (body or {}).get("error_description") or (body or {}).get("error") or "rejected"
            raise InvalidCredentials(
                str((body or {}).get("error") or response.status_code),
                f"Marketo Identity refused the credentials: {description}",
            )
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            # No Identity service there (404, 405…): waiting will not make one appear.
            raise MarketoUnreachable(
                str(response.status_code),
                f"Marketo Identity answered HTTP {response.status_code}: check the identity endpoint",
                retryable=False,
            )
        if response.status_code >= 500 or body is None or "access_token" not in body:
            last = MarketoUnreachable(
                str(response.status_code), f"Marketo Identity answered HTTP {response.status_code}", retryable=True
            )
            continue
        return AccessToken(
            value=str(body["access_token"]),
            expires_in=int(body.get("expires_in") or 0),
            scope=body.get("scope"),
            obtained_at=sent_at,
        )
    assert last is not None
    raise last


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


_SECRET_IN_URL = re.compile(r"(client_secret=)[^&\s\"']+")


class _SecretsOutOfLogs(logging.Filter):
    """httpx logs every request's URL at INFO; an Identity URL carries the client secret, which no log may."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "client_secret=" in message:
            record.msg, record.args = _SECRET_IN_URL.sub(r"\1[hidden]", message), ()
        return True


def _keep_secrets_out_of(logger: logging.Logger) -> None:
    if not any(isinstance(existing, _SecretsOutOfLogs) for existing in logger.filters):
        logger.addFilter(_SecretsOutOfLogs())


_keep_secrets_out_of(logging.getLogger("httpx"))
