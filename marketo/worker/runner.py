"""The worker loop: claim integrations with work due, run their jobs, keep the leases alive.

An owned integration has two lanes, each running one job at a time: interactive jobs (a campaign a
user waits for, a connection test) and bulk ones (syncs). Both go through the same client, so the
same token and limiter: a campaign submitted mid-sync starts at once instead of after the sync.
`capacity` bounds the syncs running at once; `interactive_capacity` more integrations may be owned
only for their interactive jobs, so a campaign never waits behind other integrations' syncs.

What each kind of job does, and what happens when it gives up, is its module's (marketo/worker/jobs/): a
handler is given a JobContext (its lease, its client, the settings, its checkpoint), never the worker.
`schedule` queues the recurring syncs. Statuses the jobs change are announced by domain/changes.py once
committed, to the publisher the worker installs for its tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from domain import changes, syncs
from domain.jobs import Priority
from domain.models import Job, JobKind, PlatformIntegration
from marketo.client import MarketoClient
from marketo.credentials import MarketoCredentials
from marketo.pool import MarketoPool
from marketo.worker import queue, schedule
from marketo.worker.context import JobContext, WorkerSettings
from marketo.worker.jobs import HANDLERS, JobHandler
from marketo.worker.queue import LeaseLost
from marketo.worker.stopping import Stopping, StopSignal, cancel_outside_transactions
from marketo.worker.store import RowStore

log = logging.getLogger("jeto.worker")

__all__ = ["Worker", "WorkerSettings"]

INTERNAL_ERROR = "Jeto could not finish this because of an internal error: try again, or contact support."
GIVEN_UP = (
    "Jeto stopped retrying this: the worker running it stopped {n} times in the middle of it. "
    "Try again, or contact support."
)
RENEW_RETRY_DELAY = 0.5  # seconds between two tries of a failed lease renewal


@dataclass
class _Owned:
    """What a worker keeps of an integration it owns."""

    nudge: asyncio.Event = field(default_factory=asyncio.Event)  # new work, or a reason to stop
    signal: StopSignal = field(default_factory=StopSignal)
    lanes: list[asyncio.Task[None]] = field(default_factory=list)

    def stop(self, reason: Exception) -> None:
        self.signal.request(reason)
        self.nudge.set()


@dataclass
class Worker:
    pool: MarketoPool
    credentials: Callable[[PlatformIntegration], MarketoCredentials]
    publish: changes.Publish  # where the statuses its jobs change are announced
    work_queued: changes.WorkQueued | None = None  # who is told of the jobs its jobs queue (other workers too)
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    handlers: dict[JobKind, JobHandler] = field(default_factory=lambda: dict(HANDLERS))
    store: RowStore = field(default_factory=RowStore)  # how Marketo records become rows
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _owned: dict[int, _Owned] = field(default_factory=dict)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _running: bool = False
    _syncs_running: int = 0

    def _client(self, integration: PlatformIntegration, priority: Priority) -> MarketoClient:
        return self.pool.client(self.credentials(integration), priority=priority)

    def context_of(self, job: Job) -> JobContext:
        """What the job's handler is given: its checkpoint raises once the work on the integration must stop
        (lease lost, worker stopping)."""
        owned = self._owned.get(job.platform_integration_id)
        return JobContext(
            lease=queue.lease_of(job),
            settings=self.settings,
            clients=self._client,
            checkpoint=owned.signal.check if owned else lambda: None,
            wake=self.wake,
            store=self.store,
        )

    def wake(self) -> None:
        """New work was queued (announced on the bus, by any process): look now rather than at the next poll."""
        self._wakeup.set()
        for owned in self._owned.values():
            owned.nudge.set()

    async def run(self) -> None:
        """Claims and works until `stop()` (or a cancellation), then stops gracefully (see `_stop`)."""
        log.info("worker %s started", self.owner)
        self._running = True
        with changes.publishing_to(self.publish, self.work_queued):  # every task started below announces through it
            background = [asyncio.create_task(self._keep_house()), asyncio.create_task(self._claim_until_stopped())]
        try:
            await asyncio.shield(background[1])  # a cancellation stops the worker, never a claim midway
        finally:
            try:
                await asyncio.shield(self._stop(*background))
            finally:
                self._stopped.set()

    async def stop(self) -> None:
        """Stops in order and returns once done: no new claim; every job at its next checkpoint (or cancelled
        outside any transaction after `stop_grace`); its integration's running jobs handed back (PENDING, a sync
        QUEUED, announced) and its lease released. What the worker used (the database, the bus) may close then."""
        if not self._running:
            return
        self._stopping.set()
        self._wakeup.set()
        await self._stopped.wait()

    async def run_until_idle(self) -> None:
        """Works until no integration has work due now (tests and one-off commands); cancelled, stops as `run` does."""
        claim: asyncio.Future[None] | None = None
        try:
            while True:
                with changes.publishing_to(self.publish, self.work_queued):
                    claim = asyncio.ensure_future(self._claim_what_is_due())
                await asyncio.shield(claim)
                if not self._tasks:
                    return
                await asyncio.shield(asyncio.gather(*list(self._tasks.values()), return_exceptions=True))
        except asyncio.CancelledError:
            await asyncio.shield(self._stop(*([claim] if claim else [])))
            raise

    async def _stop(self, *background: asyncio.Future[None]) -> None:
        """No new claim; every job stops at its next checkpoint, or after `stop_grace` is cancelled outside any
        transaction; then its integration's running jobs are handed back (PENDING, a sync QUEUED) and released.

        Cancelling a task inside a transaction could lock SQLite's connection for good, so nothing here does.
        """
        self._stopping.set()
        self._wakeup.set()
        for owned in self._owned.values():
            owned.stop(Stopping())
        await asyncio.gather(*background, return_exceptions=True)  # they end at their own checkpoints
        work = list(self._tasks.values())
        if work:
            await asyncio.wait(work, timeout=self.settings.stop_grace)
            for owned in list(self._owned.values()):
                for lane in owned.lanes:
                    if not lane.done():
                        cancel_outside_transactions(lane)  # e.g. a Marketo call that would outlast the stop
            await asyncio.gather(*work, return_exceptions=True)
        log.info("worker %s stopped", self.owner)

    async def _claim_until_stopped(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._claim_what_is_due()
            except Exception:  # the database may be away a moment: try again at the next poll
                log.exception("worker %s could not claim work", self.owner)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval):
                    await self._wakeup.wait()
            self._wakeup.clear()

    async def _claim_what_is_due(self) -> None:
        settings = self.settings
        while len(self._tasks) < settings.capacity + settings.interactive_capacity and not self._stopping.is_set():
            # Beyond the syncs' capacity, only integrations with an interactive job due are taken.
            interactive_only = len(self._tasks) >= settings.capacity or self._syncs_running >= settings.capacity
            integration_id = await queue.claim_integration(
                self.owner, exclude=set(self._tasks), lease=settings.lease, interactive_only=interactive_only
            )
            if integration_id is None:
                return
            task = asyncio.create_task(self._work_on(integration_id))
            self._tasks[integration_id] = task
            task.add_done_callback(functools.partial(self._forget_task, integration_id))

    def _forget_task(self, integration_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.pop(integration_id, None)
        # Look again: a slot is free, and work queued while the integration was being released is claimable now.
        self._wakeup.set()

    async def _work_on(self, integration_id: int) -> None:
        lease = queue.Lease(self.owner, integration_id)
        owned = self._owned[integration_id] = _Owned()
        if self._stopping.is_set():
            owned.stop(Stopping())
        keeper = asyncio.create_task(self._keep_lease(lease, owned))
        idle = {Priority.INTERACTIVE: False, Priority.BULK: False}
        owned.lanes = [asyncio.create_task(self._lane(lease, lane, idle, owned)) for lane in idle]
        try:
            # A lane that fails leaves the other to finish its job: cancelling a task inside a database
            # call can leave Tortoise's SQLite connection locked for good.
            ended = await asyncio.gather(*owned.lanes, return_exceptions=True)
            if not isinstance(owned.signal.reason, LeaseLost) and any(isinstance(end, LeaseLost) for end in ended):
                # a write was refused: another worker owns it
                log.warning("worker %s lost the lease of integration %s", self.owner, integration_id)
            for end in ended:
                if isinstance(end, asyncio.CancelledError) and not self._stopping.is_set():
                    raise end  # a lane ended as a dying process would: its job is taken over later
                if isinstance(end, Exception) and not isinstance(end, LeaseLost | Stopping):
                    log.error("worker %s stopped working on integration %s", self.owner, integration_id, exc_info=end)
        finally:
            self._owned.pop(integration_id, None)
            keeper.cancel()
            with contextlib.suppress(BaseException):  # the keeper's own end is no reason to skip the release
                await keeper
            if self._stopping.is_set() and not isinstance(owned.signal.reason, LeaseLost):
                await asyncio.shield(self._hand_back(lease))
            try:
                await asyncio.shield(queue.release(self.owner, integration_id))
            except Exception:  # the lease then lapses by itself
                log.exception("worker %s could not release integration %s", self.owner, integration_id)

    async def _hand_back(self, lease: queue.Lease) -> None:
        """A graceful stop is no takeover: the jobs go back to PENDING for the next worker, a sync shows QUEUED."""
        try:
            async with lease.held():
                handed = await queue.hand_back(lease)
                await syncs.put_back(lease.integration_id, [j.sync_run_id for j in handed if j.sync_run_id])
        except LeaseLost:
            pass  # another worker owns it already
        except Exception:  # the lease then lapses, and the next worker takes the jobs over
            log.exception("worker %s could not hand back integration %s", self.owner, lease.integration_id)

    async def _lane(self, lease: queue.Lease, lane: Priority, idle: dict[Priority, bool], owned: _Owned) -> None:
        """Runs the lane's jobs one at a time; ends when no lane of the integration has work left, or at the
        checkpoint after a reason to stop (between two jobs, or between two pages of a sync)."""
        try:
            await self._run_lane(lease, lane, idle, owned)
        finally:
            idle[lane] = True
            owned.nudge.set()  # the other lane may be waiting for new work: let it see whether any is left

    async def _run_lane(self, lease: queue.Lease, lane: Priority, idle: dict[Priority, bool], owned: _Owned) -> None:
        nudge = owned.nudge
        while True:
            owned.signal.check()
            job = await self._next_job(lease, lane)
            if job is not None:
                idle[lane] = False
                try:
                    await self._run(job)
                finally:
                    if lane is Priority.BULK:
                        self._syncs_running -= 1
                continue
            idle[lane] = True
            if all(idle.values()):
                return
            nudge.clear()
            owned.signal.check()  # asked to stop while looking for a job
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval):
                    await nudge.wait()

    async def _next_job(self, lease: queue.Lease, lane: Priority) -> Job | None:
        """The lane's next job; a bulk one only while fewer than `capacity` syncs run (it then holds a slot)."""
        if lane is Priority.BULK:
            if self._syncs_running >= self.settings.capacity:
                return None  # this integration's sync waits for another claim
            self._syncs_running += 1
        job = None
        try:
            job = await queue.next_job(lease.owner, lease.integration_id, lane)
        finally:
            if job is None and lane is Priority.BULK:
                self._syncs_running -= 1
        return job

    def _lost(self, lease: queue.Lease, owned: _Owned) -> LeaseLost:
        log.warning("worker %s lost the lease of integration %s; its work stops at the next checkpoint",
                    self.owner, lease.integration_id)  # fmt: skip
        owned.stop(LeaseLost(lease.integration_id))
        return LeaseLost(lease.integration_id)

    async def _keep_lease(self, lease: queue.Lease, owned: _Owned) -> None:
        """Renews every third of the lease, retrying failures; stops the work at its next checkpoint unless a
        renewal is confirmed before the lease would lapse (less a margin), since another worker may take the
        integration then. Never a cancellation: it could land inside a transaction."""
        loop = asyncio.get_running_loop()
        length = self.settings.lease.total_seconds()
        confirmed = loop.time()
        while True:
            await asyncio.sleep(length / 3)
            while True:
                attempt = loop.time()
                deadline = confirmed + length * 5 / 6
                if attempt >= deadline:
                    raise self._lost(lease, owned)
                try:
                    async with asyncio.timeout(deadline - attempt):
                        still_ours = await queue.renew(lease.owner, lease.integration_id, self.settings.lease)
                except Exception as error:  # includes the timeout: try again until the deadline
                    log.warning("worker %s could not renew the lease of integration %s: %s",
                                self.owner, lease.integration_id, type(error).__name__)  # fmt: skip
                    await asyncio.sleep(min(RENEW_RETRY_DELAY, max(0.0, deadline - loop.time())))
                    continue
                if not still_ours:
                    raise self._lost(lease, owned)
                confirmed = attempt
                break

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            await queue.fail(job, f"no handler for {job.kind.value} jobs in this worker")
            return
        context = self.context_of(job)
        if queue.given_up(job):
            await handler.give_up(context, job, GIVEN_UP.format(n=job.takeovers))
            return
        try:
            await handler.handle(context, job)
        except (asyncio.CancelledError, LeaseLost, Stopping):
            raise  # the job stays RUNNING: handed back on a graceful stop, else taken over by the next owner
        except Exception:  # a bug must not stop the other jobs; the cause stays in our logs only
            log.exception("job %s (%s) failed unexpectedly", job.id, job.kind.value)
            await handler.give_up(context, job, INTERNAL_ERROR)

    async def _keep_house(self) -> None:
        while not self._stopping.is_set():
            await schedule.look_after(self)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.schedule_interval):
                    await self._stopping.wait()
