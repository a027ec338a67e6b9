"""Bearer tokens: HS256 development tokens, and RS256 tokens of the identity provider checked against its JWKS."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from domain.models import Role
from domain.viewer import Viewer
from jeto.settings import Settings
from resolvers import sql

log = logging.getLogger("jeto.auth")

JWKS_REFRESH_SECONDS = 300
JWKS_MIN_REFETCH_SECONDS = 30  # an unknown key id refetches the JWKS, but not more often than this


class AuthenticationFailed(Exception):
    """The token is missing, invalid, expired, or names no user."""


def issue_development_token(settings: Settings, email: str, ttl_seconds: int = 3600) -> str:
    now = datetime.now(UTC)
    claims = {"sub": email.lower(), "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return jwt.encode(claims, settings.jwt_secret.reveal(), algorithm="HS256")


def bearer_token(header: str | None) -> str:
    if not header:
        raise AuthenticationFailed("Sign in: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("The Authorization header must read 'Bearer <token>'.")
    return token.strip()


class _JwksCache:
    def __init__(self, url: str, http: httpx.AsyncClient, clock: Callable[[], float]) -> None:
        self._url = url
        self._http = http
        self._clock = clock
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        key = self._find(kid)
        stale = self._clock() - self._fetched_at > JWKS_REFRESH_SECONDS
        if key is None or stale:
            await self._refresh(force=key is None)
            key = self._find(kid)
        if key is None:
            raise AuthenticationFailed("The token was signed with an unknown key.")
        return key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if self._keys is None:
            return None
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key
        return None

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            age = self._clock() - self._fetched_at
            if self._keys is not None and (
                age < JWKS_MIN_REFETCH_SECONDS or (not force and age < JWKS_REFRESH_SECONDS)
            ):
                return
            try:
                response = await self._http.get(self._url, timeout=10)
                response.raise_for_status()
                self._keys = jwt.PyJWKSet.from_dict(response.json())
                self._fetched_at = self._clock()
            except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
                log.warning("could not fetch the JWKS from %s: %s", self._url, type(error).__name__)
                if self._keys is None:
                    raise AuthenticationFailed("The identity provider's keys are unavailable; try again.") from None


# The signed-in user and their account in one statement: the account's root field then reads nothing more.
_SIGN_IN = (
    "SELECT u.id, u.account_id, u.role, a.name, a.plan_name, a.plan_limits"
    " FROM app_user u JOIN account a ON a.id = u.account_id WHERE u.{column} = ?"
)


@dataclass(frozen=True)
class SignedIn:
    viewer: Viewer
    account_row: tuple[Any, ...]  # id, name, plan_name, plan_limits, as read with the user


class Authenticator:
    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._jwks = _JwksCache(settings.jwks_url, http, clock) if settings.jwks_url else None
        self._accept_hs256 = settings.accepts_development_tokens

    async def viewer(self, authorization: str | None) -> Viewer:
        return (await self.sign_in(authorization)).viewer

    async def sign_in(self, authorization: str | None) -> SignedIn:
        column, value = await self._subject(bearer_token(authorization))
        found = await sql.rows(_SIGN_IN.format(column=column), [value])
        if not found:
            raise AuthenticationFailed("The token names no user of Jeto.")
        user_id, account_id, role, *account = found[0]
        return SignedIn(Viewer(user_id=user_id, account_id=account_id, role=Role(role)), (account_id, *account))

    async def _subject(self, token: str) -> tuple[str, str]:
        """The user column the token's verified subject names, and its value."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationFailed("The token is malformed.") from None
        algorithm = header.get("alg")
        try:
            if algorithm == "HS256" and self._accept_hs256:
                claims = jwt.decode(
                    token, self._settings.jwt_secret.reveal(), algorithms=["HS256"], options={"require": ["sub", "exp"]}
                )
                return "email", str(claims["sub"]).lower()
            elif algorithm == "RS256" and self._jwks is not None:
                key = await self._jwks.key(header.get("kid"))
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=["RS256"],
                    audience=self._settings.jwt_audience,
                    issuer=self._settings.jwt_issuer,
                    options={"require": ["sub", "aud", "exp"]},
                )
                # The identity provider's subject only: an email-shaped subject must not name a user by email.
                return "idp_subject", str(claims["sub"])
            else:
                raise AuthenticationFailed("The token's signing algorithm is not accepted.")
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("The token has expired; sign in again.") from None
        except jwt.PyJWTError:
            raise AuthenticationFailed("The token is invalid.") from None
