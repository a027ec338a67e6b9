"""Platform integrations: their records, how they are read, the mutations that change them, and their sync
status as subscriptions follow it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from domain import entitlements, events, platform_integrations
from domain.models import ConnectionStatus, PlatformIntegration, Vendor
from domain.sync_state import SyncState
from resolvers import sql
from resolvers.errors import NotFound
from resolvers.ids import encode_id, pk_argument
from resolvers.payloads import Payload, pk_input_or_reject, user_errors_as
from resolvers.prefetch import BY_ID, Batch, Relation, prefetch
from resolvers.records import Record

TABLE = "platform_integration"
COLUMNS = (
    "id, account_id, name, vendor, is_default, is_trial, connection_status, client_id, rest_endpoint, "
    "identity_endpoint, client_secret_hint, created_at, deleted_at, status_version, "
    "sync_state, sync_started_at, sync_finished_at, last_succeeded_at, folders_synced, programs_synced, "
    "sync_error, next_sync_attempt_at"
)
_COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
WIDTH = len(_COLUMN_NAMES)


@dataclass(slots=True, eq=False)
class SyncStatusRecord(Record):
    TYPE: ClassVar[str] = "SyncStatus"
    id: str  # its own, stable for the integration: client caches keep one status per integration
    platform_integration_id: str
    state: SyncState
    started_at: datetime | None
    finished_at: datetime | None
    last_succeeded_at: datetime | None
    folders_synced: int
    programs_synced: int
    error: str | None
    next_attempt_at: datetime | None
    deleted_at: datetime | None
    version: int  # the row's status_version this status is of
    pk: int = 0
    loaded: dict = field(default_factory=dict, repr=False)


def sync_status_of(pk: int, version: int, values: Mapping[str, Any]) -> SyncStatusRecord:
    """From the status columns (events.SYNC_STATUS_FIELDS), as read or as an event carries them."""
    state = SyncState(values["sync_state"])
    return SyncStatusRecord(
        id=encode_id("SyncStatus", pk),
        platform_integration_id=encode_id("PlatformIntegration", pk),
        state=state,
        started_at=sql.when(values["sync_started_at"]),
        finished_at=sql.when(values["sync_finished_at"]),
        last_succeeded_at=sql.when(values["last_succeeded_at"]),
        folders_synced=values["folders_synced"],
        programs_synced=values["programs_synced"],
        error=values["sync_error"] if state is SyncState.ERROR else None,
        next_attempt_at=sql.when(values["next_sync_attempt_at"]),
        deleted_at=sql.when(values["deleted_at"]),
        version=version,
        pk=pk,
    )


@dataclass(slots=True, eq=False)
class CredentialsRecord(Record):
    client_id: str
    rest_endpoint: str
    identity_endpoint: str
    client_secret_hint: str
    loaded: dict = field(default_factory=dict, repr=False)


@dataclass(slots=True, eq=False)
class IntegrationRecord(Record):
    TYPE: ClassVar[str] = "PlatformIntegration"
    pk: int
    id: str
    account_id: int
    name: str
    vendor: Vendor
    is_default: bool
    is_trial: bool
    connection_status: ConnectionStatus
    connection_message: str | None
    credentials_shown: CredentialsRecord
    created_at: datetime
    deleted_at: datetime | None
    sync_status: SyncStatusRecord
    loaded: dict = field(default_factory=dict, repr=False)


def integration_of(values: Sequence[Any]) -> IntegrationRecord:
    """From a row of COLUMNS, or the same attributes of a model (`model_values`)."""
    row = dict(zip(_COLUMN_NAMES, values, strict=False))
    status = ConnectionStatus(row["connection_status"])
    return IntegrationRecord(
        pk=row["id"],
        id=encode_id("PlatformIntegration", row["id"]),
        account_id=row["account_id"],
        name=row["name"],
        vendor=Vendor(row["vendor"]),
        is_default=sql.flag(row["is_default"]),
        is_trial=sql.flag(row["is_trial"]),
        connection_status=status,
        connection_message=platform_integrations.connection_message(status),
        credentials_shown=CredentialsRecord(
            row["client_id"], row["rest_endpoint"], row["identity_endpoint"], row["client_secret_hint"]
        ),
        created_at=sql.when(row["created_at"]),
        deleted_at=sql.when(row["deleted_at"]),
        sync_status=sync_status_of(row["id"], row["status_version"], row),
    )


def integration_of_model(model: PlatformIntegration) -> IntegrationRecord:
    return integration_of([getattr(model, name) for name in _COLUMN_NAMES])


async def _by_id(ids: list[int], batch: Batch) -> Sequence[IntegrationRecord | None]:
    """Deleted ones too: a sync run of a deleted integration still names it."""
    scope = batch.context.viewer.integration_scope(include_deleted=True)
    return await sql.by_ids(TABLE, COLUMNS, integration_of, ids, scope)


BY_ID[IntegrationRecord] = _by_id


async def visible(batch: Batch, account_id: int) -> list[IntegrationRecord]:
    """The account's integrations the viewer sees, default first, then by creation: read once per batch."""

    async def read() -> list[IntegrationRecord]:
        scope, params = batch.context.viewer.integration_scope()
        found = await sql.rows(f"SELECT {COLUMNS} FROM {TABLE} WHERE {scope} ORDER BY is_default DESC, id", params)
        records = [integration_of(row) for row in found]
        batch.known(records)
        return records

    return await batch.shared(("integrations", account_id), read)


async def visible_pk(batch: Batch, value: str, argument: str) -> int:
    """An integration id given as an argument, if the viewer sees that integration; else NOT_FOUND."""
    pk = pk_argument(value, "PlatformIntegration", argument)
    if pk not in {record.pk for record in await visible(batch, batch.context.viewer.account_id)}:
        raise NotFound("No platform integration with this id.")
    return pk


async def node(pk: int, batch: Batch) -> IntegrationRecord | None:
    [found] = await sql.by_ids(TABLE, COLUMNS, integration_of, [pk], batch.context.viewer.integration_scope())
    return found


async def sync_status_node(pk: int, batch: Batch) -> SyncStatusRecord | None:
    """A sync status by its own id: the status of the integration of that id, if the viewer sees it."""
    found = await node(pk, batch)
    return found.sync_status if found is not None else None


async def _credentials(parents: Sequence[IntegrationRecord], _: Any, batch: Batch) -> list[Any]:
    shown = batch.context.viewer.is_admin
    return [parent.credentials_shown if shown else None for parent in parents]


CREDENTIALS = Relation(IntegrationRecord, "credentials", _credentials)


# Mutations


@dataclass(slots=True, eq=False)
class TrialConfirmationRecord(Record):
    title: str
    body: str
    confirm_label: str
    cancel_label: str
    limit: int
    used: int
    loaded: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, confirmation: entitlements.TrialConfirmation) -> TrialConfirmationRecord:
        return cls(
            confirmation.title,
            confirmation.body,
            confirmation.confirm_label,
            confirmation.cancel_label,
            confirmation.limit,
            confirmation.used,
        )


def _credentials_input(value: Any) -> platform_integrations.CredentialsInput:
    return platform_integrations.CredentialsInput(
        client_id=value.client_id,
        client_secret=value.client_secret,
        rest_endpoint=value.rest_endpoint,
        identity_endpoint=value.identity_endpoint,
    )


@user_errors_as
async def create(info: Any, input: Any) -> Payload:
    services = info.context.services
    created = await platform_integrations.create(
        info.context.viewer,
        name=input.name,
        credentials=_credentials_input(input.credentials),
        confirm_trial=input.confirm_trial,
        sealer=services.secret_box,
        allowed_hosts=services.settings.marketo_allowed_hosts,
    )
    if created.integration is None:
        assert created.trial_confirmation is not None
        return Payload(trial_confirmation=TrialConfirmationRecord.of(created.trial_confirmation))
    return await prefetch(info, Payload(platform_integration=integration_of_model(created.integration)))


@user_errors_as
async def update(info: Any, input: Any) -> Payload:
    services = info.context.services
    integration = await platform_integrations.update(
        info.context.viewer,
        pk_input_or_reject(input.id, "PlatformIntegration", "input", "id"),
        name=input.name,
        credentials=_credentials_input(input.credentials) if input.credentials is not None else None,
        sealer=services.secret_box,
        allowed_hosts=services.settings.marketo_allowed_hosts,
    )
    return await prefetch(info, Payload(platform_integration=integration_of_model(integration)))


@user_errors_as
async def set_default(info: Any, id: str) -> Payload:
    pk = pk_input_or_reject(id, "PlatformIntegration", "id")
    integration = await platform_integrations.set_default(info.context.viewer, pk)
    return await prefetch(info, Payload(platform_integration=integration_of_model(integration)))


@user_errors_as
async def test_connection(info: Any, id: str) -> Payload:
    pk = pk_input_or_reject(id, "PlatformIntegration", "id")
    integration = await platform_integrations.test_connection(
        info.context.viewer, pk, info.context.services.test_connection
    )
    return await prefetch(info, Payload(platform_integration=integration_of_model(integration)))


@user_errors_as
async def delete(info: Any, id: str) -> Payload:
    deleted = await platform_integrations.delete(
        info.context.viewer, pk_input_or_reject(id, "PlatformIntegration", "id")
    )
    return Payload(deleted_id=encode_id("PlatformIntegration", deleted))


# Subscriptions: the current status first, then each change of it, in order, never an older after a newer. The
# last status sent about an integration that was deleted carries its deletedAt; a syncStatus subscription ends
# after it, and accountSyncStatus stops following that integration.


async def _status_now(batch: Batch, pk: int) -> SyncStatusRecord | None:
    """The integration's status if the viewer may (still) see it; a deleted one's says when it was deleted."""
    [found] = await sql.by_ids(
        TABLE, COLUMNS, integration_of, [pk], batch.context.viewer.integration_scope(include_deleted=True)
    )
    return found.sync_status if found is not None else None


async def _status_of_event(batch: Batch, event: events.Event) -> SyncStatusRecord | None:
    """The event's snapshot, or None if the viewer may no longer see the integration."""
    if event.fields is None:  # too large for the bus: read the row (a newer version is as good)
        return await _status_now(batch, event.id)
    if not batch.context.viewer.is_admin and await _status_now(batch, event.id) is None:
        return None  # a collaborator's grants are read again: a revoked one ends what they see
    return sync_status_of(event.id, event.version, event.fields)


async def _account_status_events(info: Any) -> AsyncGenerator[events.Event | None, None]:
    """None first and after every bus reconnect (read the current state), then each sync status event."""
    viewer = info.context.viewer
    async with info.context.services.account_events(viewer.account_id) as messages:
        yield None
        async for message in messages:
            if message is None:
                yield None
                continue
            event = events.Event.decode(message)
            if event is not None and event.kind == events.SYNC_STATUS:
                yield event


async def sync_status(info: Any, platform_integration_id: str) -> AsyncGenerator[SyncStatusRecord, None]:
    pk = pk_argument(platform_integration_id, "PlatformIntegration", "platformIntegrationId")
    if await node(pk, Batch(info.context)) is None:
        raise NotFound("No platform integration with this id.")
    shown = -1
    async for event in _account_status_events(info):
        batch = Batch(info.context)
        if event is None:
            current = await _status_now(batch, pk)
        elif event.id == pk:
            current = await _status_of_event(batch, event)
        else:
            continue
        if current is None:
            return  # no longer visible to the viewer
        if current.version > shown or current.deleted_at is not None:
            shown = current.version
            info.context.about("PlatformIntegration", pk, gone=current.deleted_at is not None)
            yield current
        if current.deleted_at is not None:
            return  # its last status said it is gone


async def account_sync_status(info: Any) -> AsyncGenerator[SyncStatusRecord, None]:
    shown: dict[int, int] = {}
    async for event in _account_status_events(info):
        batch = Batch(info.context)
        if event is None:
            now_visible = await visible(batch, info.context.viewer.account_id)
            statuses = [record.sync_status for record in now_visible]
            gone = set(shown) - {record.pk for record in now_visible}  # deleted while the bus was away
            statuses += [status for pk in sorted(gone) if (status := await _status_now(batch, pk)) is not None]
        else:
            current = await _status_of_event(batch, event)
            statuses = [current] if current is not None else []
        for current in statuses:
            if current.deleted_at is not None:
                if shown.pop(current.pk, None) is not None:  # only to those who were shown it
                    info.context.about("PlatformIntegration", current.pk, gone=True)
                    yield current
            elif current.version > shown.get(current.pk, -1):
                shown[current.pk] = current.version
                info.context.about("PlatformIntegration", current.pk)
                yield current
