"""Each instance's shared call budget, enforced on our side before a call is sent."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

# Marketo's own limits per instance, shared by every integration on it.
MARKETO_CALLS_PER_WINDOW = 100
MARKETO_WINDOW_SECONDS = 20.0
MARKETO_MAX_CONCURRENT = 10


@dataclass(frozen=True)
class InstanceLimits:
    """Our share of an instance. Defaults follow Adobe's guidance for one integration:
    at most 50 calls per 20 s and a handful in flight, leaving room for the customer's others."""

    calls_per_window: int = 50
    window_seconds: float = MARKETO_WINDOW_SECONDS
    max_in_flight: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.max_in_flight <= MARKETO_MAX_CONCURRENT:
            raise ValueError(f"max_in_flight must be between 1 and {MARKETO_MAX_CONCURRENT}")
        if not 1 <= self.calls_per_window < MARKETO_CALLS_PER_WINDOW:
            # All of Marketo's budget would leave none for the instance's other integrations.
            raise ValueError(
                f"calls_per_window must be at least 1 and below Marketo's {MARKETO_CALLS_PER_WINDOW} per window"
            )
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")


class _Reservation:
    __slots__ = ("ends",)

    def __init__(self) -> None:
        # Still in flight: Marketo counts the call from its arrival, which we only bound by
        # the response; so the window slot is held until the response plus a window.
        self.ends = math.inf


class InstanceLimiter:
    """A sliding window of calls and a cap on calls in flight, for one instance.

    No lock: the bookkeeping between awaits is synchronous, and waiters are woken by
    replacing an event, so a cancelled caller can never leave anything held behind.
    """

    def __init__(self, limits: InstanceLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._in_flight = asyncio.Semaphore(limits.max_in_flight)
        self._reservations: list[_Reservation] = []
        self._changed = asyncio.Event()
        self._paused_until = 0.0

    @property
    def in_flight(self) -> int:
        """Calls holding a place now."""
        return sum(1 for r in self._reservations if r.ends == math.inf)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one call's place in flight and in the window while it is sent."""
        async with self._in_flight:
            reservation = await self._reserve()
            try:
                yield
            finally:
                reservation.ends = self._clock()
                self._wake_waiters()

    def pause_window(self) -> None:
        """Marketo said 606: someone else spent the budget, so nobody here sends for a window."""
        self._paused_until = max(self._paused_until, self._clock() + self.limits.window_seconds)

    def _wake_waiters(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _reserve(self) -> _Reservation:
        window = self.limits.window_seconds
        while True:
            now = self._clock()
            self._reservations = [r for r in self._reservations if r.ends + window > now]
            if now >= self._paused_until and len(self._reservations) < self.limits.calls_per_window:
                reservation = _Reservation()
                self._reservations.append(reservation)
                return reservation
            if now < self._paused_until:
                wait: float | None = self._paused_until - now
            else:
                earliest = min(r.ends for r in self._reservations)
                wait = None if earliest == math.inf else earliest + window - now
            # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that lands as the wait ends.
            try:
                async with asyncio.timeout(wait):
                    await self._changed.wait()
            except TimeoutError:
                pass
