"""Queuing syncs: one run queued or running per integration at a time."""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain import jobs
from domain.models import JobKind, PlatformIntegration, SyncRun, SyncTrigger
from domain.sync_state import BUSY, SyncState


async def active_run(integration_id: int) -> SyncRun | None:
    """The run queued, running, or waiting between two attempts, if there is one."""
    return (
        await SyncRun.filter(platform_integration_id=integration_id)
        .filter(Q(state__in=[s.value for s in BUSY]) | Q(state=SyncState.ERROR.value, next_attempt_at__not_isnull=True))
        .order_by("-id")
        .first()
    )


async def queue_sync(integration_id: int, trigger: SyncTrigger) -> SyncRun:
    """The run that was queued, or the one already queued or running for this integration.

    New credentials are the exception: a run that started with the old ones cannot test the new
    ones, so another run is queued behind it.
    """
    async with in_transaction():
        # Locking the integration row makes two simultaneous requests agree on one run.
        await PlatformIntegration.filter(id=integration_id).select_for_update().get()
        current = await active_run(integration_id)
        started = current is not None and current.state is SyncState.SYNCING
        if current is not None and not (trigger is SyncTrigger.CREDENTIALS_CHANGED and started):
            return current
        if current is not None:
            run = await SyncRun.create(platform_integration_id=integration_id, trigger=trigger, state=SyncState.QUEUED)
            await jobs.enqueue(JobKind.SYNC, integration_id, priority=jobs.BULK, sync_run_id=run.id)
            return run
        run = await SyncRun.create(platform_integration_id=integration_id, trigger=trigger, state=SyncState.QUEUED)
        await jobs.enqueue(JobKind.SYNC, integration_id, priority=jobs.BULK, sync_run_id=run.id)
        await PlatformIntegration.filter(id=integration_id).update(
            sync_state=SyncState.QUEUED, sync_error=None, next_sync_attempt_at=None
        )
        return run
