"""What operators see: JSON logs carrying the request id and operation, and Prometheus metrics."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
operation_name: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation_name", default=None)

REGISTRY = CollectorRegistry()
GRAPHQL_REQUESTS = Counter(
    "jeto_graphql_requests_total",
    "GraphQL operations by name, type and outcome",
    ["operation", "type", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_LATENCY = Histogram(
    "jeto_graphql_request_seconds", "GraphQL operation latency", ["operation", "type"], registry=REGISTRY
)
GRAPHQL_ERRORS = Counter("jeto_graphql_errors_total", "GraphQL errors by code", ["code"], registry=REGISTRY)
ACTIVE_SUBSCRIPTIONS = Gauge("jeto_active_subscriptions", "Subscriptions open now", registry=REGISTRY)
SUBSCRIPTION_GROUPS = Gauge(
    "jeto_subscription_groups",
    "Executions shared by subscribers that ask the same thing, running now",
    registry=REGISTRY,
)
SUBSCRIPTION_RESULTS = Counter(
    "jeto_subscription_results_total", "Results executed for subscriptions: one per change per group", registry=REGISTRY
)
SUBSCRIPTION_MESSAGES = Counter(
    "jeto_subscription_messages_total", "Subscription results handed to subscribers' sockets", registry=REGISTRY
)
CAST_OFF_SOCKETS = Counter(
    "jeto_websockets_cast_off_total",
    "Websockets closed (1013) because their reader fell too far behind",
    registry=REGISTRY,
)
DOCUMENT_CACHE_BYTES = Gauge(
    "jeto_document_cache_bytes", "Estimated bytes of the parsed GraphQL documents kept", registry=REGISTRY
)
DOCUMENT_CACHE_ENTRIES = Gauge("jeto_document_cache_entries", "Parsed GraphQL documents kept", registry=REGISTRY)
JOBS = Gauge("jeto_jobs", "Worker jobs by kind and state", ["kind", "state"], registry=REGISTRY)
# Marketo series are labelled by integration id: an instance's address names a customer.
MARKETO_CALLS = Counter(
    "jeto_marketo_calls_total",
    "Marketo REST calls by integration and outcome",
    ["integration", "outcome"],
    registry=REGISTRY,
)
MARKETO_ERRORS = Counter(
    "jeto_marketo_errors_total", "Marketo errors by integration and code", ["integration", "code"], registry=REGISTRY
)
MARKETO_THROTTLE_WAIT = Counter(
    "jeto_marketo_throttle_wait_seconds_total",
    "Seconds an integration's calls waited for its instance's limits",
    ["integration"],
    registry=REGISTRY,
)
MARKETO_TOKEN_REFRESHES = Counter(
    "jeto_marketo_token_refreshes_total", "Identity calls made for a token", ["integration"], registry=REGISTRY
)


class BoundedLabel:
    """A label whose values clients choose (operation names): each cut to `length` characters, and at most
    `limit` distinct ones per process, later new ones counted as "other", so no client can grow /metrics."""

    OTHER = "other"

    def __init__(self, limit: int = 200, length: int = 64) -> None:
        self.limit, self.length = limit, length
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        value = value[: self.length]
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return self.OTHER
        self._seen.add(value)
        return value


OPERATION_LABELS = BoundedLabel()


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.operation = operation_name.get()
        return True


def configure_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """One JSON object a line; the request id and the GraphQL operation ride along when there are some."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}{request_id}{operation}", style="{"))
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    if level > logging.DEBUG:
        handler.addFilter(_RoutineLines())


class _RoutineLines(logging.Filter):
    """httpx writes a line per request (every Marketo call) at INFO: routine, so this handler shows them only when
    it shows DEBUG (`jeto --debug`). A filter of the handler's, not a level of httpx's logger: others still get them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("httpx") and record.levelno < logging.WARNING)


class RequestIdMiddleware:
    """Takes an HTTP caller's X-Request-ID (or makes one), logs under it, and returns it (websockets: the app's
    LiveSockets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_id_of(scope) as rid:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
                await send(message)

            await self.app(scope, receive, send_with_id)


@contextlib.contextmanager
def request_id_of(scope: Scope) -> Iterator[str]:
    """The id of a request or a websocket, logged with everything done for it: the caller's X-Request-ID (if
    short and printable), or a new one."""
    given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
    rid = given if given and len(given) <= 100 and given.isprintable() else uuid.uuid4().hex
    token = request_id.set(rid)
    try:
        yield rid
    finally:
        request_id.reset(token)


def metrics_text() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class MarketoMetrics:
    """The Marketo client's observer: its calls, errors, throttle waits and token refreshes per instance."""

    def call_finished(self, instance: str, outcome: str) -> None:
        MARKETO_CALLS.labels(instance, "ok" if outcome == "ok" else "error").inc()
        if outcome != "ok":
            MARKETO_ERRORS.labels(instance, outcome).inc()

    def throttled(self, instance: str, seconds: float) -> None:
        MARKETO_THROTTLE_WAIT.labels(instance).inc(seconds)

    def token_requested(self, instance: str) -> None:
        MARKETO_TOKEN_REFRESHES.labels(instance).inc()
