"""ASSETS_FOLDER: a launcher's images-and-files folder, "Jeto", found in its own instance or created there."""

from __future__ import annotations

import logging

from tortoise.expressions import Subquery

from domain import jobs
from domain.changes import changing
from domain.models import Job, JobKind, Launcher, MarketoFolder, PlatformIntegration
from marketo.client import MarketoClient
from marketo.errors import MarketoError
from marketo.models import Folder, FolderRef
from marketo.worker import queue
from marketo.worker.context import JobContext
from marketo.worker.jobs.campaigns import CannotProvision

log = logging.getLogger("jeto.worker")

JETO_ASSETS_FOLDER = "Jeto"
IMAGES_AND_FILES = "Images and Files"


async def handle(context: JobContext, job: Job) -> None:
    """Finds the launcher's instance's "Jeto" images-and-files folder, or creates it there."""
    launcher = await Launcher.get_or_none(id=job.launcher_id)
    if launcher is None or launcher.deleted_at is not None or launcher.assets_folder_id is not None:
        await queue.finish(job)  # chosen by the user meanwhile: keep their choice
        return
    integration = await PlatformIntegration.get(id=launcher.platform_integration_id)
    client = context.client(integration)
    try:
        folder = await _jeto_folder(client, launcher, integration)
    except CannotProvision as problem:
        await _assets_folder_failed(job, launcher, str(problem))
        return
    except MarketoError as error:
        at = context.next_attempt(job, error)
        if at is not None:
            await queue.retry_later(job, str(error), at=at)
        else:
            await _assets_folder_failed(job, launcher, str(error))
        return
    async with context.lease.held():
        row = await context.store.save_folder(integration.id, folder)
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


async def queue_missing(integration_id: int) -> int:
    """After a successful sync of an integration: each of its launchers still without an assets folder tries again.

    The worker calls this once the sync is recorded; returns how many jobs were queued.
    """
    waiting = Job.filter(kind=JobKind.ASSETS_FOLDER, state__in=queue.ACTIVE, launcher_id__isnull=False).values(
        "launcher_id"
    )
    async with changing():  # the jobs queued are announced once committed
        launchers = await Launcher.filter(
            platform_integration_id=integration_id, deleted_at=None, assets_folder_id=None
        ).exclude(id__in=Subquery(waiting))
        for launcher in launchers:
            await jobs.enqueue(JobKind.ASSETS_FOLDER, integration_id, launcher_id=launcher.id)
    return len(launchers)


async def give_up(context: JobContext, job: Job, message: str) -> None:
    """The launcher keeps no assets folder until its integration's next successful sync queues another try."""
    await queue.fail(job, message)
