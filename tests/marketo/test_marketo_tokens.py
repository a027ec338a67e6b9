"""The token cache: single-flight, proactive, wary of dying tokens, careful when invalidating."""

from __future__ import annotations

import asyncio

import pytest

from marketo.errors import InvalidCredentials
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


async def test_refresh_happens_a_margin_before_expiry() -> None:
    identity = FakeIdentity([("A", 3600), ("B", 3600)])
    cache = identity.cache(margin=60)
    assert (await cache.get()).value == "A"
    identity.now += 3600 - 61
    assert (await cache.get()).value == "A"
    identity.now += 2
    assert (await cache.get()).value == "B"
    assert identity.requests == 2


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
