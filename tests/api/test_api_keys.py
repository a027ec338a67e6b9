"""API keys, through the API over HTTP and websockets: shown once, stored as a hash, signing in where a bearer
token does, read-only or read-write, revoked or expired at once (their websockets closed)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from graphql import build_schema
from tortoise import Tortoise

from jeto.strawberry_overrides import sdl
from tests.api import factories
from tests.api.keys import api_key
from tests.api.operations import API_KEYS, CREATE_API_KEY, CREATE_PI, REVOKE_API_KEY, pi_input
from tests.api.websocket import PROTOCOLS, close_of, errors_of, next_payload, run, socket
from tests.conftest import TABLES, Caller

KEY_SHAPE = re.compile(r"^jeto_[0-9A-Za-z]{46}$")
ACCOUNT_SYNC_STATUS = "subscription { accountSyncStatus { platformIntegrationId state } }"


async def test_an_admin_creates_a_key_shown_once_that_signs_in_as_the_account(world):
    _, admin = await world.account("Acme")
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    created = (
        await admin(
            CREATE_API_KEY, {"name": " Sales  dashboard ", "scope": "READ_ONLY", "expiresAt": expires.isoformat()}
        )
    )["createApiKey"]
    key = created["key"]
    assert KEY_SHAPE.match(key), key
    shown = created["apiKey"]
    assert (shown["name"], shown["scope"], shown["hint"], shown["lastUsedAt"], shown["revokedAt"]) == (
        "Sales dashboard",
        "READ_ONLY",
        f"jeto_…{key[-4:]}",
        None,
        None,
    )
    assert datetime.fromisoformat(shown["expiresAt"]) == expires
    admin_email = (await admin("{ viewer { email } }"))["viewer"]["email"]
    assert shown["createdBy"] == {"email": admin_email}

    dashboard = Caller(world.http, key)
    seen = await dashboard("{ viewer { email role } account { name platformIntegrations { id } } }")
    assert seen["viewer"] == {"email": admin_email, "role": "ADMIN"} and seen["account"]["name"] == "Acme"
    [listed] = (await admin(API_KEYS))["account"]["apiKeys"]
    assert listed["id"] == shown["id"] and listed["lastUsedAt"] is not None  # its use is recorded
    assert {k: v for k, v in listed.items() if k != "lastUsedAt"} == {
        k: v for k, v in shown.items() if k != "lastUsedAt"
    }
    # Never again in an answer: not in the list, nor in a node, nor to the key itself.
    answers = [
        await admin.post(API_KEYS, {"includeRevoked": True}),
        await admin.post("query($id: ID!) { node(id: $id) { ... on ApiKey { id name hint } } }", {"id": shown["id"]}),
        await dashboard.post(API_KEYS),
    ]
    assert all(answer.status_code == 200 and key not in answer.text for answer in answers)


async def test_a_key_sees_what_an_admin_sees_of_its_own_account_only(world):
    _, acme = await world.account("Acme")
    _, globex = await world.account("Globex")
    acme_pi = await factories.integration(acme, "US", "111-AAA-111")
    globex_pi = await factories.integration(globex, "US", "222-BBB-222")
    _, acme_key = await api_key(acme, "READ_ONLY")
    seen = await acme_key("{ account { platformIntegrations { id credentials { clientId } } users { email } } }")
    assert [pi["id"] for pi in seen["account"]["platformIntegrations"]] == [acme_pi]
    assert seen["account"]["platformIntegrations"][0]["credentials"] is not None  # as an admin sees them
    assert (await acme_key("query($id: ID!) { node(id: $id) { id } }", {"id": globex_pi}))["node"] is None


async def test_a_read_write_key_changes_what_an_admin_changes(world):
    _, admin = await world.account()
    _, writer = await api_key(admin, "READ_WRITE")
    created = (await writer(CREATE_PI, {"input": pi_input("US", "111-AAA-111")}))["createPlatformIntegration"]
    assert created["userErrors"] == [] and created["platformIntegration"]["name"] == "US"


def _every_mutation() -> list[str]:
    """A document for each mutation of the schema, its arguments as variables (left unsent)."""
    documents = []
    for name, field in build_schema(sdl()).mutation_type.fields.items():
        declared = ", ".join(f"${arg}: {value.type}" for arg, value in field.args.items())
        passed = ", ".join(f"{arg}: ${arg}" for arg in field.args)
        documents.append(f"mutation({declared}) {{ {name}({passed}) {{ __typename }} }}")
    return documents


async def _row_counts() -> dict[str, int]:
    connection = Tortoise.get_connection("default")
    return {
        table: (await connection.execute_query_dict(f"SELECT count(*) AS n FROM {table}"))[0]["n"] for table in TABLES
    }


async def test_a_read_only_key_gets_forbidden_on_every_mutation_and_changes_nothing(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    _, reader = await api_key(admin, "READ_ONLY")
    await reader("{ account { name } }")  # reads are fine (and its first use is recorded now)
    before = await _row_counts()
    documents = _every_mutation()
    assert len(documents) >= 15
    for document in documents:
        for accept in ("application/json", "application/graphql-response+json"):
            response = await reader.post(document, accept=accept)
            body = response.json()
            assert response.status_code == 403, (document, body)
            assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"], body
            assert body.get("data") is None
    async with socket(world.app, reader.token, ack=True) as ws:  # the legacy graphql-ws runs no mutation at all
        messages = await run(ws, "graphql-transport-ws", {"query": documents[0]})
        assert [error["extensions"]["code"] for error in errors_of(messages)] == ["FORBIDDEN"], messages
    assert await _row_counts() == before


async def test_keys_are_managed_by_admins_signed_in_as_themselves(world):
    account_id, admin = await world.account()
    _, collaborator = await world.user(account_id)
    key_id, writer = await api_key(admin, "READ_WRITE")
    for caller in (collaborator, writer):
        created = (await caller(CREATE_API_KEY, {"name": "Mine", "scope": "READ_WRITE"}))["createApiKey"]
        assert (created["key"], [e["code"] for e in created["userErrors"]]) == (None, ["FORBIDDEN"])
        revoked = (await caller(REVOKE_API_KEY, {"id": key_id}))["revokeApiKey"]
        assert [e["code"] for e in revoked["userErrors"]] == ["FORBIDDEN"]
    assert [e["extensions"]["code"] for e in await collaborator.errors(API_KEYS)] == ["FORBIDDEN"]
    assert (await collaborator("query($id: ID!) { node(id: $id) { id } }", {"id": key_id}))["node"] is None
    assert [k["id"] for k in (await writer(API_KEYS))["account"]["apiKeys"]] == [key_id]  # a key may read them


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"name": "  ", "scope": "READ_ONLY"}, ["name"]),
        ({"name": "n" * 121, "scope": "READ_ONLY"}, ["name"]),
        ({"name": "Old", "scope": "READ_ONLY", "expiresAt": "2020-01-01T00:00:00Z"}, ["expiresAt"]),
    ],
)
async def test_bad_input_gets_a_coded_error_and_makes_no_key(world, variables, field):
    _, admin = await world.account()
    created = (await admin(CREATE_API_KEY, variables))["createApiKey"]
    assert created["key"] is None and [(e["code"], e["field"]) for e in created["userErrors"]] == [
        ("INVALID_INPUT", field)
    ]
    assert (await admin(API_KEYS, {"includeRevoked": True}))["account"]["apiKeys"] == []


async def test_revoked_expired_unknown_and_mangled_keys_get_401(world):
    _, admin = await world.account()
    key_id, dashboard = await api_key(admin)
    _, soon = await api_key(admin, expiresAt=(datetime.now(UTC) + timedelta(seconds=1)).isoformat())
    assert (await dashboard.post("{ account { name } }")).status_code == 200
    revoked = (await admin(REVOKE_API_KEY, {"id": key_id}))["revokeApiKey"]
    assert revoked["userErrors"] == [] and revoked["apiKey"]["revokedAt"] is not None
    assert (await admin(REVOKE_API_KEY, {"id": key_id}))["revokeApiKey"]["userErrors"] == []  # again: no change
    key = dashboard.token
    other = "jeto_" + "A" * 46  # the right shape, a wrong checksum
    refusals = {
        key: "revoked",
        key[:-1] + ("a" if key[-1] != "a" else "b"): "malformed",
        key[:-2]: "malformed",
        other: "malformed",
    }
    for token, words in refusals.items():
        response = await Caller(world.http, token).post("{ account { name } }")
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and words in error["message"], error
    async with asyncio.timeout(10):  # the second key expires a second after its creation
        while (response := await soon.post("{ account { name } }")).status_code == 200:
            await asyncio.sleep(0.2)
    assert response.status_code == 401 and "expired" in response.json()["errors"][0]["message"]
    listed = (await admin(API_KEYS))["account"]["apiKeys"]
    assert key_id not in [k["id"] for k in listed]
    assert key_id in [k["id"] for k in (await admin(API_KEYS, {"includeRevoked": True}))["account"]["apiKeys"]]


async def test_a_key_signs_in_over_websockets_and_its_sockets_close_when_it_is_revoked(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    for protocol, state in zip(PROTOCOLS, ("SYNCING", "ERROR"), strict=True):
        key_id, dashboard = await api_key(admin, "READ_ONLY")
        _, other = await api_key(admin, "READ_ONLY", name="Other")
        async with (
            socket(world.app, dashboard.token, protocol, ack=True) as ws,
            socket(world.app, other.token, protocol, ack=True) as untouched,
        ):
            start = "subscribe" if protocol == "graphql-transport-ws" else "start"
            for each in (ws, untouched):
                await each.send_json({"id": "1", "type": start, "payload": {"query": ACCOUNT_SYNC_STATUS}})
                assert (await next_payload(each))["accountSyncStatus"]["platformIntegrationId"] == pi
            assert (await admin(REVOKE_API_KEY, {"id": key_id}))["revokeApiKey"]["userErrors"] == []
            assert await close_of(ws) == (4403, "The API key was revoked.")
            # Another key's socket stays open, and goes on receiving.
            await factories.change_sync_state(world, pi, state)
            assert (await next_payload(untouched))["accountSyncStatus"]["state"] == state


async def test_a_key_s_websocket_closes_when_the_key_expires(world):
    _, admin = await world.account()
    _, soon = await api_key(admin, "READ_ONLY", expiresAt=(datetime.now(UTC) + timedelta(seconds=2)).isoformat())
    async with socket(world.app, soon.token, ack=True) as ws:
        assert await close_of(ws, timeout=15) == (4403, "The API key has expired.")
    async with socket(world.app, soon.token) as ws:
        assert await close_of(ws) == (4403, "Forbidden")  # and it cannot sign in again


async def test_a_key_never_appears_in_a_log_or_in_the_database(world, caplog):
    caplog.set_level(logging.DEBUG)
    _, admin = await world.account()
    key_id, dashboard = await api_key(admin)
    key = dashboard.token
    await dashboard("{ account { name } }")
    await dashboard(CREATE_PI, {"input": pi_input("US", "111-AAA-111")})
    async with socket(world.app, key, ack=True) as ws:
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": ACCOUNT_SYNC_STATUS}})
        await next_payload(ws)
        await admin(REVOKE_API_KEY, {"id": key_id})
        await close_of(ws)
    assert (await dashboard.post("{ account { name } }")).status_code == 401
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert key not in logged and key[5:45] not in logged
    connection = Tortoise.get_connection("default")
    stored = "".join([repr(await connection.execute_query_dict(f"SELECT * FROM {table}")) for table in TABLES])
    assert key not in stored and key[5:45] not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored  # what is kept instead
