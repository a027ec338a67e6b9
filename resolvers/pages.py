"""Cursor pages (the Relay connection shape) read in one statement per list, whatever the number of lists.

A page is keyset-paginated by id, so it stays stable when rows are added between pages. Its rows and the
list's total come from one statement: window functions count the whole list and number the rows from the
cursor on; for a list per parent (each launcher's campaigns) the same statement partitions by the parent.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from resolvers.errors import BadUserInput
from resolvers.ids import MAX_PK, parse_digits
from resolvers.records import Record

MAX_PAGE = 500


@dataclass(slots=True, eq=False)
class PageInfo(Record):
    has_next_page: bool
    end_cursor: str | None
    loaded: dict = field(default_factory=dict, repr=False)


@dataclass(slots=True, eq=False)
class Edge(Record):
    node: Any
    page: PageRequest
    loaded: dict = field(default_factory=dict, repr=False)

    @property
    def cursor(self) -> str:
        """Made when asked for: most lists are read without their edges' cursors (pageInfo has the last)."""
        return cursor_for(self.page.listing, self.page.newest_first, self.node.pk)


@dataclass(slots=True, eq=False)
class Page(Record):
    edges: list[Edge]
    page_info: PageInfo
    total_count: int
    loaded: dict = field(default_factory=dict, repr=False)

    @property
    def nodes(self) -> list[Any]:
        return [edge.node for edge in self.edges]


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


@dataclass(frozen=True)
class PageRequest:
    """Which page of which list; made from a field's arguments, which it checks."""

    listing: str  # e.g. "Account.launchers": cursors name their list
    first: int
    after: int | None
    newest_first: bool

    @classmethod
    def of(cls, listing: str, first: int | None, after: str | None, *, default: int, newest_first: bool) -> PageRequest:
        return cls(listing, check_first(first, default), after_id(after, listing, newest_first), newest_first)


def statement(
    columns: str,
    table: str,
    where: str,
    where_params: Sequence[Any],
    page: PageRequest,
    *,
    partition: str | None = None,
) -> tuple[str, list[Any]]:
    """One statement for the page (of every parent's list, with `partition`): each row of `columns`, then the
    list's total, its rank from the cursor on, and whether it is past the cursor. Rows before the cursor are
    left out, but for the newest of them, which carries the total of a list whose page is empty."""
    order = "DESC" if page.newest_first else "ASC"
    if page.after is None:
        within, within_params = "1", []
        rank_by = f"PARTITION BY {partition}" if partition else ""
    else:
        within, within_params = f"CASE WHEN id {'<' if page.newest_first else '>'} ? THEN 1 ELSE 0 END", [page.after]
        rank_by = f"PARTITION BY {partition + ', ' if partition else ''}{within}"
    count_by = f"PARTITION BY {partition}" if partition else ""
    sql = (
        f"SELECT * FROM (SELECT {columns}, COUNT(*) OVER ({count_by}) AS total_count,"
        f" ROW_NUMBER() OVER ({rank_by} ORDER BY id {order}) AS page_rank, {within} AS past_cursor"
        f" FROM {table} WHERE {where}) paged"
        " WHERE (past_cursor = 1 AND page_rank <= ?) OR (past_cursor = 0 AND page_rank = 1)"
        f" ORDER BY {partition + ', ' if partition else ''}id {order}"
    )
    params = [*within_params, *within_params, *where_params, page.first + 1]
    return sql, params


def pages(
    found: Sequence[Sequence[Any]],
    page: PageRequest,
    width: int,
    make: Callable[[Sequence[Any]], Any],
    *,
    parent_column: int | None = None,
) -> dict[Any, Page]:
    """The pages of the rows `statement` returned, by parent (by None without a partition). `width`: how many of
    a row's columns `make` reads; `parent_column`: which of them is the parent's id."""
    nodes: dict[Any, list[Any]] = defaultdict(list)
    totals: dict[Any, int] = {}
    for row in found:
        parent = row[parent_column] if parent_column is not None else None
        totals[parent] = int(row[width])
        if row[width + 2]:
            nodes[parent].append(make(row))
    return {parent: page_of(nodes[parent], page, totals[parent]) for parent in totals}


def page_of(rows: Sequence[Any], page: PageRequest, total: int) -> Page:
    """`rows` holds up to first + 1 records; the extra one only tells whether there is a next page."""
    edges = [Edge(row, page) for row in rows[: page.first]]
    info = PageInfo(has_next_page=len(rows) > page.first, end_cursor=edges[-1].cursor if edges else None)
    return Page(edges=edges, page_info=info, total_count=total)


def empty(page: PageRequest) -> Page:
    """The page of a list without a single row."""
    return page_of([], page, 0)
