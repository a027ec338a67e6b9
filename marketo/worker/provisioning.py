"""Campaign programs and launcher folders, made in the launcher's own Marketo instance and nowhere else."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.expressions import Subquery

from domain import campaign_failures, campaigns, events, jobs, sync_policy
from domain.models import (
    Campaign,
    CampaignStatus,
    Job,
    JobKind,
    Launcher,
    MarketoFolder,
    MarketoProgram,
    PlatformIntegration,
)
from marketo.client import MarketoClient
from marketo.errors import MarketoError
from marketo.models import Folder, FolderRef, Program
from marketo.worker import queue

if TYPE_CHECKING:
    from marketo.worker.runner import Worker

log = logging.getLogger("jeto.worker")

JETO_ASSETS_FOLDER = "Jeto"
IMAGES_AND_FILES = "Images and Files"
# Marketo's clock is not ours: a lost clone is looked for among programs made since a while before we asked.
CLOCK_SKEW = timedelta(hours=1)


class CannotProvision(Exception):
    """A failure retrying cannot fix; the message tells the user what to do."""


class ProgramGone(CannotProvision):
    """The campaign's program was deleted in Marketo."""


async def _save_program(integration_id: int, program: Program) -> MarketoProgram:
    changes: dict[str, object] = {
        "name": program.name,
        "type": program.type,
        "channel": program.channel,
        "status": program.status,
        "url": program.url,
        "marketo_updated_at": program.updated_at,
        "seen_at": datetime.now(UTC),  # written now: a sync that started before keeps it
    }
    if program.folder is not None:  # an answer without the folder says nothing about it: keep what we know
        folder = await MarketoFolder.get_or_none(
            platform_integration_id=integration_id, marketo_id=program.folder.id, marketo_type=program.folder.type
        )
        changes["folder_id"] = folder.id if folder else None
    row, _ = await MarketoProgram.update_or_create(
        platform_integration_id=integration_id, marketo_id=program.id, defaults=changes
    )
    return row


async def _save_folder(integration_id: int, folder: Folder) -> MarketoFolder:
    row, _ = await MarketoFolder.update_or_create(
        platform_integration_id=integration_id,
        marketo_id=folder.id,
        marketo_type=folder.type,
        defaults={
            "name": folder.name,
            "path": folder.path,
            "folder_type": folder.folder_type,
            "is_system": folder.is_system,
            "url": folder.url,
            "parent_marketo_id": folder.parent.id if folder.parent else None,
            "parent_marketo_type": folder.parent.type if folder.parent else None,
            "seen_at": datetime.now(UTC),  # written now: a sync that started before keeps it
        },
    )
    return row


async def _settle(worker: Worker, job: Job, campaign: Campaign, outcome: dict[str, object]) -> None:
    async with queue.lease_of(
        job
    ).held():  # a worker that lost the integration must not overwrite its new owner's outcome
        await Campaign.filter(id=campaign.id).update(**outcome)
        await campaigns.notify_first_outcome(campaign.id)
    await worker.publish(campaign.account_id, events.campaign_changed(campaign.id))


Work = Callable[["Worker", Campaign, Launcher, PlatformIntegration], Awaitable[Program]]
GiveUp = Callable[["Worker", Job, Campaign, PlatformIntegration, CannotProvision], Awaitable[None]]


async def _run_campaign_job(worker: Worker, job: Job, work: Work, give_up: GiveUp) -> None:
    """Shared by creation and renaming: READY on success, a retry on a transient failure, else `give_up`."""
    campaign = await Campaign.get_or_none(id=job.campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.PROVISIONING:
        await queue.finish(job)  # retried or changed meanwhile: nothing left to do
        return
    launcher = await Launcher.get(id=campaign.launcher_id)
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    try:
        program = await work(worker, campaign, launcher, integration)
    except CannotProvision as problem:
        await give_up(worker, job, campaign, integration, problem)
        return
    except MarketoError as error:
        if sync_policy.should_retry(job.attempts, error.retryable):
            await queue.retry_later(job, str(error), worker.settings.retry_delay(job.attempts))
            return
        problem = CannotProvision(campaign_failures.marketo_refused(integration.name, str(error)))
        await give_up(worker, job, campaign, integration, problem)
        return
    except Exception:
        # Never leave a campaign PROVISIONING with no job behind it; the worker logs the cause.
        message = campaign_failures.INTERNAL_ERROR
        await _settle(worker, job, campaign, {"status": CampaignStatus.FAILED, "error": message})
        raise
    async with queue.lease_of(job).held():
        row = await _save_program(integration.id, program)
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
        await queue.finish(job)
    await worker.publish(campaign.account_id, events.campaign_changed(campaign.id))


# Creation


async def _clone(worker: Worker, campaign: Campaign, launcher: Launcher, integration: PlatformIntegration) -> Program:
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
    client = worker.client_for(integration)
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


async def _creation_failed(
    worker: Worker, job: Job, campaign: Campaign, integration: PlatformIntegration, problem: CannotProvision
) -> None:
    await _settle(worker, job, campaign, {"status": CampaignStatus.FAILED, "error": str(problem)})
    await queue.fail(job, str(problem))


# Renaming


async def _rename(worker: Worker, campaign: Campaign, launcher: Launcher, integration: PlatformIntegration) -> Program:
    row = await MarketoProgram.get(id=campaign.marketo_program_id)
    client = worker.client_for(integration)
    # Marketo, not our row, says what the name is: an earlier attempt may have renamed it and died.
    current = await client.get_program(row.marketo_id)
    if current is None:
        raise ProgramGone(campaign_failures.program_gone(row.name, integration.name))
    await _save_program(integration.id, current)  # should the rename fail, the campaign takes this name back
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


async def _rename_failed(
    worker: Worker, job: Job, campaign: Campaign, integration: PlatformIntegration, problem: CannotProvision
) -> None:
    """A rename that cannot be done is undone: the campaign takes its program's name back and says why."""
    if isinstance(problem, ProgramGone):
        outcome: dict[str, object] = {
            "status": CampaignStatus.FAILED,
            "error": str(problem),
            "marketo_program_id": None,
        }
        await _settle(worker, job, campaign, outcome)
        await queue.fail(job, str(problem))
        return
    program = await MarketoProgram.get(id=campaign.marketo_program_id)
    message = campaign_failures.rename_failed(wanted=campaign.name, kept=program.name, why=str(problem))
    async with queue.lease_of(job).held():
        # Renamed again meanwhile: the rename queued then tries the newer name.
        if await Campaign.filter(id=campaign.id, name=campaign.name).update(
            status=CampaignStatus.READY, name=program.name, error=message
        ):
            await campaigns.notify_first_outcome(campaign.id)
    await worker.publish(campaign.account_id, events.campaign_changed(campaign.id))
    await queue.fail(job, message)


async def provision_campaign(worker: Worker, job: Job) -> None:
    await _run_campaign_job(worker, job, _clone, _creation_failed)


async def rename_program(worker: Worker, job: Job) -> None:
    await _run_campaign_job(worker, job, _rename, _rename_failed)


# The launcher's assets folder


async def assets_folder(worker: Worker, job: Job) -> None:
    """Finds the launcher's instance's "Jeto" images-and-files folder, or creates it there."""
    launcher = await Launcher.get_or_none(id=job.launcher_id)
    if launcher is None or launcher.deleted_at is not None or launcher.assets_folder_id is not None:
        await queue.finish(job)  # chosen by the user meanwhile: keep their choice
        return
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    client = worker.client_for(integration)
    try:
        folder = await _jeto_folder(client, launcher, integration)
    except CannotProvision as problem:
        await _assets_folder_failed(job, launcher, str(problem))
        return
    except MarketoError as error:
        if sync_policy.should_retry(job.attempts, error.retryable):
            await queue.retry_later(job, str(error), worker.settings.retry_delay(job.attempts))
        else:
            await _assets_folder_failed(job, launcher, str(error))
        return
    async with queue.lease_of(job).held():
        row = await _save_folder(integration.id, folder)
        if not await Launcher.filter(id=launcher.id, assets_folder_id=None).update(assets_folder_id=row.id):
            log.info("launcher %s: an admin chose its assets folder meanwhile; keeping their choice", launcher.id)
        await queue.finish(job)


async def _jeto_folder(client: MarketoClient, launcher: Launcher, integration: PlatformIntegration) -> Folder:
    images = await _images_and_files(client, launcher)
    if images is None:
        raise CannotProvision(f'No "{IMAGES_AND_FILES}" folder in {integration.name}.')
    found = await client.get_folder_by_name(JETO_ASSETS_FOLDER, root=images.ref)
    return found or await client.create_folder(
        JETO_ASSETS_FOLDER, images.ref, description="Images and files of campaigns made with Jeto"
    )


async def _images_and_files(client: MarketoClient, launcher: Launcher) -> Folder | None:
    """The one of the destination folder's workspace when there is one: an instance can have several."""
    destination = (
        await MarketoFolder.get_or_none(id=launcher.destination_folder_id) if launcher.destination_folder_id else None
    )
    if destination is not None:
        where = await client.get_folder(FolderRef(destination.marketo_id, destination.marketo_type))
        if where is not None and where.workspace:
            found = await client.get_folder_by_name(IMAGES_AND_FILES, workspace=where.workspace)
            if found is not None:
                return found
    return await client.get_folder_by_name(IMAGES_AND_FILES)


async def _assets_folder_failed(job: Job, launcher: Launcher, reason: str) -> None:
    # The launcher keeps no assets folder until its integration's next successful sync queues another try.
    log.warning("launcher %s got no assets folder (job %s): %s", launcher.id, job.id, reason)
    await queue.fail(job, reason)


async def queue_missing_assets_folders(integration_id: int) -> int:
    """After a successful sync of an integration: each of its launchers still without an assets folder tries again.

    The worker calls this once the sync is recorded; returns how many jobs were queued.
    """
    waiting = Job.filter(kind=JobKind.ASSETS_FOLDER, state__in=queue.ACTIVE, launcher_id__isnull=False).values(
        "launcher_id"
    )
    launchers = await Launcher.filter(
        platform_integration_id=integration_id, deleted_at=None, assets_folder_id=None
    ).exclude(id__in=Subquery(waiting))
    for launcher in launchers:
        await jobs.enqueue(JobKind.ASSETS_FOLDER, integration_id, launcher_id=launcher.id)
    return len(launchers)
