"""The worker loop: claim integrations with work due, run their jobs one at a time, keep the leases alive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from domain import events, notifications, outbox, sync_policy, syncs
from domain.models import Account, ConnectionStatus, Job, JobKind, PlatformIntegration, SyncRun, SyncTrigger
from domain.sync_state import SyncState
from marketo.client import MarketoClient
from marketo.credentials import MarketoCredentials
from marketo.errors import InvalidCredentials, MarketoError
from marketo.pool import MarketoPool
from marketo.worker import provisioning, queue, sync

log = logging.getLogger("jeto.worker")

Publish = Callable[[int, events.Event], Awaitable[None]]
Handler = Callable[["Worker", Job], Awaitable[None]]


class LeaseLost(Exception):
    """Another worker owns the integration now: stop touching it."""


@dataclass
class WorkerSettings:
    capacity: int = 20  # integrations worked on at once by one process
    poll_interval: float = 1.0
    sync_cadence: timedelta = timedelta(minutes=60)
    schedule_interval: float = 30.0
    retry_delay: Callable[[int], timedelta] = sync_policy.retry_delay
    lease: timedelta = queue.LEASE  # a dead worker's integrations are taken over once this lapses


@dataclass
class Worker:
    pool: MarketoPool
    credentials: Callable[[PlatformIntegration], MarketoCredentials]
    publish: Publish
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    handlers: dict[JobKind, Handler] = field(default_factory=dict)
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.handlers.setdefault(JobKind.SYNC, Worker._sync)
        self.handlers.setdefault(JobKind.PROVISION_CAMPAIGN, provisioning.provision_campaign)
        self.handlers.setdefault(JobKind.RENAME_PROGRAM, provisioning.rename_program)
        self.handlers.setdefault(JobKind.ASSETS_FOLDER, provisioning.assets_folder)

    def client_for(self, integration: PlatformIntegration) -> MarketoClient:
        """Every Marketo call of an integration goes through this process's token cache and limiter."""
        return self.pool.client(self.credentials(integration))

    def wake(self) -> None:
        """New work was queued by this process: look now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        log.info("worker %s started", self.owner)
        schedule = asyncio.create_task(self._schedule_recurring_syncs())
        try:
            while True:
                try:
                    await self._claim_what_is_due()
                except Exception:  # the database may be away a moment: try again at the next poll
                    log.exception("worker %s could not claim work", self.owner)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.poll_interval):
                        await self._wakeup.wait()
                self._wakeup.clear()
        finally:
            schedule.cancel()
            for task in list(self._tasks.values()):
                task.cancel()
            await asyncio.gather(schedule, *self._tasks.values(), return_exceptions=True)

    async def run_until_idle(self) -> None:
        """Works until no integration has work due now (tests and one-off commands)."""
        while True:
            await self._claim_what_is_due()
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _claim_what_is_due(self) -> None:
        while len(self._tasks) < self.settings.capacity:
            integration_id = await queue.claim_integration(self.owner, exclude=set(self._tasks), lease=self.settings.lease)
            if integration_id is None:
                return
            task = asyncio.create_task(self._work_on(integration_id))
            self._tasks[integration_id] = task
            task.add_done_callback(lambda _, pk=integration_id: self._tasks.pop(pk, None))

    async def _work_on(self, integration_id: int) -> None:
        worker = asyncio.current_task()
        assert worker is not None
        keeper = asyncio.create_task(self._keep_lease(integration_id, worker))
        try:
            while (job := await queue.next_job(self.owner, integration_id)) is not None:
                await self._run(job)
        except asyncio.CancelledError:
            if keeper.done() and isinstance(keeper.exception(), LeaseLost):
                log.warning("worker %s lost the lease of integration %s", self.owner, integration_id)
                return
            raise
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await keeper
            with contextlib.suppress(Exception):
                await queue.release(self.owner, integration_id)

    async def _keep_lease(self, integration_id: int, worker: asyncio.Task[None]) -> None:
        while True:
            await asyncio.sleep(self.settings.lease.total_seconds() / 3)
            if not await queue.renew(self.owner, integration_id, self.settings.lease):
                worker.cancel()
                raise LeaseLost(integration_id)

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            await queue.fail(job, f"no handler for {job.kind.value} jobs in this worker")
            return
        try:
            await handler(self, job)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug must not stop the other jobs; the message stays in our logs only
            log.exception("job %s (%s) failed unexpectedly", job.id, job.kind.value)
            await queue.fail(job, f"internal error ({type(error).__name__})")

    async def announce(self, integration: PlatformIntegration) -> None:
        await self.publish(integration.account_id, events.sync_status_changed(integration.id))

    async def _sync(self, job: Job) -> None:
        run = await SyncRun.get(id=job.sync_run_id)
        integration = await PlatformIntegration.get(id=job.platform_integration_id)
        if integration.deleted_at is not None:
            await queue.fail(job, "the integration was deleted")
            return
        await sync.start(integration, run)
        await self.announce(integration)
        await run.refresh_from_db()

        async def announce() -> None:
            await self.announce(integration)

        try:
            await sync.sync_integration(integration, run, self.client_for(integration), announce)
            await queue.finish(job)
        except InvalidCredentials as error:
            # Retrying cannot help: the user must enter new credentials.
            await sync.record_failure(
                integration, run, str(error), next_attempt_at=None, connection_status=ConnectionStatus.INVALID_CREDENTIALS
            )
            await queue.fail(job, str(error))
            await _notify_sync_failed(integration, str(error))
        except MarketoError as error:
            if sync_policy.should_retry(run.attempts, error.retryable):
                at = await queue.retry_later(job, str(error), self.settings.retry_delay(run.attempts))
                await sync.record_failure(integration, run, str(error), next_attempt_at=at)
            else:
                await sync.record_failure(integration, run, str(error), next_attempt_at=None)
                await queue.fail(job, str(error))
                await _notify_sync_failed(integration, str(error))
        except Exception:
            # Never leave the integration SYNCING (it would block launchers); the cause is logged by _run.
            message = "Jeto could not finish this sync because of an internal error: sync again, or contact support."
            await sync.record_failure(integration, run, message, next_attempt_at=None)
            raise
        finally:
            await self.announce(integration)

    async def _schedule_recurring_syncs(self) -> None:
        while True:
            try:
                await self.queue_due_syncs()
            except Exception:
                log.exception("could not queue the recurring syncs")
            await asyncio.sleep(self.settings.schedule_interval)

    async def queue_due_syncs(self) -> int:
        """Queues a SCHEDULED sync of every integration whose last one was queued a cadence ago or more."""
        moment = queue.now()
        queued = 0
        for integration in await PlatformIntegration.filter(deleted_at=None):
            last = await SyncRun.filter(platform_integration_id=integration.id).order_by("-id").first()
            if not sync_policy.due_for_recurring_sync(last.queued_at if last else None, moment, self.settings.sync_cadence):
                continue
            if last is not None and last.state is SyncState.ERROR and last.next_attempt_at is None:
                continue  # it failed for good (bad credentials…): the admins were told, and must act first
            if await syncs.active_run(integration.id) is None:
                await syncs.queue_sync(integration.id, SyncTrigger.SCHEDULED)
                await self.announce(integration)
                queued += 1
        if queued:
            self.wake()
        return queued


async def _notify_sync_failed(integration: PlatformIntegration, error: str) -> None:
    account = await Account.get(id=integration.account_id)
    subject, body = notifications.sync_failed(
        account=await outbox.account_label(account, integration),
        integration=integration.name,
        error=error,
        failed_on=queue.now(),
    )
    await outbox.notify_admins(account.id, subject, body)
