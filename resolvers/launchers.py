"""Launchers: their records, how they are read (with what they are bound to), and the mutations that change them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from domain import launchers
from domain.errors import UserErrorCode
from domain.models import Launcher
from resolvers import pages, sql
from resolvers.accounts import USER_COLUMNS, AccountRecord, UserRecord, user_of
from resolvers.errors import NotFound
from resolvers.ids import encode_id, pk_argument
from resolvers.integrations import IntegrationRecord
from resolvers.integrations import visible_pk as visible_integration_pk
from resolvers.marketo_assets import FolderRecord, ProgramRecord
from resolvers.payloads import Payload, pk_input_or_reject, user_errors_as
from resolvers.prefetch import BY_ID, Batch, Relation, prefetch, to_one
from resolvers.records import Record

TABLE = "launcher"
COLUMNS = (
    "id, platform_integration_id, account_id, name, destination_folder_id, template_program_id, assets_folder_id, "
    "created_at, deleted_at"
)
_COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
WIDTH = len(_COLUMN_NAMES)


@dataclass(slots=True, eq=False)
class LauncherRecord(Record):
    TYPE: ClassVar[str] = "Launcher"
    pk: int
    id: str
    platform_integration_id: int
    account_id: int
    name: str
    destination_folder_id: int | None
    template_program_id: int | None
    assets_folder_id: int | None
    created_at: datetime
    deleted_at: datetime | None
    loaded: dict = field(default_factory=dict, repr=False)


def launcher_of(row: Sequence[Any]) -> LauncherRecord:
    return LauncherRecord(
        row[0],
        encode_id("Launcher", row[0]),
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        sql.when(row[7]),
        sql.when(row[8]),
    )


def launcher_of_model(model: Launcher) -> LauncherRecord:
    return launcher_of([getattr(model, name) for name in _COLUMN_NAMES])


async def _by_id(ids: list[int], batch: Batch) -> Sequence[LauncherRecord | None]:
    """Deleted ones too: their campaigns stay readable, and name them."""
    scope = batch.context.viewer.launcher_scope(include_deleted=True)
    return await sql.by_ids(TABLE, COLUMNS, launcher_of, ids, scope)


BY_ID[LauncherRecord] = _by_id


async def node(pk: int, batch: Batch) -> LauncherRecord | None:
    [found] = await _by_id([pk], batch)
    return found


async def visible_pk(batch: Batch, value: str, argument: str) -> int:
    """A launcher id given as an argument, if the viewer sees that launcher (deleted ones too); else NOT_FOUND."""
    pk = pk_argument(value, "Launcher", argument)
    if await node(pk, batch) is None:
        raise NotFound("No launcher with this id.")
    return pk


async def _launchers(parents: Sequence[AccountRecord], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
    page = pages.PageRequest.of(
        "Account.launchers", arguments["first"], arguments["after"], default=50, newest_first=False
    )
    condition, params = batch.context.viewer.launcher_scope()
    if arguments["platformIntegrationId"] is not None:
        integration = await visible_integration_pk(batch, arguments["platformIntegrationId"], "platformIntegrationId")
        condition, params = f"{condition} AND platform_integration_id = ?", [*params, integration]
    statement, all_params = pages.statement(COLUMNS, TABLE, condition, params, page)
    found = pages.pages(await sql.rows(statement, all_params), page, WIDTH, launcher_of)
    return [found.get(None) or pages.empty(page) for _ in parents]


async def _collaborators(parents: Sequence[LauncherRecord], _: Mapping[str, Any], batch: Batch) -> list[Any]:
    ids = [parent.pk for parent in parents]
    columns = ", ".join(f"u.{column.strip()}" for column in USER_COLUMNS.split(","))
    found = await sql.rows(
        f"SELECT {columns}, g.launcher_id FROM app_user u JOIN launcher_collaborator g ON g.user_id = u.id"
        f" WHERE g.launcher_id IN ({sql.marks(ids)}) AND u.account_id = ? ORDER BY u.id",
        [*ids, batch.context.viewer.account_id],
    )
    by_launcher: dict[int, list[UserRecord]] = defaultdict(list)
    for row in found:
        by_launcher[row[4]].append(user_of(row))
    return [by_launcher[pk] for pk in ids]


async def _creation(parents: Sequence[AccountRecord], _: Mapping[str, Any], batch: Batch) -> list[Any]:
    if not batch.context.viewer.is_admin:
        return [CreationRecord(False, UserErrorCode.FORBIDDEN, "Only an admin can create launchers.") for _ in parents]
    checks = [await launchers.creation_check(parent.pk) for parent in parents]
    return [
        CreationRecord(True, None, None) if error is None else CreationRecord(False, error.code, error.message)
        for error in checks
    ]


@dataclass(slots=True, eq=False)
class CreationRecord(Record):
    allowed: bool
    reason: UserErrorCode | None
    message: str | None
    loaded: dict = field(default_factory=dict, repr=False)


LAUNCHERS = Relation(
    AccountRecord, "launchers", _launchers, {"platformIntegrationId": None, "first": 50, "after": None}
)
LAUNCHER_CREATION = Relation(AccountRecord, "launcherCreation", _creation)
INTEGRATION = to_one(LauncherRecord, "platformIntegration", IntegrationRecord, "platform_integration_id")
DESTINATION_FOLDER = to_one(LauncherRecord, "destinationFolder", FolderRecord, "destination_folder_id")
TEMPLATE_PROGRAM = to_one(LauncherRecord, "templateProgram", ProgramRecord, "template_program_id")
ASSETS_FOLDER = to_one(LauncherRecord, "assetsFolder", FolderRecord, "assets_folder_id")
COLLABORATORS = Relation(LauncherRecord, "collaborators", _collaborators)


# Mutations


def _asset_choice(value: Any) -> launchers.AssetChoice:
    return launchers.AssetChoice(
        destination_folder_id=pk_input_or_reject(
            value.destination_folder_id, "MarketoFolder", "input", "destinationFolderId"
        ),
        template_program_id=pk_input_or_reject(
            value.template_program_id, "MarketoProgram", "input", "templateProgramId"
        ),
        assets_folder_id=pk_input_or_reject(value.assets_folder_id, "MarketoFolder", "input", "assetsFolderId"),
    )


def _integration_input(value: Any) -> Any:
    return pk_input_or_reject(value.platform_integration_id, "PlatformIntegration", "input", "platformIntegrationId")


@user_errors_as
async def create(info: Any, input: Any) -> Payload:
    launcher = await launchers.create(
        info.context.viewer, name=input.name, integration_id=_integration_input(input), choice=_asset_choice(input)
    )
    return await prefetch(info, Payload(launcher=launcher_of_model(launcher)))


@user_errors_as
async def update(info: Any, input: Any) -> Payload:
    launcher = await launchers.update(
        info.context.viewer,
        pk_input_or_reject(input.id, "Launcher", "input", "id"),
        name=input.name,
        integration_id=_integration_input(input),
        choice=_asset_choice(input),
    )
    return await prefetch(info, Payload(launcher=launcher_of_model(launcher)))


@user_errors_as
async def delete(info: Any, id: str) -> Payload:
    deleted = await launchers.delete(info.context.viewer, pk_input_or_reject(id, "Launcher", "id"))
    return Payload(deleted_id=encode_id("Launcher", deleted))


@user_errors_as
async def set_collaborators(info: Any, launcher_id: str, user_ids: list[str]) -> Payload:
    launcher = await launchers.set_collaborators(
        info.context.viewer,
        pk_input_or_reject(launcher_id, "Launcher", "launcherId"),
        [pk_input_or_reject(user_id, "User", "userIds") for user_id in user_ids],
    )
    return await prefetch(info, Payload(launcher=launcher_of_model(launcher)))
