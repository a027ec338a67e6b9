"""How Jeto configures its database connections (jeto/database.py)."""

import logging

import pytest
from tortoise import Tortoise

from jeto import database


def test_a_postgres_pool_returns_connections_with_our_reset_and_sqlite_is_left_alone():
    config = database.tortoise_config("postgres://jeto@db.example:5432/jeto")
    assert config["connections"]["default"]["credentials"]["reset"] is database.keep_session
    assert database.tortoise_config("sqlite://jeto.sqlite3")["connections"]["default"] == "sqlite://jeto.sqlite3"


async def test_a_connection_comes_back_without_the_reset_query_but_never_inside_a_transaction(
    world, database_url, caplog
):
    if not database_url.startswith("postgres"):
        pytest.skip("asyncpg's pool: run with JETO_TEST_DATABASE_URL=postgres://… (CI's second pass does)")
    tortoise = Tortoise.get_connection("default")
    async with tortoise.acquire_connection() as connection:
        await connection.execute("SET application_name = 'kept'")  # session state Jeto never sets
        await connection.execute("BEGIN")
        await connection.execute("CREATE TABLE left_open (id int)")
        session = await connection.fetchval("SELECT pg_backend_pid()")
    with caplog.at_level(logging.ERROR):
        async with tortoise.acquire_connection() as connection:
            assert await connection.fetchval("SELECT pg_backend_pid()") == session  # the same connection
            assert await connection.fetchval("SHOW application_name") == "kept"  # no RESET ALL was sent
            assert not connection.is_in_transaction()  # asyncpg rolled back what was left open
            assert await connection.fetchval("SELECT to_regclass('left_open')") is None
