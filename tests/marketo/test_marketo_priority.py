"""Interactive calls (a campaign someone waits for) go before a sync's bulk calls of the same instance.

On a fake clock that never moves unless a test moves it: who is admitted is asserted, never how long it took.
"""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest

from marketo import InstanceLimits, MarketoCredentials, MarketoPool, Priority
from marketo.limits import InstanceLimiter
from tests.waiting import wait_until

HOST = "https://123-ABC-456.mktorest.com"
CREDENTIALS = MarketoCredentials(f"{HOST}/rest", f"{HOST}/identity", "client-1", "secret")  # type: ignore[arg-type]
LIMITS = InstanceLimits(calls_per_window=10, window_seconds=20, max_in_flight=5, reserved_calls=2)


class Calls:
    """Calls through one limiter that stay in flight until released, recording their order of admission."""

    def __init__(self, limiter: InstanceLimiter) -> None:
        self.limiter = limiter
        self.admitted: list[str] = []
        self._release: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, priority: Priority) -> asyncio.Task[None]:
        self._release[name] = asyncio.Event()

        async def call() -> None:
            async with self.limiter.slot(priority):
                self.admitted.append(name)
                await self._release[name].wait()

        self.tasks[name] = asyncio.ensure_future(call())
        return self.tasks[name]

    async def release(self, *names: str) -> None:
        for name in names:
            self._release[name].set()
        await asyncio.gather(*(self.tasks[name] for name in names))

    async def cancel_all(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_with_the_window_spent_by_bulk_calls_an_interactive_call_takes_the_reserve_at_once() -> None:
    now = [0.0]
    calls = Calls(InstanceLimiter(LIMITS, clock=lambda: now[0]))
    for i in range(8):  # a sync's pages: answered, but still in the window
        calls.start(f"page{i}", Priority.BULK)
        await settle()
        await calls.release(f"page{i}")
    for i in range(8, 12):
        calls.start(f"page{i}", Priority.BULK)  # look-ahead pages, queued for the next window
    calls.start("campaign", Priority.INTERACTIVE)
    await settle()
    assert calls.admitted[8:] == ["campaign"]  # no bulk call took a 9th or 10th slot; the campaign did
    calls.start("rename", Priority.INTERACTIVE)
    await settle()
    assert calls.admitted[8:] == ["campaign", "rename"]
    calls.start("third", Priority.INTERACTIVE)  # past the reserve, the window is Marketo's budget for everyone
    await settle()
    assert calls.admitted[8:] == ["campaign", "rename"]
    await calls.cancel_all()
    assert calls.limiter.in_flight == 0


async def test_an_interactive_call_goes_before_bulk_calls_that_waited_longer() -> None:
    now = [0.0]
    calls = Calls(InstanceLimiter(InstanceLimits(calls_per_window=99, max_in_flight=5), clock=lambda: now[0]))
    for i in range(4):
        calls.start(f"page{i}", Priority.BULK)
    await settle()
    assert calls.admitted == ["page0", "page1", "page2", "page3"]  # the 5th place is kept for interactive calls
    calls.start("page4", Priority.BULK)
    calls.start("campaign", Priority.INTERACTIVE)
    await settle()
    assert calls.admitted[4:] == ["campaign"]  # it waits only for calls already in flight: none here
    calls.start("rename", Priority.INTERACTIVE)
    calls.start("page5", Priority.BULK)
    await settle()
    assert calls.admitted[4:] == ["campaign"]  # every place is taken
    await calls.release("page0", "page1", "page2")  # the rename first, though page4 waited longer
    await settle()
    assert calls.admitted[4:] == ["campaign", "rename", "page4"]  # page5 waits: bulk leaves a place free
    await calls.cancel_all()
    assert calls.limiter.in_flight == 0


async def test_bulk_calls_alone_never_use_the_reserve() -> None:
    now = [0.0]
    calls = Calls(InstanceLimiter(LIMITS, clock=lambda: now[0]))
    for i in range(30):
        calls.start(f"page{i}", Priority.BULK)
    peak = 0
    for _ in range(20):
        await settle()
        peak = max(peak, calls.limiter.in_flight)
        running = [name for name in calls.admitted if not calls.tasks[name].done()]
        await calls.release(*running)
    assert peak == LIMITS.max_in_flight - 1
    assert len(calls.admitted) == LIMITS.calls_per_window - LIMITS.reserved_calls  # the window holds them all
    now[0] = 20.0  # a window later the next ones go, still leaving the reserve
    calls.start("nudge", Priority.INTERACTIVE)  # on a fake clock, waiters look again when a call goes or ends
    for _ in range(20):
        await settle()
        running = [name for name in calls.admitted if not calls.tasks[name].done()]
        await calls.release(*running)
    # In order, and with the nudge, the second window again holds no more than bulk's share.
    assert calls.admitted[8:] == ["nudge"] + [f"page{i}" for i in range(8, 15)]
    await calls.cancel_all()
    assert calls.limiter.in_flight == 0


async def test_priorities_mixed_never_exceed_the_instance_s_budget_or_in_flight_cap() -> None:
    """Random mixes on a short real window, checked on the limiter's own timestamps."""
    limits = InstanceLimits(calls_per_window=6, window_seconds=0.02, max_in_flight=3, reserved_calls=2)
    limiter = InstanceLimiter(limits)
    rng = random.Random(7)
    spans: list[list[float]] = []
    in_flight = peak = 0

    async def call(priority: Priority) -> None:
        nonlocal in_flight, peak
        async with limiter.slot(priority):
            span = [time.monotonic(), float("inf")]
            spans.append(span)
            in_flight += 1
            peak = max(peak, in_flight)
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)
            in_flight -= 1
            span[1] = time.monotonic()

    async with asyncio.timeout(30):
        await asyncio.gather(*(call(rng.choice(list(Priority))) for _ in range(60)))
    assert peak <= limits.max_in_flight
    for started, _ in spans:
        # The limiter's own rule: a call holds its slot from sending until a window after its answer.
        holding = [s for s in spans if s[0] <= started < s[1] + limits.window_seconds]
        assert len(holding) <= limits.calls_per_window


async def test_cancelled_interactive_waiters_let_bulk_calls_go() -> None:
    now = [0.0]
    calls = Calls(InstanceLimiter(InstanceLimits(calls_per_window=99, max_in_flight=3), clock=lambda: now[0]))
    for i in range(3):
        calls.start(f"i{i}", Priority.INTERACTIVE)
    calls.start("waiting", Priority.INTERACTIVE)
    calls.start("page", Priority.BULK)
    await settle()
    calls.tasks["waiting"].cancel()
    await calls.release("i0", "i1")
    await settle()
    assert calls.admitted[3:] == ["page"]  # the cancelled waiter holds nothing and keeps no one waiting
    await calls.cancel_all()
    assert calls.limiter.in_flight == 0


def test_reserves_leave_bulk_calls_at_least_one_place() -> None:
    limits = InstanceLimits(calls_per_window=1, max_in_flight=1)
    assert limits.calls_for(Priority.BULK) == 1 and limits.in_flight_for(Priority.BULK) == 1
    assert LIMITS.calls_for(Priority.BULK) == 8 and LIMITS.in_flight_for(Priority.BULK) == 4
    assert LIMITS.calls_for(Priority.INTERACTIVE) == 10 and LIMITS.in_flight_for(Priority.INTERACTIVE) == 5
    with pytest.raises(ValueError, match="reserved"):
        InstanceLimits(reserved_calls=-1)


async def test_an_interactive_client_s_call_passes_a_bulk_listing_that_spent_the_window() -> None:
    """Through the client API: one pool, a sync's client and a campaign's, sharing one token and limiter."""
    now = [0.0]
    identity_calls = 0
    pages_sent: list[int] = []

    def marketo(request: httpx.Request) -> httpx.Response:
        nonlocal identity_calls
        if request.url.path.endswith("/oauth/token"):
            identity_calls += 1
            return httpx.Response(200, json={"access_token": "t:int", "expires_in": 3600, "scope": "s"})
        if request.url.path.endswith("/programs.json"):
            offset = int(request.url.params["offset"])
            pages_sent.append(offset)
            result = [{"id": offset + i, "name": f"P{offset + i}", "type": "Default"} for i in range(2)]
            return httpx.Response(200, json={"success": True, "errors": [], "warnings": [], "result": result})
        return httpx.Response(200, json={"success": True, "errors": [], "result": [{"id": 7, "name": "Urgent"}]})

    async with MarketoPool(
        limits=LIMITS, page_size=2, transport=httpx.MockTransport(marketo), clock=lambda: now[0]
    ) as pool:
        sync = pool.client(CREDENTIALS, priority=Priority.BULK)
        campaign = pool.client(CREDENTIALS)
        assert (sync.priority, campaign.priority) == (Priority.BULK, Priority.INTERACTIVE)
        listing = asyncio.ensure_future(sync.list_programs())  # endless pages: it spends its whole share
        await settle()
        await wait_until(lambda: len(pages_sent) >= 8)
        await settle()
        assert len(pages_sent) == 8 and not listing.done()  # held for the next window, look-ahead queued
        program = await asyncio.wait_for(campaign.get_program_by_name("Urgent"), 5)  # a guard, not a measure
        assert program is not None and program.name == "Urgent"
        assert len(pages_sent) == 8 and identity_calls == 1
        listing.cancel()
        await asyncio.gather(listing, return_exceptions=True)
