"""The worker's SYNC and TEST_CONNECTION jobs: how each ends, and what the integration then shows.

A sync that fails transiently is retried with backoff and shows ERROR with its next attempt meanwhile;
rejected credentials end it at once with INVALID_CREDENTIALS; a sync that ends in error emails the
account's admins. Every write happens under the worker's lease of the integration.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from domain import events, notifications, outbox, sync_policy
from domain.models import Account, ConnectionStatus, Job, PlatformIntegration, SyncRun
from marketo.errors import EndpointNotAllowed, InvalidCredentials, MarketoError
from marketo.limits import Priority
from marketo.worker import provisioning, queue, sync

if TYPE_CHECKING:
    from marketo.worker.runner import Worker

log = logging.getLogger("jeto.worker")


async def run_sync(worker: Worker, job: Job) -> None:
    lease = queue.lease_of(job)
    run = await SyncRun.get(id=job.sync_run_id)
    integration = await PlatformIntegration.get(id=job.platform_integration_id)
    if integration.deleted_at is not None:
        await queue.fail(job, "the integration was deleted")
        return

    async def announce(event: events.Event) -> None:
        await worker.publish(integration.account_id, event)

    await announce(await sync.start(lease, run))
    await run.refresh_from_db()
    try:
        await sync.sync_integration(
            lease, integration, run, worker.client_for(integration, Priority.BULK), announce,
            full_sync_every=worker.settings.full_sync_every, clock=worker.settings.clock,
            checkpoint=worker.checkpoint_of(integration.id),
        )  # fmt: skip
        await queue.finish(job)
    except InvalidCredentials as error:
        # Retrying cannot help: the user must enter new credentials.
        await sync_failed(
            worker, job, str(error), next_attempt_at=None, connection_status=ConnectionStatus.INVALID_CREDENTIALS
        )
    except EndpointNotAllowed as error:
        await sync_failed(
            worker, job, str(error), next_attempt_at=None, connection_status=ConnectionStatus.ENDPOINT_NOT_ALLOWED
        )
    except MarketoError as error:
        at = sync_policy.next_attempt_after_failure(
            run.attempts, error.code, error.retryable, queue.now(), worker.settings.retry_delay(run.attempts)
        )
        await sync_failed(worker, job, str(error), next_attempt_at=at)
    else:
        # The instance answers again: launchers whose "Jeto" assets folder could not be made try again.
        try:
            await provisioning.queue_missing_assets_folders(integration.id)
        except Exception:  # the sync itself is done and recorded; the next one tries this again
            log.exception("could not queue the missing assets folders of integration %s", integration.id)
        else:
            worker.wake()


async def sync_failed(
    worker: Worker,
    job: Job,
    message: str,
    *,
    next_attempt_at: datetime | None,
    connection_status: ConnectionStatus | None = None,
) -> None:
    """ERROR on the run and the integration, the job retried or failed, and the admins' email when it
    ends there: all in one transaction, under the lease."""
    integration = await PlatformIntegration.get(id=job.platform_integration_id)
    again = f"next attempt at {next_attempt_at:%Y-%m-%d %H:%M:%S} UTC" if next_attempt_at else "not retried"
    log.warning("sync of integration %s failed (%s): %s", integration.id, again, message)
    async with queue.lease_of(job).held():
        if next_attempt_at is not None:
            await queue.retry_later(job, message, at=next_attempt_at)
        else:
            await queue.fail(job, message)
        assert job.sync_run_id is not None
        event = await sync.record_failure(
            integration.id, job.sync_run_id, message, next_attempt_at=next_attempt_at,
            connection_status=connection_status,
        )  # fmt: skip
        if next_attempt_at is None:
            await _notify_admins(integration, message)
    await worker.publish(integration.account_id, event)


async def test_connection(worker: Worker, job: Job) -> None:
    """Records CONNECTED, INVALID_CREDENTIALS or UNREACHABLE for the integration's current credentials."""
    lease = queue.lease_of(job)
    integration = await PlatformIntegration.get(id=job.platform_integration_id)
    if integration.deleted_at is None:
        try:
            await sync.test_connection(lease, worker.client_for(integration))
        except InvalidCredentials:
            await sync.record_connection(lease, ConnectionStatus.INVALID_CREDENTIALS)
        except MarketoError:
            pass  # UNREACHABLE or ENDPOINT_NOT_ALLOWED, recorded by sync.test_connection
    await queue.finish(job)


async def _notify_admins(integration: PlatformIntegration, error: str) -> None:
    account = await Account.get(id=integration.account_id)
    subject, body = notifications.sync_failed(
        account=await outbox.account_label(account, integration),
        integration=integration.name,
        error=error,
        failed_on=queue.now(),
    )
    await outbox.notify_admins(account.id, subject, body)
