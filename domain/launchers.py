"""Use cases of launchers, each inside one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain import audit, jobs, launcher_rules
from domain.accounts import lock_account
from domain.changes import changing
from domain.errors import Rejected, UserError, UserErrorCode, forbidden, not_found, reject_if_any
from domain.models import (
    JobKind,
    Launcher,
    LauncherCollaborator,
    MarketoFolder,
    MarketoProgram,
    PlatformIntegration,
    Role,
    User,
)
from domain.names import clean_name, name_error
from domain.queries import column
from domain.sync_state import launcher_creation
from domain.viewer import Viewer


@dataclass(frozen=True)
class AssetChoice:
    """Ids of the folders and program picked for a launcher; None leaves the current choice."""

    destination_folder_id: int | None = None
    template_program_id: int | None = None
    assets_folder_id: int | None = None


async def creation_check(account_id: int, *, lock: bool = False) -> UserError | None:
    """Why a launcher cannot be created now (no integration yet, or a sync queued or running), or None.

    With `lock`, the integrations' rows stay locked until the transaction ends: a sync queued meanwhile
    (queue_sync and the worker lock the same row) waits for the launcher instead of slipping in after
    this check and before its commit.
    """
    query = PlatformIntegration.filter(account_id=account_id, deleted_at=None).order_by("id")
    rows = await (query.select_for_update(no_key=True) if lock else query)  # in id order, after the account
    verdict = launcher_creation([(row.name, row.sync_state) for row in rows])
    if verdict.allowed:
        return None
    assert verdict.reason is not None and verdict.message is not None
    missing_integration = verdict.reason is UserErrorCode.PLATFORM_INTEGRATION_REQUIRED
    return UserError(
        verdict.reason, verdict.message, ("input", "platformIntegrationId") if missing_integration else None
    )


@dataclass(frozen=True)
class _Chosen:
    field: str  # input field
    attribute: str  # launcher attribute
    row: MarketoFolder | MarketoProgram


async def _assets(account_id: int, integration_id: int, choice: AssetChoice) -> dict[str, Any]:
    """The chosen rows, each of this account and of the launcher's integration, by launcher attribute (Any:
    they are `Launcher.create`'s keyword arguments)."""
    wanted = (
        ("destinationFolderId", "destination_folder", MarketoFolder, choice.destination_folder_id, "folder"),
        ("templateProgramId", "template_program", MarketoProgram, choice.template_program_id, "program"),
        ("assetsFolderId", "assets_folder", MarketoFolder, choice.assets_folder_id, "folder"),
    )
    chosen: list[_Chosen] = []
    errors: list[UserError] = []
    for field, attribute, model, row_id, noun in wanted:
        if row_id is None:
            continue
        row = await model.get_or_none(id=row_id, platform_integration__account_id=account_id)
        if row is None:
            errors.append(not_found(noun, ("input", field)))
        else:
            chosen.append(_Chosen(field, attribute, row))
    reject_if_any(errors)
    reject_if_any(
        launcher_rules.ownership_errors(
            integration_id,
            [launcher_rules.ChosenAsset(c.field, c.row.platform_integration_id) for c in chosen],
        )
    )
    return {c.attribute: c.row for c in chosen}


async def create(viewer: Viewer, *, name: str, integration_id: int | None, choice: AssetChoice) -> Launcher:
    if not viewer.is_admin:
        raise forbidden()
    reject_if_any([name_error(name, ("input", "name"))])
    async with changing():
        # Under the account lock, no integration can be deleted between our read and our insert.
        await lock_account(viewer.account_id)
        reject_if_any([await creation_check(viewer.account_id, lock=True)])
        integrations = await column(
            PlatformIntegration.filter(account_id=viewer.account_id, deleted_at=None).order_by("id"), "id"
        )
        bound = launcher_rules.launcher_integration(integration_id, list(integrations))
        if isinstance(bound, UserError):
            raise Rejected([bound])
        assets = await _assets(viewer.account_id, bound, choice)
        launcher = await Launcher.create(
            account_id=viewer.account_id, platform_integration_id=bound, name=clean_name(name), **assets
        )
        await audit.launcher_created(viewer.actor, launcher)
        if "assets_folder" not in assets:
            # The "Jeto" images-and-files folder of the launcher's own instance, found or created there.
            await jobs.enqueue(JobKind.ASSETS_FOLDER, bound, priority=jobs.INTERACTIVE, launcher_id=launcher.id)
        return launcher


async def get_for_admin(viewer: Viewer, launcher_id: int, field: tuple[str, ...]) -> Launcher:
    if not viewer.is_admin:
        raise forbidden()
    launcher = await Launcher.get_or_none(id=launcher_id, account_id=viewer.account_id, deleted_at=None)
    if launcher is None:
        raise Rejected([not_found("launcher", field)])
    return launcher


async def _lock_live(launcher_id: int, field: tuple[str, ...]) -> None:
    """Locks the launcher's row until the transaction ends, reading it again: NOT_FOUND if it was deleted since."""
    if await Launcher.filter(id=launcher_id, deleted_at=None).select_for_update(no_key=True).first() is None:
        raise Rejected([not_found("launcher", field)])


async def update(
    viewer: Viewer, launcher_id: int, *, name: str | None, integration_id: int | None, choice: AssetChoice
) -> Launcher:
    launcher = await get_for_admin(viewer, launcher_id, ("input", "id"))
    reject_if_any(
        [
            name_error(name, ("input", "name")) if name is not None else None,
            launcher_rules.integration_change_error(launcher.platform_integration_id, integration_id),
        ]
    )
    async with changing():
        await _lock_live(launcher.id, ("input", "id"))  # a launcher deleted meanwhile is not changed after it
        assets = await _assets(viewer.account_id, launcher.platform_integration_id, choice)
        changes: dict[str, object] = {f"{attribute}_id": row.id for attribute, row in assets.items()}
        if name is not None:
            changes["name"] = clean_name(name)
        if changes:
            await Launcher.filter(id=launcher.id).update(**changes)
    await launcher.refresh_from_db()
    return launcher


async def delete(viewer: Viewer, launcher_id: int) -> int:
    launcher = await get_for_admin(viewer, launcher_id, ("id",))
    async with changing():
        await _lock_live(launcher.id, ("id",))  # waits for an update holding the row, rather than deleting under it
        await Launcher.filter(id=launcher.id).update(deleted_at=datetime.now(UTC))
    return launcher.id


async def set_collaborators(viewer: Viewer, launcher_id: int, user_ids: list[int]) -> Launcher:
    launcher = await get_for_admin(viewer, launcher_id, ("launcherId",))
    wanted = set(user_ids)
    users = await User.filter(id__in=wanted, account_id=viewer.account_id)
    missing = wanted - {user.id for user in users}
    if missing:
        raise Rejected([UserError(UserErrorCode.NOT_FOUND, "No user with this id.", ("userIds",))])
    if any(user.role is Role.ADMIN for user in users):
        raise Rejected(
            [
                UserError(
                    UserErrorCode.INVALID_INPUT,
                    "Admins see every launcher already; grant collaborators only.",
                    ("userIds",),
                )
            ]
        )
    async with changing():
        # Simultaneous replacements run one after the other (not both inserting the same grants), and a
        # launcher deleted meanwhile gets no grants.
        await _lock_live(launcher.id, ("launcherId",))
        granted = await column(LauncherCollaborator.filter(launcher_id=launcher.id), "user__email")
        await LauncherCollaborator.filter(launcher_id=launcher.id).delete()
        await LauncherCollaborator.bulk_create(
            [LauncherCollaborator(launcher_id=launcher.id, user_id=user_id) for user_id in sorted(wanted)]
        )
        await audit.collaborators_changed(viewer.actor, launcher, granted, [user.email for user in users])
    return launcher
