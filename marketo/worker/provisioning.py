"""Campaign programs and launcher folders, made in the launcher's own Marketo instance and nowhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain import events, jobs, sync_policy
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
from marketo.errors import MarketoError
from marketo.models import Folder, FolderRef, Program
from marketo.worker import queue

if TYPE_CHECKING:
    from marketo.worker.runner import Worker

JETO_ASSETS_FOLDER = "Jeto"
IMAGES_AND_FILES = "Images and Files"


class CannotProvision(Exception):
    """A failure retrying cannot fix; the message tells the user what to do."""


async def _save_program(integration_id: int, program: Program) -> MarketoProgram:
    folder_id = None
    if program.folder is not None:
        folder = await MarketoFolder.get_or_none(
            platform_integration_id=integration_id, marketo_id=program.folder.id, marketo_type=program.folder.type
        )
        folder_id = folder.id if folder else None
    row, _ = await MarketoProgram.update_or_create(
        platform_integration_id=integration_id,
        marketo_id=program.id,
        defaults={
            "name": program.name, "type": program.type, "channel": program.channel, "status": program.status,
            "folder_id": folder_id, "url": program.url, "marketo_updated_at": program.updated_at,
        },
    )
    return row


async def _save_folder(integration_id: int, folder: Folder) -> MarketoFolder:
    row, _ = await MarketoFolder.update_or_create(
        platform_integration_id=integration_id,
        marketo_id=folder.id,
        marketo_type=folder.type,
        defaults={
            "name": folder.name, "path": folder.path, "folder_type": folder.folder_type, "is_system": folder.is_system,
            "url": folder.url, "parent_marketo_id": folder.parent.id if folder.parent else None,
            "parent_marketo_type": folder.parent.type if folder.parent else None,
        },
    )
    return row


async def _settle(worker: Worker, job: Job, campaign: Campaign, outcome: dict[str, object]) -> None:
    await Campaign.filter(id=campaign.id).update(**outcome)
    await worker.publish(campaign.account_id, events.campaign_changed(campaign.id))


async def _run_campaign_job(worker: Worker, job: Job, work) -> None:  # noqa: ANN001
    """Shared by creation and renaming: READY on success, a retry on a transient failure, else FAILED."""
    campaign = await Campaign.get_or_none(id=job.campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.PROVISIONING:
        await queue.finish(job)  # retried or changed meanwhile: nothing left to do
        return
    launcher = await Launcher.get(id=campaign.launcher_id)
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    try:
        program = await work(worker, campaign, launcher, integration)
    except CannotProvision as problem:
        await _settle(worker, job, campaign, {"status": CampaignStatus.FAILED, "error": str(problem)})
        await queue.fail(job, str(problem))
        return
    except MarketoError as error:
        if sync_policy.should_retry(job.attempts, error.retryable):
            await queue.retry_later(job, str(error), worker.settings.retry_delay(job.attempts))
            return
        message = f"Marketo ({integration.name}) refused: {error}"
        await _settle(worker, job, campaign, {"status": CampaignStatus.FAILED, "error": message})
        await queue.fail(job, message)
        return
    except Exception:
        # Never leave a campaign PROVISIONING with no job behind it; the worker logs the cause.
        message = "Jeto could not finish this because of an internal error: retry the campaign."
        await _settle(worker, job, campaign, {"status": CampaignStatus.FAILED, "error": message})
        raise
    row = await _save_program(integration.id, program)
    # READY only if the campaign still has the name the program got: renamed meanwhile, it is renamed again.
    ready = await Campaign.filter(id=campaign.id, name=program.name).update(
        status=CampaignStatus.READY, error=None, marketo_program_id=row.id
    )
    if not ready:
        await Campaign.filter(id=campaign.id).update(marketo_program_id=row.id)
        await jobs.enqueue(JobKind.RENAME_PROGRAM, integration.id, priority=jobs.INTERACTIVE, campaign_id=campaign.id)
    await worker.publish(campaign.account_id, events.campaign_changed(campaign.id))
    await queue.finish(job)


async def _clone(worker: Worker, campaign: Campaign, launcher: Launcher, integration: PlatformIntegration) -> Program:
    template = await MarketoProgram.get_or_none(id=launcher.template_program_id) if launcher.template_program_id else None
    folder = await MarketoFolder.get_or_none(id=launcher.destination_folder_id) if launcher.destination_folder_id else None
    if template is None:
        raise CannotProvision("The launcher has no template program: choose one in the launcher, then retry the campaign.")
    if folder is None:
        raise CannotProvision("The launcher has no destination folder: choose one in the launcher, then retry the campaign.")
    client = worker.client_for(integration)
    existing = await client.get_program_by_name(campaign.name)
    if existing is not None:
        ours = campaign.clone_requested_at is not None and existing.folder is not None and existing.folder.id == folder.marketo_id
        if ours:
            return existing  # an earlier attempt created it and died before recording it
        raise CannotProvision(
            f'A program named "{campaign.name}" already exists in {integration.name}: rename the campaign, then retry it.'
        )
    # Recorded before the call: if this process dies after Marketo created the program, the retry adopts it.
    await Campaign.filter(id=campaign.id).update(clone_requested_at=datetime.now(UTC))
    return await client.clone_program(template.marketo_id, campaign.name, FolderRef(folder.marketo_id, folder.marketo_type))


async def _rename(worker: Worker, campaign: Campaign, launcher: Launcher, integration: PlatformIntegration) -> Program:
    row = await MarketoProgram.get(id=campaign.marketo_program_id)
    client = worker.client_for(integration)
    if row.name == campaign.name:
        return _as_program(row)  # nothing to rename
    taken = await client.get_program_by_name(campaign.name)
    if taken is not None and taken.id != row.marketo_id:
        raise CannotProvision(
            f'A program named "{campaign.name}" already exists in {integration.name}: choose another campaign name.'
        )
    if taken is not None:
        return taken  # renamed by an earlier attempt
    return await client.rename_program(row.marketo_id, campaign.name)


def _as_program(row: MarketoProgram) -> Program:
    return Program(
        id=row.marketo_id, name=row.name, type=row.type, channel=row.channel or "", folder=None, url=row.url,
        status=row.status or "", created_at=None, updated_at=row.marketo_updated_at, description=None,
    )


async def provision_campaign(worker: Worker, job: Job) -> None:
    await _run_campaign_job(worker, job, _clone)


async def rename_program(worker: Worker, job: Job) -> None:
    await _run_campaign_job(worker, job, _rename)


async def assets_folder(worker: Worker, job: Job) -> None:
    """Finds the launcher's instance's "Jeto" images-and-files folder, or creates it there."""
    launcher = await Launcher.get_or_none(id=job.launcher_id)
    if launcher is None or launcher.assets_folder_id is not None:
        await queue.finish(job)  # chosen by the user meanwhile: keep their choice
        return
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    client = worker.client_for(integration)
    try:
        root = await client.get_folder_by_name(IMAGES_AND_FILES)
        if root is None:
            await queue.fail(job, f'No "{IMAGES_AND_FILES}" folder in {integration.name}.')
            return
        folder = await client.get_folder_by_name(JETO_ASSETS_FOLDER, root=root.ref) or await client.create_folder(
            JETO_ASSETS_FOLDER, root.ref, description="Images and files of campaigns made with Jeto"
        )
    except MarketoError as error:
        if sync_policy.should_retry(job.attempts, error.retryable):
            await queue.retry_later(job, str(error), worker.settings.retry_delay(job.attempts))
        else:
            await queue.fail(job, str(error))
        return
    row = await _save_folder(integration.id, folder)
    await Launcher.filter(id=launcher.id, assets_folder_id=None).update(assets_folder_id=row.id)
    await queue.finish(job)
