"""The account and its users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import accounts as resolve
from resolvers import api_keys, audit, campaigns, launchers
from resolvers.accounts import AccountRecord, UserRecord
from schema.connections import Connection
from schema.enums import AuditActorKind, Role, SyncState, UserErrorCode
from schema.nodes import Info, Node, shown_as

if TYPE_CHECKING:
    from schema.api_keys import ApiKey
    from schema.audit import AuditEvent
    from schema.campaigns import Campaign
    from schema.integrations import PlatformIntegration
    from schema.launchers import Launcher

PlatformIntegrationType = Annotated["PlatformIntegration", strawberry.lazy("schema.integrations")]
LauncherType = Annotated["Launcher", strawberry.lazy("schema.launchers")]
CampaignType = Annotated["Campaign", strawberry.lazy("schema.campaigns")]
ApiKeyType = Annotated["ApiKey", strawberry.lazy("schema.api_keys")]
AuditEventType = Annotated["AuditEvent", strawberry.lazy("schema.audit")]


@strawberry.type(
    description="A person of the account. Admins see every user; a collaborator sees the users reachable through "
    "what they may see (themselves, whoever submitted a campaign they see, the collaborators of launchers granted "
    "to them), through fields and `node` alike."
)
class User(Node):
    email: str
    name: str | None
    role: Role

    is_type_of = shown_as(UserRecord)


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


@strawberry.type
class Account(Node):
    name: str
    plan: Plan

    @strawberry.field(description="Every integration of the account, default first, then by creation.")
    def platform_integrations(self, info: Info) -> list[PlatformIntegrationType]:
        return resolve.INTEGRATIONS.resolve(self, info)

    @strawberry.field
    def default_platform_integration(self, info: Info) -> PlatformIntegrationType | None:
        return resolve.DEFAULT_INTEGRATION.resolve(self, info)

    @strawberry.field(description="Launchers the viewer may see; optionally only those of one integration.")
    def launchers(
        self,
        info: Info,
        platform_integration_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[LauncherType]:
        return launchers.LAUNCHERS.resolve(
            self, info, platform_integration_id=platform_integration_id, first=first, after=after
        )

    @strawberry.field(description="Campaigns the viewer may see; optionally only those of one integration or launcher.")
    def campaigns(
        self,
        info: Info,
        platform_integration_id: strawberry.ID | None = None,
        launcher_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[CampaignType]:
        return campaigns.ACCOUNT_CAMPAIGNS.resolve(
            self,
            info,
            platform_integration_id=platform_integration_id,
            launcher_id=launcher_id,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="ERROR if any integration is in ERROR; else SYNCING if any is QUEUED or SYNCING; "
        "else COMPLETED if all are COMPLETED; else NEVER_SYNCED. For a collaborator, over the integrations they "
        "see (those behind their launchers), as `accountSyncStatus` and `platformIntegrations` are."
    )
    def sync_state(self, info: Info) -> SyncState:
        return resolve.SYNC_STATE.resolve(self, info)

    @strawberry.field(description="Whether createLauncher would be accepted now, and if not, why.")
    def launcher_creation(self, info: Info) -> LauncherCreation:
        return launchers.LAUNCHER_CREATION.resolve(self, info)

    @strawberry.field(description="Admins only; collaborators get a FORBIDDEN error.")
    def users(self, info: Info) -> list[User]:
        return resolve.USERS.resolve(self, info)

    @strawberry.field(
        description="The account's API keys, oldest first (revoked ones too with includeRevoked). Admins only; "
        "collaborators get a FORBIDDEN error."
    )
    def api_keys(self, info: Info, include_revoked: bool = False) -> list[ApiKeyType]:
        return api_keys.API_KEYS.resolve(self, info, include_revoked=include_revoked)

    @strawberry.field(
        description="Who changed the account's integrations, launchers' integration and collaborators, plan limits, "
        "trials and API keys: newest first, optionally those of one integration, of one actor (a User's or an "
        "ApiKey's id) or of one kind of actor. Admins only; collaborators get a FORBIDDEN error."
    )
    def audit_events(
        self,
        info: Info,
        platform_integration_id: strawberry.ID | None = None,
        actor_id: strawberry.ID | None = None,
        actor_kind: AuditActorKind | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[AuditEventType]:
        return audit.AUDIT_EVENTS.resolve(
            self,
            info,
            platform_integration_id=platform_integration_id,
            actor_id=actor_id,
            actor_kind=actor_kind,
            first=first,
            after=after,
        )

    is_type_of = shown_as(AccountRecord)


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in user.")
    async def viewer(self, info: Info) -> User:
        return await resolve.viewer(info)

    @strawberry.field(description="The signed-in user's account.")
    async def account(self, info: Info) -> Account:
        return await resolve.account(info)
