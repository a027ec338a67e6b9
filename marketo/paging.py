"""Offset paging over Marketo's browse endpoints, several pages in flight at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .records import Envelope, R

T = TypeVar("T")

NO_ASSETS_WARNING = "No assets found for the given search criteria."

FetchPage = Callable[[int], Awaitable[Envelope[Any]]]


@dataclass(frozen=True)
class ListedPage(Generic[T]):
    """A page of a listing and where it stands in it: what a sync records to take the listing up again later."""

    items: list[T]  # the page's records, less those an earlier page of the same listing had
    offset: int  # of the page's first record
    end: int  # the offset after its last record: where the listing goes on
    last: T | None  # the record at `end` - 1, even if an earlier page had it; None on an empty page


def page_items(envelope: Envelope[R]) -> list[R]:
    """The page's records; Marketo sends a warning and no ``result`` when there are none."""
    return envelope.result or []


def is_last_page(envelope: Envelope[Any], page_size: int) -> bool:
    if envelope.result is None or NO_ASSETS_WARNING in (envelope.warnings or []):
        return True
    return len(envelope.result) < page_size


async def iter_pages(
    fetch: FetchPage, *, page_size: int, concurrency: int, start: int = 0
) -> AsyncGenerator[list[Any], None]:
    """Yield pages in offset order from ``start``, one per offset (an empty one ends it); after the first, keep
    up to ``concurrency`` pages in flight.

    Pages past the end come back empty, so looking ahead costs at most ``concurrency`` - 1
    calls; the instance limiter keeps them within the budget either way.
    """
    first = await fetch(start)
    yield page_items(first)
    if is_last_page(first, page_size):
        return
    pending: dict[int, asyncio.Task[Envelope[Any]]] = {}
    next_offset = start + page_size
    try:
        while True:
            while len(pending) < concurrency:
                pending[next_offset] = asyncio.ensure_future(fetch(next_offset))
                next_offset += page_size
            offset = min(pending)
            envelope = await pending.pop(offset)
            yield page_items(envelope)
            if is_last_page(envelope, page_size):
                return
    finally:
        for task in pending.values():
            task.cancel()
        if pending:
            await asyncio.gather(*pending.values(), return_exceptions=True)
