"""GraphQL done well: coded errors, limits, cursor connections, and a constant number of SQL statements."""

import logging

from tests.api import factories
from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER


async def test_errors_carry_a_code_and_never_a_stack_trace(world):
    _, admin = await world.account()
    cases = [
        ("{ account { ", "BAD_USER_INPUT"),  # syntax
        ("{ account { nope } }", "BAD_USER_INPUT"),  # validation
        ('{ node(id: "garbage") { id } }', "BAD_USER_INPUT"),
        ("{ account { launchers(first: 100000) { totalCount } } }", "BAD_USER_INPUT"),
        ('{ account { launchers(after: "bogus") { totalCount } } }', "BAD_USER_INPUT"),
    ]
    for query, code in cases:
        response = await admin.post(query)
        body = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], query
        assert "Traceback" not in response.text and 'File "' not in response.text


async def test_depth_alias_and_token_limits(world):
    _, admin = await world.account()
    deep = "{ account { launchers { edges { node { platformIntegration { programs { edges { node { folder { platformIntegration { folders { edges { node { platformIntegration { name } } } } } } } } } } } } } } }"
    errors = await admin.errors(deep)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT" and "depth" in errors[0]["message"]
    aliases = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(40)) + " }"
    errors = await admin.errors(aliases)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT" and "aliases" in errors[0]["message"]
    tokens = "{ viewer { " + " ".join("id" for _ in range(4000)) + " } }"
    errors = await admin.errors(tokens)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_connections_page_with_cursors_and_count(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    ids = []
    for i in range(5):
        data = await admin(CREATE_LAUNCHER, {"input": {"name": f"L{i}"}})
        ids.append(data["createLauncher"]["launcher"]["id"])
    query = "query($after: String) { account { launchers(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } } }"
    seen, after = [], None
    while True:
        page = (await admin(query, {"after": after}))["account"]["launchers"]
        assert page["totalCount"] == 5
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids


DASHBOARD = """{ account { name platformIntegrations { id name syncStatus { state } }
  launchers(first: 100) { totalCount edges { node { id name
    platformIntegration { id name } destinationFolder { id path } assetsFolder { id name }
    templateProgram { id name folder { id } }
    campaigns(first: 3) { totalCount edges { node { id name status submittedBy { email } } } }
} } } } }"""


class _StatementCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


async def _statements(admin) -> int:
    logger = logging.getLogger("tortoise.db_client")
    counter = _StatementCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        await admin(DASHBOARD)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
    return counter.count


async def _add_launchers(admin, pis, n, start):
    for i in range(start, start + n):
        pi = pis[i % len(pis)]
        folder = await factories.folder(pi, f"F{i}")
        program = await factories.program(pi, f"T{i}", folder_id=folder)
        launcher = (
            await admin(
                CREATE_LAUNCHER,
                {
                    "input": {
                        "name": f"L{i}",
                        "platformIntegrationId": pi,
                        "destinationFolderId": folder,
                        "assetsFolderId": folder,
                        "templateProgramId": program,
                    }
                },
            )
        )["createLauncher"]["launcher"]["id"]
        for c in range(i % 4):
            await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": f"C{i}-{c}"}})


async def test_the_dashboard_costs_the_same_number_of_statements_for_5_and_50_launchers(world):
    _, admin = await world.account(limit=2)
    pis = [
        await factories.integration(admin, "US", "111-AAA-111"),
        await factories.integration(admin, "EMEA", "222-BBB-222"),
    ]
    await _add_launchers(admin, pis, 5, 0)
    with_5 = await _statements(admin)
    await _add_launchers(admin, pis, 45, 5)
    with_50 = await _statements(admin)
    data = await admin(DASHBOARD)
    assert data["account"]["launchers"]["totalCount"] == 50
    assert with_5 == with_50, (with_5, with_50)
    assert with_5 <= 16


async def test_ids_and_cursors_beyond_any_row_are_coded_errors_not_crashes(world):
    from resolvers.ids import encode_id

    _, admin = await world.account()
    huge = encode_id("Launcher", 99_999_999_999)
    assert (await admin("query($id: ID!) { node(id: $id) { id } }", {"id": huge}))["node"] is None
    import base64

    for number in ("9" * 30, "9" * 5000, "²", "1²", "٣", "+1", " 1", "", "4294967296"):
        cursor = base64.urlsafe_b64encode(b"Account.launchers:asc:" + number.encode()).decode()
        query = "query($c: String) { account { launchers(after: $c) { totalCount } } }"
        errors = await admin.errors(query, {"c": cursor})
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], (number[:20], errors)


async def test_an_unexpected_error_in_a_field_is_masked_located_and_logged_without_its_message(
    world, monkeypatch, caplog
):
    from resolvers import integrations

    secret_message = "password=hunter2-in-an-exception-message"
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")

    def explode(parent, info, **arguments):
        raise RuntimeError(secret_message)

    def unserializable(pk, version, values):
        status = original(pk, version, values)
        status.state = "NOT-A-STATE"  # the enum cannot serialize this: an internal error, not the caller's
        return status

    original = integrations.sync_status_of
    query = "{ account { platformIntegrations { credentials { clientId } syncStatus { state } } } }"
    cases = (
        (integrations.CREDENTIALS, "resolve", explode, "RuntimeError", "in explode"),
        (integrations, "sync_status_of", unserializable, "GraphQLError", "in coerce_output_value"),
    )
    for target, name, replacement, logged_type, frame in cases:
        caplog.clear()
        monkeypatch.undo()
        monkeypatch.setattr(target, name, replacement)
        with caplog.at_level(logging.INFO):
            response = await admin.post(query)
        body = response.json()
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
        assert error["message"] == "Internal server error."
        assert error["path"][:3] == ["account", "platformIntegrations", 0] and error["locations"]
        assert secret_message not in response.text and "NOT-A-STATE" not in response.text
        assert "Traceback" not in response.text and 'File "' not in response.text
        logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert logged and logged_type in logged[0].getMessage() and frame in logged[0].getMessage()
        assert secret_message not in caplog.text and "NOT-A-STATE" not in caplog.text


def test_the_same_document_is_parsed_and_validated_once_and_the_limits_still_apply():
    from jeto.strawberry_overrides import build_schema, validate_document_with_strawberry_rules
    from schema.documents import DocumentLimits, Documents

    schema = build_schema()
    validated = []

    def validate(graphql_schema, document):
        validated.append(document)
        return validate_document_with_strawberry_rules(graphql_schema, document)

    documents = Documents(lambda: schema._schema, DocumentLimits(), validate)
    query = "query CacheProbe { viewer { email } account { name } }"
    prepared = documents.prepare(query)
    assert documents.prepare(query) is prepared
    assert documents.errors(prepared, None, {}) == documents.errors(prepared, None, {}) == []
    assert validated == [prepared.document]
    deep = "query DeepProbe { account { launchers { edges { node { platformIntegration { programs { edges { node { folder { platformIntegration { folders { edges { node { platformIntegration { name } } } } } } } } } } } } } } }"
    aliases = "query AliasProbe { " + " ".join(f"a{i}: viewer {{ id }}" for i in range(40)) + " }"
    for _ in range(2):  # the second time from the cache, with the same errors
        assert "depth" in documents.errors(documents.prepare(deep), None, {})[0].message
        assert "aliases" in documents.errors(documents.prepare(aliases), None, {})[0].message
    assert validated == [prepared.document]  # refused for their shape: graphql-core's rules never walked them
    assert (documents.hits, documents.misses) == (3, 3)


async def test_a_cursor_is_accepted_only_by_the_list_that_returned_it(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    await factories.folder(pi, "F1")
    await factories.program(pi, "P1")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "L"}}))["createLauncher"]["launcher"]["id"]
    for name in ("C1", "C2"):
        await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": name}})
    page = "pageInfo { endCursor }"
    data = await admin(
        f"""query($pi: ID!) {{ account {{
        launchers(first: 1) {{ {page} }} campaigns(first: 1) {{ {page} }} }}
        node(id: $pi) {{ ... on PlatformIntegration {{ folders(first: 1) {{ {page} }} programs(first: 1) {{ {page} }}
          syncRuns(first: 1) {{ {page} }} }} }} }}""",
        {"pi": pi},
    )
    launcher_campaigns = await admin(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Launcher {{ campaigns(first: 1) {{ {page} }} }} }} }}",
        {"id": launcher},
    )
    cursors = {
        "Account.launchers": data["account"]["launchers"]["pageInfo"]["endCursor"],
        "Account.campaigns": data["account"]["campaigns"]["pageInfo"]["endCursor"],
        "PlatformIntegration.folders": data["node"]["folders"]["pageInfo"]["endCursor"],
        "PlatformIntegration.programs": data["node"]["programs"]["pageInfo"]["endCursor"],
        "PlatformIntegration.syncRuns": data["node"]["syncRuns"]["pageInfo"]["endCursor"],
        "Launcher.campaigns": launcher_campaigns["node"]["campaigns"]["pageInfo"]["endCursor"],
    }
    assert all(cursors.values()) and len(set(cursors.values())) == len(cursors)
    lists = {
        "Account.launchers": ("{ account { launchers(after: $c) { totalCount } } }", None),
        "Account.campaigns": ("{ account { campaigns(after: $c) { totalCount } } }", None),
        "PlatformIntegration.folders": (
            "{ node(id: $id) { ... on PlatformIntegration { folders(after: $c) { totalCount } } } }",
            pi,
        ),
        "PlatformIntegration.programs": (
            "{ node(id: $id) { ... on PlatformIntegration { programs(after: $c) { totalCount } } } }",
            pi,
        ),
        "PlatformIntegration.syncRuns": (
            "{ node(id: $id) { ... on PlatformIntegration { syncRuns(after: $c) { totalCount } } } }",
            pi,
        ),
        "Launcher.campaigns": (
            "{ node(id: $id) { ... on Launcher { campaigns(after: $c) { totalCount } } } }",
            launcher,
        ),
    }
    for target, (selection, node_id) in lists.items():
        query = f"query($c: String, $id: ID!) {selection}" if node_id else f"query($c: String) {selection}"
        for source, cursor in cursors.items():
            variables = {"c": cursor, **({"id": node_id} if node_id else {})}
            body = (await admin.post(query, variables)).json()
            if source == target:
                assert not body.get("errors"), (source, body)
            else:
                assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (source, target)


async def test_queries_asking_for_too_many_nodes_are_refused_before_running(world):
    from graphql import get_introspection_query

    from jeto.strawberry_overrides import LIMITS

    MAX_REQUESTED_NODES = LIMITS.nodes

    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    nested = "launchers(first: 500) { edges { node { campaigns(first: 500) { totalCount edges { node { id } } } } } }"
    by_variable = (
        "query($n: Int) { account { launchers(first: $n) { edges { node { campaigns(first: $n) { totalCount } } } } } }"
    )
    by_fragment = "query { account { ...Big } } fragment Big on Account { " + nested + " }"
    twice = "{ account { a: launchers(first: 500) { edges { node { campaigns(first: 15) { totalCount } } } } b: launchers(first: 500) { edges { node { campaigns(first: 15) { totalCount } } } } } }"
    inline = '{ node(id: "QWNjb3VudDox") { ... on Account { ' + nested + " } } }"
    for query, variables in (
        (f"{{ account {{ {nested} }} }}", None),
        (by_variable, {"n": 500}),
        (by_fragment, None),
        (twice, None),
        (inline, None),
        (by_variable, {"n": 500.0}),
    ):  # graphql-core takes 500.0 as an Int
        response = await admin.post(query, variables)
        body = response.json()
        assert body["data"] is None, query
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and f"{MAX_REQUESTED_NODES:,}" in error["message"], error
    # The same shapes within the limit run, as do the dashboard and GraphiQL's introspection.
    assert (await admin(by_variable, {"n": 20}))["account"]["launchers"]["edges"] == []
    assert (await admin(twice.replace("first: 15", "first: 5")))["account"]["a"]["edges"] == []
    assert (await admin(DASHBOARD))["account"]["launchers"]["totalCount"] == 0
    assert (await admin(get_introspection_query()))["__schema"]["queryType"]["name"] == "Query"


def test_the_node_count_reads_page_sizes_as_graphql_core_does_and_assumes_the_largest_otherwise():
    from jeto.strawberry_overrides import build_schema
    from resolvers.pages import MAX_PAGE
    from schema.documents import requested_nodes

    schema = build_schema()
    prepared = schema.documents.prepare("query($n: Int) { account { launchers(first: $n) { totalCount } } }")

    def count(variables):
        return requested_nodes(schema._schema, prepared, None, variables)

    assert count({"n": 7}) == 7 and count({"n": 7.0}) == 7
    assert count({}) == count({"n": None}) == 50  # the field's default
    for unreadable in (7.5, "7", True, [7], float("nan")):
        assert count({"n": unreadable}) == MAX_PAGE, unreadable
