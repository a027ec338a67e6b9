"""What mutations answer: the changed record, or `userErrors` saying why nothing changed."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec

from domain.errors import Rejected, UserError
from resolvers.ids import pk_input
from resolvers.records import Record

P = ParamSpec("P")


@dataclass(slots=True, eq=False)
class Payload(Record):
    """Every payload type of the schema reads its own fields of this one record; the others stay empty."""

    platform_integration: Any = None
    trial_confirmation: Any = None
    sync_run: Any = None
    launcher: Any = None
    campaign: Any = None
    deleted_id: str | None = None
    api_key: Any = None
    key: str | None = None  # an API key itself: in createApiKey's payload, and nowhere else
    user_errors: list[UserError] = field(default_factory=list)  # the domain's UserError, shown as it is
    loaded: dict = field(default_factory=dict, repr=False)


def user_errors_as(resolver: Callable[P, Awaitable[Payload]]) -> Callable[P, Awaitable[Payload]]:
    """A use case's Rejected becomes the payload's userErrors; its transaction has rolled back already."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Payload:
        try:
            return await resolver(*args, **kwargs)
        except Rejected as rejected:
            return Payload(user_errors=list(rejected.errors))

    return wrapper


def pk_input_or_reject(value: str | None, type_name: str, *field_path: str) -> Any:
    """The primary key of an id in a mutation's input; a wrong id is a user error of that input field."""
    pk = pk_input(value, type_name, tuple(field_path))
    if isinstance(pk, UserError):
        raise Rejected([pk])
    return pk
