"""What a websocket client may send: the shape of each protocol's messages.

Strawberry 0.341's handlers index messages as they expect them to be: a JSON list, a `payload: null`, an
`id` that is an object or a `query` that is a number raised inside the handler, where uvicorn logged a
traceback and dropped the socket without a close frame. Every message is therefore decoded strictly
(graphql_http.decode_json), held to the largest size allowed, and checked here against its protocol's shape
(by the handlers of jeto/strawberry_overrides.py); one that fails closes the socket with 4400 and a reason
that says what is wrong (1009 when too big), as graphql-transport-ws prescribes. The legacy graphql-ws
protocol has no close codes of its own and gets the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BAD_MESSAGE = 4400
MESSAGE_TOO_BIG = 1009
MAX_ID_LENGTH = 128
REASON_BYTES = 123  # a close frame's reason is at most 123 bytes


def _optional_object(message: Mapping[str, Any], key: str, where: str) -> str | None:
    value = message.get(key)
    return None if value is None or isinstance(value, dict) else f"`{where}` must be an object or null."


def _operation_problem(payload: Any) -> str | None:
    """An `operationName` of another type is answered by the schema, with an error for that operation."""
    if not isinstance(payload, dict):
        return "`payload` must be an object with `query` (and `variables`, `operationName`)."
    if not isinstance(payload.get("query"), str):
        return "`payload.query` must be a string holding a GraphQL document."
    return _optional_object(payload, "variables", "payload.variables") or _optional_object(
        payload, "extensions", "payload.extensions"
    )


def _id_problem(message: Mapping[str, Any]) -> str | None:
    value = message.get("id")
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        return f"`id` must be a non-empty string of at most {MAX_ID_LENGTH} characters."
    return None


# For each protocol, the messages a client sends that carry an operation, and those that name one by id.
_STARTS = {"graphql-transport-ws": "subscribe", "graphql-ws": "start"}
_STOPS = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}


def message_problem(message: Any, protocol: str) -> str | None:
    """Why a decoded client message does not fit the protocol, or None. Types the protocol does not know
    are left to Strawberry, which answers them as each protocol says."""
    if not isinstance(message, dict):
        return "A message must be a JSON object with a `type`."
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message must have a `type` that is a string."
    if kind in ("connection_init", "ping", "pong"):
        return _optional_object(message, "payload", "payload")
    if kind == _STARTS[protocol]:
        return _id_problem(message) or _operation_problem(message.get("payload"))
    if kind == _STOPS[protocol]:
        return _id_problem(message)
    return None


def reason_of(text: str) -> str:
    """A close frame's reason: at most 123 bytes."""
    return text.encode()[:REASON_BYTES].decode(errors="ignore")
