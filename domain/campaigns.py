"""Use cases of campaigns: each change that needs Marketo queues a job in the same transaction."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain import jobs, notifications, outbox
from domain.errors import Rejected, UserError, UserErrorCode, not_found, reject_if_any
from domain.models import Account, Campaign, CampaignStatus, JobKind, Launcher, PlatformIntegration, User
from domain.names import clean_name, name_error
from domain.viewer import Viewer


async def create(viewer: Viewer, *, launcher_id: int, name: str) -> Campaign:
    reject_if_any([name_error(name, ("input", "name"))])
    launcher = await viewer.launchers().filter(id=launcher_id).first()
    if launcher is None:
        raise Rejected([not_found("launcher", ("input", "launcherId"))])
    async with in_transaction():
        campaign = await Campaign.create(
            account_id=viewer.account_id,
            launcher_id=launcher.id,
            name=clean_name(name),
            status=CampaignStatus.PROVISIONING,
            submitted_by_id=viewer.user_id,
        )
        await jobs.enqueue(
            JobKind.PROVISION_CAMPAIGN, launcher.platform_integration_id, priority=jobs.INTERACTIVE, campaign_id=campaign.id
        )
        await _notify_submitted(campaign, launcher)
    return campaign


async def _notify_submitted(campaign: Campaign, launcher: Launcher) -> None:
    account = await Account.get(id=campaign.account_id)
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    submitter = await User.get(id=campaign.submitted_by_id)
    subject, body = notifications.campaign_submitted(
        account=await outbox.account_label(account, integration),
        launcher=launcher.name,
        campaign=campaign.name,
        submitted_on=campaign.submitted_at,
        submitted_by=notifications.person(submitter.name, submitter.email),
        marketo_program=f"{campaign.name} (created in {integration.name})",
    )
    await outbox.notify_admins(account.id, subject, body)


async def update(viewer: Viewer, campaign_id: int, *, name: str | None) -> Campaign:
    # A deleted launcher's campaigns stay readable, not editable.
    campaign = await viewer.campaigns().filter(id=campaign_id, launcher__deleted_at=None).first()
    if campaign is None:
        raise Rejected([not_found("campaign", ("input", "id"))])
    reject_if_any([name_error(name, ("input", "name")) if name is not None else None])
    if name is None or clean_name(name) == campaign.name:
        return campaign
    async with in_transaction():
        changes: dict[str, object] = {"name": clean_name(name)}
        if campaign.marketo_program_id is not None:
            # The program is renamed in the launcher's instance; until then the campaign shows PROVISIONING.
            changes.update(status=CampaignStatus.PROVISIONING, error=None)
            launcher = await Launcher.get(id=campaign.launcher_id)
            await jobs.enqueue(
                JobKind.RENAME_PROGRAM, launcher.platform_integration_id, priority=jobs.INTERACTIVE, campaign_id=campaign.id
            )
        await Campaign.filter(id=campaign.id).update(**changes)
    await campaign.refresh_from_db()
    return campaign


async def retry(viewer: Viewer, campaign_id: int) -> Campaign:
    """A FAILED campaign is provisioned again (under its current name, which may have been fixed meanwhile)."""
    campaign = await viewer.campaigns().filter(id=campaign_id, launcher__deleted_at=None).first()
    if campaign is None:
        raise Rejected([not_found("campaign", ("id",))])
    if campaign.status is not CampaignStatus.FAILED:
        raise Rejected([UserError(UserErrorCode.INVALID_INPUT, "Only a FAILED campaign can be retried.", ("id",))])
    launcher = await Launcher.get(id=campaign.launcher_id)
    async with in_transaction():
        kind = JobKind.RENAME_PROGRAM if campaign.marketo_program_id else JobKind.PROVISION_CAMPAIGN
        await Campaign.filter(id=campaign.id).update(status=CampaignStatus.PROVISIONING, error=None)
        await jobs.enqueue(kind, launcher.platform_integration_id, priority=jobs.INTERACTIVE, campaign_id=campaign.id)
    await campaign.refresh_from_db()
    return campaign
