"""Platform integrations: a Marketo instance with its credentials, its sync status, its inputs and payloads."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import integrations as resolve
from resolvers import marketo_assets, sync_runs
from resolvers.integrations import IntegrationRecord, SyncStatusRecord
from schema.connections import Connection
from schema.enums import ConnectionStatus, SyncState, Vendor
from schema.nodes import Info, Node, related, shown_as
from schema.user_errors import DeletePayload, UserError

if TYPE_CHECKING:
    from schema.marketo_assets import MarketoFolder, MarketoProgram
    from schema.sync_runs import SyncRun

MarketoFolderType = Annotated["MarketoFolder", strawberry.lazy("schema.marketo_assets")]
MarketoProgramType = Annotated["MarketoProgram", strawberry.lazy("schema.marketo_assets")]
SyncRunType = Annotated["SyncRun", strawberry.lazy("schema.sync_runs")]


@strawberry.type(description="The secret is write-only: it is never returned, only a hint of its last characters.")
class MarketoCredentials:
    client_id: str
    rest_endpoint: str
    identity_endpoint: str
    client_secret_hint: str


@strawberry.type(
    description="An integration's sync status. Its `id` is the same in every payload and query result about one "
    "integration (and differs from the integration's own), so a client cache keeps one SyncStatus per integration "
    "and updates it from each subscription payload."
)
class SyncStatus(Node):
    platform_integration_id: strawberry.ID
    state: SyncState
    started_at: datetime | None
    finished_at: datetime | None
    last_succeeded_at: datetime | None
    folders_synced: int
    programs_synced: int
    error: str | None = strawberry.field(
        description="Why the last sync failed, in words a user can act on; null unless state is ERROR."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="In ERROR between retries: when the next attempt starts."
    )
    deleted_at: datetime | None = strawberry.field(
        description="Set in the last status a subscription sends about an integration that was deleted: "
        "`syncStatus` then completes, and `accountSyncStatus` stops sending the integration's changes."
    )

    is_type_of = shown_as(SyncStatusRecord)


def _folders(  # noqa: ANN202 - the field's type is the annotation in the class
    root: IntegrationRecord, info: Info, search: str | None = None, first: int | None = 100, after: str | None = None
):
    return marketo_assets.FOLDERS.resolve(root, info, search=search, first=first, after=after)


def _programs(  # noqa: ANN202
    root: IntegrationRecord,
    info: Info,
    folder_id: strawberry.ID | None = None,
    search: str | None = None,
    first: int | None = 100,
    after: str | None = None,
):
    return marketo_assets.PROGRAMS.resolve(root, info, folder_id=folder_id, search=search, first=first, after=after)


def _sync_runs(root: IntegrationRecord, info: Info, first: int | None = 20, after: str | None = None):  # noqa: ANN202
    return sync_runs.SYNC_RUNS.resolve(root, info, first=first, after=after)


@strawberry.type
class PlatformIntegration(Node):
    name: str
    vendor: Vendor
    is_default: bool
    is_trial: bool = strawberry.field(
        description="Created beyond the plan's limit after the viewer accepted the free trial."
    )
    connection_status: ConnectionStatus
    connection_message: str | None = strawberry.field(
        description="What to do about the connection status, in words an admin can act on; null when it is "
        "CONNECTED or UNTESTED."
    )

    credentials: MarketoCredentials | None = related(
        resolve.CREDENTIALS, description="Admins only; null for collaborators."
    )
    sync_status: SyncStatus
    folders: Connection[MarketoFolderType] = strawberry.field(
        resolver=_folders, description="Folders synced from this integration's Marketo instance only."
    )
    programs: Connection[MarketoProgramType] = strawberry.field(
        resolver=_programs, description="Programs synced from this integration's Marketo instance only."
    )
    sync_runs: Connection[SyncRunType] = strawberry.field(
        resolver=_sync_runs, description="Past and current syncs, newest first."
    )
    created_at: datetime

    is_type_of = shown_as(IntegrationRecord)


@strawberry.input
class MarketoCredentialsInput:
    client_id: str
    client_secret: str
    rest_endpoint: str = strawberry.field(description="e.g. https://123-ABC-456.mktorest.com/rest")
    identity_endpoint: str | None = strawberry.field(
        default=None, description="Defaults to restEndpoint with its final /rest replaced by /identity."
    )


@strawberry.input
class MarketoCredentialsUpdate:
    client_id: str | None = None
    client_secret: str | None = strawberry.field(default=None, description="Omitted: the stored secret is kept.")
    rest_endpoint: str | None = None
    identity_endpoint: str | None = None


@strawberry.input
class CreatePlatformIntegrationInput:
    name: str
    credentials: MarketoCredentialsInput
    vendor: Vendor = Vendor.MARKETO
    confirm_trial: bool = strawberry.field(
        default=False, description="Set after the user pressed Proceed on the trial confirmation."
    )


@strawberry.input
class UpdatePlatformIntegrationInput:
    id: strawberry.ID
    name: str | None = None
    credentials: MarketoCredentialsUpdate | None = None


@strawberry.type(
    description="Shown instead of creating the integration when the plan's limit is reached and confirmTrial was false."
)
class TrialConfirmation:
    title: str
    body: str
    confirm_label: str
    cancel_label: str
    limit: int
    used: int


@strawberry.type
class CreatePlatformIntegrationPayload:
    platform_integration: PlatformIntegration | None = None
    trial_confirmation: TrialConfirmation | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PlatformIntegrationPayload:
    platform_integration: PlatformIntegration | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class IntegrationMutations:
    @strawberry.mutation(
        description="Admins only. Over the plan's limit without confirmTrial: nothing is created and "
        "trialConfirmation is set."
    )
    async def create_platform_integration(
        self, info: Info, input: CreatePlatformIntegrationInput
    ) -> CreatePlatformIntegrationPayload:
        return await resolve.create(info, input)

    @strawberry.mutation(
        description="Admins only. Edit the name or the access credentials; the connection is tested again."
    )
    async def update_platform_integration(
        self, info: Info, input: UpdatePlatformIntegrationInput
    ) -> PlatformIntegrationPayload:
        return await resolve.update(info, input)

    @strawberry.mutation(description="Admins only. Exactly one integration of an account is the default at any time.")
    async def set_default_platform_integration(self, info: Info, id: strawberry.ID) -> PlatformIntegrationPayload:
        return await resolve.set_default(info, id)

    @strawberry.mutation(description="Admins only. Asks the instance for a token and records the connection status.")
    async def test_platform_integration_connection(self, info: Info, id: strawberry.ID) -> PlatformIntegrationPayload:
        return await resolve.test_connection(info, id)


@strawberry.type
class IntegrationDeletion:
    @strawberry.mutation(
        description="Admins only. Refused with PLATFORM_INTEGRATION_IN_USE while a launcher that is not deleted "
        "uses it."
    )
    async def delete_platform_integration(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await resolve.delete(info, id)


@strawberry.type
class IntegrationSubscriptions:
    @strawberry.subscription(description="The integration's current status at once, then every change, in order.")
    async def sync_status(self, info: Info, platform_integration_id: strawberry.ID) -> AsyncGenerator[SyncStatus, None]:
        async for status in resolve.sync_status(info, platform_integration_id):
            yield status

    @strawberry.subscription(
        description="The current status of every integration of the viewer's account at once, then every change "
        "of any of them."
    )
    async def account_sync_status(self, info: Info) -> AsyncGenerator[SyncStatus, None]:
        async for status in resolve.account_sync_status(info):
            yield status
