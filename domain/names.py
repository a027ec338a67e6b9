"""What text typed by a user may look like: names, and any text we store."""

from __future__ import annotations

import unicodedata

from domain.errors import UserError, UserErrorCode

MAX_NAME_LENGTH = 120


def clean_name(value: str) -> str:
    return " ".join(value.split())


def unstorable(value: str) -> str | None:
    """Why the text cannot be stored as typed: control characters (NUL among them: PostgreSQL refuses it) or
    lone surrogates (not encodable as UTF-8), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains characters that are not valid Unicode text"
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return "cannot contain control characters"
    return None


def name_error(value: str, field: tuple[str, ...], *, max_length: int = MAX_NAME_LENGTH) -> UserError | None:
    cleaned = clean_name(value)
    if not cleaned:  # blank, tabs and newlines included: "empty" says what is wrong
        return UserError(UserErrorCode.INVALID_INPUT, "The name cannot be empty.", field)
    problem = unstorable(value)
    if problem:
        return UserError(UserErrorCode.INVALID_INPUT, f"The name {problem}.", field)
    if len(cleaned) > max_length:
        return UserError(
            UserErrorCode.INVALID_INPUT,
            f"The name is {len(cleaned)} characters long; at most {max_length} are allowed.",
            field,
        )
    return None
