"""Use cases of campaigns."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain.errors import Rejected, not_found, reject_if_any
from domain.models import Campaign, CampaignStatus, Launcher
from domain.names import clean_name, name_error
from domain.viewer import Viewer


async def create(viewer: Viewer, *, launcher_id: int, name: str) -> Campaign:
    reject_if_any([name_error(name, ("input", "name"))])
    launcher = await viewer.launchers().filter(id=launcher_id).first()
    if launcher is None:
        raise Rejected([not_found("launcher", ("input", "launcherId"))])
    async with in_transaction():
        return await Campaign.create(
            account_id=viewer.account_id,
            launcher_id=launcher.id,
            name=clean_name(name),
            status=CampaignStatus.PROVISIONING,
            submitted_by_id=viewer.user_id,
        )


async def update(viewer: Viewer, campaign_id: int, *, name: str | None) -> Campaign:
    campaign = await viewer.campaigns().filter(id=campaign_id).first()
    if campaign is None:
        raise Rejected([not_found("campaign", ("input", "id"))])
    reject_if_any([name_error(name, ("input", "name")) if name is not None else None])
    if name is not None and clean_name(name) != campaign.name:
        await Campaign.filter(id=campaign.id).update(name=clean_name(name))
        await campaign.refresh_from_db()
    return campaign


async def launcher_of(campaign: Campaign) -> Launcher:
    return await Launcher.get(id=campaign.launcher_id)
