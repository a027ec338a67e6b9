"""The per-instance limiter, on real time but asserted on recorded timestamps, not durations."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from marketo.limits import InstanceLimiter, InstanceLimits


async def test_window_admits_the_budget_then_waits_until_the_oldest_call_leaves_it() -> None:
    limiter = InstanceLimiter(InstanceLimits(calls_per_window=3, window_seconds=0.2, max_in_flight=3))
    started: list[float] = []
    finished: list[float] = []

    async def call() -> None:
        async with limiter.slot():
            started.append(time.monotonic())
            await asyncio.sleep(0.01)
        finished.append(time.monotonic())

    await asyncio.gather(*(call() for _ in range(5)))
    started.sort()
    finished.sort()
    # A slot is held from sending until a window after the answer, so calls 4 and 5 start
    # no earlier than a window after the first answers came back.
    assert started[2] - started[0] < 0.2
    assert started[3] >= finished[0] + 0.2 - 0.01
    assert started[4] >= finished[1] + 0.2 - 0.01


async def test_no_more_than_max_in_flight_at_once() -> None:
    limiter = InstanceLimiter(InstanceLimits(calls_per_window=99, window_seconds=20, max_in_flight=2))
    in_flight = peak = 0

    async def call() -> None:
        nonlocal in_flight, peak
        async with limiter.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.005)
            in_flight -= 1

    await asyncio.gather(*(call() for _ in range(12)))
    assert peak == 2


async def test_a_pause_holds_every_call_for_a_window() -> None:
    limiter = InstanceLimiter(InstanceLimits(calls_per_window=99, window_seconds=0.1, max_in_flight=5))
    paused_at = time.monotonic()
    limiter.pause_window()
    async with limiter.slot():
        admitted_at = time.monotonic()
    assert admitted_at - paused_at >= 0.1 - 0.005


async def test_limiters_of_two_instances_are_independent() -> None:
    busy = InstanceLimiter(InstanceLimits(calls_per_window=1, window_seconds=60, max_in_flight=1))
    free = InstanceLimiter(InstanceLimits(calls_per_window=1, window_seconds=60, max_in_flight=1))
    async with busy.slot():
        pass
    blocked = asyncio.ensure_future(busy.slot().__aenter__())
    async with free.slot():
        pass
    assert not blocked.done()
    blocked.cancel()


async def test_cancelled_callers_never_get_a_slot_and_leave_the_limiter_idle() -> None:
    """Cancellations landing at every point of waiting (notified, timed out, granted) in many rounds."""
    limits = InstanceLimits(calls_per_window=3, window_seconds=0.005, max_in_flight=2)
    limiter = InstanceLimiter(limits)
    rng = random.Random(1)
    entered_after_cancel = 0
    cancel_requested: set[int] = set()
    for _ in range(150):
        cancel_requested.clear()

        async def call(i: int) -> None:
            nonlocal entered_after_cancel
            async with limiter.slot():
                entered_after_cancel += i in cancel_requested
                for _ in range(rng.randrange(3)):
                    await asyncio.sleep(0)

        tasks = [asyncio.ensure_future(call(i)) for i in range(8)]
        for _ in range(rng.randrange(8)):
            await asyncio.sleep(0)
        await asyncio.sleep(rng.random() * 0.006)
        for victim in rng.sample(range(8), 4):
            cancel_requested.add(victim)
            tasks[victim].cancel()
        async with asyncio.timeout(5):  # a guard: a leaked lock or slot hangs here
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, asyncio.CancelledError)]
    assert entered_after_cancel == 0
    assert limiter.in_flight == 0
    async with asyncio.timeout(5):
        # Idle again: every in-flight place can be taken at once.
        await asyncio.gather(*(_enter_and_leave(limiter) for _ in range(limits.max_in_flight)))


async def _enter_and_leave(limiter: InstanceLimiter) -> None:
    async with limiter.slot():
        pass


def test_our_budget_stays_below_marketo_s_limits() -> None:
    assert InstanceLimits(calls_per_window=99, max_in_flight=10).calls_per_window == 99
    with pytest.raises(ValueError, match="below Marketo's 100"):
        InstanceLimits(calls_per_window=100)  # the whole instance's budget: other integrations would get 606
    with pytest.raises(ValueError, match="max_in_flight"):
        InstanceLimits(max_in_flight=11)
    with pytest.raises(ValueError, match="window_seconds"):
        InstanceLimits(window_seconds=0)
