"""GraphQL over HTTP as the spec says: JSON bodies only, GET for queries only, and the
application/graphql-response+json media type with meaningful status codes."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import JSONResponse

from resolvers.errors import BAD_USER_INPUT

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_TYPES = ("application/json", GRAPHQL_RESPONSE)


def _error(message: str, status: int, **headers: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": BAD_USER_INPUT}}]}, status, headers)


def _operation_type(query: str, name: str | None) -> OperationType | None:
    try:
        document = parse(query)
    except GraphQLError:
        return None  # Strawberry reports the syntax error itself
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if name is None or (op.name and op.name.value == name)]
    return chosen[0].operation if len(chosen) == 1 else None


def refusal(request: Request) -> JSONResponse | None:
    """Why this request is refused before anything runs, if it is.

    Only JSON bodies are read: a form or text/plain POST is a request a browser sends cross-site
    without a preflight, so none is ever executed.
    """
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in JSON_TYPES:
            return _error("Send GraphQL requests as application/json.", 415)
    elif request.method == "GET":
        query = request.query_params.get("query")
        operation = _operation_type(query, request.query_params.get("operationName")) if query else None
        if operation in (OperationType.MUTATION, OperationType.SUBSCRIPTION):
            return _error(f"A {operation.value} must be sent with POST.", 405, allow="POST")
    return None


def wants_graphql_response(request: Any) -> bool:
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


def graphql_response_status(data: Any) -> int:
    """For application/graphql-response+json: 400 when the request never ran (parse or validation errors)."""
    never_ran = isinstance(data, dict) and data.get("errors") and data.get("data") is None
    if never_ran and all("path" not in error for error in data["errors"]):
        return 400
    return 200
