"""Stopping: a lost lease or a stopping worker never cancels a task inside a transaction, and a graceful stop
hands its jobs back rather than leaving them for a takeover."""

import asyncio
import logging
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from domain.models import Account, Job, JobKind, JobState, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.worker import queue
from marketo.worker.stopping import cancel_outside_transactions, transaction_section
from tests.api import factories
from tests.waiting import wait_until
from tests.worker.handlers import handled_by
from tests.worker.test_sync import connect, status


async def database_answers() -> None:
    """Fails unless a transaction can still be opened and committed."""
    async with asyncio.timeout(5):
        async with in_transaction():
            await Account.all().count()


def begin_held(monkeypatch):
    """Holds the next SQLite transaction once it has the connection's lock and before it begins: where a
    cancellation leaves the lock taken for good. Returns (armed, entered, release)."""
    from tortoise.backends.sqlite.client import SqliteTransactionWrapper

    armed, entered, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
    real_begin = SqliteTransactionWrapper.begin

    async def begin(self):
        if armed.is_set() and not entered.is_set():
            entered.set()
            await release.wait()
        await real_begin(self)

    monkeypatch.setattr(SqliteTransactionWrapper, "begin", begin)
    return armed, entered, release


def transaction_job(armed: asyncio.Event):
    """A handler whose job ends with a transaction under the lease (the one `begin_held` holds)."""

    async def handler(worker, job):
        armed.set()
        await queue.finish(job)

    return handler


async def test_cancelling_waits_for_the_task_to_leave_its_transaction_section():
    inside, leave, after = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def work():
        async with transaction_section():
            inside.set()
            await leave.wait()  # stands for the statements of a transaction
        after.set()
        await asyncio.sleep(10)

    task = asyncio.create_task(work())
    await inside.wait()
    cancel_outside_transactions(task)
    await asyncio.sleep(0.01)
    assert not task.done()  # not cancelled inside
    leave.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert after.is_set()  # cancelled at its first await after the section


async def test_a_deferred_cancellation_never_lands_in_the_next_transaction_section():
    inside, leave = asyncio.Event(), asyncio.Event()
    seen = []

    async def work():
        async with transaction_section():
            inside.set()
            await leave.wait()
        async with transaction_section():  # entered at once, without suspending in between
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                seen.append("cancelled inside")
                raise
            seen.append("second section done")
        await asyncio.sleep(10)

    task = asyncio.create_task(work())
    await inside.wait()
    cancel_outside_transactions(task)
    leave.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert seen == ["second section done"]


async def test_a_lost_lease_leaves_the_sqlite_database_usable(world, simulator, monkeypatch, caplog, is_postgres):
    if is_postgres:
        pytest.skip("the lock a cancelled transaction leaves taken is Tortoise's SQLite connection's")
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    armed, entered, release = begin_held(monkeypatch)
    worker = world.worker(lease=timedelta(seconds=1.2))
    worker.handlers[JobKind.SYNC] = handled_by(transaction_job(armed))
    caplog.set_level(logging.WARNING, "jeto.worker")
    running = asyncio.create_task(worker.run_until_idle())
    await asyncio.wait_for(entered.wait(), 10)
    # The lane holds the connection, so renewals cannot get through: the lease is given up as lost.
    await wait_until(lambda: any("lost the lease" in r.getMessage() for r in caplog.records))
    release.set()
    await asyncio.wait_for(running, 10)
    await database_answers()
    row = await PlatformIntegration.get(id=factories.pk(pi))
    assert row.lease_owner is None  # released once the lane stopped


async def test_a_worker_stopped_inside_a_transaction_leaves_the_sqlite_database_usable(
    world, simulator, monkeypatch, is_postgres
):
    if is_postgres:
        pytest.skip("the lock a cancelled transaction leaves taken is Tortoise's SQLite connection's")
    _, admin = await world.account()
    await connect(admin, simulator, 0, "Main")
    armed, entered, release = begin_held(monkeypatch)
    worker = world.worker(stop_grace=0.0)
    worker.handlers[JobKind.SYNC] = handled_by(transaction_job(armed))
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(entered.wait(), 10)
    running.cancel()  # as SIGTERM does
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, 10)
    await database_answers()
    assert (await Job.get(kind=JobKind.SYNC)).state is JobState.DONE  # its transaction went through


async def stop_mid_sync(world, simulator, munchkin, **settings):
    """Runs a worker until its sync is in flight, then stops it as SIGTERM does; returns what it published."""
    gate = simulator.instances[munchkin].faults.gate = asyncio.Event()  # holds the sync's Marketo calls
    worker = world.worker(**settings)
    published = []
    real_publish = worker.publish

    async def publish(account_id, event):
        published.append(event)
        await real_publish(account_id, event)

    worker.publish = publish
    running = asyncio.create_task(worker.run())

    async def in_flight() -> bool:
        return simulator.instances[munchkin].stats.in_flight > 0

    await wait_until(in_flight)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, 10)
    gate.set()
    return published


async def test_a_worker_stopped_mid_sync_hands_the_sync_back_and_four_deploys_are_no_takeover(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    for _ in range(4):
        published = await stop_mid_sync(world, simulator, munchkin, stop_grace=0.1)
        job = await Job.get(kind=JobKind.SYNC)
        assert job.state is JobState.PENDING and job.takeovers == 0 and job.attempts == 0
        run = await SyncRun.get(platform_integration_id=factories.pk(pi))
        assert run.state is SyncState.QUEUED and run.attempts == 0
        row = await PlatformIntegration.get(id=factories.pk(pi))
        assert row.sync_state is SyncState.QUEUED and row.lease_owner is None and row.lease_expires_at is None
        assert published[-1].fields["sync_state"] == "QUEUED"  # subscribers hear it
        assert (await status(admin, pi))["syncStatus"]["state"] == "QUEUED"
    await world.worker().run_until_idle()
    job = await Job.get(kind=JobKind.SYNC)
    assert job.state is JobState.DONE and job.takeovers == 0
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "COMPLETED"
    assert node["syncRuns"]["edges"][0]["node"]["attempts"] == 1


async def test_a_stopping_worker_ends_its_sync_at_the_next_page_without_cancelling_it(world, simulator, monkeypatch):
    from marketo.worker import runner

    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    instance = simulator.instances[munchkin]
    listing, resume = asyncio.Event(), asyncio.Event()

    async def first_page_waits(operation, params):
        if operation == "browse_programs":
            listing.set()
            await resume.wait()

    instance.faults.before_answer = first_page_waits
    cancelled = []
    real_cancel = runner.cancel_outside_transactions
    monkeypatch.setattr(runner, "cancel_outside_transactions", lambda task: cancelled.append(task) or real_cancel(task))
    worker = world.worker(stop_grace=30.0)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(listing.wait(), 10)
    running.cancel()
    await asyncio.sleep(0.05)
    resume.set()  # the page comes back: the sync stops there
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, 10)
    assert cancelled == []
    assert instance.stats.by_operation["browse_programs"] == 1  # no page asked for after the stop
    assert (await Job.get(kind=JobKind.SYNC)).state is JobState.PENDING
    assert (await status(admin, pi))["syncStatus"]["state"] == "QUEUED"
