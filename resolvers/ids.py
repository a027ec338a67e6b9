"""Opaque global ids (base64 of 'TypeName:primary key'), and reading them from arguments: a wrong or foreign id
is an error, never another object."""

from __future__ import annotations

import base64
import binascii

from domain.errors import UserError, UserErrorCode
from resolvers.errors import BadUserInput, NotFound

MAX_PK = 2**31 - 1  # primary keys are 32-bit integers: a larger one names no row


def parse_digits(text: str, *, max_digits: int = len(str(MAX_PK))) -> int | None:
    """The number `text` writes in ASCII digits, if it has at most `max_digits` of them; else None.

    isdigit() alone takes "²" or "٣", which int() refuses, and int() refuses more than 4,300 digits.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > max_digits:
        return None
    return int(text)


def encode_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def _parts(value: str) -> tuple[str, int] | None:
    """(type name, number) of anything shaped like one of our ids, whatever the number."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, _, digits = raw.partition(":")
    pk = parse_digits(digits, max_digits=len(value))  # the id is at most 100 characters: int() stays cheap
    if not type_name.isidentifier() or pk is None:
        return None
    return type_name, pk


def decode_id(value: str) -> tuple[str, int] | None:
    """(type name, primary key), or None when the value is not one of our ids."""
    parts = _parts(value)
    return parts if parts is not None and parts[1] <= MAX_PK else None


def beyond_any_row(value: str) -> str | None:
    """The type name of a well-formed id whose number no row can have (ids are 32-bit), else None."""
    parts = _parts(value)
    return parts[0] if parts is not None and parts[1] > MAX_PK else None


def pk_or_none(value: str, type_name: str) -> int | None:
    decoded = decode_id(value)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]


def pk_argument(value: str, type_name: str, argument: str) -> int:
    """For query arguments: a malformed id or an id of another type is a BAD_USER_INPUT error."""
    pk = pk_or_none(value, type_name)
    if pk is None and beyond_any_row(value) == type_name:
        raise NotFound(f"No {type_name} with this id.")
    if pk is None:
        raise BadUserInput(f"`{argument}` must be the id of a {type_name}.")
    return pk


def pk_input(value: str | None, type_name: str, field: tuple[str, ...]) -> int | UserError | None:
    """For mutation inputs: the primary key, or a user error saying the id is not of the right type."""
    if value is None:
        return None
    pk = pk_or_none(value, type_name)
    if pk is None and beyond_any_row(value) == type_name:
        return UserError(UserErrorCode.NOT_FOUND, f"No {type_name} with this id.", field)
    if pk is None:
        return UserError(UserErrorCode.INVALID_INPUT, f"This is not the id of a {type_name}.", field)
    return pk
