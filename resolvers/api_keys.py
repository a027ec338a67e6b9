"""API keys: their records (never the key itself, which only createApiKey's payload carries), how an admin lists
them, and the mutations that create and revoke them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from domain import api_keys
from domain.models import ApiKey, ApiKeyScope
from resolvers import sql
from resolvers.accounts import AccountRecord, UserRecord
from resolvers.errors import Forbidden
from resolvers.ids import encode_id
from resolvers.payloads import Payload, pk_input_or_reject, user_errors_as
from resolvers.prefetch import BY_ID, Batch, Relation, prefetch, to_one
from resolvers.records import Record

TABLE = "api_key"
COLUMNS = "id, created_by_id, name, scope, hint, created_at, expires_at, last_used_at, revoked_at"
_COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))


@dataclass(slots=True, eq=False)
class ApiKeyRecord(Record):
    TYPE: ClassVar[str] = "ApiKey"
    pk: int
    id: str
    created_by_id: int
    name: str
    scope: ApiKeyScope
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    loaded: dict = field(default_factory=dict, repr=False)


def api_key_of(row: Sequence[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        row[0],
        encode_id("ApiKey", row[0]),
        row[1],
        row[2],
        ApiKeyScope(row[3]),
        f"{api_keys.PREFIX}…{row[4]}",
        sql.when(row[5]),
        sql.when(row[6]),
        sql.when(row[7]),
        sql.when(row[8]),
    )


def api_key_of_model(model: ApiKey) -> ApiKeyRecord:
    return api_key_of([getattr(model, name) for name in _COLUMN_NAMES])


async def _by_id(ids: list[int], batch: Batch) -> Sequence[ApiKeyRecord | None]:
    return await sql.by_ids(TABLE, COLUMNS, api_key_of, ids, batch.context.viewer.api_key_scope())


BY_ID[ApiKeyRecord] = _by_id


async def node(pk: int, batch: Batch) -> ApiKeyRecord | None:
    [found] = await _by_id([pk], batch)
    return found


async def _api_keys(parents: Sequence[AccountRecord], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
    viewer = batch.context.viewer
    if not viewer.is_admin:
        raise Forbidden("Only an admin can list the account's API keys.")
    condition, params = viewer.api_key_scope()
    if not arguments["includeRevoked"]:
        condition += " AND revoked_at IS NULL"
    keys = [
        api_key_of(row)
        for row in await sql.rows(f"SELECT {COLUMNS} FROM {TABLE} WHERE {condition} ORDER BY id", params)
    ]
    batch.known(keys)
    return [keys for _ in parents]


API_KEYS = Relation(AccountRecord, "apiKeys", _api_keys, {"includeRevoked": False})
CREATED_BY = to_one(ApiKeyRecord, "createdBy", UserRecord, "created_by_id")


# Mutations


@user_errors_as
async def create(info: Any, name: str, scope: ApiKeyScope, expires_at: datetime | None) -> Payload:
    created = await api_keys.create(info.context.viewer, name=name, scope=scope, expires_at=expires_at)
    return await prefetch(info, Payload(api_key=api_key_of_model(created.api_key), key=created.key))


@user_errors_as
async def revoke(info: Any, id: str) -> Payload:
    revoked = await api_keys.revoke(info.context.viewer, pk_input_or_reject(id, "ApiKey", "id"))
    return await prefetch(info, Payload(api_key=api_key_of_model(revoked)))
