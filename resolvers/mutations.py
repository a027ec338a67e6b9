"""Mutation resolvers: each reads its input, runs one use case, and maps the outcome to a payload."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import strawberry

from domain import campaigns, launchers, platform_integrations, syncs
from domain.errors import Rejected, UserError
from domain.models import SyncTrigger
from resolvers.context import Context
from resolvers.ids import pk_input
from schema import inputs, payloads
from schema.ids import encode_id
from schema.nodes import Campaign, Launcher, PlatformIntegration, SyncRun

Info = strawberry.Info[Context, None]
P = ParamSpec("P")
PayloadT = TypeVar("PayloadT")


def user_errors_as(
    payload: type[PayloadT],
) -> Callable[[Callable[P, Awaitable[PayloadT]]], Callable[P, Awaitable[PayloadT]]]:
    """A use case's Rejected becomes the payload's userErrors; its transaction has rolled back already."""

    def decorate(resolver: Callable[P, Awaitable[PayloadT]]) -> Callable[P, Awaitable[PayloadT]]:
        @functools.wraps(resolver)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> PayloadT:
            try:
                return await resolver(*args, **kwargs)
            except Rejected as rejected:
                return payload(user_errors=[payloads.UserError.of(e) for e in rejected.errors])  # type: ignore[call-arg]

        return wrapper

    return decorate


def _pk(value: str | None, type_name: str, *field: str) -> Any:
    pk = pk_input(value, type_name, tuple(field))
    if isinstance(pk, UserError):
        raise Rejected([pk])
    return pk


def _credentials(
    value: inputs.MarketoCredentialsInput | inputs.MarketoCredentialsUpdate,
) -> platform_integrations.CredentialsInput:
    return platform_integrations.CredentialsInput(
        client_id=value.client_id,
        client_secret=value.client_secret,
        rest_endpoint=value.rest_endpoint,
        identity_endpoint=value.identity_endpoint,
    )


@user_errors_as(payloads.CreatePlatformIntegrationPayload)
async def create_platform_integration(
    info: Info, input: inputs.CreatePlatformIntegrationInput
) -> payloads.CreatePlatformIntegrationPayload:
    services = info.context.services
    created = await platform_integrations.create(
        info.context.viewer,
        name=input.name,
        credentials=_credentials(input.credentials),
        confirm_trial=input.confirm_trial,
        sealer=services.secret_box,
        allowed_hosts=services.settings.marketo_allowed_hosts,
    )
    if created.integration is None:
        assert created.trial_confirmation is not None
        return payloads.CreatePlatformIntegrationPayload(
            trial_confirmation=payloads.TrialConfirmation.of(created.trial_confirmation)
        )
    await services.sync_queued(created.integration)
    return payloads.CreatePlatformIntegrationPayload(
        platform_integration=PlatformIntegration(model=created.integration)
    )


@user_errors_as(payloads.PlatformIntegrationPayload)
async def update_platform_integration(
    info: Info, input: inputs.UpdatePlatformIntegrationInput
) -> payloads.PlatformIntegrationPayload:
    services = info.context.services
    updated = await platform_integrations.update(
        info.context.viewer,
        _pk(input.id, "PlatformIntegration", "input", "id"),
        name=input.name,
        credentials=_credentials(input.credentials) if input.credentials is not None else None,
        sealer=services.secret_box,
        allowed_hosts=services.settings.marketo_allowed_hosts,
    )
    if updated.credentials_changed:
        await services.sync_queued(updated.integration)
    return payloads.PlatformIntegrationPayload(platform_integration=PlatformIntegration(model=updated.integration))


@user_errors_as(payloads.PlatformIntegrationPayload)
async def set_default_platform_integration(info: Info, id: strawberry.ID) -> payloads.PlatformIntegrationPayload:
    integration = await platform_integrations.set_default(info.context.viewer, _pk(id, "PlatformIntegration", "id"))
    return payloads.PlatformIntegrationPayload(platform_integration=PlatformIntegration(model=integration))


@user_errors_as(payloads.PlatformIntegrationPayload)
async def test_platform_integration_connection(info: Info, id: strawberry.ID) -> payloads.PlatformIntegrationPayload:
    integration = await platform_integrations.get_for_admin(
        info.context.viewer, _pk(id, "PlatformIntegration", "id"), ("id",)
    )
    await info.context.services.test_connection(integration)
    await integration.refresh_from_db()
    return payloads.PlatformIntegrationPayload(platform_integration=PlatformIntegration(model=integration))


@user_errors_as(payloads.SyncPayload)
async def sync_platform_integration(info: Info, id: strawberry.ID) -> payloads.SyncPayload:
    integration = await platform_integrations.get_for_admin(
        info.context.viewer, _pk(id, "PlatformIntegration", "id"), ("id",)
    )
    run = await syncs.queue_sync(integration.id, SyncTrigger.MANUAL)
    await info.context.services.sync_queued(integration)
    return payloads.SyncPayload(sync_run=SyncRun(model=run))


@user_errors_as(payloads.DeletePayload)
async def delete_platform_integration(info: Info, id: strawberry.ID) -> payloads.DeletePayload:
    deleted = await platform_integrations.delete(info.context.viewer, _pk(id, "PlatformIntegration", "id"))
    return payloads.DeletePayload(deleted_id=strawberry.ID(encode_id("PlatformIntegration", deleted)))


def _asset_choice(value: inputs.CreateLauncherInput | inputs.UpdateLauncherInput) -> launchers.AssetChoice:
    return launchers.AssetChoice(
        destination_folder_id=_pk(value.destination_folder_id, "MarketoFolder", "input", "destinationFolderId"),
        template_program_id=_pk(value.template_program_id, "MarketoProgram", "input", "templateProgramId"),
        assets_folder_id=_pk(value.assets_folder_id, "MarketoFolder", "input", "assetsFolderId"),
    )


@user_errors_as(payloads.LauncherPayload)
async def create_launcher(info: Info, input: inputs.CreateLauncherInput) -> payloads.LauncherPayload:
    launcher = await launchers.create(
        info.context.viewer,
        name=input.name,
        integration_id=_pk(input.platform_integration_id, "PlatformIntegration", "input", "platformIntegrationId"),
        choice=_asset_choice(input),
    )
    info.context.services.wake_worker()
    return payloads.LauncherPayload(launcher=Launcher(model=launcher))


@user_errors_as(payloads.LauncherPayload)
async def update_launcher(info: Info, input: inputs.UpdateLauncherInput) -> payloads.LauncherPayload:
    launcher = await launchers.update(
        info.context.viewer,
        _pk(input.id, "Launcher", "input", "id"),
        name=input.name,
        integration_id=_pk(input.platform_integration_id, "PlatformIntegration", "input", "platformIntegrationId"),
        choice=_asset_choice(input),
    )
    return payloads.LauncherPayload(launcher=Launcher(model=launcher))


@user_errors_as(payloads.DeletePayload)
async def delete_launcher(info: Info, id: strawberry.ID) -> payloads.DeletePayload:
    deleted = await launchers.delete(info.context.viewer, _pk(id, "Launcher", "id"))
    return payloads.DeletePayload(deleted_id=strawberry.ID(encode_id("Launcher", deleted)))


@user_errors_as(payloads.LauncherPayload)
async def set_launcher_collaborators(
    info: Info, launcher_id: strawberry.ID, user_ids: list[strawberry.ID]
) -> payloads.LauncherPayload:
    launcher = await launchers.set_collaborators(
        info.context.viewer,
        _pk(launcher_id, "Launcher", "launcherId"),
        [_pk(user_id, "User", "userIds") for user_id in user_ids],
    )
    return payloads.LauncherPayload(launcher=Launcher(model=launcher))


@user_errors_as(payloads.CampaignPayload)
async def create_campaign(info: Info, input: inputs.CreateCampaignInput) -> payloads.CampaignPayload:
    campaign = await campaigns.create(
        info.context.viewer,
        launcher_id=_pk(input.launcher_id, "Launcher", "input", "launcherId"),
        name=input.name,
        email_hold=info.context.services.settings.campaign_email_hold,
    )
    await info.context.services.campaign_changed(campaign)
    return payloads.CampaignPayload(campaign=Campaign(model=campaign))


@user_errors_as(payloads.CampaignPayload)
async def update_campaign(info: Info, input: inputs.UpdateCampaignInput) -> payloads.CampaignPayload:
    campaign = await campaigns.update(info.context.viewer, _pk(input.id, "Campaign", "input", "id"), name=input.name)
    await info.context.services.campaign_changed(campaign)
    return payloads.CampaignPayload(campaign=Campaign(model=campaign))


@user_errors_as(payloads.CampaignPayload)
async def retry_campaign(info: Info, id: strawberry.ID) -> payloads.CampaignPayload:
    campaign = await campaigns.retry(info.context.viewer, _pk(id, "Campaign", "id"))
    await info.context.services.campaign_changed(campaign)
    return payloads.CampaignPayload(campaign=Campaign(model=campaign))
