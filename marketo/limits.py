"""Each instance's shared call budget, enforced on our side before a call is sent."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from domain.jobs import Priority  # whose calls go first when an instance's limits make calls wait

__all__ = ["InstanceLimiter", "InstanceLimits", "Priority"]

# Marketo's own limits per instance, shared by every integration on it.
MARKETO_CALLS_PER_WINDOW = 100
MARKETO_WINDOW_SECONDS = 20.0
MARKETO_MAX_CONCURRENT = 10


@dataclass(frozen=True)
class InstanceLimits:
    """Our share of an instance. Defaults follow Adobe's guidance for one integration:
    at most 50 calls per 20 s and a handful in flight, leaving room for the customer's others.

    Bulk calls leave ``reserved_calls`` of the window and ``reserved_in_flight`` places to interactive
    ones, so a campaign waits at most for calls already in flight, never behind a sync's queued pages;
    they always keep at least one of each.
    """

    calls_per_window: int = 50
    window_seconds: float = MARKETO_WINDOW_SECONDS
    max_in_flight: int = 5
    reserved_calls: int = 5
    reserved_in_flight: int = 1

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
        if self.reserved_calls < 0 or self.reserved_in_flight < 0:
            raise ValueError("reserved_calls and reserved_in_flight cannot be negative")

    def calls_for(self, priority: Priority) -> int:
        """Calls the window may hold when a call of this priority asks for a place in it."""
        if priority is Priority.INTERACTIVE:
            return self.calls_per_window
        return max(1, self.calls_per_window - self.reserved_calls)

    def in_flight_for(self, priority: Priority) -> int:
        """Calls that may be in flight when a call of this priority asks to be sent."""
        if priority is Priority.INTERACTIVE:
            return self.max_in_flight
        return max(1, self.max_in_flight - self.reserved_in_flight)


class _Reservation:
    __slots__ = ("ends",)

    def __init__(self) -> None:
        # Still in flight: Marketo counts the call from its arrival, which we only bound by
        # the response; so the window slot is held until the response plus a window.
        self.ends = math.inf


class InstanceLimiter:
    """A sliding window of calls and a cap on calls in flight, for one instance.

    Callers wait in two lines, interactive first, each first come first served; a bulk call also
    leaves the reserves to interactive ones. No lock: the bookkeeping between awaits is synchronous,
    each caller admits itself when it is first in line and the limits allow, and waiters are woken
    by replacing an event, so a cancelled caller can never leave anything held behind.
    """

    def __init__(self, limits: InstanceLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._reservations: list[_Reservation] = []
        self._in_flight = 0
        self._lines: dict[Priority, deque[object]] = {priority: deque() for priority in Priority}
        self._changed = asyncio.Event()
        self._paused_until = 0.0

    @property
    def in_flight(self) -> int:
        """Calls holding a place now."""
        return self._in_flight

    @asynccontextmanager
    async def slot(self, priority: Priority = Priority.INTERACTIVE) -> AsyncIterator[None]:
        """Hold one call's place in flight and in the window while it is sent."""
        reservation = await self._reserve(priority)
        try:
            yield
        finally:
            reservation.ends = self._clock()
            self._in_flight -= 1
            self._wake_waiters()

    def pause_window(self) -> None:
        """Marketo said 606: someone else spent the budget, so nobody here sends for a window."""
        self._paused_until = max(self._paused_until, self._clock() + self.limits.window_seconds)

    def _wake_waiters(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _reserve(self, priority: Priority) -> _Reservation:
        calls, in_flight = self.limits.calls_for(priority), self.limits.in_flight_for(priority)
        window = self.limits.window_seconds
        line, interactive_line = self._lines[priority], self._lines[Priority.INTERACTIVE]
        ticket = object()
        line.append(ticket)
        try:
            while True:
                wait: float | None = None  # until a call ends or the lines move
                if line[0] is ticket and (line is interactive_line or not interactive_line):
                    now = self._clock()
                    self._reservations = [r for r in self._reservations if r.ends + window > now]
                    if now < self._paused_until:
                        wait = self._paused_until - now
                    elif len(self._reservations) >= calls:
                        earliest = min(r.ends for r in self._reservations)
                        wait = None if earliest == math.inf else earliest + window - now
                    elif self._in_flight < in_flight:
                        line.popleft()
                        reservation = _Reservation()
                        self._reservations.append(reservation)
                        self._in_flight += 1
                        if any(self._lines.values()):
                            self._wake_waiters()  # the next in line may go too
                        return reservation
                # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that lands as the wait ends.
                try:
                    async with asyncio.timeout(wait):
                        await self._changed.wait()
                except TimeoutError:
                    pass
        except BaseException:
            line.remove(ticket)  # cancelled in line: those behind it may go
            self._wake_waiters()
            raise
