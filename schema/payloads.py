"""Mutation payloads: the result, or `userErrors` saying why nothing changed."""

from __future__ import annotations

import strawberry

from domain import entitlements
from domain.errors import UserError as DomainUserError
from schema.enums import UserErrorCode
from schema.nodes import Campaign, Launcher, PlatformIntegration, SyncRun


@strawberry.type(description="A problem with the caller's request, returned as data; the mutation changed nothing.")
class UserError:
    code: UserErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "credentials", "restEndpoint"].'
    )
    message: str

    @classmethod
    def of(cls, error: DomainUserError) -> UserError:
        return cls(code=error.code, field=list(error.field) if error.field else None, message=error.message)


@strawberry.type(
    description="Shown instead of creating the integration when the plan's limit is reached and confirmTrial was false."
)
class TrialConfirmation:
    title: str
    body: str
    confirm_label: str
    cancel_label: str
    limit: int
    used: int

    @classmethod
    def of(cls, confirmation: entitlements.TrialConfirmation) -> TrialConfirmation:
        return cls(
            title=confirmation.title,
            body=confirmation.body,
            confirm_label=confirmation.confirm_label,
            cancel_label=confirmation.cancel_label,
            limit=confirmation.limit,
            used=confirmation.used,
        )


@strawberry.type
class CreatePlatformIntegrationPayload:
    platform_integration: PlatformIntegration | None = None
    trial_confirmation: TrialConfirmation | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PlatformIntegrationPayload:
    platform_integration: PlatformIntegration | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SyncPayload:
    sync_run: SyncRun | None = strawberry.field(
        default=None, description="The run that was queued, or the one already queued or running for this integration."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LauncherPayload:
    launcher: Launcher | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
