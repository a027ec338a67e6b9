"""The Starlette application: GraphQL over HTTP and websockets at /graphql, and the process's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from tortoise import Tortoise
from tortoise.contrib.starlette import RegisterTortoise
from tortoise.functions import Count

from domain.models import Job
from jeto import graphiql, graphql_http
from jeto.auth import AuthenticationFailed
from jeto.bus import bus_healthy
from jeto.database import tortoise_config
from jeto.legacy_ws import LegacyGraphQLWSHandler
from jeto.observability import JOBS, RequestIdMiddleware, metrics_text
from jeto.services import Services, open_services, run_background_work
from jeto.settings import Settings
from resolvers.context import Context
from resolvers.errors import UNAUTHENTICATED
from schema import schema


class JetoGraphQL(GraphQL[Context, None]):
    graphql_ws_handler_class = LegacyGraphQLWSHandler  # a rejected legacy connection closes 4403, not 1011

    def __init__(self, *args: Any, demo: DemoAccess | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._demo = demo

    async def render_graphql_ide(self, request: Any) -> Response:
        demo = self._demo
        return graphiql.page(
            request.url.path,
            token=demo.token if demo else None,
            default_integration_id=demo.integration_id if demo else None,
        )

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
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == graphql_http.GRAPHQL_RESPONSE:
            response.headers["content-type"] = graphql_http.GRAPHQL_RESPONSE
            if not sub_response.status_code or sub_response.status_code == 200:
                response.status_code = graphql_http.graphql_response_status(response_data)
        return response

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
        if scope["type"] == "http":
            request = Request(scope, receive)
            refused = graphql_http.refusal(request)
            if refused is not None:
                await refused(scope, receive, send)
                return
            if not _wants_ide(request):
                services: Services = request.app.state.services
                try:
                    viewer = await services.authenticator.viewer(request.headers.get("authorization"))
                except AuthenticationFailed as failure:
                    body = {"errors": [{"message": str(failure), "extensions": {"code": UNAUTHENTICATED}}]}
                    response = JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
                    await response(scope, receive, send)
                    return
                scope.setdefault("state", {})["viewer"] = viewer
        await self._graphql(scope, receive, send)


async def healthz(_: Request) -> PlainTextResponse:
    """The process answers."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    """The database and the event bus answer: this process can serve."""
    services: Services = request.app.state.services
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3):
            await Tortoise.get_connection("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # any failure means not ready; the reason is the exception's type only
        checks["database"] = f"unavailable ({type(error).__name__})"
    checks["broadcast"] = "ok" if bus_healthy(services.broadcast) else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


async def metrics(_: Request) -> Response:
    for kind, state, count in await Job.annotate(n=Count("id")).group_by("kind", "state").values_list("kind", "state", "n"):
        JOBS.labels(str(getattr(kind, "value", kind)), str(getattr(state, "value", state))).set(count)
    body, content_type = metrics_text()
    return Response(body, media_type=content_type)


@dataclass(frozen=True)
class DemoAccess:
    """What `serve --demo` pre-fills in GraphiQL: a token and an integration id to try things on."""

    token: str
    integration_id: str | None


def create_app(
    settings: Settings,
    *,
    marketo_transport: httpx.AsyncBaseTransport | None = None,
    demo: DemoAccess | None = None,
) -> Starlette:
    """`marketo_transport` lets tests route Marketo calls to an in-process simulator."""
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
        async with (
            RegisterTortoise(app, config=tortoise_config(settings.database_url), generate_schemas=False),
            open_services(settings, marketo_transport=marketo_transport) as services,
        ):
            app.state.services = services
            background = asyncio.create_task(run_background_work(settings, services)) if settings.worker else None
            try:
                yield
            finally:
                if background is not None:
                    background.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await background

    return Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", endpoint),
            Route("/graphiql/assets/{name}", graphiql.asset),
            Route("/favicon.ico", lambda _: Response(status_code=204)),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
