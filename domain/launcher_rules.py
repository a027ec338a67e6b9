"""A launcher is bound to one platform integration, and everything it names comes from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import UserError, UserErrorCode

NO_INTEGRATION = "Connect a Marketo instance (create a platform integration) before creating a launcher."


def launcher_integration(requested: int | None, account_integrations: Sequence[int]) -> int | UserError:
    """The integration a new launcher is bound to, or why there is none."""
    field = ("input", "platformIntegrationId")
    if requested is not None:
        if requested not in account_integrations:
            return UserError(UserErrorCode.NOT_FOUND, "No platform integration with this id.", field)
        return requested
    if len(account_integrations) == 1:
        return account_integrations[0]
    if not account_integrations:
        return UserError(
            UserErrorCode.PLATFORM_INTEGRATION_REQUIRED,
            NO_INTEGRATION,
            field,
        )
    return UserError(
        UserErrorCode.PLATFORM_INTEGRATION_REQUIRED,
        "This account has several platform integrations: choose the one the launcher works with.",
        field,
    )


def integration_change_error(current: int, requested: int | None) -> UserError | None:
    if requested is None or requested == current:
        return None
    return UserError(
        UserErrorCode.PLATFORM_INTEGRATION_IMMUTABLE,
        "A launcher's platform integration cannot be changed; create a new launcher instead.",
        ("input", "platformIntegrationId"),
    )


@dataclass(frozen=True)
class ChosenAsset:
    """A folder or program picked for a launcher, with the integration that owns it."""

    field: str  # input field name, e.g. "destinationFolderId"
    owner_integration: int


def ownership_errors(integration: int, chosen: Sequence[ChosenAsset]) -> list[UserError]:
    return [
        UserError(
            UserErrorCode.WRONG_PLATFORM_INTEGRATION,
            "This comes from another Marketo instance than the launcher's platform integration.",
            ("input", asset.field),
        )
        for asset in chosen
        if asset.owner_integration != integration
    ]


def deletion_error(launchers_in_use: int) -> UserError | None:
    if launchers_in_use == 0:
        return None
    noun = "launcher uses" if launchers_in_use == 1 else "launchers use"
    return UserError(
        UserErrorCode.PLATFORM_INTEGRATION_IN_USE,
        f"{launchers_in_use} {noun} this platform integration; delete them first.",
        ("id",),
    )
