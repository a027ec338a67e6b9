"""Syncing one integration's folders and programs into its own rows."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from domain import sync_policy
from domain.models import ConnectionStatus, MarketoFolder, MarketoProgram, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.client import MarketoClient
from marketo.models import Folder, Program
from marketo.worker.upsert import upsert

FOLDER_DEPTH = 20  # Marketo's default depth is 2; a sync wants the whole tree
PROGRESS_INTERVAL = 1.0  # seconds between two progress events, at most

Announce = Callable[[], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


class _Progress:
    """Writes the counters to the integration and its run, and announces them about once a second."""

    def __init__(self, integration: PlatformIntegration, run: SyncRun, announce: Announce) -> None:
        self.integration, self.run, self.announce = integration, run, announce
        self.folders = 0
        self.programs = 0
        self._last = 0.0

    async def advance(self, *, folders: int = 0, programs: int = 0) -> None:
        self.folders += folders
        self.programs += programs
        if time.monotonic() - self._last >= PROGRESS_INTERVAL:
            await self.save()
            await self.announce()
            self._last = time.monotonic()

    async def save(self) -> None:
        counts = {"folders_synced": self.folders, "programs_synced": self.programs}
        await PlatformIntegration.filter(id=self.integration.id).update(**counts)
        await SyncRun.filter(id=self.run.id).update(**counts)


async def start(integration: PlatformIntegration, run: SyncRun) -> None:
    moment = _now()
    async with in_transaction():
        await SyncRun.filter(id=run.id).update(
            state=SyncState.SYNCING, started_at=run.started_at or moment, attempts=run.attempts + 1,
            next_attempt_at=None, error=None, folders_synced=0, programs_synced=0,
        )
        await PlatformIntegration.filter(id=integration.id).update(
            sync_state=SyncState.SYNCING, sync_started_at=moment, sync_error=None, next_sync_attempt_at=None,
            folders_synced=0, programs_synced=0,
        )


def _cut(value: str | None, length: int) -> str | None:
    """Marketo's texts fit our columns (PostgreSQL refuses what does not)."""
    return value[:length] if value else value


async def _upsert_folders(integration_id: int, folders: list[Folder]) -> None:
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
        }
        for f in folders
    ]
    await upsert(MarketoFolder, rows, conflict=["platform_integration_id", "marketo_id", "marketo_type"])


async def _upsert_programs(integration_id: int, programs: list[Program], folder_ids: dict[tuple[int, str], int]) -> None:
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
        }
        for p in programs
    ]
    await upsert(MarketoProgram, rows, conflict=["platform_integration_id", "marketo_id"])


async def sync_integration(
    integration: PlatformIntegration, run: SyncRun, client: MarketoClient, announce: Announce
) -> None:
    """One attempt. Raises MarketoError on failure; the caller decides between retrying and giving up."""
    moment = _now()
    full = sync_policy.sync_is_full(
        needs_full_sync=integration.needs_full_sync, last_full_sync_at=integration.last_full_sync_at, now=moment
    )
    progress = _Progress(integration, run, announce)
    await client.get_token()  # the connection test: bad credentials fail here, before any row changes
    await PlatformIntegration.filter(id=integration.id).update(
        connection_status=ConnectionStatus.CONNECTED, connection_checked_at=moment
    )

    seen_folders: set[tuple[int, str]] = set()
    async for page in client.iter_folder_pages(max_depth=FOLDER_DEPTH):
        await _upsert_folders(integration.id, page)
        seen_folders.update((f.id, f.type) for f in page)
        await progress.advance(folders=len(page))
    folder_ids = {
        (marketo_id, marketo_type): pk
        for pk, marketo_id, marketo_type in await MarketoFolder.filter(platform_integration_id=integration.id).values_list(
            "id", "marketo_id", "marketo_type"
        )
    }

    since = None if full or integration.last_succeeded_at is None else sync_policy.incremental_since(integration.last_succeeded_at)
    seen_programs: set[int] = set()
    async for page in client.iter_program_pages(earliest_updated_at=since):
        await _upsert_programs(integration.id, page, folder_ids)
        seen_programs.update(p.id for p in page)
        await progress.advance(programs=len(page))

    async with in_transaction():
        # Folders always come whole; programs only on a full sync (an incremental one cannot see deletions).
        gone = [pk for key, pk in folder_ids.items() if key not in seen_folders]
        if gone:
            await MarketoFolder.filter(id__in=gone).delete()
        if full:
            await MarketoProgram.filter(platform_integration_id=integration.id).exclude(
                marketo_id__in=list(seen_programs) or [-1]
            ).delete()
        finished = _now()
        counts = {"folders_synced": progress.folders, "programs_synced": progress.programs}
        await SyncRun.filter(id=run.id).update(state=SyncState.COMPLETED, finished_at=finished, error=None, **counts)
        await PlatformIntegration.filter(id=integration.id).update(
            sync_state=SyncState.COMPLETED, sync_finished_at=finished, last_succeeded_at=moment, sync_error=None,
            **counts,
        )
        # Only if the credentials are still those this run used: new ones (saved meanwhile) need a full sync
        # of their own instance, which the run queued behind this one does.
        await PlatformIntegration.filter(
            id=integration.id,
            client_id=integration.client_id,
            client_secret_encrypted=integration.client_secret_encrypted,
            rest_endpoint=integration.rest_endpoint,
            identity_endpoint=integration.identity_endpoint,
        ).update(needs_full_sync=False, **({"last_full_sync_at": moment} if full else {}))


async def record_failure(
    integration: PlatformIntegration, run: SyncRun, message: str, *, next_attempt_at: datetime | None,
    connection_status: ConnectionStatus | None = None,
) -> None:
    """ERROR, with the time of the next attempt when there is one: a failing instance does not look busy."""
    finished = _now()
    async with in_transaction():
        await SyncRun.filter(id=run.id).update(
            state=SyncState.ERROR, error=message, next_attempt_at=next_attempt_at,
            finished_at=None if next_attempt_at else finished,
        )
        extra = {"connection_status": connection_status, "connection_checked_at": finished} if connection_status else {}
        await PlatformIntegration.filter(id=integration.id).update(
            sync_state=SyncState.ERROR, sync_error=message, next_sync_attempt_at=next_attempt_at,
            sync_finished_at=finished, **extra,
        )
