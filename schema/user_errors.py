"""What every mutation may answer instead of a change: `userErrors`, the reasons nothing changed."""

from __future__ import annotations

import strawberry

from schema.enums import UserErrorCode


@strawberry.type(description="A problem with the caller's request, returned as data; the mutation changed nothing.")
class UserError:
    code: UserErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "credentials", "restEndpoint"].'
    )
    message: str


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
