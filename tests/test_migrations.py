"""The migrations build the schema the models describe (and the invariants the models cannot express).

Compared between a migrated database and one built from the models: every column with its type and
nullability, the unique indexes (by table and columns), and the foreign keys (with their ON DELETE).
The invariants only the migrations add are checked by name.
"""

from dataclasses import dataclass

from tortoise import Tortoise

from jeto.database import MODELS

# Written by migrations/0002_invariants.py as SQL: the models cannot say them (Tortoise ignores Meta.constraints).
INVARIANT_UNIQUES = {
    "uniq_default_integration_per_account",
    "uniq_integration_name_per_account",
    "uniq_campaign_program",
    "uniq_notification_campaign",
}
IMMUTABLE_TRIGGER = "launcher_integration_immutable"
# migrations/0006_status_versions.py: the UPDATE that changes what a status subscriber shows raises the version.
STATUS_VERSION_TRIGGERS = {"platform_integration_status_version", "campaign_status_version"}


@dataclass
class Schema:
    columns: dict[str, set[tuple[str, str, bool]]]  # table: {(column, type, nullable)}
    uniques: dict[str, set[tuple[str, tuple[str, ...], bool]]]  # table: {(name, columns, partial)}
    foreign_keys: set[tuple[str, str, str, str, str]]  # (table, column, referenced table, referenced column, on delete)
    triggers: set[str]

    def unique_columns(self) -> set[tuple[str, tuple[str, ...], bool]]:
        return {(table, columns, partial) for table, found in self.uniques.items() for _, columns, partial in found}

    def unique_names(self) -> set[str]:
        return {name for found in self.uniques.values() for name, _, _ in found}


async def _sqlite(conn) -> Schema:
    tables = [
        r["name"]
        for r in await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name != 'tortoise_migrations'"
        )
    ]
    schema = Schema({}, {}, set(), set())
    for t in tables:
        schema.columns[t] = {
            (c["name"], c["type"].upper(), not c["notnull"] and not c["pk"])
            for c in await conn.execute_query_dict(f"PRAGMA table_info('{t}')")
        }
        schema.uniques[t] = set()
        for index in await conn.execute_query_dict(f"PRAGMA index_list('{t}')"):
            if index["unique"] and index["origin"] != "pk":
                info = await conn.execute_query_dict(f"PRAGMA index_info('{index['name']}')")
                # An expression (lower(name)) has no column name: cid -2.
                columns = tuple(c["name"] or "<expression>" for c in sorted(info, key=lambda c: c["seqno"]))
                schema.uniques[t].add((index["name"], columns, bool(index["partial"])))
        for fk in await conn.execute_query_dict(f"PRAGMA foreign_key_list('{t}')"):
            schema.foreign_keys.add((t, fk["from"], fk["table"], fk["to"], fk["on_delete"].upper()))
    schema.triggers = {
        r["name"] for r in await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type='trigger'")
    }
    return schema


async def _postgres(conn) -> Schema:
    schema = Schema({}, {}, set(), set())
    for r in await conn.execute_query_dict(
        "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name != 'tortoise_migrations'"
    ):
        length = f"({r['character_maximum_length']})" if r["character_maximum_length"] else ""
        schema.columns.setdefault(r["table_name"], set()).add(
            (r["column_name"], f"{r['data_type']}{length}".upper(), r["is_nullable"] == "YES")
        )
    for r in await conn.execute_query_dict(
        "SELECT t.relname AS table_name, i.relname AS index_name, x.indpred IS NOT NULL AS partial, "
        "ARRAY(SELECT COALESCE(a.attname, '<expression>') FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
        "      LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n) AS columns "
        "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace ns ON ns.oid = t.relnamespace "
        "WHERE ns.nspname = 'public' AND x.indisunique AND NOT x.indisprimary AND t.relname != 'tortoise_migrations'"
    ):
        schema.uniques.setdefault(r["table_name"], set()).add((r["index_name"], tuple(r["columns"]), r["partial"]))
    actions = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
    for r in await conn.execute_query_dict(
        "SELECT t.relname AS table_name, a.attname AS column_name, rt.relname AS ref_table, ra.attname AS ref_column, "
        "c.confdeltype::text AS on_delete FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class rt ON rt.oid = c.confrelid "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] "
        "JOIN pg_namespace ns ON ns.oid = t.relnamespace WHERE c.contype = 'f' AND ns.nspname = 'public'"
    ):
        schema.foreign_keys.add(
            (r["table_name"], r["column_name"], r["ref_table"], r["ref_column"], actions[r["on_delete"]])
        )
    schema.triggers = {
        r["trigger_name"]
        for r in await conn.execute_query_dict(
            "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = 'public'"
        )
    }
    return schema


async def _schema(url: str, *, from_models: bool) -> Schema:
    await Tortoise.init(db_url=url, modules={"models": MODELS})
    try:
        if from_models:
            await Tortoise.generate_schemas()
        conn = Tortoise.get_connection("default")
        return await (_sqlite(conn) if url.startswith("sqlite") else _postgres(conn))
    finally:
        await Tortoise.close_connections()


async def test_the_migrated_schema_is_the_one_the_models_describe(database_url, blank_database):
    migrated = await _schema(database_url, from_models=False)
    described = await _schema(blank_database, from_models=True)
    assert migrated.columns == described.columns
    assert migrated.foreign_keys == described.foreign_keys
    # Every unique the models describe, on the same columns; beyond them, only the invariants the migrations add.
    assert described.unique_columns() <= migrated.unique_columns()
    extra = {
        name
        for table, found in migrated.uniques.items()
        for name, columns, partial in found
        if (table, columns, partial) not in described.unique_columns()
    }
    assert extra == INVARIANT_UNIQUES
    assert ("launcher", "platform_integration_id", "platform_integration", "id", "RESTRICT") in migrated.foreign_keys
    assert ("launcher_collaborator", ("launcher_id", "user_id"), False) in migrated.unique_columns()


async def test_the_invariants_the_models_cannot_express_exist_by_name(database_url):
    migrated = await _schema(database_url, from_models=False)
    assert migrated.unique_names() >= INVARIANT_UNIQUES
    default_index = next(
        u for u in migrated.uniques["platform_integration"] if u[0] == "uniq_default_integration_per_account"
    )
    assert default_index[1:] == (("account_id",), True)  # partial: one default among the integrations not deleted
    assert IMMUTABLE_TRIGGER in migrated.triggers
    assert migrated.triggers >= STATUS_VERSION_TRIGGERS


async def test_status_versions_count_each_change_of_what_subscribers_show_and_nothing_else(world):
    """N concurrent changes of a watched column raise the version by exactly N (PostgreSQL runs them on
    several connections at once); lease writes, unwatched columns and unchanged values leave it alone."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from tortoise.expressions import F

    from domain.models import Campaign, PlatformIntegration
    from tests.api import factories
    from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER

    _, admin = await world.account()
    pi = factories.pk(await factories.integration(admin, "Main", "123-ABC-456"))
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "L"}}))["createLauncher"]["launcher"]["id"]
    campaign = factories.pk(
        (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": "C"}}))["createCampaign"]["campaign"][
            "id"
        ]
    )

    async def version(model, pk: int) -> int:
        return (await model.get(id=pk)).status_version

    n = 20
    start = await version(PlatformIntegration, pi)
    await asyncio.gather(
        *(PlatformIntegration.filter(id=pi).update(programs_synced=F("programs_synced") + 1) for _ in range(n))
    )
    assert (await PlatformIntegration.get(id=pi)).programs_synced == n
    assert await version(PlatformIntegration, pi) == start + n
    soon = datetime.now(UTC) + timedelta(seconds=30)
    await asyncio.gather(
        *(PlatformIntegration.filter(id=pi).update(lease_owner=f"w{i}", lease_expires_at=soon) for i in range(n))
    )
    await PlatformIntegration.filter(id=pi).update(programs_synced=n, needs_full_sync=False)  # unchanged; unwatched
    assert await version(PlatformIntegration, pi) == start + n

    start = await version(Campaign, campaign)
    await asyncio.gather(*(Campaign.filter(id=campaign).update(name=f"C{i}") for i in range(1, n + 1)))
    assert await version(Campaign, campaign) == start + n
    await Campaign.filter(id=campaign).update(name=(await Campaign.get(id=campaign)).name)  # the name it has
    await asyncio.gather(*(Campaign.filter(id=campaign).update(clone_requested_at=soon) for _ in range(n)))
    assert await version(Campaign, campaign) == start + n


async def test_processes_starting_together_migrate_one_at_a_time(blank_database):
    """Every `jeto serve` and `jeto worker` migrates as it starts: started together on a new database, they
    take turns instead of racing to create the same tables."""
    import asyncio
    import os
    import sys

    env = {**os.environ, "JETO_DATABASE_URL": blank_database}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jeto.cli", "migrate", env=env, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(4)
    ]
    outcomes = await asyncio.gather(*(process.communicate() for process in processes))
    assert [process.returncode for process in processes] == [0, 0, 0, 0], [err for _, err in outcomes]
    await Tortoise.init(db_url=blank_database, modules={"models": MODELS})
    try:
        applied = await Tortoise.get_connection("default").execute_query_dict(
            "SELECT name FROM tortoise_migrations ORDER BY name"
        )
    finally:
        await Tortoise.close_connections()
    names = [row["name"] for row in applied]
    assert names == sorted(set(names)) and names[0] == "0001_initial" and len(names) >= 8  # each applied once
