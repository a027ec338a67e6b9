"""Subscribers that ask the same thing share one execution per change and the same bytes; visibility stays exact."""

import asyncio
import contextlib
import json
import re

from domain.models import Role
from resolvers.ids import encode_id
from tests.api import factories
from tests.api.operations import SET_COLLABORATORS
from tests.api.test_access import build
from tests.api.websocket import next_payload, socket

ACCOUNT_SYNC_STATUS = "subscription { accountSyncStatus { platformIntegrationId state } }"
SYNC_STATUS = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { platformIntegrationId state } }"


async def metric(world, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", await world.metrics(), re.M)
    assert found is not None, name
    return float(found[1])


async def subscribe(ws, query: str, variables: dict | None = None, id: str = "1") -> None:
    await ws.send_json({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})


async def next_text(ws) -> str:
    """The next result message exactly as the server sent it."""
    while True:
        text = await ws.receive_text(timeout=5)
        if json.loads(text)["type"] in ("next", "data"):
            return text


async def test_alike_subscribers_share_one_execution_per_change_and_receive_the_same_bytes(world):
    account_id, admin = await world.account()
    _, other_admin = await world.user(account_id, Role.ADMIN)
    pi = await factories.integration(admin, "US", "111-AAA-111")
    groups = await metric(world, "jeto_subscription_groups")
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(socket(world.app, caller.token, ack=True)) for caller in
                   (admin, admin, admin, other_admin, other_admin)]  # fmt: skip
        for ws in sockets:
            await subscribe(ws, ACCOUNT_SYNC_STATUS)
            assert json.loads(await next_text(ws))["payload"]["data"]["accountSyncStatus"]["state"] == "COMPLETED"
        assert await metric(world, "jeto_subscription_groups") == groups + 1  # five subscribers, one execution
        results = await metric(world, "jeto_subscription_results_total")
        messages = await metric(world, "jeto_subscription_messages_total")

        await factories.change_sync_state(world, pi, "SYNCING")
        received = {await next_text(ws) for ws in sockets}
        assert len(received) == 1, received  # the very same bytes, serialized once
        assert json.loads(received.pop())["payload"]["data"]["accountSyncStatus"] == {
            "platformIntegrationId": pi,
            "state": "SYNCING",
        }
        assert await metric(world, "jeto_subscription_results_total") == results + 1
        assert await metric(world, "jeto_subscription_messages_total") == messages + 5
    for _ in range(100):  # the last one gone, the group ends
        if await metric(world, "jeto_subscription_groups") == groups:
            break
        await asyncio.sleep(0.02)
    assert await metric(world, "jeto_subscription_groups") == groups


async def test_subscribers_share_only_what_decides_their_results(world):
    mine = await build(world)
    admin, collaborator = mine["admin"], mine["collaborator"]
    groups = await metric(world, "jeto_subscription_groups")
    async with contextlib.AsyncExitStack() as stack:
        opened = []
        for caller, query, variables in (
            (admin, SYNC_STATUS, {"id": mine["us"]}),
            (admin, SYNC_STATUS, {"id": mine["emea"]}),  # other variables
            (admin, ACCOUNT_SYNC_STATUS, None),  # another document
            (collaborator, ACCOUNT_SYNC_STATUS, None),  # what they see is not what an admin sees
            (collaborator, ACCOUNT_SYNC_STATUS, None),  # their second tab shares with the first
            (admin, SYNC_STATUS, {"id": mine["us"]}),  # shares with the first
        ):
            ws = await stack.enter_async_context(socket(world.app, caller.token, ack=True))
            await subscribe(ws, query, variables)
            opened.append(await next_payload(ws))
        assert await metric(world, "jeto_subscription_groups") == groups + 4
        # The collaborator's two tabs show the one integration their launcher is bound to; the admin's both.
        assert opened[3] == opened[4] == {"accountSyncStatus": {"platformIntegrationId": mine["us"], "state": "QUEUED"}}


async def test_a_subscriber_joining_others_is_sent_the_current_state_then_every_change(world):
    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    async with socket(world.app, admin.token, ack=True) as first:
        await subscribe(first, ACCOUNT_SYNC_STATUS)
        assert [await next_payload(first) for _ in range(2)]
        for state in ("QUEUED", "SYNCING", "ERROR"):
            await factories.change_sync_state(world, us, state)
            assert (await next_payload(first))["accountSyncStatus"]["state"] == state
        async with socket(world.app, admin.token, ack=True) as second:
            await subscribe(second, ACCOUNT_SYNC_STATUS, id="later")
            current = [(await next_payload(second))["accountSyncStatus"] for _ in range(2)]
            assert sorted(current, key=lambda s: s["platformIntegrationId"]) == sorted(
                [
                    {"platformIntegrationId": us, "state": "ERROR"},
                    {"platformIntegrationId": emea, "state": "COMPLETED"},
                ],
                key=lambda s: s["platformIntegrationId"],
            )
            await factories.change_sync_state(world, emea, "SYNCING")
            for ws in (first, second):
                assert (await next_payload(ws))["accountSyncStatus"] == {
                    "platformIntegrationId": emea,
                    "state": "SYNCING",
                }


async def test_a_collaborator_whose_grants_changed_is_sent_what_they_see_now(world):
    mine = await build(world)
    admin, collaborator = mine["admin"], mine["collaborator"]
    granted_to = encode_id("User", mine["collaborator_id"])
    groups = await metric(world, "jeto_subscription_groups")
    async with socket(world.app, collaborator.token, ack=True) as before:
        await subscribe(before, ACCOUNT_SYNC_STATUS)
        assert (await next_payload(before))["accountSyncStatus"]["platformIntegrationId"] == mine["us"]
        # The launcher on US taken back, the one on EMEA granted instead.
        await admin(SET_COLLABORATORS, {"launcherId": mine["granted"], "userIds": []})
        await admin(SET_COLLABORATORS, {"launcherId": mine["hidden"], "userIds": [granted_to]})
        async with socket(world.app, collaborator.token, ack=True) as after:
            await subscribe(after, ACCOUNT_SYNC_STATUS)
            assert (await next_payload(after))["accountSyncStatus"]["platformIntegrationId"] == mine["emea"]
            assert await metric(world, "jeto_subscription_groups") == groups + 2  # not the other tab's group
            # US changes: neither tab is told (the first one's grants are read again at each change).
            await factories.change_sync_state(world, mine["us"], "SYNCING")
            await factories.change_sync_state(world, mine["emea"], "SYNCING")
            for ws in (before, after):
                assert (await next_payload(ws))["accountSyncStatus"] == {
                    "platformIntegrationId": mine["emea"],
                    "state": "SYNCING",
                }


async def test_a_client_offering_both_protocols_is_given_graphql_transport_ws(world):
    import httpx
    from httpx_ws import aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport

    async with httpx.AsyncClient(
        transport=ASGIWebSocketTransport(app=world.app), base_url="http://jeto.test"
    ) as client:
        for offered in (["graphql-ws", "graphql-transport-ws"], ["graphql-transport-ws", "graphql-ws"]):
            async with aconnect_ws("/graphql", client, subprotocols=offered) as ws:
                assert ws.subprotocol == "graphql-transport-ws", offered
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-ws"]) as ws:
            assert ws.subprotocol == "graphql-ws"
