"""GraphQL errors with a code in `extensions.code`."""

from __future__ import annotations

from graphql import GraphQLError

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
RATE_LIMITED = "RATE_LIMITED"


class ApiError(Exception):
    """An expected error of a query field; the message is safe to show."""

    code = INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class Forbidden(ApiError):
    code = FORBIDDEN


class NotFound(ApiError):
    code = NOT_FOUND


class BadUserInput(ApiError):
    code = BAD_USER_INPUT


def coded(error: GraphQLError, code: str, message: str | None = None) -> GraphQLError:
    return GraphQLError(
        message or error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )
