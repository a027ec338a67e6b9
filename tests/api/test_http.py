"""GraphQL over HTTP as the spec says, and what operators probe."""

from domain.models import Launcher
from tests.api import factories
from tests.api.operations import CREATE_LAUNCHER

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_get_serves_queries_and_refuses_mutations(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    headers = {"authorization": f"Bearer {admin.token}"}
    ok = await world.http.get("/graphql", params={"query": "{ viewer { email } }"}, headers=headers)
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["email"]
    mutation = 'mutation { createLauncher(input: {name: "via GET"}) { launcher { id } } }'
    refused = await world.http.get("/graphql", params={"query": mutation}, headers=headers)
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await Launcher.all().count() == 0


async def test_bodies_a_browser_can_send_cross_site_without_preflight_are_refused(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    headers = {"authorization": f"Bearer {admin.token}"}
    body = '{"query": "mutation { createLauncher(input: {name: \\"csrf\\"}) { launcher { id } } }"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = await world.http.post("/graphql", content=body, headers={**headers, "content-type": content_type})
        assert response.status_code == 415, content_type
    assert await Launcher.all().count() == 0
    assert (await admin(CREATE_LAUNCHER, {"input": {"name": "json is fine"}}))["createLauncher"]["userErrors"] == []


async def test_graphql_response_json_uses_status_codes(world):
    _, admin = await world.account()
    accept = {"accept": GRAPHQL_RESPONSE}
    ok = await admin.post("{ viewer { email } }", **accept)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    for bad in ("{ viewer { ", "{ viewer { nope } }"):
        response = await admin.post(bad, **accept)
        assert response.status_code == 400 and response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    # A field error during execution is still a 200 with partial data.
    response = await admin.post('{ viewer { email } node(id: "garbage") { id } }', **accept)
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["viewer"]["email"] and body["data"]["node"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and body["errors"][0]["path"] == ["node"]
    # Plain application/json keeps the older convention: 200 with errors.
    assert (await admin.post("{ viewer { nope } }")).status_code == 200
