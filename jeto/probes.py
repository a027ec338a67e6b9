"""What orchestrators and Prometheus poll: /healthz, /readyz and /metrics, on API and worker processes alike."""

from __future__ import annotations

import asyncio
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from tortoise import Tortoise
from tortoise.functions import Count

from domain.models import Job
from jeto.bus import bus_healthy
from jeto.observability import JOBS, metrics_text
from jeto.services import Services

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
    checks["broadcast"] = "ok" if bus_healthy(services.broadcast) else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


async def _job_counts() -> list[tuple[str, str, int]]:
    rows = await Job.annotate(n=Count("id")).group_by("kind", "state").values_list("kind", "state", "n")
    return [(str(getattr(kind, "value", kind)), str(getattr(state, "value", state)), n) for kind, state, n in rows]


async def metrics(_: Request) -> Response:
    """Prometheus text; the jobs gauge is read from the database, and left out (not stale) when it cannot be."""
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


ROUTES = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


def create_probe_app(services: Services) -> Starlette:
    """A worker's HTTP face: only the probes, so its Marketo metrics can be scraped and its health checked."""
    app = Starlette(routes=ROUTES)
    app.state.services = services
    return app
