"""Leases: kept through a failing renewal, lost cleanly, taken over when lapsed, and never two owners' writes."""

import asyncio
from datetime import timedelta

import pytest
from tortoise.exceptions import OperationalError

from domain import changes
from domain.jobs import Priority
from domain.models import Campaign, CampaignStatus, Job, JobKind, JobState, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.worker import queue, schedule, sync
from marketo.worker.store import RowStore
from tests.api import factories
from tests.api.operations import ACCOUNT, SYNC_PI
from tests.waiting import wait_until
from tests.worker.handlers import handled_by
from tests.worker.test_campaigns import submit, two_instances
from tests.worker.test_row_store import folder, program
from tests.worker.test_sync import connect, status, until_syncing


async def test_a_renewal_that_fails_once_keeps_the_lease_and_the_job_finishes(world, simulator, monkeypatch):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    renewals = 0
    renewed_after_the_failure = asyncio.Event()
    real_renew = queue.renew

    async def renew_failing_once(*args, **kwargs):
        nonlocal renewals
        renewals += 1
        if renewals == 1:
            raise OperationalError("the database went away for a moment")
        if renewals >= 4:
            renewed_after_the_failure.set()
        return await real_renew(*args, **kwargs)

    monkeypatch.setattr(queue, "renew", renew_failing_once)
    worker = world.worker(lease=timedelta(seconds=1.5))
    held: list[bool] = []

    async def long_job(w, job):
        await renewed_after_the_failure.wait()  # well past the lease the claim took
        row = await PlatformIntegration.get(id=job.platform_integration_id)
        held.append(row.lease_owner == w.lease.owner and row.lease_expires_at > queue.now())
        await queue.finish(job)

    worker.handlers[JobKind.SYNC] = handled_by(long_job)
    async with asyncio.timeout(30):
        await worker.run_until_idle()
    assert held == [True]
    assert (await Job.get(kind=JobKind.SYNC)).state is JobState.DONE
    row = await PlatformIntegration.get(id=factories.pk(pi))
    assert row.lease_owner is None and row.lease_expires_at is None  # released


async def test_a_worker_whose_lease_was_taken_stops_and_its_late_writes_are_refused(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    gate = simulator.instances[munchkin].faults.gate = asyncio.Event()  # holds the sync's Marketo calls
    worker = world.worker(lease=timedelta(seconds=1))
    running = asyncio.create_task(worker.run_until_idle())

    await until_syncing(admin, pi)
    # Another worker owns the integration now (this one's lease lapsed while it was stalled).
    await PlatformIntegration.filter(id=factories.pk(pi)).update(
        lease_owner="another-host:1:abcdef", lease_expires_at=queue.now() + timedelta(hours=1)
    )
    gate.set()
    async with asyncio.timeout(30):
        await running
    row = await PlatformIntegration.get(id=factories.pk(pi))
    assert row.lease_owner == "another-host:1:abcdef"
    assert row.sync_state is SyncState.SYNCING  # not COMPLETED, nor ERROR, by the worker that lost it
    run = await SyncRun.get(platform_integration_id=row.id)
    assert run.state is SyncState.SYNCING and run.finished_at is None
    job = await Job.get(kind=JobKind.SYNC)
    assert job.state is JobState.RUNNING  # left for the new owner to take over


def held_sync(started: asyncio.Event, release: asyncio.Event):
    """A SYNC handler that holds its integration's bulk lane until `release` is set."""

    async def handler(worker, job):
        started.set()
        await release.wait()
        await queue.finish(job)

    return handler


async def test_a_lease_that_lapsed_is_taken_over_and_the_job_finished(world, simulator):
    """A worker that died mid-sync (its lease expired) on SQLite, in one process."""
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    dead = world.worker()
    assert await queue.claim_integration(dead.owner, set()) == factories.pk(pi)
    assert (await queue.next_job(dead.owner, factories.pk(pi), Priority.BULK)).kind is JobKind.SYNC
    await PlatformIntegration.all().update(lease_expires_at=queue.now() - timedelta(seconds=1))  # it lapsed
    survivor = world.worker()
    await survivor.run_until_idle()
    job = await Job.get(kind=JobKind.SYNC)
    assert job.state is JobState.DONE and job.claimed_by == survivor.owner and job.takeovers == 1
    assert (await status(admin, pi))["syncStatus"]["state"] == "COMPLETED"


async def test_a_job_that_kills_its_worker_every_time_is_given_up(world, simulator):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    await Job.filter(kind=JobKind.SYNC).update(
        state=JobState.RUNNING, takeovers=queue.MAX_TAKEOVERS, claimed_by="dead-host:1:abcdef"
    )
    await SyncRun.all().update(state=SyncState.SYNCING)
    await PlatformIntegration.all().update(
        sync_state=SyncState.SYNCING,
        lease_owner="dead-host:1:abcdef",
        lease_expires_at=queue.now() - timedelta(seconds=1),
    )
    await world.worker().run_until_idle()
    job = await Job.get(kind=JobKind.SYNC)
    assert job.state is JobState.FAILED and job.takeovers == queue.MAX_TAKEOVERS + 1
    assert "stopped" in job.last_error
    node = (await status(admin, pi))["syncStatus"]
    assert node["state"] == "ERROR" and node["nextAttemptAt"] is None and "contact support" in node["error"]
    assert simulator.instances[next(iter(simulator.instances))].stats.calls == 0  # not run a fifth time


async def test_a_run_left_syncing_with_no_job_behind_it_ends_in_error_and_frees_launchers(world, simulator):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    await Job.all().update(state=JobState.FAILED)  # e.g. failed by a path that could not record it
    await SyncRun.all().update(state=SyncState.SYNCING)
    await PlatformIntegration.all().update(sync_state=SyncState.SYNCING)
    worker = world.worker()
    assert await schedule.settle_stranded_runs(worker) == 1
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "ERROR" and "Sync again" in node["syncStatus"]["error"]
    assert node["syncRuns"]["edges"][0]["node"]["state"] == "ERROR"
    assert (await admin(ACCOUNT))["account"]["launcherCreation"]["allowed"] is True
    again = (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]["syncRun"]
    assert again["state"] == "QUEUED" and await SyncRun.all().count() == 2
    assert await schedule.settle_stranded_runs(worker) == 0  # nothing left to settle


async def test_a_run_whose_worker_died_shows_queued_until_another_takes_it_over(world, simulator):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    await Job.all().update(state=JobState.RUNNING, claimed_by="dead-host:1:abcdef")
    await SyncRun.all().update(state=SyncState.SYNCING)
    await PlatformIntegration.all().update(
        sync_state=SyncState.SYNCING,
        lease_owner="dead-host:1:abcdef",
        lease_expires_at=queue.now() - timedelta(seconds=1),
    )
    worker = world.worker()
    assert await schedule.settle_stranded_runs(worker) == 1
    assert (await status(admin, pi))["syncStatus"]["state"] == "QUEUED"
    await worker.run_until_idle()
    assert (await status(admin, pi))["syncStatus"]["state"] == "COMPLETED"


async def test_a_live_sync_is_left_alone_by_the_sweep(world, simulator):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    started, release = asyncio.Event(), asyncio.Event()
    worker = world.worker()

    async def syncing(w, job):
        await sync.start(queue.lease_of(job), await SyncRun.get(id=job.sync_run_id))
        await held_sync(started, release)(w, job)

    worker.handlers[JobKind.SYNC] = handled_by(syncing)
    running = asyncio.create_task(worker.run_until_idle())
    await asyncio.wait_for(started.wait(), 10)
    assert await schedule.settle_stranded_runs(world.worker()) == 0
    assert (await status(admin, pi))["syncStatus"]["state"] == "SYNCING"
    release.set()
    await asyncio.wait_for(running, 10)


async def test_a_campaign_submitted_mid_sync_is_provisioned_while_the_sync_runs(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    started, release = asyncio.Event(), asyncio.Event()
    worker = world.worker(poll_interval=0.05)
    worker.handlers[JobKind.SYNC] = handled_by(held_sync(started, release))
    await admin(SYNC_PI, {"id": pis["EMEA"][0]})
    running = asyncio.create_task(worker.run_until_idle())
    await asyncio.wait_for(started.wait(), 10)
    campaign = await submit(admin, launcher, "Urgent")

    async def ready() -> bool:
        return (await Campaign.get(id=factories.pk(campaign))).status is CampaignStatus.READY

    await wait_until(ready)  # while the sync still holds the integration's bulk lane
    assert not running.done()
    release.set()
    await asyncio.wait_for(running, 10)


async def test_a_campaign_does_not_wait_behind_other_integrations_syncs(world, simulator):
    """With every sync slot taken by other integrations' syncs, a campaign's integration is still claimed."""
    admin, launcher, _, pis = await two_instances(world, simulator)
    started, release = asyncio.Event(), asyncio.Event()
    worker = world.worker(poll_interval=0.05, capacity=1)
    worker.handlers[JobKind.SYNC] = handled_by(held_sync(started, release))
    await admin(SYNC_PI, {"id": pis["US"][0]})  # holds the only sync slot
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(started.wait(), 10)
        await admin(SYNC_PI, {"id": pis["EMEA"][0]})  # a second sync, which must wait for the slot
        campaign = await submit(admin, launcher, "Urgent")
        worker.wake()

        async def ready() -> bool:
            return (await Campaign.get(id=factories.pk(campaign))).status is CampaignStatus.READY

        await wait_until(ready)
        emea = factories.pk(pis["EMEA"][0])
        emea_run = await SyncRun.filter(platform_integration_id=emea).order_by("-id").first()
        assert emea_run.state is SyncState.QUEUED  # the campaign went first; the sync waits for capacity
        release.set()

        async def all_done() -> bool:
            return not await Job.filter(state__in=[JobState.PENDING, JobState.RUNNING]).exists()

        await wait_until(all_done, 20)  # the EMEA sync ran once the slot was free
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_claims_take_the_integration_with_the_most_urgent_job_first(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    await admin(SYNC_PI, {"id": pis["US"][0]})  # the older integration, with only a sync due
    await submit(admin, launcher, "Urgent")  # on the newer one
    assert await queue.claim_integration("w:1:a", set()) == factories.pk(pis["EMEA"][0])
    assert await queue.claim_integration("w:1:a", {factories.pk(pis["EMEA"][0])}) == factories.pk(pis["US"][0])


async def test_a_worker_that_lost_the_integration_does_not_record_the_campaign_program(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    emea, munchkin = pis["EMEA"]
    campaign = await submit(admin, launcher, "Late answer")
    gate = simulator.instances[munchkin].faults.gate = asyncio.Event()  # holds the clone in Marketo
    running = asyncio.create_task(world.worker(lease=timedelta(seconds=1)).run_until_idle())
    await wait_until(lambda: _in_flight(simulator, munchkin))
    await PlatformIntegration.filter(id=factories.pk(emea)).update(
        lease_owner="another-host:1:abcdef", lease_expires_at=queue.now() + timedelta(hours=1)
    )
    gate.set()
    async with asyncio.timeout(30):
        await running
    row = await Campaign.get(id=factories.pk(campaign))
    assert row.status is CampaignStatus.PROVISIONING and row.marketo_program_id is None  # for the new owner to adopt
    assert (await Job.get(kind=JobKind.PROVISION_CAMPAIGN)).state is JobState.RUNNING


async def _in_flight(simulator, munchkin) -> bool:
    return simulator.instances[munchkin].stats.in_flight > 0


async def test_a_sync_s_progress_counts_what_the_integration_holds_only_while_the_lease_is_ours(world):
    _, admin = await world.account()
    pk = factories.pk(await factories.integration(admin, "Counted", "111-AAA-111"))
    store, seen = RowStore(), queue.now()
    await store.upsert_folders(pk, [folder(10, "A"), folder(11, "B")], seen)
    await store.upsert_programs(pk, [program(20, "P", 10)], seen)
    mine = queue.Lease("this-host:1:aaaaaa", pk)
    await PlatformIntegration.filter(id=pk).update(lease_owner=mine.owner, lease_expires_at=queue.now() + queue.LEASE)

    async with mine.held(recording_holdings=True):
        changes.sync_status_changed(pk)
    row = await PlatformIntegration.get(id=pk)
    assert (row.folders_synced, row.programs_synced) == (2, 1)

    await store.upsert_folders(pk, [folder(12, "C")], seen)
    await PlatformIntegration.filter(id=pk).update(lease_owner="another-host:1:abcdef")
    with pytest.raises(queue.LeaseLost):
        async with mine.held(recording_holdings=True):
            pytest.fail("the lease is another worker's")
    row = await PlatformIntegration.get(id=pk)
    assert (row.folders_synced, row.programs_synced) == (2, 1)  # the other worker's to count
