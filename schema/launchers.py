"""Launchers: forms bound to one integration's program template, with their inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import campaigns
from resolvers import launchers as resolve
from resolvers.launchers import LauncherRecord
from schema.accounts import User
from schema.connections import Connection
from schema.nodes import RELATION, Info, Node, related, shown_as
from schema.user_errors import DeletePayload, UserError

if TYPE_CHECKING:
    from schema.campaigns import Campaign
    from schema.integrations import PlatformIntegration
    from schema.marketo_assets import MarketoFolder, MarketoProgram

PlatformIntegrationType = Annotated["PlatformIntegration", strawberry.lazy("schema.integrations")]
MarketoFolderType = Annotated["MarketoFolder", strawberry.lazy("schema.marketo_assets")]
MarketoProgramType = Annotated["MarketoProgram", strawberry.lazy("schema.marketo_assets")]
CampaignType = Annotated["Campaign", strawberry.lazy("schema.campaigns")]


def _campaigns(root: LauncherRecord, info: Info, first: int | None = 50, after: str | None = None):  # noqa: ANN202
    return campaigns.LAUNCHER_CAMPAIGNS.resolve(root, info, first=first, after=after)


@strawberry.type
class Launcher(Node):
    name: str
    platform_integration: PlatformIntegrationType = related(resolve.INTEGRATION)
    destination_folder: MarketoFolderType | None = related(resolve.DESTINATION_FOLDER)
    template_program: MarketoProgramType | None = related(resolve.TEMPLATE_PROGRAM)
    assets_folder: MarketoFolderType | None = related(
        resolve.ASSETS_FOLDER,
        description="Images and files folder; without a choice, the 'Jeto' folder of the launcher's own instance, "
        "created there if missing.",
    )
    campaigns: Connection[CampaignType] = strawberry.field(
        resolver=_campaigns,
        metadata={RELATION: campaigns.LAUNCHER_CAMPAIGNS},  # graphql-core calls it directly
    )
    collaborators: list[User] = related(
        resolve.COLLABORATORS, description="Collaborators granted this launcher (admins see every launcher anyway)."
    )
    created_at: datetime
    deleted_at: datetime | None = strawberry.field(
        description="Set once the launcher is deleted; its campaigns stay readable."
    )

    is_type_of = shown_as(LauncherRecord)


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


@strawberry.type
class LauncherPayload:
    launcher: Launcher | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LauncherMutations:
    @strawberry.mutation(description="Admins only.")
    async def create_launcher(self, info: Info, input: CreateLauncherInput) -> LauncherPayload:
        return await resolve.create(info, input)

    @strawberry.mutation(description="Admins only.")
    async def update_launcher(self, info: Info, input: UpdateLauncherInput) -> LauncherPayload:
        return await resolve.update(info, input)

    @strawberry.mutation(description="Admins only. Soft delete: the launcher's campaigns stay readable.")
    async def delete_launcher(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await resolve.delete(info, id)

    @strawberry.mutation(description="Admins only. Replaces the launcher's collaborators.")
    async def set_launcher_collaborators(
        self, info: Info, launcher_id: strawberry.ID, user_ids: list[strawberry.ID]
    ) -> LauncherPayload:
        return await resolve.set_collaborators(info, launcher_id, user_ids)
