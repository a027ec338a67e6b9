"""Sync runs: one sync of one integration."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import sync_runs as resolve
from resolvers.sync_runs import SyncRunRecord
from schema.enums import SyncState, SyncTrigger
from schema.nodes import Info, Node, related, shown_as
from schema.user_errors import UserError

if TYPE_CHECKING:
    from schema.integrations import PlatformIntegration

PlatformIntegrationType = Annotated["PlatformIntegration", strawberry.lazy("schema.integrations")]


@strawberry.type(description="One sync of one integration: what a job list shows.")
class SyncRun(Node):
    platform_integration: PlatformIntegrationType = related(resolve.INTEGRATION)
    trigger: SyncTrigger
    state: SyncState
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    folders_synced: int
    programs_synced: int
    attempts: int = strawberry.field(
        description="How many times it was tried; a retry follows a transient Marketo failure."
    )
    error: str | None
    next_attempt_at: datetime | None = strawberry.field(
        description="In ERROR between retries: when the next attempt starts."
    )

    is_type_of = shown_as(SyncRunRecord)


@strawberry.type
class SyncPayload:
    sync_run: SyncRun | None = strawberry.field(
        default=None, description="The run that was queued, or the one already queued or running for this integration."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SyncRunMutations:
    @strawberry.mutation(
        description="Admins only. Queues a sync of the integration's folders and programs; a second call while "
        "one is queued or running returns that one."
    )
    async def sync_platform_integration(self, info: Info, id: strawberry.ID) -> SyncPayload:
        return await resolve.sync(info, id)
