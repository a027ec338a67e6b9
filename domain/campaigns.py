"""Use cases of campaigns: each change that needs Marketo queues a job in the same transaction."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from domain import changes, jobs, notifications, outbox
from domain.changes import changing
from domain.errors import Rejected, UserError, UserErrorCode, not_found, reject_if_any
from domain.models import (
    Account,
    Campaign,
    CampaignStatus,
    JobKind,
    Launcher,
    MarketoProgram,
    Notification,
    NotificationState,
    PlatformIntegration,
    User,
)
from domain.names import clean_name, name_error
from domain.viewer import Viewer


def program_marker(campaign_id: int) -> str:
    """The description Jeto gives a campaign's program in Marketo: how a retry knows a program it finds there is
    this campaign's. It is stored in Marketo, so it keeps the form it was first written in (the campaign's API id
    then), whatever the API's ids become."""
    encoded = base64.urlsafe_b64encode(f"Campaign:{campaign_id}".encode()).decode().rstrip("=")
    return f"Jeto campaign {encoded}"


async def create(viewer: Viewer, *, launcher_id: int, name: str, email_hold: timedelta) -> Campaign:
    """The campaign, PROVISIONING, with its provisioning job and the admins' email, in one transaction.

    The email is held back for `email_hold` so that its "Marketo program" line can tell the program's outcome
    (see notify_first_outcome); after that it goes out as submitted. Sending is the mailer's: never waited for.
    """
    reject_if_any([name_error(name, ("input", "name"))])
    launcher = await viewer.launchers().filter(id=launcher_id).first()
    if launcher is None:
        raise Rejected([not_found("launcher", ("input", "launcherId"))])
    async with changing():
        campaign = await Campaign.create(
            account_id=viewer.account_id,
            launcher_id=launcher.id,
            name=clean_name(name),
            status=CampaignStatus.PROVISIONING,
            submitted_by_id=viewer.user_id,
            admins_notified_at=datetime.now(UTC),  # their email is queued below, in this transaction
        )
        changes.campaign_changed(campaign.id)
        await jobs.enqueue(
            JobKind.PROVISION_CAMPAIGN,
            launcher.platform_integration_id,
            priority=jobs.INTERACTIVE,
            campaign_id=campaign.id,
        )
        subject, body = await _admins_email(campaign, outcome_known=False)
        await outbox.notify_admins(
            viewer.account_id, subject, body, campaign_id=campaign.id, send_after=campaign.submitted_at + email_hold
        )
    return campaign


async def _admins_email(campaign: Campaign, *, outcome_known: bool) -> tuple[str, str]:
    """Subject and body of the admins' email about `campaign`: its "Marketo program" line says the program is
    being created, or (`outcome_known`) names it and its link, or says why it could not be made."""
    launcher = await Launcher.get(id=campaign.launcher_id)
    account = await Account.get(id=campaign.account_id)
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    submitter = await User.get(id=campaign.submitted_by_id)
    program = await MarketoProgram.get_or_none(id=campaign.marketo_program_id) if campaign.marketo_program_id else None
    if not outcome_known:
        program_line = notifications.program_being_created(integration.name)
    elif campaign.status is CampaignStatus.READY and program is not None:
        program_line = notifications.program_created(program.name, program.url)
    else:
        program_line = notifications.program_not_created(campaign.error or "")
    return notifications.campaign_submitted(
        account=await outbox.account_label(account, integration),
        launcher=launcher.name,
        campaign=campaign.name,
        submitted_on=campaign.submitted_at,
        submitted_by=notifications.person(submitter.name, submitter.email),
        marketo_program=program_line,
    )


async def notify_first_outcome(campaign_id: int) -> None:
    """Gives the admins' email about the campaign its first outcome: call it in the transaction that records a
    READY or FAILED.

    While the email queued at submission is held back, its "Marketo program" line is rewritten (the program's
    name and link, or why it could not be made) and it is due at once; once the hold is over it stays as
    submitted, so later outcomes change nothing. The conditions are in the UPDATE itself: a mailer claiming the
    email at that moment is never raced.
    """
    now = datetime.now(UTC)
    held = Notification.filter(campaign_id=campaign_id, state=NotificationState.PENDING, attempts=0, send_after__gt=now)
    campaign = await Campaign.get(id=campaign_id)
    submitted_before_0007 = campaign.admins_notified_at is None  # no email yet: it is written now, with the outcome
    if not submitted_before_0007 and not await held.exists():
        return
    subject, body = await _admins_email(campaign, outcome_known=True)
    if not submitted_before_0007:
        await held.update(body=body, send_after=now)
    elif await Campaign.filter(id=campaign_id, admins_notified_at=None).update(admins_notified_at=now):
        await outbox.notify_admins(campaign.account_id, subject, body, campaign_id=campaign_id)


async def _locked(campaign_id: int) -> Campaign:
    """The campaign as committed, its row locked until the transaction ends (the worker's outcome waits)."""
    return await Campaign.filter(id=campaign_id).select_for_update(no_key=True).get()


async def update(viewer: Viewer, campaign_id: int, *, name: str | None) -> Campaign:
    # A deleted launcher's campaigns stay readable, not editable.
    campaign = await viewer.campaigns().filter(id=campaign_id, launcher__deleted_at=None).first()
    if campaign is None:
        raise Rejected([not_found("campaign", ("input", "id"))])
    reject_if_any([name_error(name, ("input", "name")) if name is not None else None])
    if name is None or clean_name(name) == campaign.name:
        return campaign
    async with changing():
        # Read again under the row's lock: the worker may have recorded the program since the read above, and
        # the decision to rename it must be taken on what is committed, not on what was.
        campaign = await _locked(campaign.id)
        renamed: dict[str, object] = {"name": clean_name(name)}
        if campaign.marketo_program_id is not None:
            # The program is renamed in the launcher's instance; until then the campaign shows PROVISIONING.
            renamed.update(status=CampaignStatus.PROVISIONING, error=None)
            launcher = await Launcher.get(id=campaign.launcher_id)
            await jobs.enqueue(
                JobKind.RENAME_PROGRAM,
                launcher.platform_integration_id,
                priority=jobs.INTERACTIVE,
                campaign_id=campaign.id,
            )
        await Campaign.filter(id=campaign.id).update(**renamed)
        changes.campaign_changed(campaign.id)
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
    async with changing():
        kind = JobKind.RENAME_PROGRAM if campaign.marketo_program_id else JobKind.PROVISION_CAMPAIGN
        await Campaign.filter(id=campaign.id).update(status=CampaignStatus.PROVISIONING, error=None)
        changes.campaign_changed(campaign.id)
        await jobs.enqueue(kind, launcher.platform_integration_id, priority=jobs.INTERACTIVE, campaign_id=campaign.id)
    await campaign.refresh_from_db()
    return campaign
