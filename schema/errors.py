"""Every GraphQL error carries `extensions.code`; unexpected ones are masked and logged, never shown."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from resolvers.errors import BAD_USER_INPUT, INTERNAL_SERVER_ERROR, ApiError, coded

log = logging.getLogger("jeto.graphql")


def code_of(error: GraphQLError) -> str:
    """The code `with_code` gives this error, without logging anything."""
    given = (error.extensions or {}).get("code")
    if given:
        return str(given)
    original = error.original_error
    if isinstance(original, ApiError):
        return original.code
    if isinstance(original, GraphQLError):
        return code_of(original)
    return BAD_USER_INPUT if original is None else INTERNAL_SERVER_ERROR


def with_code(error: GraphQLError) -> GraphQLError:
    if (error.extensions or {}).get("code"):
        return error  # coded already (by the extension, before execute() sees it)
    original = error.original_error
    if isinstance(original, ApiError):
        return coded(error, original.code)
    if original is None:
        # Syntax, validation, limits and variable coercion errors: the request itself is at fault.
        return coded(error, (error.extensions or {}).get("code", BAD_USER_INPUT))
    if isinstance(original, GraphQLError):
        return with_code(original)
    # Type and module only: an exception's message could carry data we must not log.
    log.error("unexpected error in %s: %s", ".".join(map(str, error.path or [])), type(original).__name__,
              exc_info=original)
    return coded(error, INTERNAL_SERVER_ERROR, "Internal server error.")


class CodedErrors(MaskErrors):
    """Built on MaskErrors so streamed (subscription) results are processed too."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [with_code(error) for error in errors]
