"""How long a call to Marketo may take: as long as Marketo may take to answer, within the caller's deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx

# Adobe: "Asset APIs have a timeout of 300s". A read cut sooner would be cut again on each retry, while
# Marketo goes on working on every one of them; so an answer is waited for that long, plus the way back.
ASSET_TIMEOUT = httpx.Timeout(330.0, connect=10.0)
# Identity is not an asset API and hands out a cached token: one that takes a minute is not coming.
IDENTITY_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

_deadline: ContextVar[float | None] = ContextVar("marketo_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Marketo calls made inside end within ``seconds``: each waits for its turn, its token and its answer at
    most as long as is left, none is tried again past it, and one that runs out fails as Marketo not answering
    in time (a change that may have been made, as OutcomeUnknown). Nested deadlines keep the earliest."""
    when = asyncio.get_running_loop().time() + seconds
    outer = _deadline.get()
    token = _deadline.set(when if outer is None else min(outer, when))
    try:
        yield
    finally:
        _deadline.reset(token)


def current_deadline() -> float | None:
    """When the caller's deadline falls, on the event loop's clock (None: the caller set none)."""
    return _deadline.get()


def time_left(when: float | None) -> float | None:
    return None if when is None else when - asyncio.get_running_loop().time()


def within(timeout: httpx.Timeout, left: float | None) -> httpx.Timeout:
    """``timeout``, each of its parts cut to what is left before the deadline."""
    if left is None:
        return timeout
    left = max(left, 0.0)

    def cut(part: float | None) -> float:
        return left if part is None else min(part, left)

    return httpx.Timeout(
        connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write), pool=cut(timeout.pool)
    )
