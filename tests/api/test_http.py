"""GraphQL over HTTP as the spec says, and what operators probe."""

import logging

import pytest

from domain.models import Launcher
from tests.api import factories
from tests.api.operations import CREATE_LAUNCHER
from tests.test_metrics import samples
from tests.waiting import wait_until

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


async def test_health_readiness_and_metrics(world):
    assert (await world.http.get("/healthz")).text == "ok"
    ready = await world.http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "database": "ok", "broadcast": "ok"}
    _, admin = await world.account()

    async def scrape():
        metrics = await world.metrics()
        return metrics, {
            name: samples(metrics, name)
            for name in (
                "jeto_graphql_requests_total",
                "jeto_graphql_errors_total",
                "jeto_graphql_request_seconds_count",
            )
        }

    _, before = await scrape()  # the counters are the process's: earlier tests counted too
    await admin.post("query Dashboard { viewer { email } }")
    await admin.post("query Broken { viewer { nope } }")
    await factories.integration(admin, "US", "111-AAA-111", synced=False)
    metrics, after = await scrape()

    def added(name, labels):
        return after[name].get(labels, 0) - before[name].get(labels, 0)

    assert added("jeto_graphql_requests_total", 'operation="Dashboard",outcome="ok",type="query"') == 1
    assert added("jeto_graphql_requests_total", 'operation="Broken",outcome="error",type="query"') == 1
    assert added("jeto_graphql_errors_total", 'code="BAD_USER_INPUT"') == 1
    assert added("jeto_graphql_request_seconds_count", 'operation="Dashboard",type="query"') == 1
    assert 'jeto_jobs{kind="SYNC",state="PENDING"} 1.0' in metrics
    assert "jeto_active_subscriptions" in metrics


async def test_readiness_fails_when_the_database_is_gone(world):
    from tortoise import Tortoise

    await Tortoise.get_connection("default").close()
    original = Tortoise.get_connection("default").execute_query

    async def broken(*args, **kwargs):
        raise ConnectionError("database away")

    Tortoise.get_connection("default").execute_query = broken
    try:
        ready = await world.http.get("/readyz")
    finally:
        Tortoise.get_connection("default").execute_query = original
    assert ready.status_code == 503 and ready.json()["database"] == "unavailable (ConnectionError)"


async def test_readiness_fails_when_the_event_bus_is_disconnected(world):
    """As a redis:// or postgres:// backend reports itself while its server is away (see tests/test_bus.py)."""
    backend = type(world.services.bus.backend)  # memory://, or redis:// and postgres:// in CI
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend, "healthy", property(lambda self: False), raising=False)
        ready = await world.http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"ready": False, "database": "ok", "broadcast": "unavailable"}
    assert (await world.http.get("/readyz")).status_code == 200  # and ready again once it is back


async def test_logs_are_json_lines_with_the_request_id_and_operation(world):
    import io
    import json
    import logging

    from jeto.observability import configure_logging

    stream = io.StringIO()
    previous = logging.getLogger().handlers[:]
    configure_logging(logging.INFO, stream=stream)
    try:
        _, admin = await world.account()
        response = await admin.post("query Probe { viewer { email } }", **{"x-request-id": "req-123"})
        assert response.headers["x-request-id"] == "req-123"
        generated = (await admin.post("{ viewer { email } }")).headers["x-request-id"]
    finally:
        logging.getLogger().handlers[:] = previous
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    probe = [line for line in lines if line.get("request_id") == "req-123"]
    assert probe and probe[-1]["operation"] == "Probe" and probe[-1]["name"] == "jeto.graphql"
    assert len(generated) == 32 and any(line.get("request_id") == generated for line in lines)


async def test_requests_strawberry_cannot_read_get_coded_json_errors(world):
    _, admin = await world.account()
    auth = {"authorization": f"Bearer {admin.token}"}
    cases = [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {}}, 400),
        ({"json": [{"query": "{ viewer { email } }"}]}, 400),  # batching is off
        ({"json": {"query": "{ viewer { email } }", "variables": [1]}}, 400),
        ({"json": {"query": "{ viewer { email } }", "variables": "x"}}, 400),
        ({"json": {"query": 5}}, 400),
        ({"json": {"query": "query A { viewer { email } }", "operationName": "B"}}, 400),
        ({"json": "x"}, 400),  # a body that is JSON but not an object
        ({"json": 5}, 400),
        ({"content": b"null", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"query": "query A { viewer { email } }", "operationName": 5}}, 400),
        ({"json": {"query": "query A { viewer { email } }", "operationName": ["A"]}}, 400),
    ]
    for accept, media_type in (({}, "application/json"), ({"accept": GRAPHQL_RESPONSE}, GRAPHQL_RESPONSE)):
        for request, status in cases:
            headers = {**auth, **accept, **request.get("headers", {})}
            response = await world.http.post("/graphql", **{**request, "headers": headers})
            assert response.status_code == status, (request, response.text)
            assert response.headers["content-type"].startswith(media_type), (request, response.headers)
            [error] = response.json()["errors"]
            assert error["extensions"] == {"code": "BAD_USER_INPUT"} and error["message"], request
    put = await world.http.put("/graphql", json={"query": "{ viewer { email } }"}, headers=auth)
    assert put.status_code == 405 and put.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "POST" in put.headers["allow"]


async def test_an_unexpected_failure_in_the_endpoint_is_a_coded_500_without_details(world, monkeypatch, caplog):
    from resolvers import sql

    _, admin = await world.account()

    async def database_away(*args, **kwargs):
        raise ConnectionError("db at 10.0.0.5 refused user jeto password=hunter2")

    monkeypatch.setattr(sql, "rows", database_away)  # the first read of a request: signing in
    for accept, media_type in (("application/json", "application/json"), (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE)):
        response = await admin.post("{ viewer { email } }", accept=accept)
        assert response.status_code == 500 and response.headers["content-type"].startswith(media_type)
        assert response.json() == {
            "errors": [{"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
        }
    assert "ConnectionError" in caplog.text and "hunter2" not in caplog.text


async def test_which_operation_runs_is_never_guessed(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    headers = {"authorization": f"Bearer {admin.token}"}
    document = (
        'mutation Make { createLauncher(input: {name: "guessed"}) { launcher { id } } } query Look { viewer { email } }'
    )
    # POST: several operations and no operationName is an error, not "run the first".
    posted = await world.http.post("/graphql", json={"query": document}, headers=headers)
    assert posted.status_code == 400 and posted.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "operationName" in posted.json()["errors"][0]["message"]
    # GET: the same document cannot run either; naming the mutation is 405, naming the query runs it.
    got = await world.http.get("/graphql", params={"query": document}, headers=headers)
    assert got.status_code == 400 and got.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    named = await world.http.get("/graphql", params={"query": document, "operationName": "Make"}, headers=headers)
    assert named.status_code == 405 and named.headers["allow"] == "POST"
    looked = await world.http.get("/graphql", params={"query": document, "operationName": "Look"}, headers=headers)
    assert looked.status_code == 200 and looked.json()["data"]["viewer"]["email"]
    assert await Launcher.all().count() == 0
    ran = await world.http.post("/graphql", json={"query": document, "operationName": "Make"}, headers=headers)
    assert ran.json()["data"]["createLauncher"]["launcher"]["id"]


async def test_a_subscription_over_plain_http_is_told_to_use_the_websocket(world, caplog):
    _, admin = await world.account()
    headers = {"authorization": f"Bearer {admin.token}"}
    subscription = "subscription { accountSyncStatus { state } }"
    for accept in ("application/json", GRAPHQL_RESPONSE):
        posted = await world.http.post("/graphql", json={"query": subscription}, headers={**headers, "accept": accept})
        got = await world.http.get("/graphql", params={"query": subscription}, headers={**headers, "accept": accept})
        for response in (posted, got):
            assert response.status_code == 400, response.text
            [error] = response.json()["errors"]
            assert error["extensions"] == {"code": "BAD_USER_INPUT"} and "websocket" in error["message"], error
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text


async def test_a_graphql_response_that_never_executed_has_no_data_entry(world):
    _, admin = await world.account()
    for document in ("{ viewer { ", "{ viewer { nope } }", "query($n: Int!) { viewer { email } }"):
        response = await admin.post(document, accept=GRAPHQL_RESPONSE)
        assert response.status_code == 400
        body = response.json()
        assert "data" not in body and body["errors"], body
    executed = await admin.post('{ viewer { email } node(id: "garbage") { id } }', accept=GRAPHQL_RESPONSE)
    assert executed.status_code == 200 and executed.json()["data"]["viewer"]["email"]


async def test_a_client_that_accepts_no_json_gets_406(world):
    _, admin = await world.account()
    for accept in ("application/xml", "text/html;q=1, application/json;q=0"):
        response = await admin.post("{ viewer { email } }", accept=accept)
        assert response.status_code == 406, accept
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    for accept in ("*/*", "application/*", "application/json, text/plain", f"{GRAPHQL_RESPONSE};q=0.9"):
        assert (await admin.post("{ viewer { email } }", accept=accept)).status_code == 200, accept


async def test_the_access_log_names_the_path_without_its_query_string(app, world, caplog):
    """A GET's query string may carry a whole mutation with its variables (refused with 405, but logged)."""
    import asyncio
    import logging

    import httpx

    from jeto import http_server

    caplog.set_level(logging.INFO)
    secret = "Sup3r-Secret-Value-0123456789"
    _, admin = await world.account()
    server = http_server.make_server(app, lifespan="off")
    with http_server.listening_socket("127.0.0.1", 0) as sock:
        serving = asyncio.create_task(http_server.serve(server, sock))
        try:
            await wait_until(lambda: server.started)
            mutation = "mutation($s: String!) { createPlatformIntegration(input: {name: $s}) { userErrors { code } } }"
            async with httpx.AsyncClient(base_url=http_server.local_url(sock)) as http:
                refused = await http.get(
                    "/graphql",
                    params={"query": mutation, "variables": f'{{"s": "{secret}"}}'},
                    headers={"authorization": f"Bearer {admin.token}"},
                )
        finally:
            server.should_exit = True
            await serving
    assert refused.status_code == 405
    access = [record for record in caplog.records if record.name == "uvicorn.access"]
    assert access and '"GET /graphql HTTP/1.1" 405' in access[-1].getMessage(), [r.getMessage() for r in access]
    server_side = [record.getMessage() for record in caplog.records if record.name != "httpx"]  # not the test's client
    assert not [line for line in server_side if secret in line or "variables" in line], server_side


async def test_answers_are_compact_utf8_json_that_round_trips_what_was_stored(world):
    """The answer's encoder is ours (msgspec, jeto/strawberry_overrides.py): names outside ASCII, quotes and
    backslashes come back as stored, in compact UTF-8 that any JSON parser reads."""
    _, admin = await world.account()
    name = 'Équipe "Nord" \\ 東京 🚀'
    pi = await factories.integration(admin, name, "111-AAA-111")
    headers = {"authorization": f"Bearer {admin.token}"}
    query = "query($id: ID!) { node(id: $id) { ... on PlatformIntegration { name } } }"
    answer = await world.http.post("/graphql", json={"query": query, "variables": {"id": pi}}, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["data"] == {"node": {"name": name}}
    assert "東京".encode() in answer.content and b'{"data":{"node":' in answer.content  # UTF-8, no spaces
