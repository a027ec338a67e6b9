"""Queuing syncs: one run queued or running per integration at a time."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain.models import PlatformIntegration, SyncRun, SyncTrigger
from domain.sync_state import BUSY, SyncState


async def queue_sync(integration_id: int, trigger: SyncTrigger) -> SyncRun:
    """The run that was queued, or the one already queued or running for this integration."""
    async with in_transaction():
        # Locking the integration row makes two simultaneous requests agree on one run.
        await PlatformIntegration.filter(id=integration_id).select_for_update().get()
        current = await SyncRun.filter(
            platform_integration_id=integration_id, state__in=[s.value for s in BUSY]
        ).order_by("-id").first()
        if current is not None:
            return current
        run = await SyncRun.create(platform_integration_id=integration_id, trigger=trigger, state=SyncState.QUEUED)
        await PlatformIntegration.filter(id=integration_id).update(
            sync_state=SyncState.QUEUED, sync_error=None, next_sync_attempt_at=None
        )
        return run
