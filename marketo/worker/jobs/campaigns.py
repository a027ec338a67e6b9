"""What both campaign jobs share (making a campaign's program, renaming it): reading the campaign, settling
its outcome under the lease, retrying a transient failure, and failing the campaign when it gives up.

Programs are made in the launcher's own Marketo instance and nowhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain import campaign_failures, campaigns, changes, jobs
from domain.models import Campaign, CampaignStatus, Job, JobKind, Launcher, PlatformIntegration
from marketo.errors import MarketoError
from marketo.models import Program
from marketo.worker import queue
from marketo.worker.context import JobContext


class CannotProvision(Exception):
    """A failure retrying cannot fix; the message tells the user what to do."""


class ProgramGone(CannotProvision):
    """The campaign's program was deleted in Marketo."""


async def settle(context: JobContext, campaign_id: int, outcome: dict[str, object]) -> None:
    """The campaign's outcome, under the lease: a worker that lost the integration must not overwrite its new
    owner's. The admins' email about the campaign learns its first outcome in the same transaction."""
    async with context.lease.held():
        await Campaign.filter(id=campaign_id).update(**outcome)
        changes.campaign_changed(campaign_id)
        await campaigns.notify_first_outcome(campaign_id)


async def give_up(context: JobContext, job: Job, message: str) -> None:
    """FAILED, if still PROVISIONING, with the message; and the job with it, in one transaction."""
    async with context.lease.held():
        await queue.fail(job, message)
        if job.campaign_id is not None and await Campaign.filter(
            id=job.campaign_id, status=CampaignStatus.PROVISIONING
        ).update(status=CampaignStatus.FAILED, error=message):
            changes.campaign_changed(job.campaign_id)
            await campaigns.notify_first_outcome(job.campaign_id)


Work = Callable[[JobContext, Campaign, Launcher, PlatformIntegration], Awaitable[Program]]
Failed = Callable[[JobContext, Job, Campaign, PlatformIntegration, CannotProvision], Awaitable[None]]


async def run(context: JobContext, job: Job, work: Work, failed: Failed) -> None:
    """READY on success, a retry on a transient failure, else `failed`."""
    campaign = await Campaign.get_or_none(id=job.campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.PROVISIONING:
        await queue.finish(job)  # retried or changed meanwhile: nothing left to do
        return
    launcher = await Launcher.get(id=campaign.launcher_id)
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    try:
        program = await work(context, campaign, launcher, integration)
    except CannotProvision as problem:
        await failed(context, job, campaign, integration, problem)
        return
    except MarketoError as error:
        at = context.next_attempt(job, error)
        if at is not None:
            await queue.retry_later(job, str(error), at=at)
            return
        refused = CannotProvision(campaign_failures.marketo_refused(integration.name, str(error)))
        await failed(context, job, campaign, integration, refused)
        return
    except Exception:
        # Never leave a campaign PROVISIONING with no job behind it; the worker logs the cause.
        await settle(context, campaign.id, {"status": CampaignStatus.FAILED, "error": campaign_failures.INTERNAL_ERROR})
        raise
    async with context.lease.held():
        row = await context.store.save_program(integration.id, program)
        # READY only if the campaign still has the name the program got: renamed meanwhile, it is renamed again.
        ready = await Campaign.filter(id=campaign.id, name=program.name).update(
            status=CampaignStatus.READY, error=None, marketo_program_id=row.id, clone_requested_at=None
        )
        if ready:
            await campaigns.notify_first_outcome(campaign.id)
        else:
            await Campaign.filter(id=campaign.id).update(marketo_program_id=row.id, clone_requested_at=None)
            await jobs.enqueue(
                JobKind.RENAME_PROGRAM, integration.id, priority=jobs.INTERACTIVE, campaign_id=campaign.id
            )
        changes.campaign_changed(campaign.id)
        await queue.finish(job)
