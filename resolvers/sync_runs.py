"""Sync runs: one sync of one integration, as a job list shows it; and the mutation that queues one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from domain import platform_integrations, syncs
from domain.models import SyncRun, SyncTrigger
from domain.sync_state import SyncState
from resolvers import pages, sql
from resolvers.ids import encode_id
from resolvers.integrations import IntegrationRecord
from resolvers.payloads import Payload, pk_input_or_reject, user_errors_as
from resolvers.prefetch import BY_ID, Batch, Relation, prefetch, to_one
from resolvers.records import Record

TABLE = "sync_run"
COLUMNS = (
    "id, platform_integration_id, trigger, state, queued_at, started_at, finished_at, folders_synced, "
    "programs_synced, attempts, error, next_attempt_at"
)
_COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
WIDTH = len(_COLUMN_NAMES)


@dataclass(slots=True, eq=False)
class SyncRunRecord(Record):
    TYPE: ClassVar[str] = "SyncRun"
    pk: int
    id: str
    platform_integration_id: int
    trigger: SyncTrigger
    state: SyncState
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    folders_synced: int
    programs_synced: int
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    loaded: dict = field(default_factory=dict, repr=False)


def sync_run_of(row: Sequence[Any]) -> SyncRunRecord:
    return SyncRunRecord(
        pk=row[0],
        id=encode_id("SyncRun", row[0]),
        platform_integration_id=row[1],
        trigger=SyncTrigger(row[2]),
        state=SyncState(row[3]),
        queued_at=sql.when(row[4]),
        started_at=sql.when(row[5]),
        finished_at=sql.when(row[6]),
        folders_synced=row[7],
        programs_synced=row[8],
        attempts=row[9],
        error=row[10],
        next_attempt_at=sql.when(row[11]),
    )


def sync_run_of_model(model: SyncRun) -> SyncRunRecord:
    return sync_run_of([getattr(model, name) for name in _COLUMN_NAMES])


async def _by_id(ids: list[int], batch: Batch) -> Sequence[SyncRunRecord | None]:
    return await sql.by_ids(TABLE, COLUMNS, sync_run_of, ids, batch.context.viewer.sync_run_scope())


BY_ID[SyncRunRecord] = _by_id


async def node(pk: int, batch: Batch) -> SyncRunRecord | None:
    [found] = await _by_id([pk], batch)
    return found


async def _sync_runs(parents: Sequence[IntegrationRecord], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
    page = pages.PageRequest.of(
        "PlatformIntegration.syncRuns", arguments["first"], arguments["after"], default=20, newest_first=True
    )
    ids = [parent.pk for parent in parents]
    statement, params = pages.statement(
        COLUMNS, TABLE, f"platform_integration_id IN ({sql.marks(ids)})", ids, page, partition="platform_integration_id"
    )
    found = pages.pages(await sql.rows(statement, params), page, WIDTH, sync_run_of, parent_column=1)
    return [found.get(pk) or pages.empty(page) for pk in ids]


SYNC_RUNS = Relation(IntegrationRecord, "syncRuns", _sync_runs, {"first": 20, "after": None})
INTEGRATION = to_one(SyncRunRecord, "platformIntegration", IntegrationRecord, "platform_integration_id")


@user_errors_as
async def sync(info: Any, id: str) -> Payload:
    pk = pk_input_or_reject(id, "PlatformIntegration", "id")
    integration = await platform_integrations.get_for_admin(info.context.viewer, pk, ("id",))
    run = await syncs.queue_sync(integration.id, SyncTrigger.MANUAL)
    return await prefetch(info, Payload(sync_run=sync_run_of_model(run)))
