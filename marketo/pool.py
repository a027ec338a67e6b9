"""One per process: the shared HTTP client, token caches and per-instance limiters."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

import httpx

from .backoff import RetryPolicy
from .client import MAX_PAGE_SIZE, MarketoClient
from .credentials import MarketoCredentials
from .deadlines import ASSET_TIMEOUT, IDENTITY_TIMEOUT
from .identity import request_token
from .limits import InstanceLimiter, InstanceLimits, Priority
from .models import AccessToken
from .observer import CallObserver, NoObserver
from .rest import RestCaller
from .tokens import DEFAULT_MARGIN, TokenCache
from .transport import PerInstanceTransport


class MarketoPool:
    """``async with MarketoPool() as pool: client = pool.client(credentials)``.

    Clients of the same service share a token; clients of the same instance share its limits;
    nothing is shared across instances, so one slow or throttled instance holds up no other.
    A sync asks for ``pool.client(credentials, priority=Priority.BULK)``: its calls then wait
    behind the interactive calls of the same instance and leave them a reserve.
    """

    def __init__(
        self,
        *,
        limits: InstanceLimits | None = None,
        retry: RetryPolicy | None = None,
        token_margin: float = DEFAULT_MARGIN,
        page_size: int = MAX_PAGE_SIZE,
        timeout: httpx.Timeout | float = ASSET_TIMEOUT,
        identity_timeout: httpx.Timeout | float = IDENTITY_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        self.observer = observer or NoObserver()
        self.limits = limits or InstanceLimits()
        self.retry = retry or RetryPolicy()
        self.token_margin = token_margin
        self.page_size = page_size
        self._timeout = timeout  # of every REST call, read or change: Marketo's own limit by default
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._owns_http = http_client is None
        # Connections are pooled per instance (see transport.py): a pool-wide cap would make
        # instances queue behind each other's slow calls.
        self._http = http_client or httpx.AsyncClient(
            transport=transport or PerInstanceTransport(), timeout=identity_timeout
        )
        self._tokens: dict[tuple[str, str, str], TokenCache] = {}
        self._limiters: dict[str, InstanceLimiter] = {}

    async def __aenter__(self) -> MarketoPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def client(self, credentials: MarketoCredentials, *, priority: Priority = Priority.INTERACTIVE) -> MarketoClient:
        tokens = self._token_cache(credentials)
        limiter = self._limiters.get(credentials.instance_key)
        if limiter is None:
            limiter = self._limiters[credentials.instance_key] = InstanceLimiter(self.limits, self._clock)
        caller = RestCaller(
            self._http,
            credentials.rest_endpoint,
            tokens,
            limiter,
            instance=credentials.instance_key,
            label=credentials.observed_as,
            retry=self.retry,
            sleep=self._sleep,
            rng=self._rng,
            observer=self.observer,
            clock=self._clock,
            timeout=self._timeout,
            priority=priority,
        )
        # More pages ahead than the priority may have in flight would only wait in line.
        page_concurrency = self.limits.in_flight_for(priority)
        return MarketoClient(credentials, caller, tokens, page_size=self.page_size, page_concurrency=page_concurrency)

    def _token_cache(self, credentials: MarketoCredentials) -> TokenCache:
        # One cache per service and secret: a rotated (or mistyped) secret gets its own Identity call.
        cache = self._tokens.get(credentials.token_key)
        if cache is None:
            key = credentials.token_key

            async def fetch() -> AccessToken:
                self.observer.token_requested(credentials.observed_as)
                return await request_token(
                    self._http, credentials, retry=self.retry, clock=self._clock, sleep=self._sleep, rng=self._rng
                )

            cache = self._tokens[key] = TokenCache(
                fetch, margin=self.token_margin, clock=self._clock, sleep=self._sleep
            )
        return cache
