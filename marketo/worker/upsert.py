"""Writing a page of synced folders or programs: one statement, rows as plain tuples, no model object per row.

A sync writes tens of thousands of folders and programs. On PostgreSQL a page is one `INSERT … SELECT … ON
CONFLICT` whose rows travel as a single JSON parameter (an array of arrays, encoded by msgspec in C) that the
statement reads with `jsonb_array_elements`. Measured on a page of 200 folders (bench/page_write.py, BENCHMARKS.md
"Ingest"): the same statement fed one array per column (`unnest`) cost 2.2-2.6 ms of the worker's CPU, asyncpg
checking every value against the collections ABCs; as JSON, 0.35-0.46 ms, and the statement's round trip is no
slower. A prepared statement run once per row (executemany) cost more still. On SQLite, where a statement costs no
round trip, the same upsert runs once per row.

A program's folder is given as Marketo names it (id, kind) and found by the statement itself among the
integration's folders: no map of every folder is read into the worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

from domain.models import MarketoFolder, MarketoProgram

# Each column and its PostgreSQL type, in the order of a row's values.
_FOLDER = (
    ("platform_integration_id", "int"), ("marketo_id", "int"), ("marketo_type", "text"), ("name", "text"),
    ("path", "text"), ("parent_marketo_id", "int"), ("parent_marketo_type", "text"), ("folder_type", "text"),
    ("is_system", "bool"), ("url", "text"), ("marketo_updated_at", "timestamptz"), ("seen_at", "timestamptz"),
)  # fmt: skip
_PROGRAM = (
    ("platform_integration_id", "int"), ("marketo_id", "int"), ("name", "text"), ("type", "text"),
    ("channel", "text"), ("status", "text"), ("url", "text"), ("marketo_updated_at", "timestamptz"),
    ("seen_at", "timestamptz"),
    # Not columns of the table: how Marketo names the program's folder, whose row's id becomes folder_id.
    ("folder_marketo_id", "int"), ("folder_marketo_type", "text"),
)  # fmt: skip
FOLDER_KEY = ("platform_integration_id", "marketo_id", "marketo_type")
FOLDER_COLUMNS = tuple(column for column, _ in _FOLDER)
_FOLDER_TYPES = tuple(kind for _, kind in _FOLDER)
PROGRAM_KEY = ("platform_integration_id", "marketo_id")
PROGRAM_COLUMNS = tuple(column for column, _ in _PROGRAM)
_PROGRAM_TYPES = tuple(kind for _, kind in _PROGRAM)
_PROGRAM_STORED = PROGRAM_COLUMNS[:-2]

# Datetimes as RFC 3339, which PostgreSQL reads as timestamptz. Every one written here is aware (Marketo's, parsed
# with their offset; a run's moment, in UTC): a naive one would be read in the session's time zone.
_JSON = msgspec.json.Encoder()

FolderValues = tuple[Any, ...]  # in FOLDER_COLUMNS' order
ProgramValues = tuple[Any, ...]  # in PROGRAM_COLUMNS' order


def _quoted(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{column}"' for column in columns)


def _updates(columns: Sequence[str], key: Sequence[str]) -> str:
    return ", ".join(f'"{column}" = excluded."{column}"' for column in columns if column not in key)


def _page(types: Sequence[str], columns: Sequence[str]) -> str:
    """The page's rows as a table named `page`, from `$1`: a JSON array of rows, each an array of its values."""
    values = ", ".join(
        f'(element->>{index})::{kind} AS "{column}"'
        for index, (column, kind) in enumerate(zip(columns, types, strict=True))
    )
    return f"(SELECT {values} FROM jsonb_array_elements($1::jsonb) AS element) AS page"


_FOLDER_TABLE = MarketoFolder._meta.db_table
_FOLDER_UPSERT = f"ON CONFLICT ({_quoted(FOLDER_KEY)}) DO UPDATE SET {_updates(FOLDER_COLUMNS, FOLDER_KEY)}"
_PROGRAM_UPSERT = (
    f"ON CONFLICT ({_quoted(PROGRAM_KEY)}) DO UPDATE SET {_updates((*_PROGRAM_STORED, 'folder_id'), PROGRAM_KEY)}"
)
_PROGRAM_INTO = f'INSERT INTO "{MarketoProgram._meta.db_table}" ({_quoted(_PROGRAM_STORED)}, "folder_id")'

POSTGRES = {
    "folders": f'INSERT INTO "{_FOLDER_TABLE}" ({_quoted(FOLDER_COLUMNS)}) '
    f"SELECT {_quoted(FOLDER_COLUMNS)} FROM {_page(_FOLDER_TYPES, FOLDER_COLUMNS)} {_FOLDER_UPSERT}",
    "programs": f"{_PROGRAM_INTO} SELECT {_quoted(_PROGRAM_STORED, 'page.')}, folder.id "
    f"FROM {_page(_PROGRAM_TYPES, PROGRAM_COLUMNS)} "
    f'LEFT JOIN "{_FOLDER_TABLE}" folder ON folder.platform_integration_id = page.platform_integration_id '
    "AND folder.marketo_id = page.folder_marketo_id AND folder.marketo_type = page.folder_marketo_type "
    f"{_PROGRAM_UPSERT}",
}
_PROGRAM_FOLDER = (
    f'(SELECT id FROM "{_FOLDER_TABLE}" WHERE platform_integration_id = ?1 AND marketo_id = ?10 AND marketo_type = ?11)'
)
SQLITE = {
    "folders": f'INSERT INTO "{_FOLDER_TABLE}" ({_quoted(FOLDER_COLUMNS)}) '
    f"VALUES ({', '.join('?' * len(FOLDER_COLUMNS))}) {_FOLDER_UPSERT}",
    "programs": f"{_PROGRAM_INTO} VALUES ({', '.join(f'?{i}' for i in range(1, 10))}, {_PROGRAM_FOLDER}) "
    f"{_PROGRAM_UPSERT}",
}


async def write_folders(rows: Sequence[FolderValues]) -> None:
    await _write("folders", _distinct(rows, len(FOLDER_KEY)))


async def write_programs(rows: Sequence[ProgramValues]) -> None:
    await _write("programs", _distinct(rows, len(PROGRAM_KEY)))


def _distinct(rows: Sequence[tuple[Any, ...]], key_length: int) -> list[tuple[Any, ...]]:
    """The last row of each key: one statement may not update a row twice (PostgreSQL refuses it)."""
    return list({row[:key_length]: row for row in rows}.values())


async def _write(kind: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    connection: BaseDBAsyncClient = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(POSTGRES[kind], [_JSON.encode(rows).decode()])
    else:  # datetimes become text through the adapter Tortoise registers with sqlite3, as in its own writes
        await connection.execute_many(SQLITE[kind], [list(row) for row in rows])
