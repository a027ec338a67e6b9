"""Text the database cannot store (lone surrogates, NUL) or that has no place in a name (control characters)
is refused with a coded error, never a 500; ids and filters out of reach are absent, not crashes."""

import json

from domain.models import Campaign, Launcher, PlatformIntegration
from resolvers.ids import encode_id
from tests.api import factories
from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER, CREATE_PI, UPDATE_LAUNCHER, UPDATE_PI, pi_input

BAD_TEXT = ["lone \ud800 surrogate", "nul \x00 byte", "escape \x1b char", "c1 \x85 control"]


async def post(caller, query, variables):
    """As Caller.post, but JSON with \\u escapes: httpx refuses to encode a lone surrogate itself."""
    body = json.dumps({"query": query, "variables": variables})
    headers = {"authorization": f"Bearer {caller.token}", "content-type": "application/json"}
    response = await caller.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


def codes(payload):
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_names_secrets_and_endpoints_with_unstorable_text_are_invalid_input(world):
    account_id, admin = await world.account(limit=9)
    pi = await factories.integration(admin, "US", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "Fine"}}))["createLauncher"]["launcher"]["id"]
    for text in BAD_TEXT:
        cases = [
            (CREATE_PI, {"input": pi_input(name=text)}, "createPlatformIntegration", ["input", "name"]),
            (
                CREATE_PI,
                {"input": pi_input(name="B", credentials={"clientSecret": text + "-long-enough"})},
                "createPlatformIntegration",
                ["input", "credentials", "clientSecret"],
            ),
            (
                CREATE_PI,
                {"input": pi_input(name="C", credentials={"clientId": text})},
                "createPlatformIntegration",
                ["input", "credentials", "clientId"],
            ),
            (
                CREATE_PI,
                {"input": pi_input(name="D", credentials={"restEndpoint": f"https://a{text}.mktorest.com/rest"})},
                "createPlatformIntegration",
                ["input", "credentials", "restEndpoint"],
            ),
            (UPDATE_PI, {"input": {"id": pi, "name": text}}, "updatePlatformIntegration", ["input", "name"]),
            (
                UPDATE_PI,
                {"input": {"id": pi, "credentials": {"clientSecret": text + "-long-enough"}}},
                "updatePlatformIntegration",
                ["input", "credentials", "clientSecret"],
            ),
            (
                UPDATE_PI,
                {"input": {"id": pi, "credentials": {"identityEndpoint": f"https://b{text}.mktorest.com/identity"}}},
                "updatePlatformIntegration",
                ["input", "credentials", "identityEndpoint"],
            ),
            (CREATE_LAUNCHER, {"input": {"name": text}}, "createLauncher", ["input", "name"]),
            (UPDATE_LAUNCHER, {"input": {"id": launcher, "name": text}}, "updateLauncher", ["input", "name"]),
            (CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": text}}, "createCampaign", ["input", "name"]),
        ]
        for mutation, variables, key, field in cases:
            payload = (await post(admin, mutation, variables))[key]
            assert codes(payload) == [("INVALID_INPUT", field)], (text, key, field, payload)
    assert await PlatformIntegration.filter(account_id=account_id).count() == 1
    stored = await PlatformIntegration.get(account_id=account_id)
    assert (stored.name, stored.client_secret_hint) == ("US", "…XYZW")
    assert [launcher.name for launcher in await Launcher.filter(account_id=account_id)] == ["Fine"]
    assert await Campaign.filter(account_id=account_id).count() == 0


async def test_searches_with_unstorable_text_are_bad_user_input(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    for text in ("a\x00", "a\ud800"):
        for connection in ("folders", "programs"):
            query = f"query($id: ID!, $s: String) {{ node(id: $id) {{ ... on PlatformIntegration {{ {connection}(search: $s) {{ totalCount }} }} }} }}"
            body = json.dumps({"query": query, "variables": {"id": pi, "s": text}})
            response = await world.http.post(
                "/graphql",
                content=body,
                headers={"authorization": f"Bearer {admin.token}", "content-type": "application/json"},
            )
            [error] = response.json()["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (connection, text, error)


async def test_node_of_an_id_beyond_any_row_is_null_but_an_id_argument_says_why(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    huge = encode_id("Launcher", 2**31)
    assert (await admin("query($id: ID!) { node(id: $id) { id } }", {"id": huge}))["node"] is None
    payload = (await admin(UPDATE_LAUNCHER, {"input": {"id": huge, "name": "x"}}))["updateLauncher"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", ["input", "id"])]
    errors = await admin.errors("query($l: ID) { account { campaigns(launcherId: $l) { totalCount } } }", {"l": huge})
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]


async def test_a_folder_filter_outside_the_integration_is_not_found_as_other_filters_are(world):
    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    _, outsider = await world.account("Globex")
    foreign_pi = await factories.integration(outsider, "Theirs", "333-CCC-333")
    us_folder = await factories.folder(us, "Ours")
    await factories.program(us, "In ours", folder_id=us_folder)
    query = "query($pi: ID!, $f: ID) { node(id: $pi) { ... on PlatformIntegration { programs(folderId: $f) { totalCount } } } }"
    assert (await admin(query, {"pi": us, "f": us_folder}))["node"]["programs"]["totalCount"] == 1
    for folder in (
        await factories.folder(emea, "Other instance"),
        await factories.folder(foreign_pi, "Other account"),
        encode_id("MarketoFolder", 999_999),
    ):
        errors = await admin.errors(query, {"pi": us, "f": folder})
        assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]
    launcher_filter = await admin.errors(
        "query($l: ID) { account { campaigns(launcherId: $l) { totalCount } } }", {"l": encode_id("Launcher", 999_999)}
    )
    assert [e["extensions"]["code"] for e in launcher_filter] == ["NOT_FOUND"]
