"""Access tokens: one cached per (identity endpoint, client id), refreshed single-flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from .models import AccessToken

FetchToken = Callable[[], Awaitable[AccessToken]]


class TokenCache:
    """Hands out a token that will outlive ``margin`` seconds, asking Identity as rarely as it can.

    Many concurrent callers needing a token share one Identity request. A token that comes
    back with less than ``margin`` to live (Marketo hands back the same token until it
    expires, down to ``expires_in: 0``) is waited out and asked for again, not used.
    """

    def __init__(
        self,
        fetch: FetchToken,
        *,
        margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_stale_rounds: int = 3,
    ) -> None:
        self._fetch = fetch
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._max_stale_rounds = max_stale_rounds
        self._token: AccessToken | None = None
        self._refresh: asyncio.Future[AccessToken] | None = None

    @property
    def current(self) -> AccessToken | None:
        return self._token

    async def get(self) -> AccessToken:
        token = self._token
        if token is not None and token.is_fresh(self._clock(), self.margin):
            return token
        if self._refresh is None or self._refresh.done():
            # A finished refresh whose callback has not run yet must not hand out its old failure.
            self._refresh = asyncio.ensure_future(self._obtain_fresh())
            self._refresh.add_done_callback(self._refresh_done)
        # Shielded: one waiter being cancelled must not cancel the refresh the others share.
        return await asyncio.shield(self._refresh)

    def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` after Marketo refused it, unless a newer one already replaced it."""
        if self._token is not None and self._token.value == token.value:
            self._token = None

    def _refresh_done(self, future: asyncio.Future[AccessToken]) -> None:
        self._refresh = None
        if not future.cancelled():
            future.exception()  # retrieved here so an unawaited failure is not logged as lost

    async def _obtain_fresh(self) -> AccessToken:
        waited_out: str | None = None
        for _ in range(self._max_stale_rounds):
            token = await self._fetch()
            brand_new = waited_out is not None and token.value != waited_out
            # A token issued after we waited the old one out is as fresh as Marketo makes them,
            # even if the instance's lifetime is shorter than our margin.
            if token.is_fresh(self._clock(), self.margin) or (brand_new and token.expires_in > 0):
                self._token = token
                return token
            waited_out = token.value
            await self._sleep(max(token.expires_in, 0) + 0.05)
        self._token = token
        return token
