"""Campaigns: what a launcher's form creates, with its program in the launcher's Marketo instance."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from resolvers import campaigns as resolve
from resolvers.campaigns import CampaignRecord
from schema.accounts import User
from schema.enums import CampaignStatus
from schema.launchers import Launcher
from schema.marketo_assets import MarketoProgram
from schema.nodes import Info, Node, related, shown_as
from schema.user_errors import UserError


@strawberry.type
class Campaign(Node):
    name: str
    launcher: Launcher = related(resolve.LAUNCHER)
    status: CampaignStatus
    marketo_program: MarketoProgram | None = related(
        resolve.PROGRAM, description="The program created for this campaign in the launcher's Marketo instance."
    )
    submitted_at: datetime
    submitted_by: User = related(resolve.SUBMITTED_BY)
    error: str | None

    is_type_of = shown_as(CampaignRecord)


@strawberry.input
class CreateCampaignInput:
    launcher_id: strawberry.ID
    name: str


@strawberry.input
class UpdateCampaignInput:
    id: strawberry.ID
    name: str | None = None


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(
        description="Admins, or collaborators granted the launcher. The program is created in the launcher's instance."
    )
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> CampaignPayload:
        return await resolve.create(info, input)

    @strawberry.mutation(
        description="Admins, or collaborators granted the campaign's launcher. A new name renames the program too."
    )
    async def update_campaign(self, info: Info, input: UpdateCampaignInput) -> CampaignPayload:
        return await resolve.update(info, input)

    @strawberry.mutation(
        description="Admins, or collaborators granted the campaign's launcher. Provisions a FAILED campaign's "
        "program again, under its current name."
    )
    async def retry_campaign(self, info: Info, id: strawberry.ID) -> CampaignPayload:
        return await resolve.retry(info, id)


@strawberry.type
class CampaignSubscriptions:
    @strawberry.subscription(description="The campaign as it is at once, then every change of its status.")
    async def campaign(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Campaign, None]:
        async for campaign in resolve.subscribe(info, id):
            yield campaign
