"""Subscriptions over websockets, both protocols: current state first, then every change, one account only."""

import asyncio
import contextlib
import gc

import httpx
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from domain import syncs
from domain.models import PlatformIntegration, SyncTrigger
from tests.api import factories

SYNC_STATUS = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { platformIntegrationId state error } }"
ACCOUNT_SYNC_STATUS = "subscription { accountSyncStatus { platformIntegrationId state } }"


@contextlib.asynccontextmanager
async def socket(app, token, protocol="graphql-transport-ws"):
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url="http://jeto.test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=[protocol]) as ws:
            init = "connection_init"
            await ws.send_json({"type": init, "payload": {"Authorization": f"Bearer {token}"}})
            yield ws


async def receive(ws, timeout=5.0):
    return await ws.receive_json(timeout=timeout)


async def next_payload(ws):
    """The next operation result, skipping keep-alives."""
    while True:
        message = await receive(ws)
        if message["type"] in ("next", "data"):
            return message["payload"]["data"]
        assert message["type"] in ("ka", "pong"), message


async def test_sync_status_sends_the_current_state_then_every_change_in_order(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111", synced=False)
    async with socket(world.app, admin.token) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": pi}}})
        first = await next_payload(ws)
        assert first["syncStatus"] == {"platformIntegrationId": pi, "state": "QUEUED", "error": None}
        integration = await PlatformIntegration.get(id=factories.pk(pi))
        for state in ("SYNCING", "COMPLETED"):
            await PlatformIntegration.filter(id=integration.id).update(sync_state=state)
            await world.services.sync_queued(integration)
            assert (await next_payload(ws))["syncStatus"]["state"] == state
        await ws.send_json({"id": "1", "type": "complete"})


async def test_a_bad_token_at_connection_init_closes_with_4403(world):
    for token in ("garbage", ""):
        codes = []
        with contextlib.suppress(WebSocketDisconnect, ExceptionGroup):
            async with socket(world.app, token) as ws:
                try:
                    await receive(ws)
                except WebSocketDisconnect as closed:
                    codes.append(closed.code)
        assert codes == [4403]


async def test_the_legacy_graphql_ws_protocol_works_too(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    async with socket(world.app, admin.token, protocol="graphql-ws") as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "7", "type": "start", "payload": {"query": SYNC_STATUS, "variables": {"id": pi}}})
        assert (await next_payload(ws))["syncStatus"]["state"] == "COMPLETED"
        run = await syncs.queue_sync(factories.pk(pi), SyncTrigger.MANUAL)
        assert run.state.value == "QUEUED"
        await world.services.sync_queued(await PlatformIntegration.get(id=factories.pk(pi)))
        assert (await next_payload(ws))["syncStatus"]["state"] == "QUEUED"


async def test_a_subscriber_only_ever_receives_its_own_account_events(world):
    _, acme = await world.account("Acme")
    _, globex = await world.account("Globex")
    acme_pi = await factories.integration(acme, "US", "111-AAA-111")
    globex_pi = await factories.integration(globex, "US", "222-BBB-222")
    async with socket(world.app, globex.token) as ws:
        await receive(ws)
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": ACCOUNT_SYNC_STATUS}})
        assert (await next_payload(ws))["accountSyncStatus"]["platformIntegrationId"] == globex_pi
        acme_row = await PlatformIntegration.get(id=factories.pk(acme_pi))
        for state in ("QUEUED", "SYNCING", "COMPLETED"):
            await PlatformIntegration.filter(id=acme_row.id).update(sync_state=state)
            await world.services.sync_queued(acme_row)
        globex_row = await PlatformIntegration.get(id=factories.pk(globex_pi))
        await PlatformIntegration.filter(id=globex_row.id).update(sync_state="QUEUED")
        await world.services.sync_queued(globex_row)
        assert (await next_payload(ws))["accountSyncStatus"] == {"platformIntegrationId": globex_pi, "state": "QUEUED"}
        # Nor by asking for another account's integration by id.
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": acme_pi}}})
        message = await receive(ws)
        assert message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_closed_sockets_leave_no_subscription_behind(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    broadcast = world.services.broadcast
    baseline_tasks = len(asyncio.all_tasks())
    for _ in range(300):
        async with socket(world.app, admin.token) as ws:
            await receive(ws)
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": pi}}})
            await next_payload(ws)
    for _ in range(50):
        if not any(broadcast._subscribers.values()) and len(asyncio.all_tasks()) <= baseline_tasks:
            break
        await asyncio.sleep(0.05)
    gc.collect()
    assert not any(broadcast._subscribers.values())
    assert len(asyncio.all_tasks()) <= baseline_tasks
