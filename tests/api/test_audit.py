"""The audit trail, through the API: every audited change with who, when, what and its request id, written in the
transaction of the change; paged and filtered by admins; FORBIDDEN to collaborators; secrets only "changed"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from domain import accounts, syncs
from domain.models import AuditEvent, PlatformIntegration
from resolvers.ids import encode_id
from tests.api import factories
from tests.api.keys import api_key
from tests.api.operations import (
    CREATE_LAUNCHER,
    CREATE_PI,
    DELETE_PI,
    REVOKE_API_KEY,
    SET_COLLABORATORS,
    SET_DEFAULT,
    UPDATE_PI,
    pi_input,
)

AUDIT = """query($integration: ID, $actor: ID, $kind: AuditActorKind, $first: Int, $after: String) {
  account { auditEvents(platformIntegrationId: $integration, actorId: $actor, actorKind: $kind, first: $first,
                        after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id action at requestId actor { kind user { email } apiKey { name } }
      platformIntegration { id name } launcher { name } apiKey { name } changes { field before after } } } } } }"""


async def _trail(caller, **variables) -> list[dict]:
    page = (await caller(AUDIT, variables))["account"]["auditEvents"]
    assert page["totalCount"] == len(page["edges"]) or variables.get("first"), page
    return [edge["node"] for edge in page["edges"]]


async def _as(caller, request_id: str, document: str, variables: dict) -> dict:
    """A request with its own X-Request-ID; its data, which must hold no user error."""
    response = await caller.post(document, variables, **{"x-request-id": request_id})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    payload = next(iter(body["data"].values()))
    assert payload["userErrors"] == [], payload
    return payload


async def test_every_audited_change_is_recorded_with_who_when_what_and_its_request(world):
    account_id, admin = await world.account("Acme", limit=1)
    admin_email = (await admin("{ viewer { email } }"))["viewer"]["email"]
    collaborator_id, _ = await world.user(account_id)
    started = datetime.now(UTC) - timedelta(seconds=1)
    us = (await _as(admin, "r-create-us", CREATE_PI, {"input": pi_input("US", "111-AAA-111")}))["platformIntegration"]
    emea = (
        await _as(admin, "r-create-emea", CREATE_PI, {"input": pi_input("EMEA", "222-BBB-222", confirmTrial=True)})
    )["platformIntegration"]
    update = {
        "id": us["id"],
        "name": "North America",
        "credentials": {"clientId": "new-client", "clientSecret": "n3w-s3cr3t-value-ABCD"},
    }
    await _as(admin, "r-update", UPDATE_PI, {"input": update})
    await _as(admin, "r-default", SET_DEFAULT, {"id": emea["id"]})
    await factories.set_sync_state(us["id"], "COMPLETED")
    await factories.set_sync_state(emea["id"], "COMPLETED")
    launcher = (
        await _as(
            admin, "r-launcher", CREATE_LAUNCHER, {"input": {"name": "Webinars", "platformIntegrationId": us["id"]}}
        )
    )["launcher"]
    grant = {"launcherId": launcher["id"], "userIds": [encode_id("User", collaborator_id)]}
    await _as(admin, "r-grant", SET_COLLABORATORS, grant)
    await accounts.set_integrations_limit(account_id, 2)  # the account manager's command: EMEA's trial ends
    key_id, key = await api_key(admin, "READ_WRITE", name="Ops robot")
    await _as(key, "r-delete", DELETE_PI, {"id": emea["id"]})
    await _as(admin, "r-revoke", REVOKE_API_KEY, {"id": key_id})

    trail = await _trail(admin)
    assert [(e["action"], e["actor"]["kind"], e["requestId"]) for e in trail] == [
        ("API_KEY_REVOKED", "USER", "r-revoke"),
        ("INTEGRATION_DEFAULT_CHANGED", "API_KEY", "r-delete"),  # the oldest remaining one takes over
        ("INTEGRATION_DELETED", "API_KEY", "r-delete"),
        ("API_KEY_CREATED", "USER", trail[3]["requestId"]),
        ("INTEGRATION_TRIAL_ENDED", "ACCOUNT_MANAGER", None),
        ("PLAN_LIMITS_CHANGED", "ACCOUNT_MANAGER", None),
        ("LAUNCHER_COLLABORATORS_CHANGED", "USER", "r-grant"),
        ("LAUNCHER_CREATED", "USER", "r-launcher"),
        ("INTEGRATION_DEFAULT_CHANGED", "USER", "r-default"),
        ("INTEGRATION_DEFAULT_CHANGED", "USER", "r-default"),
        ("INTEGRATION_CREDENTIALS_CHANGED", "USER", "r-update"),
        ("INTEGRATION_RENAMED", "USER", "r-update"),
        ("INTEGRATION_CREATED", "USER", "r-create-emea"),
        ("INTEGRATION_CREATED", "USER", "r-create-us"),
    ]
    by_action = {e["action"]: e for e in reversed(trail)}  # the newest of each
    assert all(started <= datetime.fromisoformat(e["at"]) <= datetime.now(UTC) for e in trail)
    assert {e["actor"]["user"]["email"] for e in trail if e["actor"]["kind"] == "USER"} == {admin_email}
    assert {e["actor"]["apiKey"]["name"] for e in trail if e["actor"]["kind"] == "API_KEY"} == {"Ops robot"}
    assert by_action["INTEGRATION_CREDENTIALS_CHANGED"]["changes"] == [
        {"field": "clientId", "before": "client-111-AAA-111", "after": "new-client"},
        {"field": "clientSecret", "before": None, "after": "changed"},
    ]
    assert by_action["INTEGRATION_RENAMED"]["changes"] == [{"field": "name", "before": "US", "after": "North America"}]
    created = {c["field"]: c["after"] for c in trail[-2]["changes"]}
    assert created["clientSecret"] == "changed" and created["isTrial"] == "true" and created["name"] == "EMEA"
    assert {(e["platformIntegration"]["name"], e["changes"][0]["after"]) for e in trail[8:10]} == {
        ("EMEA", "true"),
        ("North America", "false"),
    }
    assert by_action["LAUNCHER_CREATED"]["launcher"] == {"name": "Webinars"}
    assert by_action["LAUNCHER_CREATED"]["platformIntegration"]["id"] == us["id"]
    collaborator_email = by_action["LAUNCHER_COLLABORATORS_CHANGED"]["changes"][0]["after"]
    assert (
        by_action["LAUNCHER_COLLABORATORS_CHANGED"]["changes"]
        == [{"field": "collaborators", "before": None, "after": collaborator_email}]
        and "@" in collaborator_email
    )
    assert by_action["PLAN_LIMITS_CHANGED"]["changes"] == [
        {"field": "platformIntegrations", "before": "1", "after": "2"}
    ]
    assert by_action["INTEGRATION_TRIAL_ENDED"]["platformIntegration"]["name"] == "EMEA"
    assert by_action["INTEGRATION_DELETED"]["platformIntegration"]["name"] == "EMEA"  # deleted, still named
    assert by_action["API_KEY_REVOKED"]["apiKey"] == {"name": "Ops robot"}
    text = json.dumps(trail)
    assert "s3cr3t" not in text and key.token not in text  # secrets are only ever "changed"

    # Filtered: one integration's, one actor's, one kind of actor's.
    assert {e["platformIntegration"]["id"] for e in await _trail(admin, integration=emea["id"])} == {emea["id"]}
    assert len(await _trail(admin, integration=emea["id"])) == 4  # created, default, trial ended, deleted
    assert [e["action"] for e in await _trail(admin, actor=key_id)] == [
        "INTEGRATION_DEFAULT_CHANGED",
        "INTEGRATION_DELETED",
    ]
    admin_id = encode_id("User", (await accounts.User.get(email=admin_email)).id)
    assert len(await _trail(admin, actor=admin_id)) == 10
    assert len(await _trail(admin, kind="ACCOUNT_MANAGER")) == 2
    errors = await admin.errors(AUDIT, {"actor": us["id"]})
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]

    # Paged newest first, pages that neither skip nor repeat.
    first = (await admin(AUDIT, {"first": 5}))["account"]["auditEvents"]
    second = (await admin(AUDIT, {"first": 20, "after": first["pageInfo"]["endCursor"]}))["account"]["auditEvents"]
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]
    assert [e["node"]["id"] for e in first["edges"] + second["edges"]] == [e["id"] for e in trail]


async def test_collaborators_and_other_accounts_get_nothing_of_the_trail(world):
    account_id, admin = await world.account("Acme")
    _, collaborator = await world.user(account_id)
    _, outsider = await world.account("Globex")
    await factories.integration(admin, "US", "111-AAA-111")
    [entry] = await _trail(admin)
    errors = await collaborator.errors(AUDIT)
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    node = "query($id: ID!) { node(id: $id) { id ... on AuditEvent { action } } }"
    assert (await admin(node, {"id": entry["id"]}))["node"] == {"id": entry["id"], "action": "INTEGRATION_CREATED"}
    for caller in (collaborator, outsider):
        assert (await caller(node, {"id": entry["id"]}))["node"] is None
    assert await _trail(outsider) == []


async def test_a_change_never_lands_without_its_entry_nor_an_entry_without_its_change(world, monkeypatch):
    _, admin = await world.account()
    us = await factories.integration(admin, "US", "111-AAA-111")
    await factories.integration(admin, "EMEA", "222-BBB-222", confirmTrial=True)
    before = await AuditEvent.all().count()

    # Refused by a rule: nothing changes, nothing is recorded.
    taken = (await admin(UPDATE_PI, {"input": {"id": us, "name": "EMEA"}}))["updatePlatformIntegration"]
    assert [e["code"] for e in taken["userErrors"]] == ["INVALID_INPUT"]

    # The entry cannot be written: the change is rolled back with it.
    async def no_entry(*args, **kwargs):
        raise RuntimeError("the audit trail is unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(AuditEvent, "create", no_entry)
        errors = await admin.errors(UPDATE_PI, {"input": {"id": us, "name": "North America"}})
    assert [e["extensions"]["code"] for e in errors] == ["INTERNAL_SERVER_ERROR"]
    assert (await PlatformIntegration.get(id=factories.pk(us))).name == "US"

    # The change fails after its entry was written: the entry is rolled back with it.
    async def no_sync(*args, **kwargs):
        raise RuntimeError("the job queue is unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(syncs, "queue_sync", no_sync)
        errors = await admin.errors(CREATE_PI, {"input": pi_input("APAC", "333-CCC-333", confirmTrial=True)})
    assert [e["extensions"]["code"] for e in errors] == ["INTERNAL_SERVER_ERROR"]
    assert not await PlatformIntegration.filter(name="APAC").exists()
    assert await AuditEvent.all().count() == before


async def test_a_change_made_over_a_websocket_is_recorded_with_the_socket_s_request_id(world):
    from httpx_ws import aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport

    from tests.api.websocket import run

    _, admin = await world.account()
    create = {"query": CREATE_PI, "variables": {"input": pi_input("US", "111-AAA-111")}}
    transport = ASGIWebSocketTransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://jeto.test") as client:
        headers = {"x-request-id": "socket-7"}
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"], headers=headers) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {admin.token}"}})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            [result, _] = await run(ws, "graphql-transport-ws", create)
            assert result["payload"]["data"]["createPlatformIntegration"]["userErrors"] == [], result
    [entry] = await _trail(admin)
    assert (entry["action"], entry["requestId"], entry["actor"]["kind"]) == ("INTEGRATION_CREATED", "socket-7", "USER")
