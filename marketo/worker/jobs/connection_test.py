"""TEST_CONNECTION: asks the instance for a token with the integration's current credentials, records the status."""

from __future__ import annotations

from domain import platform_integrations
from domain.models import Job, PlatformIntegration
from marketo import connection
from marketo.worker import queue
from marketo.worker.context import JobContext


async def handle(context: JobContext, job: Job) -> None:
    integration = await PlatformIntegration.get(id=job.platform_integration_id)
    if integration.deleted_at is None:
        status, _ = await connection.test(context.client(integration))
        async with context.lease.held():
            await platform_integrations.record_connection(integration.id, status)
    await queue.finish(job)


async def give_up(context: JobContext, job: Job, message: str) -> None:
    """The status stays as it was: the next test, or sync, records one."""
    await queue.fail(job, message)
