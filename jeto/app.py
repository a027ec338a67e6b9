"""The Starlette application: GraphQL over HTTP and websockets at /graphql, and the process's lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from tortoise.contrib.starlette import RegisterTortoise

from domain import changes
from jeto import graphiql, graphql_http, probes
from jeto.auth import AuthenticationFailed
from jeto.database import tortoise_config
from jeto.observability import RequestIdMiddleware
from jeto.services import BackgroundWork, Services, open_services
from jeto.settings import Settings
from jeto.strawberry_overrides import JetoGraphQL, build_schema
from resolvers.errors import INTERNAL_SERVER_ERROR, UNAUTHENTICATED
from schema.errors import keep_documents_out_of_logs, log_unexpected

log = logging.getLogger("jeto.app")


def _wants_ide(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def _other_scheme(scope: Scope, allowed_origins: tuple[str, ...]) -> str | None:
    """The origin of a browser page that opens this websocket over another scheme (http for wss, https for ws),
    unless listed in allowed_origins. Strawberry compares host and port alone: http://host passed for
    wss://host (both ports default), so a page served without TLS could use a TLS-only socket."""
    headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
    origin = headers.get("origin")
    if origin is None or headers.get("sec-fetch-site") == "same-origin":  # no browser, or the browser's own verdict
        return None
    secure_page = urlsplit(origin).scheme.lower() == "https"
    secure_socket = scope.get("scheme") in ("wss", "https")
    if secure_page == secure_socket or "*" in allowed_origins or origin in allowed_origins:
        return None
    return origin


class GraphQLEndpoint:
    """Authenticates HTTP requests before Strawberry sees them, so a bad token is a plain 401; holds every request
    to the body limit; refuses a websocket opened from a page of another scheme."""

    def __init__(self, graphql: JetoGraphQL, *, max_body_bytes: int, allowed_origins: tuple[str, ...]) -> None:
        self._graphql = graphql
        self._max_body_bytes = max_body_bytes
        self._allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The changes a request (or a websocket's operations) commits are announced on this process's bus."""
        with changes.publishing_to(scope["app"].state.services.publish):
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            origin = _other_scheme(scope, self._allowed_origins)
            if origin is not None:
                log.warning("refused a websocket from %r: another scheme than this %s one", origin, scope.get("scheme"))
                await send({"type": "websocket.close", "code": 1008})  # before accepting: an HTTP 403
                return
            await self._graphql(scope, receive, send)
            return
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
    graphql = JetoGraphQL(
        build_schema(settings.document_limits),
        ide_integration_id=demo.integration_id if demo else None,
        max_websocket_message_bytes=settings.max_websocket_message_bytes,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
        allowed_origins=list(settings.allowed_origins),
    )
    endpoint = GraphQLEndpoint(
        graphql, max_body_bytes=settings.max_body_bytes, allowed_origins=settings.allowed_origins
    )

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
            Route("/graphql", endpoint),  # every method: Strawberry answers others with a coded 405
            WebSocketRoute("/graphql", endpoint),
            Route("/graphiql/assets/{name}", graphiql.asset),
            Route("/status", graphiql.status_page),
            Route("/favicon.ico", lambda _: Response(status_code=204)),
            *probes.routes(settings, metrics_open=False),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
    app.state.documents = graphql.documents  # its size is on /metrics
    return app
