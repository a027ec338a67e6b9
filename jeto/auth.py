"""Bearer tokens: HS256 development tokens, RS256 tokens of the identity provider checked against its JWKS, and
API keys (domain/api_keys.py), each read with its account in one statement."""

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

from domain import api_keys
from domain.models import ApiKeyScope, Role
from domain.viewer import Viewer
from jeto.observability import request_id
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


# An API key and its account in one statement too: a key-authenticated dashboard reads no more than a user's.
_KEY_SIGN_IN = (
    "SELECT k.id, k.account_id, k.created_by_id, k.scope, k.expires_at, k.revoked_at, k.last_used_at,"
    " a.name, a.plan_name, a.plan_limits FROM api_key k JOIN account a ON a.id = k.account_id WHERE k.secret_hash = ?"
)


@dataclass(frozen=True)
class SignedIn:
    viewer: Viewer
    account_row: tuple[Any, ...]  # id, name, plan_name, plan_limits, as read with the user
    key_expires_at: datetime | None = None  # an API key's expiry: its websockets close then


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
        token = bearer_token(authorization)
        if api_keys.looks_like_key(token):
            return await self._key(token)
        column, value = await self._subject(token)
        found = await sql.rows(_SIGN_IN.format(column=column), [value])
        if not found:
            raise AuthenticationFailed("The token names no user of Jeto.")
        user_id, account_id, role, *account = found[0]
        viewer = Viewer(user_id=user_id, account_id=account_id, role=Role(role), request_id=request_id.get())
        return SignedIn(viewer, (account_id, *account))

    async def _key(self, key: str) -> SignedIn:
        """An API key: for its account, seeing as an admin does, writing only if its scope allows."""
        if not api_keys.well_formed(key):
            raise AuthenticationFailed("The API key is malformed: send it exactly as it was shown at its creation.")
        found = await sql.rows(_KEY_SIGN_IN, [api_keys.secret_hash(key)])
        if not found:
            raise AuthenticationFailed("The API key is not one of this Jeto's.")
        key_id, account_id, user_id, scope, expires_at, revoked_at, last_used_at, *account = found[0]
        now, expires_at = datetime.now(UTC), sql.when(expires_at)
        problem = api_keys.refusal(sql.when(revoked_at), expires_at, now)
        if problem is not None:
            raise AuthenticationFailed(problem)
        if api_keys.use_worth_recording(sql.when(last_used_at), now):
            await api_keys.record_use(key_id, now)
        viewer = Viewer(
            user_id=user_id,
            account_id=account_id,
            role=Role.ADMIN,
            api_key_id=key_id,
            read_only=ApiKeyScope(scope) is ApiKeyScope.READ_ONLY,
            request_id=request_id.get(),
        )
        return SignedIn(viewer, (account_id, *account), key_expires_at=expires_at)

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
