"""The Starlette application: GraphQL over HTTP (Strawberry) and websockets (jeto/live) at /graphql, and the
process's lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.contrib.starlette import RegisterTortoise

from domain import changes
from jeto import graphiql, graphql_http, probes
from jeto.auth import AuthenticationFailed
from jeto.database import tortoise_config
from jeto.live.fanout import Fanout
from jeto.live.keys import KeySockets
from jeto.live.outbox import OutboxLimits
from jeto.live.socket import GraphQLSocket, SocketSettings, refused_origin
from jeto.observability import RequestIdMiddleware, request_id_of
from jeto.services import BackgroundWork, Services, open_services
from jeto.settings import Settings
from jeto.strawberry_overrides import JetoGraphQL, build_schema
from resolvers.errors import INTERNAL_SERVER_ERROR, UNAUTHENTICATED
from schema.errors import keep_documents_out_of_logs, log_unexpected

log = logging.getLogger("jeto.app")

GRAPHQL_PATH = "/graphql"


def _wants_ide(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


class LiveSockets:
    """GraphQL websockets at /graphql (jeto/live), taken before the rest of the application: a socket lives for
    hours, and every middleware and route it went through would keep a frame and a wrapper of `send` for each.
    Its request id is set here; a page of another origin is refused before the handshake."""

    def __init__(self, app: ASGIApp, *, fanout: Fanout, sockets: SocketSettings, allowed_origins: tuple[str, ...]):
        self._app = app
        self.fanout = fanout
        self._sockets = sockets
        self._allowed_origins = allowed_origins
        self._keys: KeySockets | None = None  # made with the first socket: the bus is opened by the lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != GRAPHQL_PATH:
            await self._app(scope, receive, send)
            return
        origin = refused_origin(scope, self._allowed_origins)
        if origin is not None:
            log.warning("refused a websocket from a page of %r (JETO_ALLOWED_ORIGINS lists none such)", origin)
            await send({"type": "websocket.close", "code": 1008})  # before accepting: an HTTP 403
            return
        services = scope["app"].state.services
        if self._keys is None:
            self._keys = KeySockets(services.bus)
        socket = GraphQLSocket(
            scope, receive, send, services=services, fanout=self.fanout, keys=self._keys, settings=self._sockets
        )
        # The changes its operations commit are announced on this process's bus.
        with request_id_of(scope), changes.publishing_to(services.publish, services.work_queued):
            await socket.serve()


class GraphQLEndpoint:
    """Authenticates HTTP requests before Strawberry sees them, so a bad token is a plain 401, and holds every
    request to the body limit."""

    def __init__(self, graphql: JetoGraphQL, *, max_body_bytes: int) -> None:
        self._graphql = graphql
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The changes a request commits are announced on this process's bus."""
        services = scope["app"].state.services
        with changes.publishing_to(services.publish, services.work_queued):
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watched_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        request = Request(scope, receive)
        try:
            await self._http(request, scope, receive, watched_send)
        except Exception as error:  # e.g. the database failing during authentication
            log_unexpected(error, "the GraphQL endpoint")
            if started:
                return
            failure = graphql_http.error_response(request, "Internal server error.", 500, INTERNAL_SERVER_ERROR)
            await failure(scope, receive, send)

    async def _http(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        if not _wants_ide(request):
            refused = graphql_http.refusal(request, max_body_bytes=self._max_body_bytes)
            if refused is not None:
                await refused(scope, receive, send)
                return
            services: Services = request.app.state.services
            try:
                signed_in = await services.authenticator.sign_in(request.headers.get("authorization"))
            except AuthenticationFailed as failure:
                response = graphql_http.error_response(
                    request, str(failure), 401, UNAUTHENTICATED, **{"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["signed_in"] = signed_in
        await self._graphql(scope, graphql_http.limited(receive, self._max_body_bytes), send)


@dataclass(frozen=True)
class DemoAccess:
    """What `serve --demo` pre-fills in GraphiQL: an integration id to try things on. Never the token: the
    page is served to whoever asks, so the token travels in the printed address's fragment instead."""

    integration_id: str | None


def create_app(
    settings: Settings,
    *,
    marketo_transport: httpx.AsyncBaseTransport | None = None,
    demo: DemoAccess | None = None,
    services: Services | None = None,
) -> Starlette:
    """`marketo_transport` lets tests route Marketo calls to an in-process simulator; `services` already
    opened by the caller (`jeto serve` opens them first, so a bad setting fails before serving) are used as
    they are, else the lifespan opens its own."""
    settings.check_serving()  # refuse to start with unsafe settings, before serving anything
    keep_documents_out_of_logs()
    schema = build_schema(settings.document_limits)
    graphql = JetoGraphQL(schema, ide_integration_id=demo.integration_id if demo else None)
    sockets = SocketSettings(
        max_message_bytes=settings.max_websocket_message_bytes,
        outbox=OutboxLimits(bytes=settings.websocket_backlog_bytes, stuck_seconds=settings.websocket_stuck_seconds),
    )
    endpoint = GraphQLEndpoint(graphql, max_body_bytes=settings.max_body_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.warn_about_development_keys()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(
                RegisterTortoise(app, config=tortoise_config(settings.database_url), generate_schemas=False)
            )
            shared = services or await stack.enter_async_context(
                open_services(settings, marketo_transport=marketo_transport)
            )
            app.state.services = shared
            background = BackgroundWork(settings, shared).start() if settings.worker else None
            try:
                yield
            finally:  # in order, before the database and the bus close behind them
                if background is not None:
                    await background.stop()

    app = Starlette(
        routes=[
            Route(GRAPHQL_PATH, endpoint),  # every method: Strawberry answers others with a coded 405; websockets:
            # LiveSockets
            Route("/graphiql/assets/{name}", graphiql.asset),
            Route("/status", graphiql.status_page),
            Route("/favicon.ico", lambda _: Response(status_code=204)),
            *probes.routes(settings, metrics_open=False),
        ],
        middleware=[
            Middleware(LiveSockets, fanout=Fanout(schema), sockets=sockets, allowed_origins=settings.allowed_origins),
            Middleware(RequestIdMiddleware),
        ],
        lifespan=lifespan,
    )
    app.state.documents = graphql.documents  # its size is on /metrics
    return app
