"""The audit trail: who changed an account's integrations, launchers' integration and collaborators, plan limits,
trials and API keys, when, and from which request."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import audit as resolve
from resolvers.audit import AuditEventRecord
from schema.accounts import User
from schema.api_keys import ApiKey
from schema.enums import AuditAction, AuditActorKind
from schema.nodes import Node, related, shown_as

if TYPE_CHECKING:
    from schema.integrations import PlatformIntegration
    from schema.launchers import Launcher

PlatformIntegrationType = Annotated["PlatformIntegration", strawberry.lazy("schema.integrations")]
LauncherType = Annotated["Launcher", strawberry.lazy("schema.launchers")]


@strawberry.type(description='One value that changed; a secret\'s reads only "changed", never a value.')
class AuditChange:
    field: str = strawberry.field(description="As the API names it: name, clientId, clientSecret, isDefault…")
    before: str | None
    after: str | None


@strawberry.type(description="Who made a change: a user, an API key, or the account manager (Jeto's staff).")
class AuditActor:
    kind: AuditActorKind
    user: User | None = related(resolve.ACTOR_USER, description="When kind is USER.")
    api_key: ApiKey | None = related(resolve.ACTOR_API_KEY, description="When kind is API_KEY.")


@strawberry.type(description="One change, written in the transaction that made it.")
class AuditEvent(Node):
    action: AuditAction
    at: datetime
    actor: AuditActor
    request_id: str | None = strawberry.field(
        description="The X-Request-ID of the request that made it (a websocket's: of its opening request); null "
        "for the account manager's commands."
    )
    platform_integration: PlatformIntegrationType | None = related(
        resolve.INTEGRATION, description="The integration it is about, deleted or not."
    )
    launcher: LauncherType | None = related(resolve.LAUNCHER)
    api_key: ApiKey | None = related(resolve.API_KEY, description="The API key it is about (API_KEY_… actions).")
    changes: list[AuditChange]

    is_type_of = shown_as(AuditEventRecord)
