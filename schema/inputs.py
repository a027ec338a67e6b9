"""Mutation inputs, as the contract spells them."""

from __future__ import annotations

import strawberry

from schema.enums import Vendor


@strawberry.input
class MarketoCredentialsInput:
    client_id: str
    client_secret: str
    rest_endpoint: str = strawberry.field(description="e.g. https://123-ABC-456.mktorest.com/rest")
    identity_endpoint: str | None = strawberry.field(
        default=None, description="Defaults to restEndpoint with its final /rest replaced by /identity."
    )


@strawberry.input
class MarketoCredentialsUpdate:
    client_id: str | None = None
    client_secret: str | None = strawberry.field(default=None, description="Omitted: the stored secret is kept.")
    rest_endpoint: str | None = None
    identity_endpoint: str | None = None


@strawberry.input
class CreatePlatformIntegrationInput:
    name: str
    credentials: MarketoCredentialsInput
    vendor: Vendor = Vendor.MARKETO
    confirm_trial: bool = strawberry.field(
        default=False, description="Set after the user pressed Proceed on the trial confirmation."
    )


@strawberry.input
class UpdatePlatformIntegrationInput:
    id: strawberry.ID
    name: str | None = None
    credentials: MarketoCredentialsUpdate | None = None


@strawberry.input
class CreateLauncherInput:
    name: str
    platform_integration_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Required when the account has more than one integration; otherwise the only one is used.",
    )
    destination_folder_id: strawberry.ID | None = None
    template_program_id: strawberry.ID | None = None
    assets_folder_id: strawberry.ID | None = None


@strawberry.input
class UpdateLauncherInput:
    id: strawberry.ID
    name: str | None = None
    platform_integration_id: strawberry.ID | None = strawberry.field(
        default=None, description="Accepted only if it equals the launcher's current integration."
    )
    destination_folder_id: strawberry.ID | None = None
    template_program_id: strawberry.ID | None = None
    assets_folder_id: strawberry.ID | None = None


@strawberry.input
class CreateCampaignInput:
    launcher_id: strawberry.ID
    name: str


@strawberry.input
class UpdateCampaignInput:
    id: strawberry.ID
    name: str | None = None
