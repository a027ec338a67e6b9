"""Job rows and integration leases: who works on which integration, and what it does next.

A worker claims an integration (not a single job) so that every Marketo call of that integration
goes through one process's token and limiter; the lease it renews is the proof of ownership.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from domain.models import Job, JobState, PlatformIntegration

LEASE = timedelta(seconds=30)
ACTIVE = (JobState.PENDING, JobState.RUNNING)


def now() -> datetime:
    return datetime.now(UTC)


async def claim_integration(owner: str, exclude: set[int], lease: timedelta = LEASE) -> int | None:
    """Takes the lease of one integration that has work due and no live owner; None if there is none.

    A RUNNING job under a lapsed lease was left by a dead worker, so it counts as work due.
    """
    moment = now()
    runnable = Job.filter(state__in=ACTIVE, run_after__lte=moment).values("platform_integration_id")
    free = PlatformIntegration.filter(id__in=Subquery(runnable), deleted_at=None).filter(
        Q(lease_expires_at=None) | Q(lease_expires_at__lt=moment)
    )
    if exclude:
        free = free.exclude(id__in=list(exclude))
    async with in_transaction():
        candidate = await free.order_by("id").select_for_update(skip_locked=True).first()
        if candidate is None:
            return None
        await PlatformIntegration.filter(id=candidate.id).update(lease_owner=owner, lease_expires_at=moment + lease)
        return candidate.id


async def renew(owner: str, integration_id: int, lease: timedelta = LEASE) -> bool:
    """False when the lease was lost (it lapsed and another worker took it): stop working then."""
    updated = await PlatformIntegration.filter(id=integration_id, lease_owner=owner).update(
        lease_expires_at=now() + lease
    )
    return updated == 1


async def release(owner: str, integration_id: int) -> None:
    await PlatformIntegration.filter(id=integration_id, lease_owner=owner).update(
        lease_owner=None, lease_expires_at=None
    )


async def next_job(owner: str, integration_id: int) -> Job | None:
    """The integration's most urgent due job, marked RUNNING, while `owner` holds the lease."""
    async with in_transaction():
        if not await PlatformIntegration.filter(id=integration_id, lease_owner=owner).exists():
            return None
        job = (
            await Job.filter(platform_integration_id=integration_id, state__in=ACTIVE, run_after__lte=now())
            .order_by("priority", "id")
            .first()
        )
        if job is None:
            return None
        await Job.filter(id=job.id).update(state=JobState.RUNNING, attempts=job.attempts + 1)
        await job.refresh_from_db()
        return job


async def finish(job: Job) -> None:
    await Job.filter(id=job.id).update(state=JobState.DONE, finished_at=now(), last_error=None)


async def fail(job: Job, error: str) -> None:
    await Job.filter(id=job.id).update(state=JobState.FAILED, finished_at=now(), last_error=error)


async def retry_later(job: Job, error: str, delay: timedelta) -> datetime:
    at = now() + delay
    await Job.filter(id=job.id).update(state=JobState.PENDING, run_after=at, last_error=error)
    return at
