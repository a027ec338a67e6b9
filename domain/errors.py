"""Expected failures of a use case, carried back to the caller as data."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class UserErrorCode(enum.Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    PLATFORM_INTEGRATION_REQUIRED = "PLATFORM_INTEGRATION_REQUIRED"
    PLATFORM_INTEGRATION_IMMUTABLE = "PLATFORM_INTEGRATION_IMMUTABLE"
    SYNC_IN_PROGRESS = "SYNC_IN_PROGRESS"
    WRONG_PLATFORM_INTEGRATION = "WRONG_PLATFORM_INTEGRATION"
    PLATFORM_INTEGRATION_IN_USE = "PLATFORM_INTEGRATION_IN_USE"
    ENDPOINT_NOT_ALLOWED = "ENDPOINT_NOT_ALLOWED"


@dataclass(frozen=True)
class UserError:
    code: UserErrorCode
    message: str
    field: tuple[str, ...] | None = None


class Rejected(Exception):
    """Raised inside a use case's transaction: it rolls back and the caller gets the errors."""

    def __init__(self, errors: Sequence[UserError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = list(errors)


def reject_if_any(errors: Sequence[UserError | None]) -> None:
    found = [error for error in errors if error is not None]
    if found:
        raise Rejected(found)


def forbidden(message: str = "Only an admin of the account can do this.") -> Rejected:
    return Rejected([UserError(UserErrorCode.FORBIDDEN, message)])


def not_found(what: str, field: tuple[str, ...]) -> UserError:
    return UserError(UserErrorCode.NOT_FOUND, f"No {what} with this id.", field)
