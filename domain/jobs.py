"""Work handed to the Marketo worker, written in the same transaction as the change that needs it."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from domain import changes
from domain.models import Job, JobKind


class Priority(enum.IntEnum):
    """Whose work goes first, on every level: a worker runs an integration's jobs in one lane per priority
    (a campaign need not wait for a sync), and the Marketo client sends a bulk job's calls after the waiting
    interactive ones, leaving them a reserve of the instance's limits. Stored as the job's priority."""

    INTERACTIVE = 0  # a user is waiting: a campaign's program, a rename, a connection test, an assets folder
    BULK = 10  # a sync's pages


INTERACTIVE, BULK = Priority.INTERACTIVE, Priority.BULK


async def enqueue(
    kind: JobKind,
    integration_id: int,
    *,
    priority: Priority = Priority.BULK,
    sync_run_id: int | None = None,
    campaign_id: int | None = None,
    launcher_id: int | None = None,
) -> Job:
    changes.work_queued()  # a worker starts on it once committed
    return await Job.create(
        kind=kind,
        platform_integration_id=integration_id,
        priority=priority,
        run_after=datetime.now(UTC),
        sync_run_id=sync_run_id,
        campaign_id=campaign_id,
        launcher_id=launcher_id,
    )
