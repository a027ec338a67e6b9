"""/metrics as Prometheus scrapes it: current job counts, still served when the database is not, and a
bounded set of operation names whatever clients send."""

import re

from domain.models import Job, JobState
from jeto.observability import BoundedLabel
from tests.api import factories


def samples(metrics: str, name: str) -> dict[str, float]:
    return {labels: float(value) for labels, value in re.findall(rf"^{name}\{{(.*)\}} (\S+)$", metrics, re.MULTILINE)}


async def test_the_jobs_gauge_shows_the_current_counts_only(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111", synced=False)
    before = samples(await world.metrics(), "jeto_jobs")
    # A new integration's first jobs: its connection test and its first sync.
    assert before == {'kind="SYNC",state="PENDING"': 1.0, 'kind="TEST_CONNECTION",state="PENDING"': 1.0}
    await Job.all().update(state=JobState.DONE)
    after = samples(await world.metrics(), "jeto_jobs")
    # No PENDING left over from the last scrape.
    assert after == {'kind="SYNC",state="DONE"': 1.0, 'kind="TEST_CONNECTION",state="DONE"': 1.0}


async def test_metrics_are_served_when_the_database_does_not_answer(world, monkeypatch):
    _, admin = await world.account()
    await admin.post("query Dashboard { viewer { email } }")
    await factories.integration(admin, "US", "111-AAA-111", synced=False)
    assert samples(await world.metrics(), "jeto_jobs")

    def unavailable(*args, **kwargs):
        raise ConnectionError("the database is down")

    monkeypatch.setattr(Job, "annotate", unavailable)
    metrics = await world.metrics()  # answered, 200
    assert 'operation="Dashboard"' in metrics
    assert samples(metrics, "jeto_jobs") == {}  # left out rather than stale


async def test_operation_names_are_cut_and_their_number_bounded(world, monkeypatch):
    _, admin = await world.account()
    long_name = "Q" + "x" * 299
    await admin.post(f"query {long_name} {{ viewer {{ email }} }}")
    labels = samples(await world.metrics(), "jeto_graphql_requests_total")
    operations = {re.search(r'operation="([^"]*)"', key).group(1) for key in labels}
    assert long_name not in operations and long_name[:64] in operations

    monkeypatch.setattr("jeto.operation_metrics.OPERATION_LABELS", BoundedLabel(limit=20))
    for n in range(30):
        await admin.post(f"query Bounded{n} {{ viewer {{ email }} }}")
    labels = samples(await world.metrics(), "jeto_graphql_requests_total")
    bounded = {key for key in labels if 'operation="Bounded' in key}
    assert len(bounded) == 20
    assert labels['operation="other",outcome="ok",type="query"'] >= 10


async def test_each_error_is_counted_and_logged_once_whatever_the_phase_or_transport(world, caplog):
    import logging

    from tests.api.websocket import run, socket

    caplog.set_level(logging.INFO, logger="jeto.graphql")

    async def counts():
        metrics = await world.metrics()
        errors = samples(metrics, "jeto_graphql_errors_total").get('code="BAD_USER_INPUT"', 0)
        requests = samples(metrics, "jeto_graphql_requests_total")
        return errors, {key: value for key, value in requests.items() if "Counted" in key}

    _, admin = await world.account()
    errors_before, _ = await counts()
    await admin.post("query CountedInvalid { viewer { nope } }")  # refused by validation
    await admin.post("query CountedInvalid { viewer { nope } }")
    await admin.post('query CountedExecuted { viewer { email } node(id: "garbage") { id } }')  # while executing
    broken = "query { viewer { email }"  # does not parse: only a given operationName can name it
    auth = {"authorization": f"Bearer {admin.token}"}
    await world.http.post("/graphql", json={"query": broken, "operationName": "CountedBroken"}, headers=auth)
    async with socket(world.app, admin.token, ack=True) as ws:
        await run(ws, "graphql-transport-ws", {"query": broken, "operationName": "CountedBrokenWs"})
    errors_after, requests = await counts()
    assert errors_after - errors_before == 5
    assert requests == {
        'operation="CountedInvalid",outcome="error",type="query"': 2.0,
        'operation="CountedExecuted",outcome="error",type="query"': 1.0,
        'operation="CountedBroken",outcome="error",type="unknown"': 1.0,
        'operation="CountedBrokenWs",outcome="error",type="unknown"': 1.0,
    }
    logged = [
        record.getMessage() + f" {record.errors}" for record in caplog.records if "Counted" in record.getMessage()
    ]
    assert logged == [
        "query CountedInvalid 1",
        "query CountedInvalid 1",
        "query CountedExecuted 1",
        "unknown CountedBroken 1",
        "unknown CountedBrokenWs 1",
    ]


async def test_metrics_on_the_api_port_need_the_operators_token(world):
    assert (await world.http.get("/metrics")).status_code == 401
    wrong = await world.http.get("/metrics", headers={"authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    _, admin = await world.account()  # a user's token is not the operator's
    assert (await world.http.get("/metrics", headers={"authorization": f"Bearer {admin.token}"})).status_code == 401
    assert "jeto_graphql_requests_total" in await world.metrics()


async def test_without_a_token_the_api_port_serves_no_metrics(settings, simulator):
    import dataclasses

    import httpx
    from asgi_lifespan import LifespanManager

    from jeto.app import create_app

    application = create_app(dataclasses.replace(settings, metrics_token=None))
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://j") as http:
            response = await http.get("/metrics")
    assert response.status_code == 404 and "JETO_METRICS_PORT" in response.json()["error"]
