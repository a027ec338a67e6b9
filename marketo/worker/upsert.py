"""Inserting or updating synced rows in bulk, without building a model object per row.

A sync writes tens of thousands of folders and programs; Tortoise's bulk_create instantiates a
model for each, which made the database side the bottleneck of a sync. This writes the same rows
with one prepared statement run over all of them (executemany), in either dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise import Tortoise
from tortoise.models import Model


def _placeholders(dialect: str, count: int) -> str:
    if dialect == "postgres":
        return ", ".join(f"${i}" for i in range(1, count + 1))
    return ", ".join("?" * count)


async def upsert(model: type[Model], rows: Sequence[dict[str, Any]], *, conflict: Sequence[str]) -> None:
    """Insert `rows` (dicts of column values), updating every other column of a row that already exists."""
    if not rows:
        return
    meta = model._meta
    columns = list(rows[0])
    fields = [meta.fields_map[meta.fields_db_projection_reverse.get(c, c)] for c in columns]
    connection = Tortoise.get_connection(meta.default_connection or "default")
    dialect = connection.capabilities.dialect
    quoted = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in conflict)
    query = (
        f'INSERT INTO "{meta.db_table}" ({quoted}) VALUES ({_placeholders(dialect, len(columns))}) '
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
    )
    values = [
        [field.to_db_value(row[column], model) for field, column in zip(fields, columns, strict=True)] for row in rows
    ]
    await connection.execute_many(query, values)
