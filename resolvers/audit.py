"""The audit trail as admins page through it: newest first, optionally one integration's or one actor's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from domain.audit import AuditAction
from domain.models import ActorKind
from resolvers import pages, sql
from resolvers.accounts import AccountRecord, UserRecord
from resolvers.api_keys import ApiKeyRecord
from resolvers.errors import BadUserInput, Forbidden
from resolvers.ids import decode_id, encode_id, pk_argument
from resolvers.integrations import IntegrationRecord
from resolvers.launchers import LauncherRecord
from resolvers.prefetch import BY_ID, Batch, Relation, to_one
from resolvers.records import Record

TABLE = "audit_event"
COLUMNS = (
    "id, created_at, action, actor_kind, actor_user_id, actor_api_key_id, request_id, platform_integration_id, "
    "launcher_id, api_key_id, changes"
)
WIDTH = len(COLUMNS.split(","))
# Whose entries `actorId` selects, by the type its id names.
_ACTOR_COLUMNS = {"User": "actor_user_id", "ApiKey": "actor_api_key_id"}


@dataclass(slots=True, eq=False)
class ActorRecord(Record):
    TYPE: ClassVar[str] = "AuditActor"
    kind: ActorKind
    user_id: int | None
    api_key_id: int | None
    loaded: dict = field(default_factory=dict, repr=False)


@dataclass(slots=True, eq=False)
class ChangeRecord(Record):
    TYPE: ClassVar[str] = "AuditChange"
    field: str
    before: str | None
    after: str | None
    loaded: dict = field(default_factory=dict, repr=False)


@dataclass(slots=True, eq=False)
class AuditEventRecord(Record):
    TYPE: ClassVar[str] = "AuditEvent"
    pk: int
    id: str
    at: datetime
    action: AuditAction
    actor: ActorRecord
    request_id: str | None
    platform_integration_id: int | None
    launcher_id: int | None
    api_key_id: int | None
    changes: list[ChangeRecord]
    loaded: dict = field(default_factory=dict, repr=False)


def audit_event_of(row: Sequence[Any]) -> AuditEventRecord:
    return AuditEventRecord(
        pk=row[0],
        id=encode_id("AuditEvent", row[0]),
        at=sql.when(row[1]),
        action=AuditAction(row[2]),
        actor=ActorRecord(ActorKind(row[3]), row[4], row[5]),
        request_id=row[6],
        platform_integration_id=row[7],
        launcher_id=row[8],
        api_key_id=row[9],
        changes=[ChangeRecord(c["field"], c["before"], c["after"]) for c in sql.document(row[10]) or ()],
    )


async def _by_id(ids: list[int], batch: Batch) -> Sequence[AuditEventRecord | None]:
    return await sql.by_ids(TABLE, COLUMNS, audit_event_of, ids, batch.context.viewer.audit_scope())


BY_ID[AuditEventRecord] = _by_id


async def node(pk: int, batch: Batch) -> AuditEventRecord | None:
    [found] = await _by_id([pk], batch)
    return found


def _actor_condition(actor_id: str) -> tuple[str, int]:
    decoded = decode_id(actor_id)
    if decoded is None or decoded[0] not in _ACTOR_COLUMNS:
        raise BadUserInput("`actorId` must be the id of a User or of an ApiKey.")
    return f"{_ACTOR_COLUMNS[decoded[0]]} = ?", decoded[1]


async def _audit_events(parents: Sequence[AccountRecord], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
    viewer = batch.context.viewer
    if not viewer.is_admin:
        raise Forbidden("Only an admin can read the audit trail.")
    page = pages.PageRequest.of(
        "Account.auditEvents", arguments["first"], arguments["after"], default=50, newest_first=True
    )
    condition, params = viewer.audit_scope()
    if arguments["platformIntegrationId"] is not None:
        integration = pk_argument(arguments["platformIntegrationId"], "PlatformIntegration", "platformIntegrationId")
        condition, params = f"{condition} AND platform_integration_id = ?", [*params, integration]
    if arguments["actorId"] is not None:
        actor, pk = _actor_condition(arguments["actorId"])
        condition, params = f"{condition} AND {actor}", [*params, pk]
    if arguments["actorKind"] is not None:
        condition, params = f"{condition} AND actor_kind = ?", [*params, ActorKind(arguments["actorKind"]).value]
    statement, all_params = pages.statement(COLUMNS, TABLE, condition, params, page)
    found = pages.pages(await sql.rows(statement, all_params), page, WIDTH, audit_event_of)
    return [found.get(None) or pages.empty(page) for _ in parents]


AUDIT_EVENTS = Relation(
    AccountRecord,
    "auditEvents",
    _audit_events,
    {"platformIntegrationId": None, "actorId": None, "actorKind": None, "first": 50, "after": None},
)
INTEGRATION = to_one(AuditEventRecord, "platformIntegration", IntegrationRecord, "platform_integration_id")
LAUNCHER = to_one(AuditEventRecord, "launcher", LauncherRecord, "launcher_id")
API_KEY = to_one(AuditEventRecord, "apiKey", ApiKeyRecord, "api_key_id")
ACTOR_USER = to_one(ActorRecord, "user", UserRecord, "user_id")
ACTOR_API_KEY = to_one(ActorRecord, "apiKey", ApiKeyRecord, "api_key_id")
