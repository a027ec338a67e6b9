"""The rate limit, through the API over HTTP and websockets: each operation's cost charged before it runs to its
principal's budget, the figures in the `rateLimit` field, the headers and `extensions`, and past the budget a 429
with Retry-After, a coded error, and nothing done."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager

from domain import accounts, rate_limits
from domain.models import AuditEvent, PlatformIntegration
from jeto.app import create_app
from jeto.auth import issue_development_token
from tests.api import factories
from tests.api.keys import api_key
from tests.api.operations import CREATE_PI, RATE_LIMIT, pi_input
from tests.api.websocket import errors_of, next_payload, receive, socket
from tests.conftest import Caller, SimulatorTransport

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_every_answer_gives_the_budget_in_the_field_the_headers_and_extensions(world):
    _, admin = await world.account()
    responses = [await admin.post(RATE_LIMIT), await admin.post(RATE_LIMIT)]
    limit = world.settings.rate_limit_points
    for spent, response in enumerate(responses, start=1):
        body = response.json()
        figures = body["data"]["rateLimit"]
        assert (figures["limit"], figures["cost"], figures["remaining"]) == (limit, 1, limit - spent)
        assert body["extensions"]["rateLimit"] == figures
        reset = datetime.fromisoformat(figures["resetAt"])
        assert reset > datetime.now(UTC)
        assert {name: response.headers[f"x-ratelimit-{name}"] for name in ("limit", "remaining", "cost", "reset")} == {
            "limit": str(limit),
            "remaining": str(limit - spent),
            "cost": "1",
            "reset": str(int(reset.timestamp())),
        }
        assert "retry-after" not in response.headers


@pytest.mark.parametrize(
    ("document", "cost"),
    [
        ("{ rateLimit { cost } }", 1),
        ("{ account { launchers(first: 99) { totalCount } } rateLimit { cost } }", 1),
        ("{ account { launchers(first: 100) { totalCount } } rateLimit { cost } }", 2),
        (
            "{ account { launchers { totalCount edges { node { campaigns(first: 2) { totalCount } } } } } rateLimit { cost } }",
            2,
        ),
        (
            "{ account { launchers(first: 500) { edges { node { campaigns(first: 2) { totalCount } } } } } rateLimit { cost } }",
            16,
        ),
    ],
)
async def test_an_operation_costs_one_plus_one_per_hundred_nodes_it_may_return(world, document, cost):
    _, admin = await world.account()
    assert (await admin(document))["rateLimit"]["cost"] == cost


async def test_past_the_budget_a_429_with_retry_after_a_coded_error_and_nothing_done(world):
    account_id, admin = await world.account()
    await rate_limits.set_budget(account_id, 3)
    costly = "{ account { launchers(first: 500) { totalCount } } rateLimit { remaining } }"  # 6 points
    refused = await admin.post(costly)
    assert refused.status_code == 429 and refused.headers["x-ratelimit-remaining"] == "3"  # nothing spent
    assert "more than the whole budget" in refused.json()["errors"][0]["message"]
    for remaining in (2, 1, 0):
        assert (await admin(RATE_LIMIT))["rateLimit"]["remaining"] == remaining
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await admin.post(CREATE_PI, {"input": pi_input("US", "111-AAA-111")}, accept=accept)
        body = response.json()
        assert response.status_code == 429, body
        assert body.get("data") is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= world.settings.rate_limit_window_seconds
        assert error["extensions"]["retryAfter"] == retry_after and f"{retry_after} s" in error["message"]
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert body["extensions"]["rateLimit"]["remaining"] == 0
    assert await PlatformIntegration.all().count() == 0
    assert await AuditEvent.filter(account_id=account_id, action="INTEGRATION_CREATED").count() == 0


async def test_each_user_and_each_key_spends_a_budget_of_its_own_set_per_account(world):
    acme_id, acme_admin = await world.account("Acme")
    _, acme_user = await world.user(acme_id)
    _, globex_admin = await world.account("Globex")
    _, key = await api_key(acme_admin, "READ_ONLY")  # one point of the admin's
    await rate_limits.set_budget(acme_id, 2)
    assert (await acme_admin(RATE_LIMIT))["rateLimit"]["remaining"] == 0  # its key's creation spent the other
    assert (await acme_admin.post(RATE_LIMIT)).status_code == 429
    for caller in (acme_user, key):
        assert (await caller(RATE_LIMIT))["rateLimit"]["remaining"] == 1
        assert (await caller(RATE_LIMIT))["rateLimit"]["remaining"] == 0
        assert (await caller.post(RATE_LIMIT)).status_code == 429
    assert (await globex_admin(RATE_LIMIT))["rateLimit"]["limit"] == world.settings.rate_limit_points


async def test_a_subscription_is_charged_when_it_starts_never_per_event(world):
    account_id, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    await rate_limits.set_budget(account_id, 4)  # the integration's creation spent 1: 3 remain
    subscribe = {"type": "subscribe", "payload": {"query": "subscription { accountSyncStatus { state } }"}}
    async with socket(world.app, admin.token, ack=True) as ws:
        await ws.send_json({"id": "1", **subscribe})
        assert (await next_payload(ws))["accountSyncStatus"]["state"] == "COMPLETED"  # 2 remain
        for state in ("QUEUED", "SYNCING", "COMPLETED", "QUEUED", "SYNCING"):
            await factories.change_sync_state(world, pi, state)
            assert (await next_payload(ws))["accountSyncStatus"]["state"] == state
        assert (await admin(RATE_LIMIT))["rateLimit"]["remaining"] == 1  # five events delivered, none charged
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": RATE_LIMIT}})
        assert (await next_payload(ws))["rateLimit"]["remaining"] == 0  # a query over the socket is charged too
        assert (await receive(ws))["type"] == "complete"
        await ws.send_json({"id": "3", **subscribe})
        refused = [await receive(ws)]
        [error] = errors_of(refused)
        assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"] >= 1, refused
        await factories.change_sync_state(world, pi, "COMPLETED")
        assert (await next_payload(ws))["accountSyncStatus"]["state"] == "COMPLETED"  # the first one runs on


async def test_without_its_redis_the_api_runs_unlimited_rather_than_down(settings, simulator, redis_server):
    """redis_server is not started: the store is unreachable. Operations run, without figures."""
    unreachable = dataclasses.replace(settings, rate_limit_store=f"redis://127.0.0.1:{redis_server.port}")
    application = create_app(unreachable, marketo_transport=SimulatorTransport(simulator))
    async with LifespanManager(application):
        _, admin = await accounts.create_account("Acme", f"admin-{redis_server.port}@acme.test")
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://jeto.test") as http:
            caller = Caller(http, issue_development_token(unreachable, admin.email))
            response = await caller.post(RATE_LIMIT)
    assert response.status_code == 200 and response.json()["data"] == {"rateLimit": None}
    assert "x-ratelimit-remaining" not in response.headers
