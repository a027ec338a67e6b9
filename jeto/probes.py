"""What orchestrators and Prometheus poll: /healthz, /readyz and /metrics, on API and worker processes alike."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from tortoise import Tortoise
from tortoise.functions import Count

from domain.models import Job
from jeto.observability import DOCUMENT_CACHE_BYTES, DOCUMENT_CACHE_ENTRIES, JOBS, metrics_text
from jeto.services import Services
from jeto.settings import Settings
from marketo.credentials import Secret

log = logging.getLogger("jeto.probes")

JOB_COUNT_TIMEOUT = 3.0


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
    checks["broadcast"] = "ok" if services.bus.healthy else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


async def _job_counts() -> list[tuple[str, str, int]]:
    rows = await Job.annotate(n=Count("id")).group_by("kind", "state").values_list("kind", "state", "n")
    return [(str(getattr(kind, "value", kind)), str(getattr(state, "value", state)), n) for kind, state, n in rows]


async def metrics(request: Request) -> Response:
    """Prometheus text; the jobs gauge is read from the database, and left out (not stale) when it cannot be."""
    documents = getattr(request.app.state, "documents", None)  # API processes only
    if documents is not None:
        DOCUMENT_CACHE_BYTES.set(documents.bytes)
        DOCUMENT_CACHE_ENTRIES.set(len(documents))
    try:
        async with asyncio.timeout(JOB_COUNT_TIMEOUT):
            counts = await _job_counts()
    except Exception as error:  # the other metrics are still worth a scrape
        log.warning("jobs by state are left out of /metrics: %s", type(error).__name__)
        counts = []
    # No await between clearing and setting: a concurrent scrape never sees the gauge half-filled.
    JOBS.clear()
    for kind, state, count in counts:
        JOBS.labels(kind, state).set(count)
    body, content_type = metrics_text()
    return Response(body, media_type=content_type)


class GuardedMetrics:
    """/metrics for whoever the operator chose: with JETO_METRICS_TOKEN set, only a scraper that sends it as a
    bearer token; without one, only on a port of the operator's own (`open`), never on the API's."""

    def __init__(self, token: Secret | None, *, open: bool) -> None:
        self._token = token
        self._open = open

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = self._refusal(request) or await metrics(request)
        await response(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        if self._token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
            if not hmac.compare_digest(given, self._token.reveal().encode()):
                return JSONResponse(
                    {"error": "Send JETO_METRICS_TOKEN as a bearer token."},
                    401,
                    {"WWW-Authenticate": "Bearer"},
                )
            return None
        if not self._open:
            return JSONResponse(
                {"error": "Metrics are served on JETO_METRICS_PORT, or here with JETO_METRICS_TOKEN."}, 404
            )
        return None


def routes(settings: Settings, *, metrics_open: bool) -> list[Route]:
    """The probes; `metrics_open`: on a port only the operator reaches, /metrics needs no token unless one is set."""
    guarded = GuardedMetrics(settings.metrics_token, open=metrics_open)
    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", guarded)]


def create_probe_app(settings: Settings, services: Services, *, documents: Any = None) -> Starlette:
    """A process's port for operators: only the probes, so its metrics can be scraped and its health checked
    (a worker's, and an API process's when JETO_METRICS_PORT is set). `documents`: the API's document cache,
    whose size the metrics show."""
    app = Starlette(routes=routes(settings, metrics_open=True))
    app.state.services = services
    app.state.documents = documents
    return app
