"""Reading rows for the API: plain SQL of the columns a type shows, as tuples, on SQLite and PostgreSQL alike.

The read path builds no ORM models: Tortoise would convert every value of every column, and parse each
datetime, for rows that only become a few attributes of a record. Statements are written with `?` for each
parameter; on PostgreSQL they become $1, $2…. Only the values are parameters; table and column names are
this module's callers' own constants, never a client's text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from tortoise import Tortoise

_PLACEHOLDER = re.compile(r"\?")
_POSTGRES: dict[str, str] = {}  # statement as written -> with $n placeholders


def _connection() -> Any:
    return Tortoise.get_connection("default")


def dialect() -> str:
    """ "postgres" or "sqlite"."""
    return _connection().capabilities.dialect


def _for_dialect(statement: str, dialect: str) -> str:
    if dialect != "postgres":
        return statement
    converted = _POSTGRES.get(statement)
    if converted is None:
        counter = iter(range(1, 10_000))
        converted = _POSTGRES[statement] = _PLACEHOLDER.sub(lambda _: f"${next(counter)}", statement)
    return converted


async def rows(statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
    """The rows of one statement, each a tuple-like of its columns in order."""
    connection = _connection()
    _, found = await connection.execute_query(_for_dialect(statement, connection.capabilities.dialect), list(params))
    return list(found)


async def returning(statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
    """The rows a write's RETURNING clause gives (Tortoise's execute_query drops them on PostgreSQL)."""
    connection = _connection()
    statement = _for_dialect(statement, connection.capabilities.dialect)
    return [tuple(row.values()) for row in await connection.execute_query_dict(statement, list(params))]


def marks(values: Iterable[Any]) -> str:
    """`?, ?, ?` for the values of an IN list (never empty: callers return early without values)."""
    return ", ".join("?" for _ in values)


def when(value: Any) -> datetime | None:
    """A stored datetime: PostgreSQL's driver gives a datetime, SQLite the ISO text Tortoise wrote."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def flag(value: Any) -> bool:
    """A stored boolean: SQLite keeps 0 or 1."""
    return bool(value)


def document(value: Any) -> Any:
    """A stored JSON value: text on SQLite, and on PostgreSQL too (asyncpg decodes no JSON by default)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def like(search: str) -> str:
    """A LIKE pattern matching `search` anywhere, its own % and _ taken literally (with ESCAPE '\\')."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def by_ids(
    table: str, columns: str, make: Callable[[Sequence[Any]], Any], ids: Sequence[int], scope: tuple[str, list[int]]
) -> list[Any]:
    """The records of these ids among the rows `scope` lets the viewer see (one per id, None if not seen)."""
    if not ids:
        return []
    condition, params = scope
    found = await rows(f"SELECT {columns} FROM {table} WHERE id IN ({marks(ids)}) AND {condition}", [*ids, *params])
    records = {record.pk: record for record in map(make, found)}
    return [records.get(pk) for pk in ids]
