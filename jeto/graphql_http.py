"""GraphQL over HTTP as the spec says: JSON bodies only, GET for queries only, the operation to run never
guessed, and the application/graphql-response+json media type with meaningful status codes."""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive

from resolvers.errors import BAD_USER_INPUT
from schema.documents import Prepared, UnclearOperation

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
JSON_TYPES = (JSON, GRAPHQL_RESPONSE)
ACCEPTABLE = (JSON, GRAPHQL_RESPONSE, "application/*", "*/*")


class Refused(HTTPException):
    """An HTTP-level refusal with headers (405 needs Allow)."""

    def __init__(self, status_code: int, reason: str, **headers: str) -> None:
        super().__init__(status_code, reason)
        self.headers = headers


def _accepted_media_types(request: Any) -> list[str]:
    """The Accept header's media ranges, without those it marks unacceptable (q=0)."""
    ranges = []
    for part in request.headers.get("accept", "").split(","):
        media_type, *params = (piece.strip().lower() for piece in part.split(";"))
        weights = [value for key, _, value in (p.partition("=") for p in params) if key.strip() == "q"]
        try:
            refused = bool(weights) and float(weights[0]) == 0
        except ValueError:
            refused = False
        if media_type and not refused:
            ranges.append(media_type)
    return ranges


def wants_graphql_response(request: Any) -> bool:
    return GRAPHQL_RESPONSE in _accepted_media_types(request)


def error_response(request: Any, message: str, status: int, code: str = BAD_USER_INPUT, **headers: str) -> JSONResponse:
    media_type = GRAPHQL_RESPONSE if wants_graphql_response(request) else JSON
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status, headers, media_type=media_type)


def refusal(request: Request, *, max_body_bytes: int) -> JSONResponse | None:
    """Why this request is refused before anything runs, if it is.

    Only JSON bodies are read: a form or text/plain POST is a request a browser sends cross-site
    without a preflight, so none is ever executed. A body (or a GET's query string) larger than allowed is
    refused from its declared length, before it is read.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body_bytes:
        return error_response(request, _too_large(max_body_bytes), 413)
    if len(request.scope.get("query_string", b"")) > max_body_bytes:
        return error_response(request, f"The query string may be at most {max_body_bytes:,} bytes; POST instead.", 414)
    accepted = _accepted_media_types(request)
    if request.headers.get("accept") and not any(media_type in ACCEPTABLE for media_type in accepted):
        return error_response(
            request, f"Responses are {JSON} or {GRAPHQL_RESPONSE}; the Accept header allows neither.", 406
        )
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in JSON_TYPES:
            return error_response(request, "Send GraphQL requests as application/json.", 415)
    return None


def _too_large(max_body_bytes: int) -> str:
    return f"The request body may be at most {max_body_bytes:,} bytes."


def limited(receive: Receive, max_body_bytes: int) -> Receive:
    """`receive`, refusing with 413 a body that grows past the limit (one sent without a length, in chunks)."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_body_bytes:
                raise Refused(413, _too_large(max_body_bytes))
        return message

    return receive_within_limit


def check_body(body: Any) -> None:
    """A POST's JSON must be one object (batching is off); Strawberry assumes a dict and fails on anything else."""
    if not isinstance(body, dict):
        raise Refused(400, "The request body must be a JSON object with `query` (and `variables`, `operationName`).")


def check_operation(method: str, prepared: Prepared | None, operation_name: Any) -> None:
    """Refuses a request whose document was refused already (too long), whose operation to run is unclear, a
    subscription (websockets only), a GET of a mutation."""
    if prepared is None:
        return  # no query: Strawberry says so
    if prepared.document is None and prepared.refusal is not None:
        raise Refused(400, prepared.refusal.message)
    try:
        chosen = prepared.operation(operation_name)
    except UnclearOperation as unclear:
        raise Refused(400, str(unclear)) from None
    kind = chosen.operation if chosen is not None else None
    if kind is OperationType.SUBSCRIPTION:
        raise Refused(
            400, "A subscription runs over a websocket at this address (graphql-transport-ws), not over HTTP."
        )
    if method == "GET" and kind is OperationType.MUTATION:
        raise Refused(405, "A mutation must be sent with POST.", allow="POST")


def graphql_response_status(data: Any) -> int:
    """For application/graphql-response+json: 400 when the request never ran (parse or validation errors)."""
    never_ran = isinstance(data, dict) and data.get("errors") and data.get("data") is None
    if never_ran and all("path" not in error for error in data["errors"]):
        return 400
    return 200


MAX_JSON_DEPTH = 32  # our inputs nest four deep at most; deeper JSON is refused before anything walks it
MAX_JSON_INTEGER_DIGITS = 20  # GraphQL's Int is 32 bits and ids are strings: no longer integer means anything


class MalformedJson(json.JSONDecodeError):
    """JSON the server will not read; the message says why, in words a client can act on. A JSONDecodeError,
    so that Strawberry's websocket adapter takes it as a message that is not JSON."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise MalformedJson(f"A number has more than {MAX_JSON_INTEGER_DIGITS} digits; no argument takes one.")
    return int(text)


def _no_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not JSON.")


def _depth_within(value: Any, limit: int) -> bool:
    """Whether no array or object nests deeper than `limit`; visits each container once, without recursion."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        inner: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                inner.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                inner.extend(v for v in item if isinstance(v, dict | list))
        if not inner:
            return True
        level = inner
    return False


def decode_json(data: str | bytes) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity, integers of at most 20 digits, nested at most 32 deep.
    Raises MalformedJson, whose message says which; never a RecursionError or a ValueError of the parser's."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedJson("The body is not valid UTF-8.") from None
    try:
        value = json.loads(data, parse_int=_integer, parse_constant=_no_constant)
    except MalformedJson:
        raise
    except RecursionError:
        raise MalformedJson(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError as error:  # JSONDecodeError included: its message says where, never quotes the text
        raise MalformedJson(f"The JSON is malformed: {error}.") from None
    if not _depth_within(value, MAX_JSON_DEPTH):
        raise MalformedJson(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    return value


def check_parameters(data: Any) -> None:
    """The request's parameters have the types GraphQL over HTTP gives them."""
    query, variables = getattr(data, "query", None), getattr(data, "variables", None)
    if query is not None and not isinstance(query, str):
        raise Refused(400, "`query` must be a string holding a GraphQL document.")
    if variables is not None and not isinstance(variables, dict):
        raise Refused(400, "`variables` must be a JSON object (or null).")
    if not isinstance(getattr(data, "operation_name", None), str | None):
        raise Refused(400, "`operationName` must be a string or null.")
    if not isinstance(getattr(data, "extensions", None), dict | None):
        raise Refused(400, "`extensions` must be a JSON object (or null).")
