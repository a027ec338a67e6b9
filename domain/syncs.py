"""Queuing syncs (one run queued or running per integration at a time), and settling runs nothing backs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q, Subquery

from domain import changes, jobs, sync_policy
from domain.changes import changing
from domain.errors import Rejected, not_found
from domain.models import (
    Job,
    JobKind,
    JobState,
    MarketoFolder,
    MarketoProgram,
    PlatformIntegration,
    SyncRun,
    SyncTrigger,
)
from domain.queries import column
from domain.sync_state import BUSY, SyncState

INTERRUPTED = (
    "This sync stopped before it finished: the Jeto worker running it went away. "
    "Sync again, or wait for the next scheduled sync."
)
_WAITING_FOR_RETRY = Q(state=SyncState.ERROR.value, next_attempt_at__not_isnull=True)


def run_is_full(integration: PlatformIntegration, now: datetime, every: timedelta) -> bool:
    """Whether a run of the integration starting `now` is a full one (see sync_policy.sync_is_full)."""
    return sync_policy.sync_is_full(
        needs_full_sync=integration.needs_full_sync,
        last_full_sync_at=integration.last_full_sync_at,
        now=now,
        every=every,
    )


def fetches_every_program(integration: PlatformIntegration, now: datetime, every: timedelta) -> bool:
    return sync_policy.fetches_every_program(
        full=run_is_full(integration, now, every), last_succeeded_at=integration.last_succeeded_at
    )


async def holdings(integration_id: int) -> tuple[int, int]:
    """How many folders and programs the integration holds: its SyncStatus counts."""
    return (
        await MarketoFolder.filter(platform_integration_id=integration_id).count(),
        await MarketoProgram.filter(platform_integration_id=integration_id).count(),
    )


def _holdings_update(table: str, folders: str, programs: str) -> str:
    # Written with $n, as PostgreSQL numbers parameters; SQLite reads the same numbers as ?n.
    counted = '(SELECT COUNT(*) FROM "{}" WHERE platform_integration_id = $1)'
    values = f"folders_synced = {counted.format(folders)}, programs_synced = {counted.format(programs)}"
    return f'UPDATE "{table}" SET {values} WHERE id = $1'


_RECORD_HOLDINGS = _holdings_update(
    PlatformIntegration._meta.db_table, MarketoFolder._meta.db_table, MarketoProgram._meta.db_table
)


async def record_holdings(integration_id: int, *, lease_owner: str | None = None) -> bool:
    """Stores what the integration holds as its SyncStatus counts, in one statement (a sync does it about once a
    second); with `lease_owner`, only while that worker's lease is the integration's. False if nothing was
    stored (no such integration, or the lease is another's)."""
    statement = _RECORD_HOLDINGS
    params: list[Any] = [integration_id]
    if lease_owner is not None:
        statement += " AND lease_owner = $2"
        params.append(lease_owner)
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        statement = statement.replace("$", "?")
    updated, _ = await connection.execute_query(statement, params)
    return bool(updated)


async def active_run(integration_id: int) -> SyncRun | None:
    """The run queued, running, or waiting between two attempts, if there is one."""
    return (
        await SyncRun.filter(platform_integration_id=integration_id)
        .filter(Q(state__in=[s.value for s in BUSY]) | _WAITING_FOR_RETRY)
        .order_by("-id")
        .first()
    )


async def state_after(integration_id: int, run_id: int, outcome: SyncState) -> SyncState:
    """The integration's state once a run ends with `outcome`: QUEUED while another of its runs waits to start
    (new credentials queue one behind a running sync), since it is not done syncing."""
    waiting = SyncRun.filter(platform_integration_id=integration_id, state=SyncState.QUEUED).exclude(id=run_id)
    return SyncState.QUEUED if await waiting.exists() else outcome


async def queue_sync(integration_id: int, trigger: SyncTrigger) -> SyncRun:
    """The run that was queued, or the one already queued or running for this integration.

    New credentials are the exception: a run that started with the old ones cannot test the new
    ones, so another run is queued behind it, and a connection test goes before any sync.
    Rejected (NOT_FOUND) if the integration is deleted, even by a request that committed meanwhile.
    """
    async with changing():
        # Locking the integration row makes two simultaneous requests agree on one run, and waits for a
        # concurrent deletion: PostgreSQL checks deleted_at again on the row it committed.
        locked = PlatformIntegration.filter(id=integration_id, deleted_at=None).select_for_update(no_key=True)
        if await locked.first() is None:
            raise Rejected([not_found("platform integration", ("id",))])
        if trigger is SyncTrigger.CREDENTIALS_CHANGED:
            await jobs.enqueue(JobKind.TEST_CONNECTION, integration_id, priority=jobs.INTERACTIVE)
        current = await active_run(integration_id)
        started = current is not None and current.state is SyncState.SYNCING
        if current is not None and not (trigger is SyncTrigger.CREDENTIALS_CHANGED and started):
            return current
        run = await SyncRun.create(platform_integration_id=integration_id, trigger=trigger, state=SyncState.QUEUED)
        await jobs.enqueue(JobKind.SYNC, integration_id, priority=jobs.BULK, sync_run_id=run.id)
        if current is None:
            await PlatformIntegration.filter(id=integration_id).update(
                sync_state=SyncState.QUEUED, sync_error=None, next_sync_attempt_at=None
            )
            changes.sync_status_changed(integration_id)
        return run


async def request_sync(integration_id: int, *, full: bool) -> SyncRun:
    """The operator's request (`jeto sync`): a sync queued now, as an admin's is, and with `full` the next run
    fetches every program (and so removes those deleted in Marketo), in the same transaction."""
    async with changing():
        if full:
            await PlatformIntegration.filter(id=integration_id, deleted_at=None).update(needs_full_sync=True)
        return await queue_sync(integration_id, SyncTrigger.MANUAL)


async def put_back(integration_id: int, run_ids: list[int]) -> bool:
    """Runs whose worker stopped gracefully mid-sync wait for the next worker: QUEUED, the attempt not counted.

    Call it in the transaction that hands their jobs back; returns whether the integration's state changed.
    """
    started = await SyncRun.filter(id__in=run_ids or [-1], state=SyncState.SYNCING)
    for run in started:
        await SyncRun.filter(id=run.id).update(state=SyncState.QUEUED, attempts=max(0, run.attempts - 1))
    if not started:
        return False
    changed = await PlatformIntegration.filter(id=integration_id, sync_state=SyncState.SYNCING).update(
        sync_state=SyncState.QUEUED
    )
    if changed:
        changes.sync_status_changed(integration_id)
    return bool(changed)


async def settle_stranded_runs(now: datetime) -> set[int]:
    """Runs that show QUEUED, SYNCING or a next attempt with nothing behind them are put right; returns
    the integrations whose status changed.

    - no PENDING or RUNNING job (it failed, or was ended, while the run still showed busy): ERROR, with
      a message the user can act on;
    - SYNCING, but its job is not RUNNING under a live lease (its worker died or stopped): QUEUED, since
      the job waits for a worker to take it over.
    """
    active_jobs = Job.filter(kind=JobKind.SYNC, state__in=[JobState.PENDING.value, JobState.RUNNING.value])
    unbacked = SyncRun.filter(Q(state__in=[s.value for s in BUSY]) | _WAITING_FOR_RETRY).exclude(
        id__in=Subquery(active_jobs.filter(sync_run_id__not_isnull=True).values("sync_run_id"))
    )
    live = PlatformIntegration.filter(lease_owner__not_isnull=True, lease_expires_at__gte=now)
    running_live = active_jobs.filter(
        state=JobState.RUNNING.value, platform_integration_id__in=Subquery(live.values("id"))
    )
    orphaned = SyncRun.filter(state=SyncState.SYNCING.value).exclude(
        id__in=Subquery(running_live.filter(sync_run_id__not_isnull=True).values("sync_run_id"))
    )
    with_a_run = SyncRun.filter(Q(state__in=[s.value for s in BUSY]) | _WAITING_FOR_RETRY).values(
        "platform_integration_id"
    )
    busy_without_a_run = (
        PlatformIntegration.filter(deleted_at=None)
        .filter(Q(sync_state__in=[s.value for s in BUSY]) | Q(next_sync_attempt_at__not_isnull=True))
        .exclude(id__in=Subquery(with_a_run))
    )
    candidates = {
        *await column(unbacked, "platform_integration_id"),
        *await column(orphaned, "platform_integration_id"),
        *await column(busy_without_a_run, "id"),
    }
    changed = set()
    for integration_id in sorted(candidates):
        if await _settle(integration_id, now):
            changed.add(integration_id)
    return changed


async def _settle(integration_id: int, now: datetime) -> bool:
    """One integration's runs, checked again under its row lock (a worker's status writes take it too)."""
    async with changing():
        integration = await PlatformIntegration.filter(id=integration_id).select_for_update(no_key=True).first()
        if integration is None:
            return False
        live_owner = (
            integration.lease_owner is not None
            and integration.lease_expires_at is not None
            and (integration.lease_expires_at >= now)
        )
        changed = False
        for run in await SyncRun.filter(platform_integration_id=integration_id).filter(
            Q(state__in=[s.value for s in BUSY]) | _WAITING_FOR_RETRY
        ):
            job_states = set(await column(Job.filter(sync_run_id=run.id), "state"))
            if not job_states & {JobState.PENDING, JobState.RUNNING}:
                await SyncRun.filter(id=run.id).update(
                    state=SyncState.ERROR, error=INTERRUPTED, next_attempt_at=None, finished_at=now, listing_cursor=None
                )
                changed = True
            elif run.state is SyncState.SYNCING and not (JobState.RUNNING in job_states and live_owner):
                await SyncRun.filter(id=run.id).update(state=SyncState.QUEUED)
                changed = True
        current = await active_run(integration_id)
        if current is None and (integration.sync_state in BUSY or integration.next_sync_attempt_at is not None):
            await PlatformIntegration.filter(id=integration_id).update(
                sync_state=SyncState.ERROR, sync_error=INTERRUPTED, next_sync_attempt_at=None, sync_finished_at=now
            )
            changes.sync_status_changed(integration_id)
            return True
        if current is not None and current.state is SyncState.QUEUED and integration.sync_state is SyncState.SYNCING:
            await PlatformIntegration.filter(id=integration_id).update(sync_state=SyncState.QUEUED)
            changes.sync_status_changed(integration_id)
            return True
        if changed:
            changes.sync_status_changed(integration_id)
        return changed
