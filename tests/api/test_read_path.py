"""The read path: visibility applied in the loading itself (no row of another account, nor of a launcher not
granted, is ever read into the process), the same rules as the use cases', and a constant number of statements."""

from __future__ import annotations

import logging
import re

from domain.models import Role, SyncRun
from domain.viewer import Viewer
from resolvers import sql
from resolvers.ids import decode_id
from tests.api.keys import api_key
from tests.api.test_access import build

# Everything a dashboard or a partner's crawler may ask for, from the account down, and back up through nodes.
EVERYTHING = """query {
  account { id name syncState launcherCreation { allowed }
    platformIntegrations { id name credentials { clientId } syncStatus { state }
      folders { edges { node { id path platformIntegration { id } } } }
      programs { edges { node { id folder { id } platformIntegration { id } } } }
      syncRuns { edges { node { id platformIntegration { id } } } } }
    defaultPlatformIntegration { id }
    launchers { totalCount edges { cursor node { id platformIntegration { id } destinationFolder { id }
      templateProgram { id } assetsFolder { id } collaborators { id email }
      campaigns { totalCount edges { node { id submittedBy { id } marketoProgram { id } launcher { id } } } } } } }
    campaigns { totalCount edges { node { id launcher { id } } } } }
  viewer { id }
}"""


def _node_query(ids: list[str]) -> str:
    return "{ " + " ".join(f'n{i}: node(id: "{value}") {{ __typename id }}' for i, value in enumerate(ids)) + " }"


class _RowsSeen:
    """Wraps resolvers.sql.rows, as the read path calls it, keeping what each statement returned."""

    def __init__(self, monkeypatch) -> None:
        self.seen: list[tuple[str, list]] = []
        read = sql.rows

        async def rows(statement, params=()):
            found = await read(statement, params)
            self.seen.append((statement, [tuple(row) for row in found]))
            return found

        monkeypatch.setattr(sql, "rows", rows)

    def ids_from(self, table: str) -> set[int]:
        """The ids of the rows read from `table`: each statement's first table, and each row's first column."""
        return {
            row[0] for statement, rows in self.seen if re.search(r"FROM (\w+)", statement)[1] == table for row in rows
        }


async def test_a_collaborator_never_reads_a_row_they_may_not_see(world, monkeypatch):
    other = await build(world)  # another account, with everything
    mine = await build(world)
    watched = _RowsSeen(monkeypatch)
    collaborator = mine["collaborator"]
    data = await collaborator(EVERYTHING)
    ids = [mine[key] for key in ("us", "emea", "folder", "program", "granted", "hidden", "run")]
    ids += [other[key] for key in ("us", "folder", "program", "granted", "run")]
    found = await collaborator(_node_query(ids))
    assert [edge["node"]["id"] for edge in data["account"]["launchers"]["edges"]] == [mine["granted"]]
    assert {found[f"n{i}"]["id"] for i in range(len(ids)) if found[f"n{i}"]} == {
        mine[key] for key in ("us", "folder", "program", "granted", "run")
    }

    def pks(*keys: str, of: dict) -> set[int]:
        return {decode_id(of[key])[1] for key in keys}

    assert watched.ids_from("launcher") <= pks("granted", of=mine)
    assert watched.ids_from("platform_integration") <= pks("us", of=mine)
    assert watched.ids_from("marketo_folder") <= pks("folder", of=mine)
    assert watched.ids_from("marketo_program") <= pks("program", of=mine)
    us_runs = set(await SyncRun.filter(platform_integration_id=decode_id(mine["us"])[1]).values_list("id", flat=True))
    assert watched.ids_from("sync_run") <= us_runs
    read_campaigns = watched.ids_from("campaign")
    assert read_campaigns and decode_id(mine["hidden_campaign"])[1] not in read_campaigns
    assert not read_campaigns & {decode_id(other[key])[1] for key in ("granted_campaign", "hidden_campaign")}


async def test_the_sql_scopes_select_what_the_use_cases_querysets_select(world):
    """domain/viewer.py writes each rule twice, for the use cases and for the read path: both agree."""
    for built in (await build(world), await build(world)):
        admin_row = await _user(built["admin"])
        collaborator = Viewer(built["collaborator_id"], built["account_id"], Role.COLLABORATOR)
        admin = Viewer(admin_row, built["account_id"], Role.ADMIN)
        for viewer in (admin, collaborator):
            pairs = [
                (viewer.launchers(), viewer.launcher_scope(), "launcher"),
                (viewer.launchers(include_deleted=True), viewer.launcher_scope(include_deleted=True), "launcher"),
                (viewer.campaigns(), viewer.campaign_scope(), "campaign"),
                (viewer.integrations(), viewer.integration_scope(), "platform_integration"),
                (
                    viewer.integrations(include_deleted=True),
                    viewer.integration_scope(include_deleted=True),
                    "platform_integration",
                ),
                (viewer.folders(), viewer.asset_scope(), "marketo_folder"),
                (viewer.programs(), viewer.asset_scope(), "marketo_program"),
                (viewer.sync_runs(), viewer.sync_run_scope(), "sync_run"),
                (viewer.users(), viewer.user_scope(), "app_user"),
            ]
            for queryset, (condition, params), table in pairs:
                by_orm = set(await queryset.values_list("id", flat=True))
                by_sql = {row[0] for row in await sql.rows(f"SELECT id FROM {table} WHERE {condition}", params)}
                assert by_orm == by_sql and by_orm, (viewer.role, table)
            # API keys and the audit trail: the whole account's for admins, nothing for collaborators.
            await api_key(built["admin"])
            for queryset, (condition, params), table in (
                (viewer.api_keys(), viewer.api_key_scope(), "api_key"),
                (viewer.audit_events(), viewer.audit_scope(), "audit_event"),
            ):
                by_orm = set(await queryset.values_list("id", flat=True))
                by_sql = {row[0] for row in await sql.rows(f"SELECT id FROM {table} WHERE {condition}", params)}
                assert by_orm == by_sql and bool(by_orm) == viewer.is_admin, (viewer.role, table)


async def _user(caller) -> int:
    return decode_id((await caller("{ viewer { id } }"))["viewer"]["id"])[1]


# The dashboard the front end and every partner run: the account, its integrations, its launchers with their
# integration, folders and template, and their latest campaigns.
DASHBOARD = """{ account { name platformIntegrations { id name syncStatus { state } }
  launchers(first: 500) { totalCount edges { node { id name platformIntegration { id name }
    destinationFolder { id path } assetsFolder { id name } templateProgram { id name }
    campaigns(first: 2) { totalCount edges { node { id name status } } } } } } } }"""


async def test_the_dashboard_reads_six_statements_whatever_the_number_of_launchers(world):
    """Signed in as a user or with an API key: either is read with its account in one statement."""
    from tests.api import factories
    from tests.api.test_graphql_behaviour import _add_launchers

    _, admin = await world.account(limit=2)
    pis = [
        await factories.integration(admin, "US", "111-AAA-111"),
        await factories.integration(admin, "EMEA", "222-BBB-222"),
    ]
    _, key = await api_key(admin, "READ_ONLY")
    await key(DASHBOARD)  # a key's first use is recorded (then at most once a minute): one statement more
    counts = []
    for added, start in ((5, 0), (45, 5)):
        await _add_launchers(admin, pis, added, start)
        counts.append((await _statements(admin, DASHBOARD), await _statements(key, DASHBOARD)))
    assert counts[0] == counts[1] and max(counts[0]) <= 6, counts  # signing in included


async def _statements(caller, query: str) -> int:
    count = 0

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            nonlocal count
            count += 1

    logger = logging.getLogger("tortoise.db_client")
    handler, previous = Counter(logging.DEBUG), logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        await caller(query)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    return count


def test_graphql_core_calls_each_relation_field_s_relation_without_strawberry_s_resolver_path(monkeypatch):
    """jeto/strawberry_overrides.py: the relation fields, about 200 of a dashboard's fields, skip Strawberry's
    per-call path; their behaviour, prefetched or loaded alone (a mutation's payload), is every API test's."""
    from jeto.strawberry_overrides import build_schema
    from schema.nodes import RELATION

    relations = {}
    for named in build_schema()._schema.type_map.values():
        for name, field in (getattr(named, "fields", None) or {}).items():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is not None and RELATION in definition.metadata:
                relations[f"{named.name}.{name}"] = (field.resolve, definition.metadata[RELATION])
    assert {"Launcher.platformIntegration", "Launcher.destinationFolder", "Launcher.campaigns"} <= set(relations)
    for resolve, relation in relations.values():
        assert "from_resolver" not in resolve.__qualname__  # not Strawberry's wrapper
        monkeypatch.setattr(relation, "resolve", lambda parent, info, **arguments: ("resolved", parent, info))
        assert resolve("parent", "info") == ("resolved", "parent", "info")
