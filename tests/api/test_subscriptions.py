"""Subscriptions over websockets, both protocols: current state first, then every change, one account only."""

import asyncio
import contextlib
import gc

import httpx
import pytest
from httpx_ws import WebSocketDisconnect

from domain import changes, syncs
from domain.models import SyncTrigger
from tests.api import factories
from tests.api.websocket import next_payload, receive, socket

SYNC_STATUS = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { platformIntegrationId state error } }"
ACCOUNT_SYNC_STATUS = "subscription { accountSyncStatus { platformIntegrationId state } }"


async def test_sync_status_sends_the_current_state_then_every_change_in_order(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111", synced=False)
    async with socket(world.app, admin.token) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": pi}}})
        first = await next_payload(ws)
        assert first["syncStatus"] == {"platformIntegrationId": pi, "state": "QUEUED", "error": None}
        for state in ("SYNCING", "COMPLETED"):
            await factories.change_sync_state(world, pi, state)
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
        with factories.announcing(world):
            run = await syncs.queue_sync(factories.pk(pi), SyncTrigger.MANUAL)
        assert run.state.value == "QUEUED"
        assert (await next_payload(ws))["syncStatus"]["state"] == "QUEUED"
        for state in ("SYNCING", "ERROR", "COMPLETED"):  # every later change, in order
            await factories.change_sync_state(world, pi, state)
            assert (await next_payload(ws))["syncStatus"]["state"] == state
        await ws.send_json({"id": "7", "type": "stop"})
        assert (await receive(ws)) == {"id": "7", "type": "complete"}


async def test_a_subscriber_only_ever_receives_its_own_account_events(world):
    _, acme = await world.account("Acme")
    _, globex = await world.account("Globex")
    acme_pi = await factories.integration(acme, "US", "111-AAA-111")
    globex_pi = await factories.integration(globex, "US", "222-BBB-222")
    async with socket(world.app, globex.token) as ws:
        await receive(ws)
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": ACCOUNT_SYNC_STATUS}})
        assert (await next_payload(ws))["accountSyncStatus"]["platformIntegrationId"] == globex_pi
        for state in ("QUEUED", "SYNCING", "COMPLETED"):
            await factories.change_sync_state(world, acme_pi, state)
        await factories.change_sync_state(world, globex_pi, "QUEUED")
        assert (await next_payload(ws))["accountSyncStatus"] == {"platformIntegrationId": globex_pi, "state": "QUEUED"}
        # Nor by asking for another account's integration by id.
        await ws.send_json(
            {"id": "2", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": acme_pi}}}
        )
        message = await receive(ws)
        assert message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


def active_subscriptions() -> float:
    from jeto.observability import REGISTRY

    value = REGISTRY.get_sample_value("jeto_active_subscriptions")
    assert value is not None
    return value


async def test_closed_sockets_leave_no_subscription_behind(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    bus = world.services.bus
    baseline_tasks = len(asyncio.all_tasks())
    baseline_gauge = active_subscriptions()
    for _ in range(300):
        async with socket(world.app, admin.token) as ws:
            await receive(ws)
            await ws.send_json(
                {"id": "1", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": pi}}}
            )
            await next_payload(ws)
            assert active_subscriptions() >= baseline_gauge + 1  # /metrics counts the open one
    for _ in range(50):
        if (
            not bus.subscribers
            and len(asyncio.all_tasks()) <= baseline_tasks
            and active_subscriptions() == baseline_gauge
        ):
            break
        await asyncio.sleep(0.05)
    gc.collect()
    assert not bus.subscribers
    assert len(asyncio.all_tasks()) <= baseline_tasks
    assert active_subscriptions() == baseline_gauge


async def test_a_fast_sync_is_seen_as_each_of_its_changes_once_and_in_order(world, simulator):
    from tests.worker.test_sync import connect

    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Fast")
    query = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { state foldersSynced programsSynced } }"
    async with socket(world.app, admin.token) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"id": pi}}})
        seen = [(await next_payload(ws))["syncStatus"]]
        worker = world.worker()
        late: list[tuple[int, object]] = []

        async def deliver_late(account_id, event):
            late.append((account_id, event))

        worker.publish = deliver_late
        await worker.run_until_idle()  # QUEUED → SYNCING → progress → COMPLETED, in a few milliseconds
        for account_id, event in late:  # the events reach the subscriber only after the sync ended
            await world.services.publish(account_id, event)
        while seen[-1]["state"] != "COMPLETED":
            seen.append((await next_payload(ws))["syncStatus"])
        with contextlib.suppress(TimeoutError):
            extra = await receive(ws, timeout=0.3)
            raise AssertionError(f"nothing more was expected, got {extra}")
    states = [s["state"] for s in seen]
    assert list(dict.fromkeys(states)) == ["QUEUED", "SYNCING", "COMPLETED"]  # each state, never backwards
    assert states == sorted(states, key=["QUEUED", "SYNCING", "COMPLETED"].index)
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False))  # no change shown twice
    assert seen[-1]["programsSynced"] == 12


async def test_after_a_redis_restart_a_subscriber_is_sent_the_change_it_missed(settings, simulator, redis_server):
    import dataclasses

    from asgi_lifespan import LifespanManager

    from jeto.app import create_app
    from tests.conftest import SimulatorTransport, World, _empty_tables

    redis = redis_server
    redis.start()
    try:
        await redis.answering()
        app = create_app(
            dataclasses.replace(settings, broadcast_url=f"redis://127.0.0.1:{redis.port}"),
            marketo_transport=SimulatorTransport(simulator),
        )
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://jeto.test") as http,
        ):
            await _empty_tables()
            _, admin = await World(app, settings, http).account()
            pi = await factories.integration(admin, "US", "111-AAA-111")
            async with socket(app, admin.token) as ws:
                assert (await receive(ws))["type"] == "connection_ack"
                await ws.send_json(
                    {"id": "1", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": pi}}}
                )
                assert (await next_payload(ws))["syncStatus"]["state"] == "COMPLETED"
                redis.stop()
                # Queued while Redis is down: its event is lost (pub/sub keeps nothing).
                with changes.publishing_to(app.state.services.publish):
                    run = await syncs.queue_sync(factories.pk(pi), SyncTrigger.MANUAL)
                assert run.state.value == "QUEUED"
                redis.start()
                await redis.answering()
                changed = await ws.receive_json(timeout=20)  # the bus reconnects, then the subscription reads again
                assert changed["type"] == "next" and changed["payload"]["data"]["syncStatus"]["state"] == "QUEUED"
    finally:
        redis.stop()


async def test_a_bad_token_on_the_legacy_protocol_gets_connection_error_then_close_4403(world):
    for token in ("garbage", ""):
        async with socket(world.app, token, protocol="graphql-ws") as ws:
            error = await receive(ws)
            assert error["type"] == "connection_error"
            assert error["payload"]["code"] == "UNAUTHENTICATED"
            with pytest.raises(WebSocketDisconnect) as closed:
                await receive(ws)
            assert closed.value.code == 4403


async def test_a_campaign_subscriber_never_sees_an_older_status_after_a_newer_one(world, simulator):
    from domain import events
    from domain.models import Campaign
    from tests.worker.test_campaigns import submit, two_instances

    admin, launcher, _, _ = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Ordered")
    row = await Campaign.get(id=factories.pk(campaign))
    account_id = row.account_id
    provisioning = await events.campaign_changed(row.id)  # as published when it was submitted
    query = "subscription($id: ID!) { campaign(id: $id) { name status } }"
    async with socket(world.app, admin.token) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"id": campaign}}})
        assert (await next_payload(ws))["campaign"] == {"name": "Ordered", "status": "PROVISIONING"}
        worker = world.worker()
        late = []

        async def deliver_late(account, event):
            late.append(event if isinstance(event, events.Event) else await event)

        worker.publish = deliver_late
        await worker.run_until_idle()
        # Delivered late, out of order and twice: READY once, and never PROVISIONING again.
        for event in [*late, provisioning, *late]:
            await world.services.publish(account_id, event)
        assert (await next_payload(ws))["campaign"] == {"name": "Ordered", "status": "READY"}
        with contextlib.suppress(TimeoutError):
            extra = await receive(ws, timeout=0.3)
            raise AssertionError(f"nothing more was expected, got {extra}")


def normalised(cache: dict[str, dict], value: object) -> object:
    """What Apollo's and urql's caches do with a result: every object with __typename and id is stored once under
    `Type:id` and referred to from where it appeared; an object without an id stays inside its parent."""
    if isinstance(value, list):
        return [normalised(cache, item) for item in value]
    if not isinstance(value, dict):
        return value
    fields = {name: normalised(cache, item) for name, item in value.items()}
    if "id" not in value:
        return fields
    key = f"{value['__typename']}:{value['id']}"
    cache.setdefault(key, {}).update(fields)
    return {"__ref": key}


def read(cache: dict[str, dict], value: object) -> object:
    if isinstance(value, list):
        return [read(cache, item) for item in value]
    if isinstance(value, dict):
        if "__ref" in value:
            return read(cache, cache[value["__ref"]])
        return {name: read(cache, item) for name, item in value.items()}
    return value


async def test_a_normalised_client_cache_shows_each_subscription_payload_on_the_dashboard(world):
    """A dashboard query and the subscription's payloads name one SyncStatus per integration with the same id, so a
    client cache updates the dashboard from each payload; the id is not the integration's, and `node` fetches it."""
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    status = "__typename id platformIntegrationId state"
    dashboard = await admin(f"{{ account {{ platformIntegrations {{ __typename id syncStatus {{ {status} }} }} }} }}")
    cache: dict[str, dict] = {}
    root = normalised(cache, dashboard)
    status_id = dashboard["account"]["platformIntegrations"][0]["syncStatus"]["id"]
    assert status_id != pi
    async with socket(world.app, admin.token, ack=True) as ws:
        subscription = f"subscription {{ accountSyncStatus {{ {status} }} }}"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": subscription}})
        normalised(cache, await next_payload(ws))
        await factories.change_sync_state(world, pi, "SYNCING")
        payload = (await next_payload(ws))["accountSyncStatus"]
        assert payload["id"] == status_id and payload["state"] == "SYNCING"
        normalised(cache, {"accountSyncStatus": payload})
    shown = read(cache, root)["account"]["platformIntegrations"][0]["syncStatus"]
    assert shown["state"] == "SYNCING"  # the dashboard's own query said COMPLETED
    fetched = await admin(f'{{ node(id: "{status_id}") {{ ... on SyncStatus {{ platformIntegrationId state }} }} }}')
    assert fetched["node"] == {"platformIntegrationId": pi, "state": "SYNCING"}
