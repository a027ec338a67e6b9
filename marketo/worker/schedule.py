"""What a worker looks after besides its jobs: the recurring syncs, and runs a dead worker left stranded."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from domain import sync_policy, syncs
from domain.models import ConnectionStatus, PlatformIntegration, SyncRun, SyncTrigger
from marketo.worker import queue

if TYPE_CHECKING:
    from marketo.worker.runner import Worker

log = logging.getLogger("jeto.worker")


async def look_after(worker: Worker) -> None:
    """One round of both; a failure of one is logged and tried again at the next round."""
    try:
        await queue_due_syncs(worker)
    except Exception:
        log.exception("could not queue the recurring syncs")
    try:
        await settle_stranded_runs(worker)
    except Exception:
        log.exception("could not settle stranded sync runs")


async def queue_due_syncs(worker: Worker) -> int:
    """Queues a SCHEDULED sync of every integration whose last one was queued a cadence ago or more.

    Only integrations whose credentials were rejected are skipped (their admins were told, and must
    act first); any other failure is tried again on the cadence.
    """
    moment = queue.now()
    queued = 0
    for integration in await PlatformIntegration.filter(deleted_at=None):
        if integration.connection_status is ConnectionStatus.INVALID_CREDENTIALS:
            continue
        last = await SyncRun.filter(platform_integration_id=integration.id).order_by("-id").first()
        if not sync_policy.due_for_recurring_sync(
            last.queued_at if last else None, moment, worker.settings.sync_cadence
        ):
            continue
        if await syncs.active_run(integration.id) is None:
            await syncs.queue_sync(integration.id, SyncTrigger.SCHEDULED)
            await worker.publish_status(integration.id)
            queued += 1
    if queued:
        worker.wake()
    return queued


async def settle_stranded_runs(worker: Worker) -> int:
    """Runs left QUEUED or SYNCING by a dead worker, or by a failure that skipped recording, are put right."""
    changed = await syncs.settle_stranded_runs(queue.now())
    for integration_id in changed:
        await worker.publish_status(integration_id)
    return len(changed)
