"""One module per kind of job: what it does (`handle`) and what happens when it gives up (`give_up`).

The runner runs `handle(context, job)` for each job it takes; it calls `give_up(context, job, message)` when the
job cannot be run (its workers died too often) or failed unexpectedly, so that nothing is left showing work
in progress that nobody will finish.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.models import Job, JobKind
from marketo.worker.context import JobContext
from marketo.worker.jobs import assets_folder, campaign_program, connection_test, program_rename, sync


@dataclass(frozen=True)
class JobHandler:
    handle: Callable[[JobContext, Job], Awaitable[None]]
    give_up: Callable[[JobContext, Job, str], Awaitable[None]]


HANDLERS: dict[JobKind, JobHandler] = {
    JobKind.SYNC: JobHandler(sync.handle, sync.give_up),
    JobKind.TEST_CONNECTION: JobHandler(connection_test.handle, connection_test.give_up),
    JobKind.PROVISION_CAMPAIGN: JobHandler(campaign_program.handle, campaign_program.give_up),
    JobKind.RENAME_PROGRAM: JobHandler(program_rename.handle, program_rename.give_up),
    JobKind.ASSETS_FOLDER: JobHandler(assets_folder.handle, assets_folder.give_up),
}
