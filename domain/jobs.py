"""Work handed to the Marketo worker, written in the same transaction as the change that needs it."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.models import Job, JobKind

INTERACTIVE = 0  # a user is waiting (a campaign's program)
BULK = 10  # a sync


async def enqueue(
    kind: JobKind,
    integration_id: int,
    *,
    priority: int = BULK,
    sync_run_id: int | None = None,
    campaign_id: int | None = None,
    launcher_id: int | None = None,
) -> Job:
    return await Job.create(
        kind=kind,
        platform_integration_id=integration_id,
        priority=priority,
        run_after=datetime.now(UTC),
        sync_run_id=sync_run_id,
        campaign_id=campaign_id,
        launcher_id=launcher_id,
    )
