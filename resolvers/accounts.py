"""The account and its users: their records, and how they are read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from domain import entitlements, sync_state
from domain.models import Role
from resolvers import sql
from resolvers.errors import Forbidden
from resolvers.ids import encode_id
from resolvers.integrations import visible
from resolvers.prefetch import BY_ID, Batch, Relation, prefetch
from resolvers.records import Record

USER_COLUMNS = "id, email, name, role"


@dataclass(slots=True, eq=False)
class UserRecord(Record):
    TYPE: ClassVar[str] = "User"
    pk: int
    id: str
    email: str
    name: str | None
    role: Role
    loaded: dict = field(default_factory=dict, repr=False)


def user_of(row: Sequence[Any]) -> UserRecord:
    return UserRecord(row[0], encode_id("User", row[0]), row[1], row[2], Role(row[3]))


@dataclass(slots=True, eq=False)
class PlanLimitsRecord(Record):
    platform_integrations: int
    users: int | None
    loaded: dict = field(default_factory=dict, repr=False)


@dataclass(slots=True, eq=False)
class PlanRecord(Record):
    name: str
    limits: PlanLimitsRecord
    loaded: dict = field(default_factory=dict, repr=False)


@dataclass(slots=True, eq=False)
class AccountRecord(Record):
    TYPE: ClassVar[str] = "Account"
    pk: int
    id: str
    name: str
    plan: PlanRecord
    loaded: dict = field(default_factory=dict, repr=False)


def account_of(row: Sequence[Any]) -> AccountRecord:
    limits = entitlements.PlanLimits.from_data(sql.document(row[3]))
    plan = PlanRecord(row[2], PlanLimitsRecord(limits.platform_integrations, limits.users))
    return AccountRecord(row[0], encode_id("Account", row[0]), row[1], plan)


async def _users_by_id(ids: list[int], batch: Batch) -> Sequence[UserRecord | None]:
    return await sql.by_ids("app_user", USER_COLUMNS, user_of, ids, batch.context.viewer.user_scope())


BY_ID[UserRecord] = _users_by_id


async def account_node(pk: int, batch: Batch) -> AccountRecord | None:
    if pk != batch.context.viewer.account_id:
        return None
    found = await sql.rows("SELECT id, name, plan_name, plan_limits FROM account WHERE id = ?", [pk])
    return account_of(found[0]) if found else None


async def user_node(pk: int, batch: Batch) -> UserRecord | None:
    [found] = await _users_by_id([pk], batch)
    return found


# Root fields


async def viewer(info: Any) -> UserRecord:
    batch = Batch(info.context, info.variable_values)
    found = await user_node(info.context.viewer.user_id, batch)
    assert found is not None, "a signed-in user sees themselves"
    return await prefetch(info, found)


async def account(info: Any) -> AccountRecord:
    viewer, row = info.context.viewer, info.context.account_row
    if row is not None and row[0] == viewer.account_id:
        found: AccountRecord | None = account_of(row)  # read with the viewer, in this request
    else:
        found = await account_node(viewer.account_id, Batch(info.context, info.variable_values))
    assert found is not None, "a signed-in user's account exists"
    return await prefetch(info, found)


# Relations of the account


async def _integrations(parents: Sequence[AccountRecord], _: Mapping[str, Any], batch: Batch) -> list[Any]:
    return [await visible(batch, parent.pk) for parent in parents]


async def _default_integration(parents: Sequence[AccountRecord], _: Mapping[str, Any], batch: Batch) -> list[Any]:
    return [next((i for i in await visible(batch, parent.pk) if i.is_default), None) for parent in parents]


async def _sync_state(parents: Sequence[AccountRecord], _: Mapping[str, Any], batch: Batch) -> list[Any]:
    return [
        sync_state.account_sync_state(i.sync_status.state for i in await visible(batch, parent.pk))
        for parent in parents
    ]


async def _users(parents: Sequence[AccountRecord], _: Mapping[str, Any], batch: Batch) -> list[Any]:
    viewer = batch.context.viewer
    if not viewer.is_admin:
        raise Forbidden("Only an admin can list the account's users.")
    scope, params = viewer.user_scope()
    users = [
        user_of(row) for row in await sql.rows(f"SELECT {USER_COLUMNS} FROM app_user WHERE {scope} ORDER BY id", params)
    ]
    batch.known(users)
    return [users for _ in parents]


INTEGRATIONS = Relation(AccountRecord, "platformIntegrations", _integrations)
DEFAULT_INTEGRATION = Relation(AccountRecord, "defaultPlatformIntegration", _default_integration)
SYNC_STATE = Relation(AccountRecord, "syncState", _sync_state)
USERS = Relation(AccountRecord, "users", _users)
