"""The object types of the graph. Each wraps one stored row; nested rows come through DataLoaders."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Private

from domain import entitlements, models, sync_state
from domain.launchers import creation_check
from domain.names import unstorable
from resolvers.context import Context
from resolvers.errors import BadUserInput, Forbidden, NotFound
from resolvers.ids import pk_argument
from resolvers.pagination import after_id, build_connection, check_first, paginate
from schema.connections import Connection
from schema.enums import CampaignStatus, ConnectionStatus, Role, SyncState, SyncTrigger, UserErrorCode, Vendor
from schema.ids import encode_id

Info = strawberry.Info[Context, None]


@strawberry.interface(description="Anything with a global, opaque id that `Query.node` can fetch back.")
class Node:
    id: strawberry.ID


def _gid(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(encode_id(type_name, pk))


@strawberry.type(
    description="A person of the account. Admins see every user; a collaborator sees the users reachable through "
    "what they may see (themselves, whoever submitted a campaign they see, the collaborators of launchers granted "
    "to them), through fields and `node` alike."
)
class User(Node):
    model: Private[models.User]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("User", self.model.id)

    @strawberry.field
    def email(self) -> str:
        return self.model.email

    @strawberry.field
    def name(self) -> str | None:
        return self.model.name

    @strawberry.field
    def role(self) -> Role:
        return self.model.role


@strawberry.type
class PlanLimits:
    platform_integrations: int = strawberry.field(
        description="How many integrations the plan includes; 1 unless changed by the account manager."
    )
    users: int | None = strawberry.field(description="Reserved for a future limit on users; null means unlimited.")


@strawberry.type
class Plan:
    name: str
    limits: PlanLimits


@strawberry.type
class LauncherCreation:
    allowed: bool
    reason: UserErrorCode | None
    message: str | None


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
    id: strawberry.ID
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

    @classmethod
    def of(cls, pi: models.PlatformIntegration) -> SyncStatus:
        return cls(
            id=_gid("SyncStatus", pi.id),
            platform_integration_id=_gid("PlatformIntegration", pi.id),
            state=pi.sync_state,
            started_at=pi.sync_started_at,
            finished_at=pi.sync_finished_at,
            last_succeeded_at=pi.last_succeeded_at,
            folders_synced=pi.folders_synced,
            programs_synced=pi.programs_synced,
            error=pi.sync_error if pi.sync_state is sync_state.SyncState.ERROR else None,
            next_attempt_at=pi.next_sync_attempt_at,
        )


@strawberry.type
class PlatformIntegration(Node):
    model: Private[models.PlatformIntegration]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("PlatformIntegration", self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def vendor(self) -> Vendor:
        return self.model.vendor

    @strawberry.field
    def is_default(self) -> bool:
        return self.model.is_default

    @strawberry.field(description="Created beyond the plan's limit after the viewer accepted the free trial.")
    def is_trial(self) -> bool:
        return self.model.is_trial

    @strawberry.field
    def connection_status(self) -> ConnectionStatus:
        return self.model.connection_status

    @strawberry.field(description="Admins only; null for collaborators.")
    def credentials(self, info: Info) -> MarketoCredentials | None:
        if not info.context.viewer.is_admin:
            return None
        return MarketoCredentials(
            client_id=self.model.client_id,
            rest_endpoint=self.model.rest_endpoint,
            identity_endpoint=self.model.identity_endpoint,
            client_secret_hint=self.model.client_secret_hint,
        )

    @strawberry.field
    def sync_status(self) -> SyncStatus:
        return SyncStatus.of(self.model)

    @strawberry.field(description="Folders synced from this integration's Marketo instance only.")
    async def folders(
        self, search: str | None = None, first: int | None = 100, after: str | None = None
    ) -> Connection[MarketoFolder]:
        query = models.MarketoFolder.filter(platform_integration_id=self.model.id)
        if search:
            query = query.filter(name__icontains=_search(search))
        return await paginate(
            query,
            first=first,
            default_first=100,
            after=after,
            wrap=MarketoFolder.wrap,
            listing="PlatformIntegration.folders",
        )

    @strawberry.field(description="Programs synced from this integration's Marketo instance only.")
    async def programs(
        self,
        info: Info,
        folder_id: strawberry.ID | None = None,
        search: str | None = None,
        first: int | None = 100,
        after: str | None = None,
    ) -> Connection[MarketoProgram]:
        query = models.MarketoProgram.filter(platform_integration_id=self.model.id)
        if folder_id is not None:
            folder = pk_argument(folder_id, "MarketoFolder", "folderId")
            if not await models.MarketoFolder.filter(id=folder, platform_integration_id=self.model.id).exists():
                raise NotFound("No folder with this id in this platform integration.")
            query = query.filter(folder_id=folder)
        if search:
            query = query.filter(name__icontains=_search(search))
        return await paginate(
            query,
            first=first,
            default_first=100,
            after=after,
            wrap=MarketoProgram.wrap,
            listing="PlatformIntegration.programs",
        )

    @strawberry.field(description="Past and current syncs, newest first.")
    async def sync_runs(self, first: int | None = 20, after: str | None = None) -> Connection[SyncRun]:
        query = models.SyncRun.filter(platform_integration_id=self.model.id)
        return await paginate(
            query,
            first=first,
            default_first=20,
            after=after,
            wrap=SyncRun.wrap,
            newest_first=True,
            listing="PlatformIntegration.syncRuns",
        )

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @classmethod
    def wrap(cls, model: models.PlatformIntegration) -> PlatformIntegration:
        return cls(model=model)


def _search(value: str) -> str:
    problem = unstorable(value)
    if problem:
        raise BadUserInput(f"`search` {problem}.")
    return value


async def _integration(info: Info, pk: int) -> PlatformIntegration:
    row = await info.context.loaders.integration.load(pk)
    assert row is not None, "an integration is soft-deleted, never removed"
    return PlatformIntegration(model=row)


@strawberry.type(description="One sync of one integration: what a job list shows.")
class SyncRun(Node):
    model: Private[models.SyncRun]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("SyncRun", self.model.id)

    @strawberry.field
    async def platform_integration(self, info: Info) -> PlatformIntegration:
        return await _integration(info, self.model.platform_integration_id)

    @strawberry.field
    def trigger(self) -> SyncTrigger:
        return self.model.trigger

    @strawberry.field
    def state(self) -> SyncState:
        return self.model.state

    @strawberry.field
    def queued_at(self) -> datetime:
        return self.model.queued_at

    @strawberry.field
    def started_at(self) -> datetime | None:
        return self.model.started_at

    @strawberry.field
    def finished_at(self) -> datetime | None:
        return self.model.finished_at

    @strawberry.field
    def folders_synced(self) -> int:
        return self.model.folders_synced

    @strawberry.field
    def programs_synced(self) -> int:
        return self.model.programs_synced

    @strawberry.field(description="How many times it was tried; a retry follows a transient Marketo failure.")
    def attempts(self) -> int:
        return self.model.attempts

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error

    @strawberry.field(description="In ERROR between retries: when the next attempt starts.")
    def next_attempt_at(self) -> datetime | None:
        return self.model.next_attempt_at

    @classmethod
    def wrap(cls, model: models.SyncRun) -> SyncRun:
        return cls(model=model)


@strawberry.type
class MarketoFolder(Node):
    model: Private[models.MarketoFolder]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("MarketoFolder", self.model.id)

    @strawberry.field
    def marketo_id(self) -> int:
        return self.model.marketo_id

    @strawberry.field(description="Folder or Program, as Marketo types the container.")
    def marketo_type(self) -> str:
        return self.model.marketo_type

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def path(self) -> str:
        return self.model.path

    @strawberry.field
    async def platform_integration(self, info: Info) -> PlatformIntegration:
        return await _integration(info, self.model.platform_integration_id)

    @classmethod
    def wrap(cls, model: models.MarketoFolder) -> MarketoFolder:
        return cls(model=model)


async def _folder(info: Info, pk: int | None) -> MarketoFolder | None:
    row = await info.context.loaders.folder.load(pk) if pk is not None else None
    return MarketoFolder(model=row) if row is not None else None


@strawberry.type
class MarketoProgram(Node):
    model: Private[models.MarketoProgram]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("MarketoProgram", self.model.id)

    @strawberry.field
    def marketo_id(self) -> int:
        return self.model.marketo_id

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def type(self) -> str:
        return self.model.type

    @strawberry.field
    def channel(self) -> str | None:
        return self.model.channel

    @strawberry.field
    async def folder(self, info: Info) -> MarketoFolder | None:
        return await _folder(info, self.model.folder_id)

    @strawberry.field
    def url(self) -> str | None:
        return self.model.url

    @strawberry.field
    async def platform_integration(self, info: Info) -> PlatformIntegration:
        return await _integration(info, self.model.platform_integration_id)

    @classmethod
    def wrap(cls, model: models.MarketoProgram) -> MarketoProgram:
        return cls(model=model)


@strawberry.type
class Launcher(Node):
    model: Private[models.Launcher]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("Launcher", self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    async def platform_integration(self, info: Info) -> PlatformIntegration:
        return await _integration(info, self.model.platform_integration_id)

    @strawberry.field
    async def destination_folder(self, info: Info) -> MarketoFolder | None:
        return await _folder(info, self.model.destination_folder_id)

    @strawberry.field
    async def template_program(self, info: Info) -> MarketoProgram | None:
        pk = self.model.template_program_id
        row = await info.context.loaders.program.load(pk) if pk is not None else None
        return MarketoProgram(model=row) if row is not None else None

    @strawberry.field(
        description="Images and files folder; without a choice, the 'Jeto' folder of the launcher's own instance, "
        "created there if missing."
    )
    async def assets_folder(self, info: Info) -> MarketoFolder | None:
        return await _folder(info, self.model.assets_folder_id)

    @strawberry.field
    async def campaigns(self, info: Info, first: int | None = 50, after: str | None = None) -> Connection[Campaign]:
        first = check_first(first, 50)
        start = after_id(after, "Launcher.campaigns", newest_first=True)
        rows, total = await info.context.loaders.campaign_page.load((self.model.id, first, start))
        return build_connection(rows, first, total, Campaign.wrap, listing="Launcher.campaigns", newest_first=True)

    @strawberry.field(description="Collaborators granted this launcher (admins see every launcher anyway).")
    async def collaborators(self, info: Info) -> list[User]:
        return [User(model=user) for user in await info.context.loaders.collaborators.load(self.model.id)]

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="Set once the launcher is deleted; its campaigns stay readable.")
    def deleted_at(self) -> datetime | None:
        return self.model.deleted_at

    @classmethod
    def wrap(cls, model: models.Launcher) -> Launcher:
        return cls(model=model)


@strawberry.type
class Campaign(Node):
    model: Private[models.Campaign]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("Campaign", self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    async def launcher(self, info: Info) -> Launcher:
        row = await info.context.loaders.launcher.load(self.model.launcher_id)
        assert row is not None, "a launcher is soft-deleted, never removed"
        return Launcher(model=row)

    @strawberry.field
    def status(self) -> CampaignStatus:
        return self.model.status

    @strawberry.field(description="The program created for this campaign in the launcher's Marketo instance.")
    async def marketo_program(self, info: Info) -> MarketoProgram | None:
        pk = self.model.marketo_program_id
        row = await info.context.loaders.program.load(pk) if pk is not None else None
        return MarketoProgram(model=row) if row is not None else None

    @strawberry.field
    def submitted_at(self) -> datetime:
        return self.model.submitted_at

    @strawberry.field
    async def submitted_by(self, info: Info) -> User:
        row = await info.context.loaders.user.load(self.model.submitted_by_id)
        assert row is not None
        return User(model=row)

    @strawberry.field
    def error(self) -> str | None:
        return self.model.error

    @classmethod
    def wrap(cls, model: models.Campaign) -> Campaign:
        return cls(model=model)


@strawberry.type
class Account(Node):
    model: Private[models.Account]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("Account", self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def plan(self) -> Plan:
        limits = entitlements.PlanLimits.from_data(self.model.plan_limits)
        return Plan(
            name=self.model.plan_name,
            limits=PlanLimits(platform_integrations=limits.platform_integrations, users=limits.users),
        )

    @strawberry.field(description="Every integration of the account, default first, then by creation.")
    async def platform_integrations(self, info: Info) -> list[PlatformIntegration]:
        rows = await info.context.viewer.integrations().order_by("-is_default", "id")
        for row in rows:
            info.context.loaders.integration.prime(row.id, row)
        return [PlatformIntegration(model=row) for row in rows]

    @strawberry.field
    async def default_platform_integration(self, info: Info) -> PlatformIntegration | None:
        row = await info.context.viewer.integrations().filter(is_default=True).first()
        return PlatformIntegration(model=row) if row is not None else None

    @strawberry.field(description="Launchers the viewer may see; optionally only those of one integration.")
    async def launchers(
        self,
        info: Info,
        platform_integration_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[Launcher]:
        query = info.context.viewer.launchers()
        if platform_integration_id is not None:
            query = query.filter(platform_integration_id=await _visible_integration(info, platform_integration_id))
        return await paginate(query, first=first, after=after, wrap=Launcher.wrap, listing="Account.launchers")

    @strawberry.field(description="Campaigns the viewer may see; optionally only those of one integration or launcher.")
    async def campaigns(
        self,
        info: Info,
        platform_integration_id: strawberry.ID | None = None,
        launcher_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[Campaign]:
        viewer = info.context.viewer
        query = viewer.campaigns()
        if platform_integration_id is not None:
            pi = await _visible_integration(info, platform_integration_id)
            query = query.filter(launcher__platform_integration_id=pi)
        if launcher_id is not None:
            pk = pk_argument(launcher_id, "Launcher", "launcherId")
            if not await viewer.launchers(include_deleted=True).filter(id=pk).exists():
                raise NotFound("No launcher with this id.")
            query = query.filter(launcher_id=pk)
        return await paginate(
            query, first=first, after=after, wrap=Campaign.wrap, newest_first=True, listing="Account.campaigns"
        )

    @strawberry.field(
        description="ERROR if any integration is in ERROR; else SYNCING if any is QUEUED or SYNCING; "
        "else COMPLETED if all are COMPLETED; else NEVER_SYNCED. For a collaborator, over the integrations they "
        "see (those behind their launchers), as `accountSyncStatus` and `platformIntegrations` are."
    )
    async def sync_state(self, info: Info) -> SyncState:
        states = await info.context.viewer.integrations().values_list("sync_state", flat=True)
        return sync_state.account_sync_state(sync_state.SyncState(s) for s in states)

    @strawberry.field(description="Whether createLauncher would be accepted now, and if not, why.")
    async def launcher_creation(self, info: Info) -> LauncherCreation:
        if not info.context.viewer.is_admin:
            return LauncherCreation(
                allowed=False, reason=UserErrorCode.FORBIDDEN, message="Only an admin can create launchers."
            )
        error = await creation_check(self.model.id)
        if error is None:
            return LauncherCreation(allowed=True, reason=None, message=None)
        return LauncherCreation(allowed=False, reason=error.code, message=error.message)

    @strawberry.field(description="Admins only; collaborators get a FORBIDDEN error.")
    async def users(self, info: Info) -> list[User]:
        if not info.context.viewer.is_admin:
            raise Forbidden("Only an admin can list the account's users.")
        return [User(model=row) for row in await info.context.viewer.users().order_by("id")]


async def _visible_integration(info: Info, value: strawberry.ID) -> int:
    pk = pk_argument(value, "PlatformIntegration", "platformIntegrationId")
    if not await info.context.viewer.integrations().filter(id=pk).exists():
        raise NotFound("No platform integration with this id.")
    return pk
