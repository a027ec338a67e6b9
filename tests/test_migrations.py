"""The migrations build the schema the models describe (and the invariants the models cannot express)."""

import pytest
from tortoise import Tortoise

from jeto.database import MODELS


async def _columns(url: str, *, from_models: bool) -> dict[str, set[tuple[str, bool]]]:
    """{table: {(column, nullable)}} as the database reports them."""
    await Tortoise.init(db_url=url, modules={"models": MODELS})
    try:
        if from_models:
            await Tortoise.generate_schemas()
        conn = Tortoise.get_connection("default")
        if url.startswith("sqlite"):
            tables = [r["name"] for r in await conn.execute_query_dict(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name != 'tortoise_migrations'")]
            return {
                t: {(c["name"], not c["notnull"] and not c["pk"]) for c in await conn.execute_query_dict(f"PRAGMA table_info('{t}')")}
                for t in tables
            }
        rows = await conn.execute_query_dict(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name != 'tortoise_migrations'")
        result: dict[str, set[tuple[str, bool]]] = {}
        for r in rows:
            result.setdefault(r["table_name"], set()).add((r["column_name"], r["is_nullable"] == "YES"))
        return result
    finally:
        await Tortoise.close_connections()


@pytest.fixture
async def blank_database(database_url, tmp_path):
    """An empty database of the same kind as the suite's."""
    if not database_url.startswith("postgres"):
        yield f"sqlite://{tmp_path / 'models.sqlite3'}"
        return
    import uuid

    import asyncpg

    from tests.conftest import _postgres_admin_dsn

    admin, _ = _postgres_admin_dsn(database_url)
    name = f"jeto_models_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url.rsplit("/", 1)[0] + "/" + name
    await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await conn.close()


async def test_the_migrated_schema_is_the_one_the_models_describe(database_url, blank_database):
    migrated = await _columns(database_url, from_models=False)
    described = await _columns(blank_database, from_models=True)
    assert migrated == described
    assert "launcher" in migrated and ("platform_integration_id", False) in migrated["launcher"]
