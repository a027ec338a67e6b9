"""Sending one REST call to an instance: a token, a place within the limits, retries."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import msgspec

from .backoff import RetryPolicy
from .deadlines import ASSET_TIMEOUT, current_deadline, time_left, within
from .errors import (
    CONCURRENCY_LIMIT_CODE,
    NOT_PROCESSED_CODES,
    RATE_LIMIT_CODE,
    TOKEN_CODES,
    MarketoError,
    MarketoUnreachable,
    OutcomeUnknown,
    RateLimited,
    error_for,
)
from .limits import InstanceLimiter, Priority
from .observer import CallObserver, NoObserver
from .records import Envelope, envelope_decoder
from .tokens import TokenCache
from .transport import INSTANCE_EXTENSION


class RestCaller:
    def __init__(
        self,
        http: httpx.AsyncClient,
        rest_endpoint: str,
        tokens: TokenCache,
        limiter: InstanceLimiter,
        *,
        instance: str,
        label: str | None = None,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random | None = None,
        observer: CallObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: httpx.Timeout | float = ASSET_TIMEOUT,
        priority: Priority = Priority.INTERACTIVE,
    ) -> None:
        self.priority = priority
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._label = label or instance  # what the observer is told
        self._observer = observer or NoObserver()
        self._clock = clock
        self._extensions = {INSTANCE_EXTENSION: instance}
        self._http = http
        self._base = rest_endpoint
        self._tokens = tokens
        self._limiter = limiter
        self._retry = retry
        self._sleep = sleep
        self._rng = rng

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        form: dict[str, Any] | None = None,
        records: type = dict,
    ) -> Envelope[Any]:
        """The envelope of a successful call, its ``result`` decoded as ``records`` (see records.py),
        or a MarketoError once retrying is pointless.

        Reads are retried after any transient failure. A change (any POST) is sent again only when
        Marketo surely did not make it; otherwise the failure is an OutcomeUnknown for the caller
        to reconcile, since repeating a clone or a create that was done fails ("name in use").
        Within a caller's deadline (deadlines.deadline), nothing waits or is retried past it.
        """
        url = f"{self._base}/{path.lstrip('/')}"
        changes = method.upper() != "GET"
        decoder = envelope_decoder(records)
        ends = current_deadline()
        token_replayed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                async with AsyncExitStack() as held:
                    async with asyncio.timeout_at(ends):  # waiting for a token and a place: never past the deadline
                        # Taken before queueing, so a renewal is waited for without holding a place in flight...
                        await self._tokens.get()
                        asked = self._clock()
                        await held.enter_async_context(self._limiter.slot(self.priority))
                        waited = self._clock() - asked
                        if waited > 0.001:
                            self._observer.throttled(self._label, waited)
                        # ...and again once the call may go: it may have queued past that token's end.
                        token = await self._tokens.get()
                    response = await self._http.request(
                        method,
                        url,
                        params=_clean(params),
                        data=_clean(form),
                        headers={"Authorization": f"Bearer {token.value}", "Accept": "application/json"},
                        extensions=self._extensions,
                        timeout=within(self._timeout, time_left(ends)),
                    )
                body, error = _read(response, decoder)
                maybe_done = error is not None and error.code not in NOT_PROCESSED_CODES
            except TimeoutError:  # the deadline passed before the call could be sent: nothing was
                raise MarketoUnreachable(
                    "timeout", "Marketo could not be asked within the deadline of this request", retryable=True
                ) from None
            except httpx.TimeoutException as exc:
                error = MarketoUnreachable("timeout", "Marketo did not answer in time", retryable=True)
                maybe_done = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            except httpx.TransportError as exc:
                error = MarketoUnreachable(
                    "connection", f"The connection to Marketo failed ({type(exc).__name__})", retryable=True
                )
                maybe_done = not isinstance(exc, httpx.ConnectError)  # refused or unreachable: nothing was sent
            self._observer.call_finished(self._label, "ok" if error is None else error.code)
            if error is None:
                return body

            if error.code in TOKEN_CODES and not token_replayed:
                # Replay once with a new token; never drop a newer token another call fetched.
                self._tokens.invalidate(token)
                token_replayed = True
                attempt -= 1
                continue
            if not error.retryable:
                raise error
            if changes and maybe_done:
                raise OutcomeUnknown(error.code, f"{error.message}; Marketo may have made the change", retryable=True)
            delay = 0.0 if error.code == RATE_LIMIT_CODE else self._retry.delay(attempt, self._rng)
            left = time_left(ends)
            if attempt >= self._retry.max_attempts or (left is not None and left <= delay):
                if error.code in (RATE_LIMIT_CODE, CONCURRENCY_LIMIT_CODE):
                    raise RateLimited(error.code, error.message, retryable=True)
                if isinstance(error, MarketoUnreachable):
                    raise error
                raise MarketoUnreachable(error.code, error.message, retryable=True)
            if error.code == RATE_LIMIT_CODE:
                # Others spent the instance's window: hold every call to it for a window.
                self._limiter.pause_window()
                continue
            await self._sleep(delay)


_NOTHING: Envelope[Any] = Envelope()


def _read(
    response: httpx.Response, decoder: msgspec.json.Decoder[Envelope[Any]]
) -> tuple[Envelope[Any], MarketoError | None]:
    """The envelope, and the error it carries if any (Marketo reports most errors with HTTP 200)."""
    if response.status_code != 200:
        message = f"Marketo answered HTTP {response.status_code}"
        # Marketo answers its own failures with HTTP 200 (611): a 5xx comes from its edge, and passes.
        if response.status_code in (500, 502, 503, 504):
            return _NOTHING, MarketoUnreachable(str(response.status_code), message, retryable=True)
        return _NOTHING, MarketoError(str(response.status_code), message)
    try:
        body = decoder.decode(response.content)
    except msgspec.ValidationError:
        return _NOTHING, MarketoUnreachable("invalid-json", "Marketo answered with an unexpected body", retryable=True)
    except msgspec.DecodeError:
        return _NOTHING, MarketoUnreachable(
            "invalid-json", "Marketo answered with a body that is not JSON", retryable=True
        )
    if body.success is False:
        first = (body.errors or [{}])[0]
        return body, error_for(str(first.get("code", "unknown")), str(first.get("message", "")))
    return body, None


def _clean(values: dict[str, Any] | None) -> dict[str, str] | None:
    if not values:
        return None
    return {key: str(value) for key, value in values.items() if value is not None}
