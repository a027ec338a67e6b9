"""API keys: what a partner's server signs in with, shown once at creation and never after."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import api_keys as resolve
from resolvers.api_keys import ApiKeyRecord
from schema.accounts import User
from schema.enums import ApiKeyScope
from schema.nodes import Info, Node, related, shown_as
from schema.user_errors import UserError


@strawberry.type(
    description="A key an account's servers sign in with (`Authorization: Bearer jeto_…`): it sees what an admin "
    "sees, and writes only if its scope is READ_WRITE. Admins only."
)
class ApiKey(Node):
    name: str
    scope: ApiKeyScope
    hint: str = strawberry.field(
        description="The key's prefix and last four characters (part of its checksum), to tell keys apart; the key "
        "itself is shown once, by createApiKey."
    )
    created_at: datetime
    created_by: User | None = related(resolve.CREATED_BY, description="The admin who created it.")
    last_used_at: datetime | None = strawberry.field(
        description="When the key last signed in, to the minute; null if it never did."
    )
    expires_at: datetime | None = strawberry.field(description="Null: it never expires.")
    revoked_at: datetime | None

    is_type_of = shown_as(ApiKeyRecord)


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    key: str | None = strawberry.field(
        default=None,
        description="The key itself, shown this once: store it in the partner server's secrets now. Jeto keeps only "
        "its hash and cannot show it again; a lost key is revoked and replaced.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(
        description="Admins only, signed in as themselves (not with a key). The key is in the payload's `key`, "
        "this once."
    )
    async def create_api_key(
        self, info: Info, name: str, scope: ApiKeyScope, expires_at: datetime | None = None
    ) -> CreateApiKeyPayload:
        return await resolve.create(info, name, scope, expires_at)

    @strawberry.mutation(
        description="Admins only, signed in as themselves. At once: the key gets 401 from its next request, and "
        "its open websockets are closed (4403)."
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyPayload:
        return await resolve.revoke(info, id)
