"""The Starlette application: GraphQL over HTTP and websockets at /graphql, and the process's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from tortoise.contrib.starlette import RegisterTortoise

from jeto import graphiql, graphql_http, probes
from jeto.auth import AuthenticationFailed
from jeto.database import tortoise_config
from jeto.legacy_ws import LegacyGraphQLWSHandler
from jeto.observability import RequestIdMiddleware
from jeto.services import Services, open_services, run_background_work
from jeto.settings import Settings
from resolvers.context import Context
from resolvers.errors import INTERNAL_SERVER_ERROR, UNAUTHENTICATED
from schema import MAX_TOKENS, schema
from schema.errors import keep_documents_out_of_logs, log_unexpected

log = logging.getLogger("jeto.app")


class JetoGraphQL(GraphQL[Context, None]):
    graphql_ws_handler_class = LegacyGraphQLWSHandler  # a rejected legacy connection closes 4403, not 1011

    def __init__(self, *args: Any, demo: DemoAccess | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._demo = demo

    async def render_graphql_ide(self, request: Any) -> Response:
        demo = self._demo
        return graphiql.page(request.url.path, default_integration_id=demo.integration_id if demo else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but what it refuses is answered in JSON with a code, not in plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as refused:
            headers = getattr(refused, "headers", {})
            if refused.status_code == 405:
                headers.setdefault("allow", "GET, POST")
            response = graphql_http.error_response(request, refused.reason, refused.status_code, **headers)
        await response(scope, receive, send)

    async def parse_http_body(self, request: Any) -> Any:
        if request.method == "POST":  # read again by Strawberry, which assumes an object
            graphql_http.check_body(self.parse_json(await request.get_body()))
        data = await super().parse_http_body(request)
        assert not isinstance(data, list), "batching is off: Strawberry refuses a list before this"
        graphql_http.check_operation(request.method, data.query, data.operation_name, max_tokens=MAX_TOKENS)
        return data

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.scope.get("state", {})
        if request.scope["type"] == "http" and graphql_http.wants_graphql_response(request):
            response.media_type = graphql_http.GRAPHQL_RESPONSE
        return Context(
            services=request.app.state.services,
            request=request,
            response=response,
            viewer_or_none=state.get("viewer"),
        )

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        status = None
        if sub_response.media_type == graphql_http.GRAPHQL_RESPONSE and sub_response.status_code in (None, 200):
            status = graphql_http.graphql_response_status(response_data)
            if status == 400:  # nothing executed: the spec wants no data entry at all, not null
                response_data = {key: value for key, value in response_data.items() if key != "data"}
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == graphql_http.GRAPHQL_RESPONSE:
            response.headers["content-type"] = graphql_http.GRAPHQL_RESPONSE
        if status is not None:
            response.status_code = status
        return response

    def _check_websocket_origin(self, request: Any) -> bool:
        """As Strawberry's, but a page of this host is the same origin only with the connection's scheme (http
        for ws, https for wss): Strawberry compares host and port alone, so http://host passed for wss://host
        (both ports default). Another scheme is cross-origin: accepted only when listed in allowed_origins."""
        headers = self.get_websocket_headers(request)
        origin = headers.get("origin")
        if origin is None or headers.get("sec-fetch-site") == "same-origin":  # the browser's own verdict
            return super()._check_websocket_origin(request)
        secure_page = urlsplit(origin).scheme.lower() == "https"
        secure_socket = request.url.scheme in ("wss", "https")
        if secure_page == secure_socket:
            return super()._check_websocket_origin(request)
        if self.is_websocket_origin_allowed(request, origin):
            return True
        log.warning("refused a websocket from %r: another scheme than this %s connection", origin, request.url.scheme)
        return False

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = params.get("Authorization") or params.get("authorization")
        try:
            context.viewer_or_none = await context.services.authenticator.viewer(header)
        except AuthenticationFailed as failure:
            raise ConnectionRejectionError({"message": str(failure), "code": UNAUTHENTICATED}) from None
        return None


def _wants_ide(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


class GraphQLEndpoint:
    """Authenticates HTTP requests before Strawberry sees them, so a bad token is a plain 401."""

    def __init__(self, graphql: JetoGraphQL) -> None:
        self._graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
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
            refused = graphql_http.refusal(request)
            if refused is not None:
                await refused(scope, receive, send)
                return
            services: Services = request.app.state.services
            try:
                viewer = await services.authenticator.viewer(request.headers.get("authorization"))
            except AuthenticationFailed as failure:
                response = graphql_http.error_response(
                    request, str(failure), 401, UNAUTHENTICATED, **{"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["viewer"] = viewer
        await self._graphql(scope, receive, send)


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
        schema,
        demo=demo,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
        allowed_origins=list(settings.allowed_origins),
    )
    endpoint = GraphQLEndpoint(graphql)

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
            background = asyncio.create_task(run_background_work(settings, shared)) if settings.worker else None
            try:
                yield
            finally:
                if background is not None:
                    background.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await background

    return Starlette(
        routes=[
            Route("/graphql", endpoint),  # every method: Strawberry answers others with a coded 405
            WebSocketRoute("/graphql", endpoint),
            Route("/graphiql/assets/{name}", graphiql.asset),
            Route("/status", graphiql.status_page),
            Route("/favicon.ico", lambda _: Response(status_code=204)),
            *probes.ROUTES,
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
