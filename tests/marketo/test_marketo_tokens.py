"""The token cache: single-flight, proactive, wary of dying tokens, careful when invalidating."""

from __future__ import annotations

import asyncio

import pytest

from marketo.errors import InvalidCredentials, MarketoError
from marketo.models import AccessToken
from marketo.tokens import TokenCache


class FakeIdentity:
    """Hands out scripted tokens and counts requests; the clock is ours to move."""

    def __init__(self, script: list[tuple[str, int]]) -> None:
        self.script = list(script)
        self.requests = 0
        self.now = 1000.0
        self.slept: list[float] = []
        self.release = asyncio.Event()
        self.release.set()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def fetch(self) -> AccessToken:
        self.requests += 1
        await self.release.wait()
        value, expires_in = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return AccessToken(value, expires_in, "api@x", obtained_at=self.now)

    def cache(self, margin: float = 60.0) -> TokenCache:
        return TokenCache(self.fetch, margin=margin, clock=self.clock, sleep=self.sleep)


async def test_a_hundred_concurrent_callers_cause_one_identity_request() -> None:
    identity = FakeIdentity([("A", 3600)])
    identity.release.clear()
    cache = identity.cache()
    waiters = [asyncio.ensure_future(cache.get()) for _ in range(100)]
    await asyncio.sleep(0)
    identity.release.set()
    tokens = await asyncio.gather(*waiters)
    assert identity.requests == 1
    assert {t.value for t in tokens} == {"A"}
    await cache.get()
    assert identity.requests == 1


class MarketoLikeIdentity:
    """Identity as Marketo runs it: the same token until it has expired, its remaining life rounded
    down (so 0 in its last second), a new one only after. ``latency`` is how long each answer takes."""

    def __init__(self, lifetime: int = 3600, latency: float = 0.0) -> None:
        self.lifetime = lifetime
        self.latency = latency
        self.now = 1000.0
        self.requests = 0
        self.issued: list[tuple[str, float]] = []  # (token, expires at)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def fetch(self) -> AccessToken:
        self.requests += 1
        sent_at = self.now
        self.now += self.latency
        if not self.issued or self.now >= self.issued[-1][1]:
            self.issued.append((f"T{len(self.issued) + 1}", self.now + self.lifetime))
        value, expires_at = self.issued[-1]
        return AccessToken(value, max(0, int(expires_at - self.now)), "api@x", obtained_at=sent_at)

    def expires_at(self, value: str) -> float:
        return dict(self.issued)[value]


@pytest.mark.parametrize("latency", [0.0, 1.5], ids=["instant", "slow-identity"])
async def test_across_renewals_one_identity_call_per_lifetime_and_no_caller_waits_long(latency: float) -> None:
    identity = MarketoLikeIdentity(lifetime=3600, latency=latency)
    cache = TokenCache(identity.fetch, clock=identity.clock, sleep=identity.sleep)  # the default margin
    longest_wait = 0.0
    for _ in range(3 * 3600 // 7):
        asked_at = identity.now
        token = await cache.get()
        longest_wait = max(longest_wait, identity.now - asked_at)
        # Every token handed out still has the margin to live, by Marketo's reckoning.
        assert identity.expires_at(token.value) - identity.now > cache.margin
        identity.now += 7
    lifetimes = len(identity.issued)
    assert lifetimes >= 3
    # One request per token Marketo issued; a slow Identity may cost one more at each renewal
    # (asked a moment before the old token really expired, it answers that token with 0 left).
    assert identity.requests <= lifetimes if latency == 0 else identity.requests <= 2 * lifetimes
    # Blocked only from the margin before expiry until the new token, a few seconds once per lifetime.
    assert longest_wait <= cache.margin + 2 * (1 + latency) + 0.01
    assert longest_wait < 15


async def test_many_callers_at_a_renewal_share_it() -> None:
    identity = MarketoLikeIdentity(lifetime=3600)
    cache = TokenCache(identity.fetch, margin=5, clock=identity.clock, sleep=identity.sleep)
    first = await cache.get()
    identity.now += 3600 - 3
    tokens = await asyncio.gather(*(cache.get() for _ in range(100)))
    assert {t.value for t in tokens} == {"T2"} and first.value == "T1"
    assert identity.requests == 2


async def test_a_token_at_the_end_of_its_life_is_never_handed_out() -> None:
    identity = FakeIdentity([("A", 3600), ("A", 0), ("B", 3600)])
    cache = identity.cache(margin=5)
    assert (await cache.get()).value == "A"
    identity.now += 3600 - 2
    identity.slept.clear()
    assert (await cache.get()).value == "B"
    assert identity.requests == 3
    assert identity.slept[-1] >= 1  # after "0 seconds left", Identity is asked again no sooner than 1 s


async def test_identity_answering_only_expired_tokens_is_a_retryable_error_not_a_token() -> None:
    identity = FakeIdentity([("A", 0)])
    cache = identity.cache(margin=5)
    with pytest.raises(MarketoError) as caught:
        await cache.get()
    assert caught.value.retryable
    assert cache.current is None
    assert all(seconds >= 1 for seconds in identity.slept)


@pytest.mark.parametrize("dying", [0, 30])
async def test_a_token_returned_with_less_than_the_margin_is_waited_out_not_used(dying: int) -> None:
    identity = FakeIdentity([("OLD", dying), ("NEW", 3600)])
    token = await identity.cache(margin=60).get()
    assert token.value == "NEW"
    assert identity.requests == 2
    assert identity.slept and identity.slept[0] >= dying


async def test_a_brand_new_token_shorter_than_the_margin_is_accepted_rather_than_looping() -> None:
    identity = FakeIdentity([("OLD", 2), ("NEW", 5)])
    token = await identity.cache(margin=60).get()
    assert token.value == "NEW"
    assert identity.requests == 2


async def test_invalidate_drops_only_the_token_that_failed() -> None:
    identity = FakeIdentity([("A", 3600), ("B", 3600), ("C", 3600)])
    cache = identity.cache()
    a = await cache.get()
    cache.invalidate(a)
    b = await cache.get()
    assert b.value == "B"
    cache.invalidate(a)  # a late failure of a call that used A must not discard B
    assert (await cache.get()).value == "B"
    assert identity.requests == 2


async def test_a_failed_refresh_reaches_every_waiter_and_the_next_call_tries_again() -> None:
    calls = 0

    async def fetch() -> AccessToken:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise InvalidCredentials("invalid_client", "Bad client credentials")
        return AccessToken("A", 3600, None, obtained_at=0.0)

    cache = TokenCache(fetch, margin=60, clock=lambda: 1.0)
    results = await asyncio.gather(*(cache.get() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, InvalidCredentials) for r in results)
    assert calls == 1
    assert (await cache.get()).value == "A"


async def test_a_finished_refresh_does_not_forget_a_newer_one_still_running() -> None:
    gates: list[asyncio.Event] = []

    async def fetch() -> AccessToken:
        gates.append(gate := asyncio.Event())
        await gate.wait()
        return AccessToken(f"T{len(gates)}", 3600, None, obtained_at=0.0)

    cache = TokenCache(fetch, margin=5, clock=lambda: 1.0)
    first = asyncio.ensure_future(cache.get())
    while not gates:
        await asyncio.sleep(0)

    async def refused_at_once() -> AccessToken:
        # Runs after the first refresh finished but before its done-callback: Marketo refused T1.
        cache.invalidate(cache.current)  # type: ignore[arg-type]
        return await cache.get()

    gates[0].set()
    second = asyncio.ensure_future(refused_at_once())
    assert (await first).value == "T1"
    third = asyncio.ensure_future(cache.get())  # must join the refresh in progress, not start another
    for _ in range(5):
        await asyncio.sleep(0)
    for gate in gates:
        gate.set()
    tokens = [(await second).value, (await third).value]
    assert len(gates) == 2  # one Identity request per refresh needed
    assert tokens == ["T2", "T2"]
