"""One GraphQL websocket, from the handshake to the close, in either protocol.

The socket's own task reads the client's messages; what it sends goes through its outbox (outbox.py).
Queries and mutations (graphql-transport-ws only, as the legacy protocol is subscriptions-only) run each in
a task of their own through Strawberry's `Schema.stream`, like HTTP requests; subscriptions join the
process's fan-out (fanout.py), which executes each group's once per change. A subscriber costs the process
its socket, its outbox and one small `Member`: no task, no queue, no execution of its own.

Sign-in is the token in `connection_init`'s payload (`{"Authorization": "Bearer …"}`). Every rule of the
protocols is enforced with its close code (protocols.py), and a client's mistake never reaches a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLError
from graphql import OperationType as GraphQLOperationType
from starlette.types import Receive, Scope, Send
from strawberry.http.websocket_origin import is_same_origin, normalize_origin
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from jeto import graphql_http, rate_limits
from jeto.auth import AuthenticationFailed
from jeto.live import protocols
from jeto.live.fanout import Fanout, Member, Operation
from jeto.live.keys import KeySockets
from jeto.live.outbox import Outbox, OutboxLimits
from jeto.live.protocols import Protocol, encoded, encoded_result, message_problem
from resolvers.context import Context
from resolvers.errors import BAD_USER_INPUT, UNAUTHENTICATED
from schema.documents import UnclearOperation

log = logging.getLogger("jeto.live")

ANY_OPERATION = (OperationType.QUERY, OperationType.MUTATION, OperationType.SUBSCRIPTION)
SUBSCRIPTIONS_ONLY = (OperationType.SUBSCRIPTION,)


@dataclass(frozen=True)
class SocketSettings:
    max_message_bytes: int | None = 1024 * 1024
    init_timeout: float = 60.0  # seconds from the handshake to connection_init
    max_operations: int = 100  # running at once on one socket
    outbox: OutboxLimits = OutboxLimits()


def refused_origin(scope: Scope, allowed_origins: tuple[str, ...]) -> str | None:
    """The origin of a browser page that may not open this socket, or None. A page may if it is this host's own
    over the socket's scheme (Strawberry's `is_same_origin` compares host and port alone, so http://host passed
    for wss://host when both ports are the defaults), or if the operator lists its origin."""
    headers: dict[str, str] = {
        key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]
    }
    origin = headers.get("origin")
    if origin is None or headers.get("sec-fetch-site") == "same-origin":  # no browser, or the browser's own verdict
        return None
    if "*" in allowed_origins or normalize_origin(origin) in allowed_origins or origin in allowed_origins:
        return None
    secure_page = urlsplit(origin).scheme.lower() == "https"
    secure_socket = scope.get("scheme") in ("wss", "https")
    if secure_page == secure_socket and is_same_origin(origin, headers.get("host")):
        return None
    return origin


class GraphQLSocket:
    """Held for as long as the socket is open (hours, for a status screen): kept small."""

    __slots__ = ("_receive", "_send", "_services", "_fanout", "_keys", "_settings", "_offered", "_context",
                 "_init_received", "_operations", "_outbox", "_unwatch")  # fmt: skip

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        services: Any,
        fanout: Fanout,
        keys: KeySockets,
        settings: SocketSettings,
    ) -> None:
        self._receive = receive
        self._send = send
        self._services = services
        self._fanout = fanout
        self._keys = keys
        self._settings = settings
        self._offered = [name.strip() for name in scope.get("subprotocols") or ()]
        self._context: Context | None = None  # once signed in
        self._init_received = False
        self._operations: dict[str, Member | asyncio.Task[None]] = {}
        self._outbox: Outbox | None = None
        self._unwatch: Callable[[], None] | None = None  # an API key's socket: the watch of its key

    async def serve(self) -> None:
        if (await self._receive())["type"] != "websocket.connect":
            return
        protocol = protocols.chosen_protocol(self._offered)
        await self._send({"type": "websocket.accept", "subprotocol": protocol.name if protocol else None})
        outbox = self._outbox = Outbox(self._send, self._settings.outbox, on_cast_off=self._stop_all)
        try:
            if protocol is None:
                await outbox.close(protocols.SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")
                return
            await self._read(protocol, outbox)
        finally:
            self._stop_all()
            if self._unwatch is not None:
                self._unwatch()
            if not outbox.closing:
                outbox.discard()

    def close_soon(self, code: int, reason: str) -> None:
        """Closed from outside (its API key was revoked or expired): nothing more is run nor sent but the close.
        Called from a timer (outside any task), it closes from a task of its own: a send runs in a task."""
        if asyncio.current_task() is None:
            asyncio.get_running_loop().create_task(self._close_from_task(code, reason))
            return
        self._stop_all()
        if self._outbox is not None:
            self._outbox.close_soon(code, reason)

    async def _close_from_task(self, code: int, reason: str) -> None:
        self.close_soon(code, reason)

    async def _read(self, protocol: Protocol, outbox: Outbox) -> None:
        """Until the client leaves or the socket is closed."""
        deadline = asyncio.get_running_loop().time() + self._settings.init_timeout
        while True:
            if self._init_received:
                event = await self._receive()
            else:
                try:
                    async with asyncio.timeout_at(deadline):
                        event = await self._receive()
                except TimeoutError:
                    await outbox.close(protocols.INIT_TIMEOUT, "Connection initialisation timeout")
                    return
            if event["type"] == "websocket.disconnect" or outbox.closing:
                return  # gone, or being closed (a revoked key, a reader cast off): nothing more is read
            message, problem = self._decoded(event, protocol)
            if problem is not None:
                code, reason = problem
                await outbox.close(code, reason)
                return
            if await self._handle(message, protocol, outbox):
                return
            del event, message  # not kept while the socket waits, maybe for hours, for the next one

    def _decoded(self, event: Mapping[str, Any], protocol: Protocol) -> tuple[Any, tuple[int, str] | None]:
        text = event.get("text")
        if text is None:
            code = protocols.BAD_MESSAGE if protocol is protocols.TRANSPORT else 1002
            return None, (code, "WebSocket message type must be text")
        limit = self._settings.max_message_bytes
        if limit is not None and (len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit)):
            return None, (protocols.MESSAGE_TOO_BIG, f"A message may be at most {limit:,} bytes.")
        try:
            message = graphql_http.decode_json(text)
        except graphql_http.MalformedJson as malformed:
            return None, (protocols.BAD_MESSAGE, str(malformed))
        problem = message_problem(message, protocol)
        return message, (protocols.BAD_MESSAGE, problem) if problem is not None else None

    async def _handle(self, message: dict[str, Any], protocol: Protocol, outbox: Outbox) -> bool:
        """Answers one message; True once the socket is closed."""
        kind = message["type"]
        if kind == "connection_init":
            return await self._sign_in(message.get("payload") or {}, protocol, outbox)
        if kind == protocol.start:
            if self._context is None:
                await outbox.close(protocols.UNAUTHORIZED, "Unauthorized")
                return True
            return await self._start(message["id"], message["payload"], protocol, outbox)
        if kind == protocol.stop:
            if self._stop(message["id"]) and protocol is protocols.LEGACY:
                outbox.put(protocol.complete_message(message["id"]))  # its way of confirming
            return False
        if protocol is protocols.TRANSPORT:
            if kind == "ping":
                outbox.put('{"type":"pong"}')
                return False
            if kind == "pong":
                return False
            await outbox.close(protocols.BAD_MESSAGE, f"Unknown message type: {kind}")
            return True
        if kind == "connection_terminate":
            await outbox.close(protocols.NORMAL)
            return True
        return False  # the legacy protocol ignores what it does not know

    async def _sign_in(self, payload: dict[str, Any], protocol: Protocol, outbox: Outbox) -> bool:
        if self._init_received:
            await outbox.close(protocols.TOO_MANY_INITS, "Too many initialisation requests")
            return True
        self._init_received = True
        header = payload.get("Authorization") or payload.get("authorization")
        try:
            signed_in = await self._services.authenticator.sign_in(header if isinstance(header, str) else None)
        except AuthenticationFailed as failure:
            if protocol is protocols.LEGACY:  # its own way of saying so, before the same close as the other's
                rejection = {"message": str(failure), "code": UNAUTHENTICATED}
                outbox.put(encoded({"type": "connection_error", "payload": rejection}))
            await outbox.close(protocols.FORBIDDEN, "Forbidden")
            return True
        viewer = signed_in.viewer
        budget = rate_limits.budget_of(self._services.settings, signed_in)
        self._context = Context(services=self._services, viewer_or_none=viewer, budget=budget)
        if viewer.api_key_id is not None:
            self._unwatch = self._keys.watch(self, viewer, signed_in.key_expires_at)
        outbox.put('{"type":"connection_ack"}')
        return False

    async def _start(self, id: str, payload: dict[str, Any], protocol: Protocol, outbox: Outbox) -> bool:
        if id in self._operations:
            if protocol is protocols.TRANSPORT:
                await outbox.close(protocols.DUPLICATE_ID, f"Subscriber for {id} already exists")
                return True
            self._stop(id)  # the legacy protocol restarts it
        if len(self._operations) >= self._settings.max_operations:
            limit = self._settings.max_operations
            too_many = f"At most {limit} operations may run at once on one socket."
            outbox.put(protocol.error_message(id, [{"message": too_many, "extensions": {"code": BAD_USER_INPUT}}]))
            return False
        assert self._context is not None
        operation = Operation(payload["query"], payload.get("variables"), payload.get("operationName"))
        if self._is_subscription(operation):
            refusal = await self._charged(operation)
            if refusal is not None:
                outbox.put(protocol.error_message(id, [refusal.formatted]))
                return False
            member = Member(id, protocol, outbox, ended=self._ended)
            self._operations[id] = member
            await self._fanout.subscribe(member, operation, self._context)
        else:
            allowed = ANY_OPERATION if protocol.runs_queries else SUBSCRIPTIONS_ONLY
            task = asyncio.get_running_loop().create_task(self._run_once(id, operation, allowed, protocol, outbox))
            self._operations[id] = task
        return False

    def _is_subscription(self, operation: Operation) -> bool:
        """A subscription the schema may run: anything else (an unclear or refused document too) runs on its own,
        where Strawberry answers it."""
        prepared = self._fanout.schema.documents.prepare(operation.query)
        if prepared.refusal is not None:
            return False
        try:
            return bool(prepared.operation_type(operation.operation_name) is GraphQLOperationType.SUBSCRIPTION)
        except UnclearOperation:
            return False

    async def _charged(self, operation: Operation) -> GraphQLError | None:
        """A subscription is charged to its subscriber's budget when it starts, never per event (the group's
        execution charges no one): why it may not start, or None. A document with errors is not charged: the
        group's execution reports them."""
        assert self._context is not None
        documents = self._fanout.schema.documents
        prepared = documents.prepare(operation.query)
        errors, nodes = documents.measure(prepared, operation.operation_name, operation.variables)
        if errors:
            return None
        spent = await rate_limits.charged(self._context, nodes)
        return rate_limits.refused(spent) if spent is not None and not spent.accepted else None

    async def _run_once(
        self, id: str, operation: Operation, allowed: tuple[OperationType, ...], protocol: Protocol, outbox: Outbox
    ) -> None:
        try:
            stream = await self._fanout.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self._context,
                operation_name=operation.operation_name,
                allowed_operation_types=allowed,
            )
            async with aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        outbox.put(protocol.error_message(id, [error.formatted for error in result.errors or []]))
                        return
                    first = False
                    outbox.put(protocol.result_message(id, encoded_result(result)))
            outbox.put(protocol.complete_message(id))
        finally:
            if self._operations.get(id) is asyncio.current_task():
                del self._operations[id]

    def _ended(self, member: Member) -> None:
        """A subscription's group ended it (its last result, or an error, is in the outbox)."""
        if self._operations.get(member.id) is member:
            del self._operations[member.id]

    def _stop(self, id: str) -> bool:
        """Stops the operation of that id; False if none runs."""
        operation = self._operations.pop(id, None)
        if isinstance(operation, Member):
            operation.leave()
        elif operation is not None:
            operation.cancel()
        return operation is not None

    def _stop_all(self) -> None:
        for id in list(self._operations):
            self._stop(id)
