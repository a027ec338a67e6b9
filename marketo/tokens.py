"""Access tokens: one cached per (identity endpoint, client id), refreshed single-flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from .errors import MarketoUnreachable
from .models import AccessToken

FetchToken = Callable[[], Awaitable[AccessToken]]

# The least life a token must have left to be handed out: enough to reach Marketo, since a call
# takes its token once it holds its place within the limits. Small, because callers wait for
# the renewal from this point on, once per token lifetime.
DEFAULT_MARGIN = 5.0
# Identity counts remaining life in whole seconds: ask again this long after a token's end, so
# the answer is a new token rather than the old one at "expires_in: 0".
EXPIRY_GRACE = 1.0


class TokenCache:
    """Hands out a token that will outlive ``margin`` seconds, asking Identity as rarely as it can.

    Marketo's Identity answers with the same token, its remaining life falling, until that token
    has expired; only then does it issue a new one. So the cached token is served until it is
    within ``margin`` of its end, and the renewal asks Identity just after it has ended: one
    Identity call per token lifetime. Many concurrent callers share one renewal. A token that
    comes back with less than ``margin`` to live (``expires_in: 0`` included) is never handed out.
    """

    def __init__(
        self,
        fetch: FetchToken,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_rounds: int = 4,
    ) -> None:
        self._fetch = fetch
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._max_rounds = max_rounds
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
            self._refresh = asyncio.ensure_future(self._renew(token))
            self._refresh.add_done_callback(self._refresh_done)
        # Shielded: one waiter being cancelled must not cancel the refresh the others share.
        return await asyncio.shield(self._refresh)

    def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` after Marketo refused it, unless a newer one already replaced it."""
        if self._token is not None and self._token.value == token.value:
            self._token = None

    def _refresh_done(self, future: asyncio.Future[AccessToken]) -> None:
        if self._refresh is future:  # a newer refresh may already be running: keep sharing it
            self._refresh = None
        if not future.cancelled():
            future.exception()  # retrieved here so an unawaited failure is not logged as lost

    async def _renew(self, dying: AccessToken | None) -> AccessToken:
        wait = 0.0 if dying is None else dying.expires_at() + EXPIRY_GRACE - self._clock()
        for _ in range(self._max_rounds):
            if wait > 0:
                await self._sleep(wait)
            token = await self._fetch()
            if token.expires_in > 0:
                # A token issued after the old one ended is as fresh as Marketo makes them, even
                # if the instance's lifetime is shorter than our margin.
                renewed = dying is not None and token.value != dying.value
                if renewed or token.is_fresh(self._clock(), self.margin):
                    self._token = token
                    return token
            # The old token near or at its end: wait it out, then ask again.
            dying = token
            wait = max(token.expires_at() + EXPIRY_GRACE - self._clock(), EXPIRY_GRACE if token.expires_in <= 0 else 0)
        raise MarketoUnreachable(
            "token-expired",
            "Marketo Identity kept answering with an access token at the end of its life",
            retryable=True,
        )
