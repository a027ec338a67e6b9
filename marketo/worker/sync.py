"""Syncing one integration's folders and programs into its own rows.

Counts: a SyncRun's foldersSynced/programsSynced are what that run fetched from Marketo (an hourly
incremental run fetches only what changed); the integration's are how many folders and programs it
holds, advancing while a first sync fills them. Every status write is made under the worker's lease,
and returns the status event to publish once it is committed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from domain import events, sync_policy, syncs
from domain.models import ConnectionStatus, MarketoFolder, MarketoProgram, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.client import MarketoClient
from marketo.errors import EndpointNotAllowed, InvalidCredentials, MarketoError
from marketo.models import Folder, Program
from marketo.worker import removals
from marketo.worker.queue import Lease
from marketo.worker.upsert import upsert

FOLDER_DEPTH = 20  # Marketo's default depth is 2; a sync wants the whole tree
PROGRESS_INTERVAL = 1.0  # seconds between two progress events, at most

Announce = Callable[[events.Event], Awaitable[None]]
Clock = Callable[[], float]
Checkpoint = Callable[[], None]  # raises when the work must stop (lease lost, worker stopping)


def no_checkpoint() -> None:
    pass


def _now() -> datetime:
    return datetime.now(UTC)


async def _totals(integration_id: int) -> dict[str, int]:
    """What the integration holds, as its SyncStatus counts."""
    folders, programs = await syncs.holdings(integration_id)
    return {"folders_synced": folders, "programs_synced": programs}


async def _status(integration_id: int) -> events.Event:
    return events.sync_status(await PlatformIntegration.get(id=integration_id))


class _Progress:
    """Writes the counters to the run and the integration, and announces them about once a second."""

    def __init__(self, lease: Lease, run: SyncRun, announce: Announce, clock: Clock, checkpoint: Checkpoint) -> None:
        self.lease, self.run, self.announce, self.clock, self.checkpoint = lease, run, announce, clock, checkpoint
        self.folders = 0
        self.programs = 0
        self._last: float | None = None

    async def advance(self, *, folders: int = 0, programs: int = 0) -> None:
        """After each page: also the place where a sync asked to stop does so."""
        self.checkpoint()
        self.folders += folders
        self.programs += programs
        moment = self.clock()
        if self._last is None or moment - self._last >= PROGRESS_INTERVAL:
            self._last = moment
            await self.announce(await self.save())

    async def save(self) -> events.Event:
        integration_id = self.lease.integration_id
        async with self.lease.held():
            await SyncRun.filter(id=self.run.id).update(folders_synced=self.folders, programs_synced=self.programs)
            await PlatformIntegration.filter(id=integration_id).update(**await _totals(integration_id))
            return await _status(integration_id)


async def start(lease: Lease, run: SyncRun) -> events.Event:
    moment = _now()
    async with lease.held():
        await SyncRun.filter(id=run.id).update(
            state=SyncState.SYNCING, started_at=run.started_at or moment, attempts=run.attempts + 1,
            next_attempt_at=None, error=None, folders_synced=0, programs_synced=0,
        )  # fmt: skip
        await PlatformIntegration.filter(id=lease.integration_id).update(
            sync_state=SyncState.SYNCING, sync_started_at=moment, sync_error=None, next_sync_attempt_at=None,
        )  # fmt: skip
        return await _status(lease.integration_id)


def _cut(value: str | None, length: int) -> str | None:
    """Marketo's texts fit our columns (PostgreSQL refuses what does not)."""
    return value[:length] if value else value


async def _upsert_folders(integration_id: int, folders: list[Folder], seen_at: datetime) -> None:
    rows = [
        {
            "platform_integration_id": integration_id,
            "marketo_id": f.id,
            "marketo_type": f.type[:20],
            "name": f.name[:255],
            "path": f.path[:2000],
            "parent_marketo_id": f.parent.id if f.parent else None,
            "parent_marketo_type": f.parent.type[:20] if f.parent else None,
            "folder_type": _cut(f.folder_type, 40),
            "is_system": f.is_system,
            "url": _cut(f.url, 500),
            "marketo_updated_at": f.updated_at,
            "seen_at": seen_at,
        }
        for f in folders
    ]
    await upsert(MarketoFolder, rows, conflict=["platform_integration_id", "marketo_id", "marketo_type"])


async def _upsert_programs(
    integration_id: int, programs: list[Program], folder_ids: dict[tuple[int, str], int], seen_at: datetime
) -> None:
    rows = [
        {
            "platform_integration_id": integration_id,
            "marketo_id": p.id,
            "name": p.name[:255],
            "type": p.type[:40],
            "channel": _cut(p.channel, 100),
            "status": _cut(p.status, 40),
            "folder_id": folder_ids.get((p.folder.id, p.folder.type)) if p.folder else None,
            "url": _cut(p.url, 500),
            "marketo_updated_at": p.updated_at,
            "seen_at": seen_at,
        }
        for p in programs
    ]
    await upsert(MarketoProgram, rows, conflict=["platform_integration_id", "marketo_id"])


async def _folder_ids(integration_id: int) -> dict[tuple[int, str], int]:
    rows = await MarketoFolder.filter(platform_integration_id=integration_id).values_list(
        "id", "marketo_id", "marketo_type"
    )
    return {(marketo_id, marketo_type): pk for pk, marketo_id, marketo_type in rows}


async def test_connection(lease: Lease, client: MarketoClient) -> ConnectionStatus:
    """Asks for a token and records what came of it; raises the MarketoError of a failed request."""
    try:
        await client.get_token()
        status = ConnectionStatus.CONNECTED
    except InvalidCredentials:
        raise  # recorded with the failure it causes
    except EndpointNotAllowed:
        await record_connection(lease, ConnectionStatus.ENDPOINT_NOT_ALLOWED)
        raise
    except MarketoError:
        status = ConnectionStatus.UNREACHABLE  # no answer, a 5xx, or no Identity service at that address
        await record_connection(lease, status)
        raise
    await record_connection(lease, status)
    return status


async def record_connection(lease: Lease, status: ConnectionStatus) -> None:
    async with lease.held():
        await PlatformIntegration.filter(id=lease.integration_id).update(
            connection_status=status, connection_checked_at=_now()
        )


async def sync_integration(
    lease: Lease,
    integration: PlatformIntegration,
    run: SyncRun,
    client: MarketoClient,
    announce: Announce,
    *,
    full_sync_every: timedelta = sync_policy.FULL_SYNC_EVERY,
    clock: Clock = time.monotonic,
    checkpoint: Checkpoint = no_checkpoint,
) -> None:
    """One attempt. Raises MarketoError on failure; the caller decides between retrying and giving up.

    `checkpoint` is called between pages: what it raises stops the sync there, outside any transaction.
    """
    moment = _now()
    full = syncs.run_is_full(integration, moment, full_sync_every)
    progress = _Progress(lease, run, announce, clock, checkpoint)
    await test_connection(lease, client)  # bad credentials fail here, before any row changes

    # Every row listed is stamped with this run's start; the rows it did not see are stamped before it.
    async for page in client.iter_folder_pages(max_depth=FOLDER_DEPTH):
        await _upsert_folders(integration.id, page, moment)
        await progress.advance(folders=len(page))
    folder_ids = await _folder_ids(integration.id)

    every_program = sync_policy.fetches_every_program(full=full, last_succeeded_at=integration.last_succeeded_at)
    since = None if every_program else sync_policy.incremental_since(integration.last_succeeded_at)
    async for page in client.iter_program_pages(earliest_updated_at=since):
        await _upsert_programs(integration.id, page, folder_ids, moment)
        await progress.advance(programs=len(page))

    # Folders always come whole; programs only on a full sync (an incremental one cannot see deletions).
    confirmed = await removals.confirm(client, integration.id, moment, full=full)
    checkpoint()
    async with lease.held():
        await _upsert_folders(integration.id, confirmed.folders, moment)
        await _upsert_programs(integration.id, confirmed.programs, await _folder_ids(integration.id), moment)
        await removals.remove_unseen(integration.id, moment, confirmed, full=full)
        finished = _now()
        fetched = {"folders_synced": progress.folders, "programs_synced": progress.programs}
        await SyncRun.filter(id=run.id).update(state=SyncState.COMPLETED, finished_at=finished, error=None, **fetched)
        await PlatformIntegration.filter(id=integration.id).update(
            sync_state=await syncs.state_after(integration.id, run.id, SyncState.COMPLETED),
            sync_finished_at=finished,
            last_succeeded_at=moment,
            sync_error=None,
            **await _totals(integration.id),
        )
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
        completed = await _status(integration.id)
    await announce(completed)


async def record_failure(
    integration_id: int,
    run_id: int,
    message: str,
    *,
    next_attempt_at: datetime | None,
    connection_status: ConnectionStatus | None = None,
) -> events.Event:
    """ERROR, with the time of the next attempt when there is one: a failing instance does not look busy.

    Call it under the lease (`Lease.held`), with the job's own outcome in the same transaction.
    """
    finished = _now()
    async with in_transaction():
        await SyncRun.filter(id=run_id).update(
            state=SyncState.ERROR,
            error=message,
            next_attempt_at=next_attempt_at,
            finished_at=None if next_attempt_at else finished,
        )
        extra = {"connection_status": connection_status, "connection_checked_at": finished} if connection_status else {}
        await PlatformIntegration.filter(id=integration_id).update(
            sync_state=await syncs.state_after(integration_id, run_id, SyncState.ERROR),
            sync_error=message,
            next_sync_attempt_at=next_attempt_at,
            sync_finished_at=finished,
            **extra,
        )
        return await _status(integration_id)
