"""Job rows and integration leases: who works on which integration, and what it does next.

A worker claims an integration (not a single job) so that every Marketo call of that integration
goes through one process's token and limiter; the lease it renews is the proof of ownership, and
every write that settles a job or a sync is made under it (`Lease.held`), so a worker that lost its
lease cannot overwrite the new owner's work.

Lease times come from each worker's own clock: hosts must keep their clocks in sync (NTP), well within
the renewal margin (a sixth of the lease, 5 s by default).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from domain import changes, syncs
from domain.changes import changing
from domain.jobs import Priority
from domain.models import Job, JobState, PlatformIntegration
from domain.queries import column
from marketo.worker.stopping import transaction_section

LEASE = timedelta(seconds=30)
ACTIVE = (JobState.PENDING, JobState.RUNNING)
MAX_TAKEOVERS = 3  # a job whose worker died this many times is given up: it probably kills its worker
CLAIM_CANDIDATES = 20  # due jobs looked at per claim, most urgent first


class LeaseLost(Exception):
    """Another worker owns the integration now: stop touching it."""


def _in_lane(lane: Priority) -> Q:
    """A worker runs one job per priority (its lane) of an integration at a time: a campaign need not wait for a
    sync."""
    return Q(priority__lt=Priority.BULK) if lane is Priority.INTERACTIVE else Q(priority__gte=Priority.BULK)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Lease:
    owner: str
    integration_id: int

    @contextlib.asynccontextmanager
    async def held(self, *, recording_holdings: bool = False) -> AsyncIterator[None]:
        """A transaction in which the lease is still ours; raises LeaseLost if it is not. The statuses it changes
        are announced once it commits (domain/changes.py).

        On PostgreSQL the integration row stays locked until the commit, so no claim comes in between. With
        `recording_holdings`, the statement that proves the lease (and locks the row) also stores what the
        integration holds as its SyncStatus counts (syncs.record_holdings): what a sync's progress writes about once
        a second, in one statement instead of a lock, two counts and an update.
        """
        async with transaction_section(), changing():
            if recording_holdings:
                mine = await syncs.record_holdings(self.integration_id, lease_owner=self.owner)
            else:
                locked = (
                    await PlatformIntegration.filter(id=self.integration_id, lease_owner=self.owner)
                    .select_for_update(no_key=True)  # rows inserted meanwhile that refer to it need only a KEY SHARE
                    .only("id")
                    .first()
                )
                mine = locked is not None
            if not mine:
                raise LeaseLost(self.integration_id)
            yield


def lease_of(job: Job) -> Lease:
    assert job.claimed_by is not None, "a job is settled only by the worker that claimed it"
    return Lease(job.claimed_by, job.platform_integration_id)


async def claim_integration(
    owner: str, exclude: set[int], lease: timedelta = LEASE, *, interactive_only: bool = False
) -> int | None:
    """Takes the lease of the integration with the most urgent due job and no live owner; None if none.

    A RUNNING job under a lapsed lease was left by a dead worker, so it counts as work due.
    """
    moment = now()
    free = PlatformIntegration.filter(deleted_at=None).filter(Q(lease_expires_at=None) | Q(lease_expires_at__lt=moment))
    due = Job.filter(state__in=ACTIVE, run_after__lte=moment, platform_integration_id__in=Subquery(free.values("id")))
    if interactive_only:
        due = due.filter(_in_lane(Priority.INTERACTIVE))
    if exclude:
        due = due.exclude(platform_integration_id__in=list(exclude))
    candidates: list[int] = await column(
        due.order_by("priority", "run_after", "id").limit(CLAIM_CANDIDATES), "platform_integration_id"
    )
    for integration_id in dict.fromkeys(candidates):  # distinct, most urgent first
        async with in_transaction():
            candidate = (
                await free.filter(id=integration_id).select_for_update(skip_locked=True, no_key=True).only("id").first()
            )
            if candidate is None:
                continue  # claimed meanwhile by another worker
            await PlatformIntegration.filter(id=integration_id).update(
                lease_owner=owner, lease_expires_at=moment + lease
            )
            return integration_id
    return None


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


async def next_job(owner: str, integration_id: int, lane: Priority | None = None) -> Job | None:
    """The integration's most urgent due job (of `lane`, or any), marked RUNNING and ours, while the lease is ours."""
    lease = Lease(owner, integration_id)
    due = Job.filter(platform_integration_id=integration_id, state__in=ACTIVE, run_after__lte=now())
    if lane is not None:
        due = due.filter(_in_lane(lane))
    if not await due.exists():  # an idle lane's poll (each second, all through a sync): one statement, no lock
        return None
    try:
        async with lease.held():
            job = await due.order_by("priority", "id").first()
            if job is None:
                return None
            taken_over = job.state is JobState.RUNNING  # its worker died: a lane runs one job at a time
            await Job.filter(id=job.id).update(
                state=JobState.RUNNING,
                attempts=job.attempts + 1,
                claimed_by=lease.owner,
                takeovers=job.takeovers + (1 if taken_over else 0),
            )
            await job.refresh_from_db()
            return job
    except LeaseLost:
        return None


async def hand_back(lease: Lease) -> list[Job]:
    """On a graceful stop, under the lease: the jobs this worker was running are PENDING again, as if never
    started (no takeover counted, no attempt used), and the lease is released. Returns those jobs."""
    running = await Job.filter(
        platform_integration_id=lease.integration_id, state=JobState.RUNNING, claimed_by=lease.owner
    )
    for job in running:
        await Job.filter(id=job.id).update(state=JobState.PENDING, attempts=max(0, job.attempts - 1))
    if running:
        changes.work_queued()  # another worker takes them at once, not at its next poll
    await release(lease.owner, lease.integration_id)
    return running


def given_up(job: Job) -> bool:
    """Taken over from dead workers more than MAX_TAKEOVERS times: running it again would likely kill this one."""
    return job.takeovers > MAX_TAKEOVERS


async def finish(job: Job) -> None:
    async with lease_of(job).held():
        await Job.filter(id=job.id).update(state=JobState.DONE, finished_at=now(), last_error=None)


async def fail(job: Job, error: str) -> None:
    async with lease_of(job).held():
        await Job.filter(id=job.id).update(state=JobState.FAILED, finished_at=now(), last_error=error)


async def retry_later(job: Job, error: str, delay: timedelta | None = None, *, at: datetime | None = None) -> datetime:
    """Back to PENDING, due after `delay` (or at `at`)."""
    moment = at if at is not None else now() + (delay or timedelta(0))
    async with lease_of(job).held():
        await Job.filter(id=job.id).update(state=JobState.PENDING, run_after=moment, last_error=error)
    return moment
