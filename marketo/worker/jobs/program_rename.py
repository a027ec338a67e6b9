"""RENAME_PROGRAM: the campaign's program takes the campaign's new name, in the launcher's own instance. A rename
that cannot be done is undone: the campaign takes its program's name back and says why."""

from __future__ import annotations

from domain import campaign_failures, campaigns, changes
from domain.models import Campaign, CampaignStatus, Job, Launcher, MarketoProgram, PlatformIntegration
from marketo.errors import MarketoError
from marketo.models import Program
from marketo.worker import queue
from marketo.worker.context import JobContext
from marketo.worker.jobs.campaigns import CannotProvision, ProgramGone, give_up, run, settle

__all__ = ["give_up", "handle"]


async def handle(context: JobContext, job: Job) -> None:
    await run(context, job, _rename, _failed)


async def _rename(
    context: JobContext, campaign: Campaign, launcher: Launcher, integration: PlatformIntegration
) -> Program:
    row = await MarketoProgram.get(id=campaign.marketo_program_id)
    client = context.client(integration)
    # Marketo, not our row, says what the name is: an earlier attempt may have renamed it and died.
    current = await client.get_program(row.marketo_id)
    if current is None:
        raise ProgramGone(campaign_failures.program_gone(row.name, integration.name))
    await context.store.save_program(
        integration.id, current
    )  # should the rename fail, the campaign takes this name back
    if current.name == campaign.name:
        return current  # nothing to rename (renamed back, or by an earlier attempt)
    try:
        return await client.rename_program(row.marketo_id, campaign.name)
    except MarketoError as error:
        if error.retryable:
            raise
        why = campaign_failures.rename_refused(
            error.code, name=campaign.name, integration=integration.name, detail=str(error)
        )
        raise CannotProvision(why) from error


async def _failed(
    context: JobContext, job: Job, campaign: Campaign, integration: PlatformIntegration, problem: CannotProvision
) -> None:
    """A rename that cannot be done is undone: the campaign takes its program's name back and says why."""
    if isinstance(problem, ProgramGone):
        outcome: dict[str, object] = {
            "status": CampaignStatus.FAILED,
            "error": str(problem),
            "marketo_program_id": None,
        }
        await settle(context, campaign.id, outcome)
        await queue.fail(job, str(problem))
        return
    program = await MarketoProgram.get(id=campaign.marketo_program_id)
    message = campaign_failures.rename_failed(wanted=campaign.name, kept=program.name, why=str(problem))
    async with context.lease.held():
        # Renamed again meanwhile: the rename queued then tries the newer name.
        if await Campaign.filter(id=campaign.id, name=campaign.name).update(
            status=CampaignStatus.READY, name=program.name, error=message
        ):
            changes.campaign_changed(campaign.id)
            await campaigns.notify_first_outcome(campaign.id)
        await queue.fail(job, message)
