"""Every GraphQL error carries `extensions.code`; unexpected ones are masked and logged, never shown.

The rule: an error without a path is the request's fault (syntax, validation, limits, variable coercion)
and is BAD_USER_INPUT; an error with a path happened while resolving a field, and unless it is an
expected ApiError it is ours: INTERNAL_SERVER_ERROR, masked, logged without its message.
"""

from __future__ import annotations

import logging
import re
import traceback

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from resolvers.errors import BAD_USER_INPUT, INTERNAL_SERVER_ERROR, ApiError, coded

log = logging.getLogger("jeto.graphql")

# graphql-core prints the value it could not coerce, and a syntax error quotes the string token it stopped at
# ("Expected ':', found String 'se-…'"); a value may be a secret, so only names stay.
_ECHOES = (
    (re.compile(r"\b(String|BlockString) '.*", re.S), r"\1."),
    (re.compile(r",? but encountered error .*", re.S), "."),
    (re.compile(r"(?:[,.;]?\s*)\b[Ff]ound: .*", re.S), "."),
    (re.compile(r"(cannot represent (?:[\w\- ]*?)value): .*", re.S), r"\1."),
    (re.compile(r"\bValue '.*' does not exist in '(\w+)' enum\..*", re.S), r"The value is not one of the \1 enum's."),
)


def without_values(message: str) -> str:
    """The message with every echo of an input value removed."""
    for pattern, replacement in _ECHOES:
        message = pattern.sub(replacement, message)
    return message.replace("?.", "?").replace("..", ".")


def _expected(error: GraphQLError) -> ApiError | None:
    original = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original if isinstance(original, ApiError) else None


def code_of(error: GraphQLError) -> str:
    """The code `with_code` gives this error, without logging anything."""
    given = (error.extensions or {}).get("code")
    if given:
        return str(given)
    expected = _expected(error)
    if expected is not None:
        return expected.code
    return BAD_USER_INPUT if error.path is None else INTERNAL_SERVER_ERROR


def _frames(error: BaseException) -> str:
    """Where the error was raised, a line a frame (file, line, function): no source text, no values."""
    frames = [f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(error.__traceback__)]
    return "\n".join(frames) or "  (no frames)"


def log_unexpected(error: BaseException, where: str) -> None:
    """Type and frames only: a message could carry data we must not log."""
    log.error("unexpected %s in %s\n%s", type(error).__name__, where, _frames(error))


def with_code(error: GraphQLError) -> GraphQLError:
    if (error.extensions or {}).get("code"):
        return error  # coded already (by the extension, before execute() sees it)
    expected = _expected(error)
    if expected is not None:
        return coded(error, expected.code, str(expected))
    if error.path is None:
        return coded(error, BAD_USER_INPUT, without_values(error.message))
    log_unexpected(error.original_error or error, ".".join(map(str, error.path)))
    return coded(error, INTERNAL_SERVER_ERROR, "Internal server error.")


class CodedErrors(MaskErrors):
    """Built on MaskErrors so streamed (subscription) results are processed too."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [with_code(error) for error in errors]


def _graphql_error_in(error: BaseException | None) -> GraphQLError | None:
    """The GraphQL error among this exception and those it came from, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, GraphQLError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


class WithoutDocumentText(logging.Filter):
    """A GraphQL error's text quotes the document around its location, and the document may hold a client
    secret, and even its message may quote a token of it: a record carrying one keeps the types and frames only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, GraphQLError):
            record.msg, record.args = type(record.msg).__name__, None
        raised = record.exc_info[1] if record.exc_info else None
        error = _graphql_error_in(raised)
        if raised is not None and error is not None:
            summary = f"{type(raised).__name__} from {type(error).__name__}"
            record.args = (record.getMessage(), summary, _frames(raised))
            record.msg = "%s\n%s\n%s"
            record.exc_info, record.exc_text = None, None
        return True


# Where Strawberry (its operation tasks, its error logging), asyncio (tasks that died) and uvicorn (an ASGI
# application that raised) log exceptions.
_LOGGERS_OF_GRAPHQL_ERRORS = ("strawberry.ws.task", "strawberry.ws", "strawberry.execution", "asyncio", "uvicorn.error")


def keep_documents_out_of_logs() -> None:
    for name in _LOGGERS_OF_GRAPHQL_ERRORS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithoutDocumentText) for f in logger.filters):
            logger.addFilter(WithoutDocumentText())
