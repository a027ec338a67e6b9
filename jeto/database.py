"""The Tortoise configuration and the migrations that build the schema."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api.migrate import migrate as run_migrations
from tortoise.migrations.executor import MigrationExecutor

MODELS = ["domain.models"]
MIGRATION_LOCK = 0x4A45_544F  # "JETO": the advisory lock taken by whoever migrates
CONNECT_TIMEOUT = 15.0
# aiosqlite's close never returns after a failed open: a bounded close lets the command still end.
CLOSE_TIMEOUT = 5.0


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message says why in one line, without credentials."""


class NotMigrated(Exception):
    """The database lacks migrations this version needs; the message says to run `jeto migrate`."""


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {"models": {"models": MODELS, "default_connection": "default", "migrations": "migrations"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str) -> str | dict[str, Any]:
    """PostgreSQL's pool takes a connection back without asyncpg's reset query: a round trip saved per statement.

    asyncpg's pool sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;` each time a
    connection comes back, which a dashboard request (six statements) and a sync (a statement per page, a few
    per second of progress) paid once per statement. Nothing run on Tortoise's connections takes an advisory
    lock (the migrations' lock has a connection of its own: `_one_migrator_at_a_time`), listens (the bus has its
    own), sets a session variable or keeps a cursor past its transaction. asyncpg still rolls back a transaction
    left open and forgets listeners before calling the pool's `reset` (`create_pool(reset=…)`, its public hook).
    Pinned by tests/test_database.py.
    """
    if urlsplit(database_url).scheme not in ("postgres", "asyncpg"):  # Tortoise's asyncpg backend
        return database_url
    expanded = expand_db_url(database_url)
    expanded["credentials"]["reset"] = keep_session
    return expanded


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing beyond asyncpg's own rollback of an open transaction."""


def sqlite_path(database_url: str) -> str:
    """The file of a sqlite:// URL, as Tortoise opens it (":memory:" for none); raises Tortoise's
    ConfigurationError when the URL names no file."""
    return expand_db_url(database_url)["credentials"]["file_path"]


def location(database_url: str) -> str:
    """Where the database is, for an error message: a SQLite file, or scheme://host:port/name (no password)."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        return str(Path(parts.netloc + parts.path).absolute())
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def _sqlite_folder_problem(database_url: str) -> str | None:
    if urlsplit(database_url).scheme != "sqlite":
        return None
    try:
        path = sqlite_path(database_url)
    except Exception as error:  # tortoise's ConfigurationError: no path
        return f"JETO_DATABASE_URL is not a SQLite URL Jeto can use ({error})"
    if path == ":memory:":
        return None
    folder = Path(path).absolute().parent
    if not folder.is_dir():
        return f"the folder of the SQLite database, {folder}, does not exist: create it or change JETO_DATABASE_URL"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder of the SQLite database, {folder}, is not writable by this user"
    return None


async def close_connections() -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await Tortoise.close_connections()


async def check_reachable(database_url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raises DatabaseUnavailable unless the database answers a query within `timeout` seconds."""
    problem = _sqlite_folder_problem(database_url)
    if problem:
        raise DatabaseUnavailable(problem)
    try:
        async with asyncio.timeout(timeout):
            await Tortoise.init(config=tortoise_config(database_url))
            await Tortoise.get_connection("default").execute_query("SELECT 1")
    except TimeoutError:
        raise DatabaseUnavailable(
            f"the database at {location(database_url)} did not answer within {timeout:g} s"
        ) from None
    except Exception as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatabaseUnavailable(f"cannot open the database at {location(database_url)}: {reason}") from None
    finally:
        await close_connections()


async def migrate(database_url: str) -> None:
    """Apply pending migrations, then close the connections this opened.

    Every `jeto serve` and `jeto worker` migrates as it starts, so processes started together take turns:
    the first applies what is pending, the others then find nothing left to do.
    """
    await check_reachable(database_url)
    async with _one_migrator_at_a_time(database_url):
        try:
            await run_migrations(config=tortoise_config(database_url))
        finally:
            await close_connections()


@contextlib.asynccontextmanager
async def _one_migrator_at_a_time(database_url: str) -> AsyncIterator[None]:
    """A PostgreSQL advisory lock (released with its connection, even when the process dies), or for SQLite
    an exclusive flock on the database file (SQLite's own locks are fcntl's, which flock does not touch)."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = sqlite_path(database_url)
        if path == ":memory:":
            yield
            return
        with open(path, "ab") as file:
            await asyncio.to_thread(fcntl.flock, file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)
        return
    connection = await connect_postgres(database_url)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        yield
    finally:
        await connection.close()  # releases the lock


async def connect_postgres(database_url: str) -> asyncpg.Connection:
    """A connection of its own (not Tortoise's), for a lock that lasts as long as it: closing it releases the lock."""
    credentials = expand_db_url(database_url)["credentials"]
    return await asyncpg.connect(
        host=credentials.get("host"),
        port=credentials.get("port"),
        user=credentials.get("user"),
        password=credentials.get("password"),
        database=credentials.get("database"),
        ssl=credentials.get("ssl"),
        timeout=CONNECT_TIMEOUT,
    )


async def check_migrated(database_url: str) -> None:
    """Raises NotMigrated while migrations are pending on the database Tortoise is connected to.

    The account commands run this first: on a database never migrated they would otherwise fail on a
    missing table, in the database's words.
    """
    apps = tortoise_config(database_url)["apps"]
    pending = await MigrationExecutor(Tortoise.get_connection("default"), apps).plan()
    if pending:
        raise NotMigrated(
            f"the database at {location(database_url)} lacks {len(pending)} migration(s) this version needs "
            f"(from {pending[0].migration.name}): run `jeto migrate` first"
        )
