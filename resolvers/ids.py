"""Reading global ids from arguments: a wrong or foreign id is an error, never another object."""

from __future__ import annotations

from domain.errors import UserError, UserErrorCode
from resolvers.errors import BadUserInput, NotFound
from schema.ids import beyond_any_row, decode_id


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
