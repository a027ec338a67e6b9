"""GraphQL over HTTP as the spec says: JSON bodies only, GET for queries only, the operation to run never
guessed, and the application/graphql-response+json media type with meaningful status codes."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import JSONResponse

from resolvers.errors import BAD_USER_INPUT
from schema.operation_choice import UnclearOperation, chosen_operation_type

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


def refusal(request: Request) -> JSONResponse | None:
    """Why this request is refused before anything runs, if it is.

    Only JSON bodies are read: a form or text/plain POST is a request a browser sends cross-site
    without a preflight, so none is ever executed.
    """
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


def check_body(body: Any) -> None:
    """A POST's JSON must be one object (batching is off); Strawberry assumes a dict and fails on anything else."""
    if not isinstance(body, dict):
        raise Refused(400, "The request body must be a JSON object with `query` (and `variables`, `operationName`).")


def check_operation(method: str, query: str | None, operation_name: Any, *, max_tokens: int) -> None:
    """Refuses a request whose operation to run is unclear, a subscription (websockets only), a GET of a mutation."""
    try:
        kind = chosen_operation_type(query, operation_name, max_tokens=max_tokens)
    except UnclearOperation as unclear:
        raise Refused(400, str(unclear)) from None
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
