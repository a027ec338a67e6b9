"""Syncing one integration's folders and programs into its own rows.

Counts: a SyncRun's foldersSynced/programsSynced are what that run fetched from Marketo (an hourly
incremental run fetches only what changed); the integration's are how many folders and programs it
holds, advancing while a first sync fills them. Every status write is made under the worker's lease,
and declares the change, which is announced once it commits (domain/changes.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from domain import changes, platform_integrations, sync_policy, syncs
from domain.changes import changing
from domain.models import ConnectionStatus, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo import connection
from marketo.client import MarketoClient
from marketo.errors import InvalidCredentials
from marketo.worker import removals
from marketo.worker.context import Checkpoint, no_checkpoint
from marketo.worker.queue import Lease
from marketo.worker.resume import Cursor, Position, folder_pages, program_pages, starting_point
from marketo.worker.store import RowStore

FOLDER_DEPTH = 20  # Marketo's default depth is 2; a sync wants the whole tree
PROGRESS_INTERVAL = 1.0  # seconds between two progress events, at most

Clock = Callable[[], float]


def _now() -> datetime:
    return datetime.now(UTC)


class _Progress:
    """Writes the counters to the run and the integration, and announces them about once a second; the run's
    listing cursor goes with its counters (marketo/worker/resume.py)."""

    def __init__(self, lease: Lease, run: SyncRun, clock: Clock, checkpoint: Checkpoint, cursor: Cursor) -> None:
        self.lease, self.run, self.clock, self.checkpoint = lease, run, clock, checkpoint
        self.cursor = cursor
        self.folders = cursor.folders  # a resumed attempt continues the counts its cursor recorded
        self.programs = cursor.programs
        self._last: float | None = None

    async def advance(self, position: Position, *, folders: int = 0, programs: int = 0) -> None:
        """After each page is written, with the position it reaches: also the place where a sync asked to stop
        does so."""
        self.checkpoint()
        self.folders += folders
        self.programs += programs
        self.cursor = self.cursor.at(position, folders=self.folders, programs=self.programs)
        moment = self.clock()
        if self._last is None or moment - self._last >= PROGRESS_INTERVAL:
            self._last = moment
            await self.save()

    async def save(self) -> None:
        integration_id = self.lease.integration_id
        cursor = self.cursor.to_json() if self.cursor.position else None
        async with self.lease.held(recording_holdings=True):  # the integration's counts: what it holds now
            await SyncRun.filter(id=self.run.id).update(
                folders_synced=self.folders, programs_synced=self.programs, listing_cursor=cursor
            )
            changes.sync_status_changed(integration_id)


async def start(lease: Lease, run: SyncRun) -> None:
    moment = _now()
    # An attempt that may take up its run's listings keeps the counts that go with them (until it starts over).
    counts = {} if run.listing_cursor is not None else {"folders_synced": 0, "programs_synced": 0}
    async with lease.held():
        await SyncRun.filter(id=run.id).update(
            state=SyncState.SYNCING, started_at=run.started_at or moment, attempts=run.attempts + 1,
            next_attempt_at=None, error=None, **counts,
        )  # fmt: skip
        await PlatformIntegration.filter(id=lease.integration_id).update(
            sync_state=SyncState.SYNCING, sync_started_at=moment, sync_error=None, next_sync_attempt_at=None,
        )  # fmt: skip
        changes.sync_status_changed(lease.integration_id)


async def test_connection(lease: Lease, client: MarketoClient) -> None:
    """Asks for a token and records what came of it; raises the MarketoError of a failed request (bad credentials
    are recorded with the failure they cause)."""
    status, error = await connection.test(client)
    if not isinstance(error, InvalidCredentials):
        async with lease.held():
            await platform_integrations.record_connection(lease.integration_id, status)
    if error is not None:
        raise error


async def sync_integration(
    lease: Lease,
    integration: PlatformIntegration,
    run: SyncRun,
    client: MarketoClient,
    *,
    full_sync_every: timedelta = sync_policy.FULL_SYNC_EVERY,
    clock: Clock = time.monotonic,
    checkpoint: Checkpoint = no_checkpoint,
    store: RowStore | None = None,
    resume: bool = True,
) -> None:
    """One attempt. Raises MarketoError on failure; the caller decides between retrying and giving up.

    `checkpoint` is called between pages: what it raises stops the sync there, outside any transaction. An attempt
    after one that was interrupted takes its listings up where it left them when that is safe (and `resume`).
    """
    store = store or RowStore()
    await test_connection(lease, client)  # bad credentials fail here, before any row changes
    cursor = await starting_point(
        lease, integration, run, client, full_sync_every=full_sync_every, max_depth=FOLDER_DEPTH, resume=resume
    )
    moment, full = cursor.listings.moment, cursor.listings.full
    progress = _Progress(lease, run, clock, checkpoint, cursor)

    # Every row listed is stamped with this run's start; the rows it did not see are stamped before it.
    async for folders in folder_pages(client, cursor, max_depth=FOLDER_DEPTH):
        await store.upsert_folders(integration.id, folders.items, moment)
        await progress.advance(folders.position, folders=len(folders.items))

    async for programs in program_pages(client, cursor):
        await store.upsert_programs(integration.id, programs.items, moment)
        await progress.advance(programs.position, programs=len(programs.items))

    # Folders always come whole; programs only on a full sync (an incremental one cannot see deletions).
    confirmed = await removals.confirm(client, integration.id, moment, full=full)
    checkpoint()
    async with lease.held():
        await store.upsert_folders(integration.id, confirmed.folders, moment)
        await store.upsert_programs(integration.id, confirmed.programs, moment)
        await removals.remove_unseen(integration.id, moment, confirmed, full=full)
        finished = _now()
        fetched = {"folders_synced": progress.folders, "programs_synced": progress.programs}
        await SyncRun.filter(id=run.id).update(
            state=SyncState.COMPLETED, finished_at=finished, error=None, listing_cursor=None, **fetched
        )
        await PlatformIntegration.filter(id=integration.id).update(
            sync_state=await syncs.state_after(integration.id, run.id, SyncState.COMPLETED),
            sync_finished_at=finished,
            last_succeeded_at=moment,
            sync_error=None,
        )
        await syncs.record_holdings(integration.id)
        # A full run meets the need for one, if the credentials are still those it used: new ones (saved
        # meanwhile) need a full sync of their own instance, which the run queued behind this one does. An
        # incremental run leaves the need alone: it was asked for while it ran (`jeto sync --full`, say).
        if full:
            await PlatformIntegration.filter(
                id=integration.id,
                client_id=integration.client_id,
                client_secret_encrypted=integration.client_secret_encrypted,
                rest_endpoint=integration.rest_endpoint,
                identity_endpoint=integration.identity_endpoint,
            ).update(needs_full_sync=False, last_full_sync_at=moment)
        changes.sync_status_changed(integration.id)


async def record_failure(
    integration_id: int,
    run_id: int,
    message: str,
    *,
    next_attempt_at: datetime | None,
    connection_status: ConnectionStatus | None = None,
) -> None:
    """ERROR, with the time of the next attempt when there is one: a failing instance does not look busy.

    Call it under the lease (`Lease.held`), with the job's own outcome in the same transaction.
    """
    finished = _now()
    async with changing():
        await SyncRun.filter(id=run_id).update(
            state=SyncState.ERROR,
            error=message,
            next_attempt_at=next_attempt_at,
            finished_at=None if next_attempt_at else finished,
            listing_cursor=None,  # a failed attempt's listings are not taken up: the next one starts over
        )
        extra = {"connection_status": connection_status, "connection_checked_at": finished} if connection_status else {}
        await PlatformIntegration.filter(id=integration_id).update(
            sync_state=await syncs.state_after(integration_id, run_id, SyncState.ERROR),
            sync_error=message,
            next_sync_attempt_at=next_attempt_at,
            sync_finished_at=finished,
            **extra,
        )
        changes.sync_status_changed(integration_id)
