"""What a job's handler is given, and nothing more: its lease, its integration's Marketo client, the worker's
settings, where its checkpoints are, how Marketo records become rows, and a way to wake the worker.

Handlers never see the Worker: the loop, its lanes and its leases are the runner's alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import sync_policy
from domain.jobs import Priority
from domain.models import Job, PlatformIntegration
from marketo.client import MarketoClient
from marketo.errors import MarketoError
from marketo.worker import queue
from marketo.worker.store import RowStore

Checkpoint = Callable[[], None]  # raises when the work must stop (lease lost, worker stopping)


def no_checkpoint() -> None:
    pass


@dataclass
class WorkerSettings:
    capacity: int = 20  # syncs run at once by one process
    interactive_capacity: int = 5  # more integrations owned at once for their interactive jobs only
    poll_interval: float = 1.0  # a safety net: work queued by this process, or announced, wakes the worker at once
    sync_cadence: timedelta = timedelta(minutes=60)
    full_sync_every: timedelta = sync_policy.FULL_SYNC_EVERY
    schedule_interval: float = 30.0  # recurring syncs and stranded runs are looked for this often
    retry_delay: Callable[[int], timedelta] = sync_policy.retry_delay
    lease: timedelta = queue.LEASE  # a dead worker's integrations are taken over once this lapses
    clock: Callable[[], float] = time.monotonic  # paces progress events
    stop_grace: float = 5.0  # seconds a stopping worker gives jobs to reach a checkpoint before cancelling them
    resume_syncs: bool = True  # a sync taken over resumes its listings when safe (resume.py); off, it starts over


@dataclass(frozen=True)
class JobContext:
    lease: queue.Lease
    settings: WorkerSettings
    clients: Callable[[PlatformIntegration, Priority], MarketoClient]
    checkpoint: Checkpoint = no_checkpoint
    wake: Callable[[], None] = lambda: None
    store: RowStore = field(default_factory=RowStore)

    def client(self, integration: PlatformIntegration, priority: Priority = Priority.INTERACTIVE) -> MarketoClient:
        """Every Marketo call of an integration goes through its worker's token cache and limiter; a bulk job's
        calls go after those a user waits for, and leave them a reserve."""
        return self.clients(integration, priority)

    def next_attempt(self, job: Job, error: MarketoError) -> datetime | None:
        """When a job that failed with `error` is tried again, or None when it gives up: the one decision, for
        every kind of job (a used-up daily quota waits for its reset; transient errors back off)."""
        return sync_policy.next_attempt_after_failure(
            job.attempts, error.code, error.retryable, queue.now(), self.settings.retry_delay(job.attempts)
        )
