"""SYNC: one integration's folders and programs, listed from its own instance into its own rows.

A sync that fails transiently is retried with backoff and shows ERROR with its next attempt meanwhile; rejected
credentials, or endpoints no longer allowed, end it at once with that connection status; a sync that ends in
error emails the account's admins. Every write happens under the worker's lease of the integration, and every
status it changes is announced once committed (domain/changes.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain import notifications, outbox
from domain.jobs import Priority
from domain.models import Account, ConnectionStatus, Job, PlatformIntegration, SyncRun
from marketo import connection
from marketo.errors import EndpointNotAllowed, InvalidCredentials, MarketoError
from marketo.worker import queue, sync
from marketo.worker.context import JobContext
from marketo.worker.jobs import assets_folder

log = logging.getLogger("jeto.worker")


async def handle(context: JobContext, job: Job) -> None:
    run = await SyncRun.get(id=job.sync_run_id)
    integration = await PlatformIntegration.get(id=job.platform_integration_id)
    if integration.deleted_at is not None:
        await queue.fail(job, "the integration was deleted")
        return
    await sync.start(context.lease, run)
    await run.refresh_from_db()
    try:
        await sync.sync_integration(
            context.lease, integration, run, context.client(integration, Priority.BULK),
            full_sync_every=context.settings.full_sync_every, clock=context.settings.clock,
            checkpoint=context.checkpoint, store=context.store, resume=context.settings.resume_syncs,
        )  # fmt: skip
        await queue.finish(job)
    except (InvalidCredentials, EndpointNotAllowed) as error:
        # Retrying cannot help: the admin must correct the credentials or the endpoints.
        await failed(context, job, str(error), next_attempt_at=None, connection_status=connection.status_of(error))
    except MarketoError as error:
        await failed(context, job, str(error), next_attempt_at=context.next_attempt(job, error))
    else:
        # The instance answers again: launchers whose "Jeto" assets folder could not be made try again.
        try:
            queued = await assets_folder.queue_missing(integration.id)
        except Exception:  # the sync itself is done and recorded; the next one tries this again
            log.exception("could not queue the missing assets folders of integration %s", integration.id)
        else:
            if queued:
                context.wake()


async def give_up(context: JobContext, job: Job, message: str) -> None:
    if job.sync_run_id is None:
        await queue.fail(job, message)
        return
    await failed(context, job, message, next_attempt_at=None)


async def failed(
    context: JobContext,
    job: Job,
    message: str,
    *,
    next_attempt_at: datetime | None,
    connection_status: ConnectionStatus | None = None,
) -> None:
    """ERROR on the run and the integration, the job retried or failed, and the admins' email when it ends
    there: all in one transaction, under the lease."""
    integration = await PlatformIntegration.get(id=job.platform_integration_id)
    again = f"next attempt at {next_attempt_at:%Y-%m-%d %H:%M:%S} UTC" if next_attempt_at else "not retried"
    log.warning("sync of integration %s failed (%s): %s", integration.id, again, message)
    async with context.lease.held():
        if next_attempt_at is not None:
            await queue.retry_later(job, message, at=next_attempt_at)
        else:
            await queue.fail(job, message)
        assert job.sync_run_id is not None
        await sync.record_failure(
            integration.id, job.sync_run_id, message, next_attempt_at=next_attempt_at,
            connection_status=connection_status,
        )  # fmt: skip
        if next_attempt_at is None:
            await _notify_admins(integration, message)


async def _notify_admins(integration: PlatformIntegration, error: str) -> None:
    account = await Account.get(id=integration.account_id)
    subject, body = notifications.sync_failed(
        account=await outbox.account_label(account, integration),
        integration=integration.name,
        error=error,
        failed_on=queue.now(),
    )
    await outbox.notify_admins(account.id, subject, body)
