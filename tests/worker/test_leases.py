"""Leases: kept through a failing renewal, lost cleanly, taken over when lapsed, and never two owners' writes."""

import asyncio
from datetime import timedelta

from tortoise.exceptions import OperationalError

from domain.models import Job, JobKind, JobState, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.worker import queue
from tests.api import factories
from tests.worker.test_sync import connect, status


async def wait_until(predicate, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not await predicate():
            await asyncio.sleep(0.01)


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
        held.append(row.lease_owner == w.owner and row.lease_expires_at > queue.now())
        await queue.finish(job)

    worker.handlers[JobKind.SYNC] = long_job
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

    async def syncing() -> bool:
        return (await status(admin, pi))["syncStatus"]["state"] == "SYNCING"

    await wait_until(syncing)
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
