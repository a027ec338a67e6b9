"""Keyset pagination over a queryset ordered by id: stable when rows are added between pages."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tortoise.queryset import QuerySet

from resolvers.errors import BadUserInput
from schema.connections import Connection, Edge, PageInfo
from schema.ids import MAX_PK, parse_digits

MAX_PAGE = 500
NodeT = TypeVar("NodeT")


def cursor_for(listing: str, newest_first: bool, pk: int) -> str:
    """Opaque; names its list and order, so it cannot be replayed on another list."""
    order = "desc" if newest_first else "asc"
    return base64.urlsafe_b64encode(f"{listing}:{order}:{pk}".encode()).decode()


def after_id(cursor: str | None, listing: str, newest_first: bool) -> int | None:
    if cursor is None:
        return None
    try:
        name, order, pk = base64.urlsafe_b64decode(cursor.encode()).decode().rsplit(":", 2)
    except ValueError:
        raise BadUserInput("The `after` cursor is not one this API returned.") from None
    if (name, order) != (listing, "desc" if newest_first else "asc"):
        raise BadUserInput(f"The `after` cursor comes from another list than {listing}.")
    start = parse_digits(pk)
    if start is None or start > MAX_PK:
        raise BadUserInput("The `after` cursor is not one this API returned.")
    return start


def check_first(first: int | None, default: int) -> int:
    """Page size; null means the field's default, as if the argument were omitted."""
    if first is None:
        return default
    if first < 0 or first > MAX_PAGE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE}.")
    return first


def build_connection(
    rows: Sequence[Any], first: int, total: int, wrap: Callable[[Any], NodeT], *, listing: str, newest_first: bool
) -> Connection[NodeT]:
    """`rows` holds up to first + 1 rows; the extra one only tells whether there is a next page."""
    page = list(rows[:first])
    edges = [Edge(node=wrap(row), cursor=cursor_for(listing, newest_first, row.id)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )


async def paginate(
    query: QuerySet[Any],
    *,
    first: int | None,
    after: str | None,
    wrap: Callable[[Any], NodeT],
    listing: str,
    default_first: int = 50,
    newest_first: bool = False,
) -> Connection[NodeT]:
    """`listing` names the list (e.g. "Account.launchers") in its cursors."""
    first = check_first(first, default_first)
    start = after_id(after, listing, newest_first)
    total = await query.count()
    page_query = query
    if start is not None:
        page_query = page_query.filter(id__lt=start) if newest_first else page_query.filter(id__gt=start)
    rows = await page_query.order_by("-id" if newest_first else "id").limit(first + 1)
    return build_connection(rows, first, total, wrap, listing=listing, newest_first=newest_first)
