"""Campaigns: their records, how they are read (an account's, a launcher's latest), the mutations that change them,
and the subscription that follows one."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from domain import campaigns, events
from domain.models import Campaign, CampaignStatus
from resolvers import pages, sql
from resolvers.accounts import AccountRecord, UserRecord
from resolvers.errors import NotFound
from resolvers.ids import encode_id, pk_argument
from resolvers.integrations import visible_pk as visible_integration_pk
from resolvers.launchers import LauncherRecord
from resolvers.launchers import visible_pk as visible_launcher_pk
from resolvers.marketo_assets import ProgramRecord
from resolvers.payloads import Payload, pk_input_or_reject, user_errors_as
from resolvers.prefetch import BY_ID, Batch, Relation, prefetch, to_one
from resolvers.records import Record

TABLE = "campaign"
COLUMNS = "id, launcher_id, account_id, name, status, marketo_program_id, submitted_at, submitted_by_id, error, status_version"
_COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
WIDTH = len(_COLUMN_NAMES)


@dataclass(slots=True, eq=False)
class CampaignRecord(Record):
    TYPE: ClassVar[str] = "Campaign"
    pk: int
    id: str
    launcher_id: int
    account_id: int
    name: str
    status: CampaignStatus
    marketo_program_id: int | None
    submitted_at: datetime
    submitted_by_id: int
    error: str | None
    status_version: int
    loaded: dict = field(default_factory=dict, repr=False)


def campaign_of(row: Sequence[Any]) -> CampaignRecord:
    return CampaignRecord(
        row[0],
        encode_id("Campaign", row[0]),
        row[1],
        row[2],
        row[3],
        CampaignStatus(row[4]),
        row[5],
        sql.when(row[6]),
        row[7],
        row[8],
        row[9],
    )


def campaign_of_model(model: Campaign) -> CampaignRecord:
    return campaign_of([getattr(model, name) for name in _COLUMN_NAMES])


async def _by_id(ids: list[int], batch: Batch) -> Sequence[CampaignRecord | None]:
    return await sql.by_ids(TABLE, COLUMNS, campaign_of, ids, batch.context.viewer.campaign_scope())


BY_ID[CampaignRecord] = _by_id


async def node(pk: int, batch: Batch) -> CampaignRecord | None:
    [found] = await _by_id([pk], batch)
    return found


async def _account_campaigns(parents: Sequence[AccountRecord], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
    page = pages.PageRequest.of(
        "Account.campaigns", arguments["first"], arguments["after"], default=50, newest_first=True
    )
    condition, params = batch.context.viewer.campaign_scope()
    if arguments["platformIntegrationId"] is not None:
        integration = await visible_integration_pk(batch, arguments["platformIntegrationId"], "platformIntegrationId")
        condition += " AND launcher_id IN (SELECT id FROM launcher WHERE platform_integration_id = ?)"
        params = [*params, integration]
    if arguments["launcherId"] is not None:
        launcher = await visible_launcher_pk(batch, arguments["launcherId"], "launcherId")
        condition, params = f"{condition} AND launcher_id = ?", [*params, launcher]
    statement, all_params = pages.statement(COLUMNS, TABLE, condition, params, page)
    found = pages.pages(await sql.rows(statement, all_params), page, WIDTH, campaign_of)
    return [found.get(None) or pages.empty(page) for _ in parents]


async def _launcher_campaigns(
    parents: Sequence[LauncherRecord], arguments: Mapping[str, Any], batch: Batch
) -> list[Any]:
    """Each launcher's newest campaigns, and how many it has: one statement for every launcher of the level."""
    page = pages.PageRequest.of(
        "Launcher.campaigns", arguments["first"], arguments["after"], default=50, newest_first=True
    )
    ids = [parent.pk for parent in parents]
    scope, params = batch.context.viewer.campaign_scope()
    statement, all_params = pages.statement(
        COLUMNS, TABLE, f"launcher_id IN ({sql.marks(ids)}) AND {scope}", [*ids, *params], page, partition="launcher_id"
    )
    found = pages.pages(await sql.rows(statement, all_params), page, WIDTH, campaign_of, parent_column=1)
    return [found.get(pk) or pages.empty(page) for pk in ids]


ACCOUNT_CAMPAIGNS = Relation(
    AccountRecord,
    "campaigns",
    _account_campaigns,
    {"platformIntegrationId": None, "launcherId": None, "first": 50, "after": None},
)
LAUNCHER_CAMPAIGNS = Relation(LauncherRecord, "campaigns", _launcher_campaigns, {"first": 50, "after": None})
LAUNCHER = to_one(CampaignRecord, "launcher", LauncherRecord, "launcher_id")
PROGRAM = to_one(CampaignRecord, "marketoProgram", ProgramRecord, "marketo_program_id")
SUBMITTED_BY = to_one(CampaignRecord, "submittedBy", UserRecord, "submitted_by_id")


# Mutations


@user_errors_as
async def create(info: Any, input: Any) -> Payload:
    campaign = await campaigns.create(
        info.context.viewer,
        launcher_id=pk_input_or_reject(input.launcher_id, "Launcher", "input", "launcherId"),
        name=input.name,
        email_hold=info.context.services.settings.campaign_email_hold,
    )
    return await prefetch(info, Payload(campaign=campaign_of_model(campaign)))


@user_errors_as
async def update(info: Any, input: Any) -> Payload:
    pk = pk_input_or_reject(input.id, "Campaign", "input", "id")
    campaign = await campaigns.update(info.context.viewer, pk, name=input.name)
    return await prefetch(info, Payload(campaign=campaign_of_model(campaign)))


@user_errors_as
async def retry(info: Any, id: str) -> Payload:
    campaign = await campaigns.retry(info.context.viewer, pk_input_or_reject(id, "Campaign", "id"))
    return await prefetch(info, Payload(campaign=campaign_of_model(campaign)))


# Subscription: the campaign as it is, then each change of its status, never an older one after a newer.


async def subscribe(info: Any, id: str) -> AsyncGenerator[CampaignRecord, None]:
    pk = pk_argument(id, "Campaign", "id")
    if await node(pk, Batch(info.context)) is None:
        raise NotFound("No campaign with this id.")
    shown = -1
    async with info.context.services.account_events(info.context.viewer.account_id) as messages:
        async for event in _read_current_then(messages):
            if event is not None and (event.kind != events.CAMPAIGN or event.id != pk or event.version <= shown):
                continue
            current = await node(pk, Batch(info.context))  # also what never changes (launcher, submitter…)
            if current is None:
                return
            if event is not None and event.fields is not None:
                current = _as_of(current, event)
            if current.status_version > shown:
                shown = current.status_version
                prefetched = await prefetch(info, current)
                info.context.about("Campaign", pk)
                yield prefetched


async def _read_current_then(messages: Any) -> AsyncGenerator[events.Event | None, None]:
    """None (read the current state), then each event, and None again after every bus reconnect."""
    yield None
    async for message in messages:
        yield events.Event.decode(message) if message is not None else None


def _as_of(current: CampaignRecord, event: events.Event) -> CampaignRecord:
    """The campaign read now (for what never changes), with the status columns of the event's snapshot."""
    assert event.fields is not None
    snapshot = event.fields
    return campaign_of(
        [
            current.pk,
            current.launcher_id,
            current.account_id,
            snapshot["name"],
            snapshot["status"],
            snapshot["marketo_program_id"],
            current.submitted_at,
            current.submitted_by_id,
            snapshot["error"],
            event.version,
        ]
    )
