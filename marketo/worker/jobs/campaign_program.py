"""PROVISION_CAMPAIGN: the campaign's program, cloned from its launcher's template into its destination folder,
in the launcher's own instance. A clone whose answer was lost is found again rather than made twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import campaign_failures, campaigns
from domain.models import Campaign, CampaignStatus, Job, Launcher, MarketoFolder, MarketoProgram, PlatformIntegration
from marketo.client import MarketoClient
from marketo.errors import MarketoError
from marketo.models import FolderRef, Program
from marketo.worker import queue
from marketo.worker.context import JobContext
from marketo.worker.jobs.campaigns import CannotProvision, give_up, run, settle

__all__ = ["give_up", "handle"]

# Marketo's clock is not ours: a lost clone is looked for among programs made since a while before we asked.
CLOCK_SKEW = timedelta(hours=1)


async def handle(context: JobContext, job: Job) -> None:
    await run(context, job, _clone, _failed)


async def _clone(
    context: JobContext, campaign: Campaign, launcher: Launcher, integration: PlatformIntegration
) -> Program:
    template = (
        await MarketoProgram.get_or_none(id=launcher.template_program_id) if launcher.template_program_id else None
    )
    folder = (
        await MarketoFolder.get_or_none(id=launcher.destination_folder_id) if launcher.destination_folder_id else None
    )
    if template is None:
        raise CannotProvision(campaign_failures.NO_TEMPLATE)
    if folder is None:
        raise CannotProvision(campaign_failures.NO_DESTINATION)
    client = context.client(integration)
    destination = FolderRef(folder.marketo_id, folder.marketo_type)
    if campaign.clone_requested_at is not None:
        # An earlier attempt asked for the clone and never recorded the answer: Marketo may have made it.
        ours = await _find_our_clone(client, campaign, integration, destination, campaign.clone_requested_at)
        if ours is not None:
            return ours
    if "," not in campaign.name:  # Marketo cannot search such a name: the clone's own answer tells then
        taken = await client.get_program_by_name(campaign.name)
        if taken is not None:
            await _forget_clone_request(campaign)
            raise CannotProvision(campaign_failures.name_taken(campaign.name, integration.name))
    # Recorded before the call: if this process dies after Marketo made the program, the retry adopts it.
    asked_at = datetime.now(UTC)
    await Campaign.filter(id=campaign.id).update(clone_requested_at=asked_at)
    try:
        return await client.clone_program(
            template.marketo_id, campaign.name, destination, description=campaigns.program_marker(campaign.id)
        )
    except MarketoError as error:
        if error.code == "709":
            # Our own program may hold the name: a call resent after a lost answer is refused this way.
            ours = await _find_our_clone(client, campaign, integration, destination, asked_at)
            if ours is not None:
                return ours
        if error.retryable or not error.code.isdigit():
            raise  # Marketo may have made it: the request stays recorded, so the next attempt looks for it
        await _forget_clone_request(campaign)  # refused: nothing was made
        raise CannotProvision(await _why_clone_refused(client, error, template, campaign, integration)) from error


async def _why_clone_refused(
    client: MarketoClient,
    error: MarketoError,
    template: MarketoProgram,
    campaign: Campaign,
    integration: PlatformIntegration,
) -> str:
    """Marketo's refusal in words that say what to change. 610 and 709 could each mean the template is gone
    (Marketo may answer a deleted template with 709, as it answers a name in use): Marketo is asked first."""
    template_exists = error.code not in ("610", "709") or await client.get_program(template.marketo_id) is not None
    name_in_use = None
    if template_exists and error.code == "709" and "," not in campaign.name:
        name_in_use = await client.get_program_by_name(campaign.name) is not None
    return campaign_failures.clone_refused(
        error.code,
        error.message,
        name=campaign.name,
        integration=integration.name,
        detail=str(error),
        template_exists=template_exists,
        name_in_use=name_in_use,
    )


async def _find_our_clone(
    client: MarketoClient, campaign: Campaign, integration: PlatformIntegration, folder: FolderRef, asked_at: datetime
) -> Program | None:
    """The program this campaign's clone request made, if any: in the destination folder, with our marker.

    Looked for by content rather than by name: the campaign may have been renamed since, and Marketo
    cannot search names containing commas.
    """
    marker = campaigns.program_marker(campaign.id)
    programs = sorted((ref.id for ref in await client.folder_content(folder) if ref.type == "Program"), reverse=True)
    for program_id in programs:
        program = await client.get_program(program_id)
        if program is None:
            continue
        if (program.description or "").strip() == marker and not await _used_by_another(campaign, integration, program):
            return program
        if program.created_at is not None and program.created_at < asked_at - CLOCK_SKEW:
            return None  # Marketo's ids grow with time: the rest of the folder is older than our request
    return None


async def _used_by_another(campaign: Campaign, integration: PlatformIntegration, program: Program) -> bool:
    return (
        await Campaign.filter(
            marketo_program__platform_integration_id=integration.id, marketo_program__marketo_id=program.id
        )
        .exclude(id=campaign.id)
        .exists()
    )


async def _forget_clone_request(campaign: Campaign) -> None:
    await Campaign.filter(id=campaign.id).update(clone_requested_at=None)


async def _failed(
    context: JobContext, job: Job, campaign: Campaign, integration: PlatformIntegration, problem: CannotProvision
) -> None:
    await settle(context, campaign.id, {"status": CampaignStatus.FAILED, "error": str(problem)})
    await queue.fail(job, str(problem))
