"""Every change of a status is announced: whatever mutation or job kind changes an integration's sync status or a
campaign's status, its event reaches the account's subscribers once committed (domain/changes.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from domain import changes, events
from domain.models import Campaign, CampaignStatus, JobKind, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.worker import schedule
from tests.api import factories
from tests.api.operations import (
    CREATE_CAMPAIGN,
    DELETE_LAUNCHER,
    DELETE_PI,
    SET_DEFAULT,
    SYNC_PI,
    TEST_PI,
    UPDATE_CAMPAIGN,
    UPDATE_PI,
)
from tests.api.websocket import receive, socket
from tests.worker.test_campaigns import two_instances
from tests.worker.test_sync import connect


class Heard:
    """What the account's subscribers heard, through the interface subscriptions read (services.account_events)."""

    def __init__(self) -> None:
        self.events: list[events.Event] = []

    def newest(self, kind: str, pk: int) -> int:
        return max((e.version for e in self.events if e.kind == kind and e.id == pk), default=-1)


@contextlib.asynccontextmanager
async def listening(world, account_id: int) -> AsyncIterator[Heard]:
    heard = Heard()
    async with world.services.account_events(account_id) as messages:

        async def read() -> None:
            async for message in messages:
                if message is not None and (event := events.Event.decode(message)) is not None:
                    heard.events.append(event)

        reader = asyncio.create_task(read())
        try:
            yield heard
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def versions() -> dict[tuple[str, int], int]:
    """Each integration's and campaign's status version: raised by the database whenever a status changes."""
    found = {
        (events.SYNC_STATUS, pk): v for pk, v in await PlatformIntegration.all().values_list("id", "status_version")
    }
    found.update({(events.CAMPAIGN, pk): v for pk, v in await Campaign.all().values_list("id", "status_version")})
    return found


async def assert_announced(heard: Heard, before: dict, step: str) -> int:
    """Every status that changed since `before` was heard at (at least) its new version; returns how many."""
    after = await versions()
    changed = {key: v for key, v in after.items() if v > before.get(key, -1)}

    async def all_heard() -> bool:
        return all(heard.newest(kind, pk) >= v for (kind, pk), v in changed.items())

    for _ in range(200):  # published once committed, delivered by the bus a moment later
        if await all_heard():
            return len(changed)
        await asyncio.sleep(0.01)
    missing = {key: v for key, v in changed.items() if heard.newest(*key) < v}
    raise AssertionError(f"{step}: changes never announced: {missing}")


async def test_every_mutation_and_every_job_kind_announces_each_status_it_changes(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    account_id = (await PlatformIntegration.get(id=factories.pk(pis["US"][0]))).account_id
    us = pis["US"][0]
    worker = world.worker()
    async with listening(world, account_id) as heard:
        counted = 0

        async def step(name, action) -> None:
            nonlocal counted
            before = await versions()
            await action()
            counted += await assert_announced(heard, before, name)

        async def mutate(document, variables):
            data = await admin(document, variables)
            assert all(not payload.get("userErrors") for payload in data.values()), data

        await step("syncPlatformIntegration", lambda: mutate(SYNC_PI, {"id": us}))
        await step("SYNC job: SYNCING, progress, COMPLETED", worker.run_until_idle)
        update = {"input": {"id": us, "credentials": {"clientSecret": "another-secret-value"}}}
        await step("updatePlatformIntegration (credentials)", lambda: mutate(UPDATE_PI, update))
        await step("TEST_CONNECTION and SYNC jobs failing (ERROR)", worker.run_until_idle)
        await step("setDefaultPlatformIntegration", lambda: mutate(SET_DEFAULT, {"id": us}))
        await step("testPlatformIntegrationConnection", lambda: mutate(TEST_PI, {"id": us}))
        created = {"input": {"launcherId": launcher, "name": "Spring"}}
        await step("createCampaign (PROVISIONING)", lambda: mutate(CREATE_CAMPAIGN, created))
        await step("PROVISION_CAMPAIGN job (READY)", worker.run_until_idle)
        campaign = (await Campaign.get(name="Spring")).id
        renamed = {"input": {"id": factories.encode_id("Campaign", campaign), "name": "Summer"}}
        await step("updateCampaign (PROVISIONING again)", lambda: mutate(UPDATE_CAMPAIGN, renamed))
        await step("RENAME_PROGRAM job (READY)", worker.run_until_idle)
        await Campaign.filter(id=campaign).update(status=CampaignStatus.FAILED)  # as a failed job leaves it
        retry = "mutation($id: ID!) { retryCampaign(id: $id) { userErrors { code } } }"
        await step("retryCampaign", lambda: mutate(retry, {"id": factories.encode_id("Campaign", campaign)}))
        await step("the retried job", worker.run_until_idle)
        # A run left SYNCING by a dead worker is settled by the next worker's sweep.
        await SyncRun.filter(platform_integration_id=factories.pk(us)).update(state=SyncState.SYNCING)
        await PlatformIntegration.filter(id=factories.pk(us)).update(sync_state=SyncState.SYNCING)
        await step("the sweep of stranded runs", lambda: schedule.settle_stranded_runs(worker))
        await step("deleteLauncher", lambda: mutate(DELETE_LAUNCHER, {"id": launcher}))
        await step("deletePlatformIntegration", lambda: mutate(DELETE_PI, {"id": pis["EMEA"][0]}))
    assert counted >= 12, counted  # the steps did change statuses: the check above was not vacuous


async def test_a_status_changed_outside_a_unit_of_work_cannot_go_unannounced():
    with pytest.raises(changes.Unannounced):
        changes.sync_status_changed(1)
    with pytest.raises(changes.Unannounced):
        changes.campaign_changed(1)


async def test_a_rolled_back_change_is_never_announced(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    account_id = (await PlatformIntegration.get(id=factories.pk(pi))).account_id
    async with listening(world, account_id) as heard:
        with factories.announcing(world), pytest.raises(RuntimeError):
            async with changes.changing():
                await PlatformIntegration.filter(id=factories.pk(pi)).update(sync_state=SyncState.SYNCING)
                changes.sync_status_changed(factories.pk(pi))
                raise RuntimeError("rolled back")
        await factories.change_sync_state(world, pi, "QUEUED")  # a later change, to know the bus delivered
        for _ in range(200):
            if heard.events:
                break
            await asyncio.sleep(0.01)
    assert [e.fields["sync_state"] for e in heard.events] == ["QUEUED"]


SYNC_STATUS = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { state deletedAt } }"
ACCOUNT = "subscription { accountSyncStatus { platformIntegrationId state deletedAt } }"


async def test_a_deleted_integration_ends_its_subscriptions_saying_why(world, simulator):
    _, admin = await world.account(limit=2)
    kept, _ = await connect(admin, simulator, 0, "Kept")
    gone, _ = await connect(admin, simulator, 1, "Gone")
    async with socket(world.app, admin.token, ack=True) as one, socket(world.app, admin.token, ack=True) as every:
        await one.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": SYNC_STATUS, "variables": {"id": gone}}}
        )
        await every.send_json({"id": "2", "type": "subscribe", "payload": {"query": ACCOUNT}})
        assert (await receive(one))["payload"]["data"]["syncStatus"]["deletedAt"] is None
        first = [(await receive(every))["payload"]["data"]["accountSyncStatus"] for _ in range(2)]
        assert {status["platformIntegrationId"] for status in first} == {kept, gone}
        assert (await admin(DELETE_PI, {"id": gone}))["deletePlatformIntegration"]["userErrors"] == []
        last = await receive(one)
        assert last["type"] == "next" and last["payload"]["data"]["syncStatus"]["deletedAt"] is not None
        assert await receive(one) == {"id": "1", "type": "complete"}
        told = (await receive(every))["payload"]["data"]["accountSyncStatus"]
        assert told["platformIntegrationId"] == gone and told["deletedAt"] is not None
        # The other integration's changes still come; the deleted one's no longer do.
        await factories.change_sync_state(world, kept, "SYNCING")
        assert (await receive(every))["payload"]["data"]["accountSyncStatus"]["platformIntegrationId"] == kept


async def test_jobs_are_registered_for_every_kind():
    from marketo.worker.jobs import HANDLERS

    assert set(HANDLERS) == set(JobKind)
