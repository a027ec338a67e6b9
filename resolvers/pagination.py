"""Keyset pagination over a queryset ordered by id: stable when rows are added between pages."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tortoise.queryset import QuerySet

from resolvers.errors import BadUserInput
from schema.connections import Connection, Edge, PageInfo
from schema.ids import MAX_PK

MAX_PAGE = 500
NodeT = TypeVar("NodeT")


def cursor_for(pk: int) -> str:
    return base64.urlsafe_b64encode(f"cursor:{pk}".encode()).decode()


def after_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        kind, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "cursor" and pk.isdigit() and int(pk) <= MAX_PK:
            return int(pk)
    except ValueError:
        pass
    raise BadUserInput("The `after` cursor is not one this API returned.")


def check_first(first: int | None, default: int) -> int:
    """Page size; null means the field's default, as if the argument were omitted."""
    if first is None:
        return default
    if first < 0 or first > MAX_PAGE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE}.")
    return first


def build_connection(
    rows: Sequence[Any], first: int, total: int, wrap: Callable[[Any], NodeT]
) -> Connection[NodeT]:
    """`rows` holds up to first + 1 rows; the extra one only tells whether there is a next page."""
    page = list(rows[:first])
    edges = [Edge(node=wrap(row), cursor=cursor_for(row.id)) for row in page]
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
    default_first: int = 50,
    newest_first: bool = False,
) -> Connection[NodeT]:
    first = check_first(first, default_first)
    start = after_id(after)
    total = await query.count()
    page_query = query
    if start is not None:
        page_query = page_query.filter(id__lt=start) if newest_first else page_query.filter(id__gt=start)
    rows = await page_query.order_by("-id" if newest_first else "id").limit(first + 1)
    return build_connection(rows, first, total, wrap)
