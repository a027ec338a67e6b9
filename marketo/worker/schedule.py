"""What a worker looks after besides its jobs: the recurring syncs, and runs a dead worker left stranded."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tortoise.expressions import Subquery

from domain import changes, sync_policy, syncs
from domain.errors import Rejected
from domain.models import ConnectionStatus, PlatformIntegration, SyncRun, SyncTrigger
from domain.queries import column
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
    with changes.publishing_to(worker.publish, worker.work_queued):
        return await _queue_due_syncs(worker)


async def _queue_due_syncs(worker: Worker) -> int:
    cutoff = sync_policy.recurring_sync_cutoff(queue.now(), worker.settings.sync_cadence)
    queued_since = SyncRun.filter(queued_at__gt=cutoff).values("platform_integration_id")
    due = (
        PlatformIntegration.filter(deleted_at=None)
        .exclude(connection_status__in=(ConnectionStatus.INVALID_CREDENTIALS, ConnectionStatus.ENDPOINT_NOT_ALLOWED))
        .exclude(id__in=Subquery(queued_since))
    )
    queued = 0
    for integration_id in await column(due.order_by("id"), "id"):
        if await syncs.active_run(integration_id) is not None:
            continue  # e.g. waiting for its next attempt
        try:
            await syncs.queue_sync(integration_id, SyncTrigger.SCHEDULED)
        except Rejected:
            continue  # deleted meanwhile
        queued += 1
    if queued:
        worker.wake()
    return queued


async def settle_stranded_runs(worker: Worker) -> int:
    """Runs left QUEUED or SYNCING by a dead worker, or by a failure that skipped recording, are put right."""
    with changes.publishing_to(worker.publish, worker.work_queued):
        return len(await syncs.settle_stranded_runs(queue.now()))
