"""What writing one page of 200 folders costs, by the form its rows travel in to PostgreSQL.

    python bench/page_write.py [--statements 300] [--rounds 2]

The same upsert of the same 200 rows into a table shaped like marketo_folder (a temporary one), its rows sent as:
- unnest: one array parameter per column, `SELECT … FROM unnest($1::int[], $2::text[], …)`;
- json objects: one JSON parameter of objects (built as msgspec Structs), `json_to_recordset`;
- jsonb arrays: one JSON parameter, an array of arrays (what marketo/worker/upsert.py sends), `jsonb_array_elements`;
- json arrays: the same text read as json, `json_array_elements`.
Printed per statement: this process's CPU (building and encoding the parameters, asyncpg's work) and the wall time
of the round trip, the database's work included. JETO_BENCH_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

PAGE = 200
COLUMNS = (
    ("platform_integration_id", "int"), ("marketo_id", "int"), ("marketo_type", "text"), ("name", "text"),
    ("path", "text"), ("parent_marketo_id", "int"), ("parent_marketo_type", "text"), ("folder_type", "text"),
    ("is_system", "bool"), ("url", "text"), ("marketo_updated_at", "timestamptz"), ("seen_at", "timestamptz"),
)  # fmt: skip
TABLE = """CREATE TEMPORARY TABLE page_write (
    id serial PRIMARY KEY, platform_integration_id int, marketo_id int, marketo_type varchar(20), name varchar(255),
    path varchar(2000), parent_marketo_id int, parent_marketo_type varchar(20), folder_type varchar(40),
    is_system bool, url varchar(500), marketo_updated_at timestamptz, seen_at timestamptz,
    UNIQUE (platform_integration_id, marketo_id, marketo_type))"""
NAMES = ", ".join(name for name, _ in COLUMNS)
UPSERT = "ON CONFLICT (platform_integration_id, marketo_id, marketo_type) DO UPDATE SET " + ", ".join(
    f"{name} = excluded.{name}" for name, _ in COLUMNS[3:]
)
AS_ELEMENTS = ", ".join(f"(element->>{index})::{kind}" for index, (_, kind) in enumerate(COLUMNS))
STATEMENTS = {
    "unnest": f"INSERT INTO page_write ({NAMES}) SELECT * FROM unnest("
    + ", ".join(f"${index}::{kind}[]" for index, (_, kind) in enumerate(COLUMNS, 1))
    + f") {UPSERT}",
    "json objects": f"INSERT INTO page_write ({NAMES}) SELECT * FROM json_to_recordset($1::json) AS page("
    + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    + f") {UPSERT}",
    "jsonb arrays": f"INSERT INTO page_write ({NAMES}) SELECT {AS_ELEMENTS} "
    f"FROM jsonb_array_elements($1::jsonb) AS element {UPSERT}",
    "json arrays": f"INSERT INTO page_write ({NAMES}) SELECT {AS_ELEMENTS} "
    f"FROM json_array_elements($1::json) AS element {UPSERT}",
}


class Row(msgspec.Struct):
    platform_integration_id: int
    marketo_id: int
    marketo_type: str
    name: str
    path: str
    parent_marketo_id: int
    parent_marketo_type: str
    folder_type: str
    is_system: bool
    url: str
    marketo_updated_at: datetime
    seen_at: datetime


def page() -> list[tuple[Any, ...]]:
    seen, updated = datetime.now(UTC), datetime(2026, 11, 30, 22, 45, 13, tzinfo=UTC)
    return [
        (
            1,
            marketo_id,
            "Folder",
            f"Folder {marketo_id} of the campaigns",
            f"/Marketing Activities/Default/Campaigns/Q{marketo_id % 4}/Folder {marketo_id} of the campaigns",
            marketo_id // 3,
            "Folder",
            "Folder",
            False,
            f"https://app-sj01.marketo.com/#MF{marketo_id}A1",
            updated,
            seen,
        )  # fmt: skip
        for marketo_id in range(PAGE)
    ]


def parameters(rows: list[tuple[Any, ...]]) -> dict[str, Callable[[], list[Any]]]:
    encoder = msgspec.json.Encoder()
    return {
        "unnest": lambda: [list(column) for column in zip(*rows, strict=True)],
        "json objects": lambda: [encoder.encode([Row(*row) for row in rows]).decode()],
        "jsonb arrays": lambda: [encoder.encode(rows).decode()],
        "json arrays": lambda: [encoder.encode(rows).decode()],
    }


async def main(url: str, statements: int, rounds: int) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(TABLE)
        built = parameters(page())
        for round_ in range(1, rounds + 1):
            for name, statement in STATEMENTS.items():
                for _ in range(20):  # prepared, and the rows there: every later statement updates them
                    await connection.execute(statement, *built[name]())
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(statements):
                    await connection.execute(statement, *built[name]())
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(
                    f"round {round_}, {name:12}: {cpu / statements * 1e3:.2f} ms of CPU here, "
                    f"{wall / statements * 1e3:.2f} ms per round trip",
                    flush=True,
                )
    finally:
        await connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("JETO_BENCH_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    asyncio.run(main(url, args.statements, args.rounds))
