"""What a name typed by a user may look like."""

from __future__ import annotations

from domain.errors import UserError, UserErrorCode

MAX_NAME_LENGTH = 120


def clean_name(value: str) -> str:
    return " ".join(value.split())


def name_error(value: str, field: tuple[str, ...], *, max_length: int = MAX_NAME_LENGTH) -> UserError | None:
    cleaned = clean_name(value)
    if not cleaned:
        return UserError(UserErrorCode.INVALID_INPUT, "The name cannot be empty.", field)
    if len(cleaned) > max_length:
        return UserError(
            UserErrorCode.INVALID_INPUT,
            f"The name is {len(cleaned)} characters long; at most {max_length} are allowed.",
            field,
        )
    if any(ord(ch) < 32 for ch in value):
        return UserError(UserErrorCode.INVALID_INPUT, "The name cannot contain control characters.", field)
    return None
