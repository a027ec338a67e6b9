"""What a websocket client may send, checked before Strawberry's protocol handlers read it.

Strawberry 0.341's handlers index messages as they expect them to be: a JSON list, a `payload: null`, an
`id` that is an object or a `query` that is a number raised inside the handler, where uvicorn logged a
traceback and dropped the socket without a close frame. Here every message is decoded strictly
(graphql_http.decode_json), held to the largest size allowed, and checked against its protocol's shape;
one that fails closes the socket with 4400 and a reason that says what is wrong (1009 when too big), as
graphql-transport-ws prescribes. The legacy graphql-ws protocol has no close codes of its own and gets
the same answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonTextMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage

from jeto.graphql_http import MalformedJson, decode_json

BAD_MESSAGE = 4400
MESSAGE_TOO_BIG = 1009
SERVER_ERROR = 1011
FORBIDDEN = 4403
MAX_ID_LENGTH = 128
REASON_BYTES = 123  # a close frame's reason is at most 123 bytes


@dataclass(frozen=True)
class InvalidMessage:
    """What the adapter yields in place of a message it could not read; the handler closes the socket."""

    reason: str
    code: int = BAD_MESSAGE


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


def _reason(text: str) -> str:
    return text.encode()[:REASON_BYTES].decode(errors="ignore")


class CheckedWebSocketAdapter(ASGIWebSocketAdapter):
    """Reads each message as text within the size limit and decodes it strictly; yields InvalidMessage for one
    that is too big or not JSON, so that the handler answers it as its protocol says."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        limit = getattr(self.view, "max_websocket_message_bytes", None)
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if limit is not None and (len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit)):
                    yield InvalidMessage(f"A message may be at most {limit:,} bytes.", MESSAGE_TOO_BIG)
                    return
                try:
                    yield decode_json(text)
                except MalformedJson as malformed:
                    yield InvalidMessage(str(malformed))
                    return
        except KeyError as error:  # a binary frame: Starlette's message has no "text"
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            pass


class _Checked:
    """Both handlers: a message that the adapter could not read, or that does not fit the protocol, closes the
    socket with its reason before the handler indexes into it."""

    protocol: str
    websocket: Any

    async def handle_message(self, message: Any) -> None:
        if isinstance(message, InvalidMessage):
            await self.websocket.close(code=message.code, reason=_reason(message.reason))
            return
        problem = message_problem(message, self.protocol)
        if problem is not None:
            await self.websocket.close(code=BAD_MESSAGE, reason=_reason(problem))
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            message = {**message, "payload": {}}  # the protocols allow null; Strawberry's handler does not
        await super().handle_message(message)  # type: ignore[misc]


class TransportWSHandler(_Checked, BaseGraphQLTransportWSHandler[Any, Any]):
    protocol = "graphql-transport-ws"


class _RejectionIsForbidden:
    """The legacy handler's websocket during connection_init, where its only 1011 close is the rejection's."""

    def __init__(self, websocket: Any) -> None:
        self._websocket = websocket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._websocket, name)

    async def close(self, code: int, reason: str) -> None:
        if code == SERVER_ERROR:
            code, reason = FORBIDDEN, reason or "Forbidden"
        await self._websocket.close(code=code, reason=reason)


class LegacyWSHandler(_Checked, BaseGraphQLWSHandler[Any, Any]):
    """Also: a rejected connection_init closes with 4403, as graphql-transport-ws does. Strawberry 0.341's legacy
    handler answers a rejection with `connection_error` and then closes with 1011 (a server error, which
    clients retry as an outage)."""

    protocol = "graphql-ws"

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        websocket, self.websocket = self.websocket, _RejectionIsForbidden(self.websocket)  # type: ignore[assignment]
        try:
            await super().handle_connection_init(message)
        finally:
            self.websocket = websocket
