"""The two GraphQL-over-websocket protocols: what a client may send, and how each protocol says things back.

`graphql-transport-ws` (the `graphql-ws` library's) and the older `graphql-ws` (Apollo's
`subscriptions-transport-ws`) differ in names and in a few rules; everything else is shared (socket.py).

Every message is decoded strictly (graphql_http.decode_json), held to the largest size allowed, and checked
against its protocol's shape before it is read; one that fails closes the socket with 4400 and a reason that
says what is wrong (1009 when too big), as graphql-transport-ws prescribes. The legacy protocol has no close
codes of its own and gets the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

# Close codes. graphql-transport-ws defines the 44xx ones; 1009 and 1013 are the websocket standard's.
BAD_MESSAGE = 4400
UNAUTHORIZED = 4401  # an operation before the connection was acknowledged
FORBIDDEN = 4403  # no valid token in connection_init
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
DUPLICATE_ID = 4409
TOO_MANY_INITS = 4429
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013  # a reader too slow to keep up is cast off: it reconnects and reads the current state
NORMAL = 1000

MAX_ID_LENGTH = 128
REASON_BYTES = 123  # a close frame's reason is at most 123 bytes


@dataclass(frozen=True)
class Protocol:
    name: str
    start: str  # the client's message that starts an operation
    stop: str  # the client's message that stops one
    result: str  # the server's message that carries a result
    runs_queries: bool  # the legacy protocol runs subscriptions only
    errors_as_list: bool  # graphql-transport-ws's `error` carries a list of errors; the legacy one, one error

    def result_message(self, id: str, payload: str) -> str:
        """A result message around an already serialized payload: one payload serves every subscriber."""
        return f'{{"id":{_quoted(id)},"type":"{self.result}","payload":{payload}}}'

    def error_message(self, id: str, errors: Sequence[Mapping[str, Any]]) -> str:
        return encoded({"id": id, "type": "error", "payload": errors if self.errors_as_list else errors[0]})

    def complete_message(self, id: str) -> str:
        return f'{{"id":{_quoted(id)},"type":"complete"}}'


TRANSPORT = Protocol(TRANSPORT_WS, "subscribe", "complete", "next", runs_queries=True, errors_as_list=True)
LEGACY = Protocol(LEGACY_WS, "start", "stop", "data", runs_queries=False, errors_as_list=False)
PROTOCOLS = {TRANSPORT_WS: TRANSPORT, LEGACY_WS: LEGACY}


def chosen_protocol(offered: list[str]) -> Protocol | None:
    """graphql-transport-ws whenever the client offers it, whatever the order: a client offering both (Python's
    gql lists the legacy one first) is given the maintained protocol."""
    for name in (TRANSPORT_WS, LEGACY_WS):
        if name in offered:
            return PROTOCOLS[name]
    return None


def _quoted(text: str) -> str:
    return json.dumps(text)


def encoded(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encoded_result(result: Any) -> str:
    """An execution result as the payload of a result message, serialized once for every subscriber."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return encoded(payload)


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


def message_problem(message: Any, protocol: Protocol) -> str | None:
    """Why a decoded client message does not fit the protocol, or None. Types the protocol does not know are
    left to the socket, which answers them as each protocol says."""
    if not isinstance(message, dict):
        return "A message must be a JSON object with a `type`."
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message must have a `type` that is a string."
    if kind in ("connection_init", "ping", "pong"):
        return _optional_object(message, "payload", "payload")
    if kind == protocol.start:
        return _id_problem(message) or _operation_problem(message.get("payload"))
    if kind == protocol.stop:
        return _id_problem(message)
    return None


def reason_of(text: str) -> str:
    """A close frame's reason: at most 123 bytes."""
    return text.encode()[:REASON_BYTES].decode(errors="ignore")
