"""Counts, times and logs every GraphQL operation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from jeto.observability import GRAPHQL_ERRORS, GRAPHQL_LATENCY, GRAPHQL_REQUESTS, OPERATION_LABELS, operation_name
from schema.errors import code_of

log = logging.getLogger("jeto.graphql")


def _cut(name: str | None) -> str | None:
    """Clients choose operation names: logs carry at most this much of one."""
    return name[: OPERATION_LABELS.length] if name else name


def _kind(context: ExecutionContext) -> str:
    """query, mutation or subscription; "unknown" when the document did not parse or names no such operation."""
    if context.graphql_document is None:
        return "unknown"
    try:
        return context.operation_type.value
    except RuntimeError:
        return "unknown"


class OperationMetrics(SchemaExtension):
    """Counts and times every operation, by name, and counts errors by code."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        operation_name.set(_cut(self.execution_context.operation_name))
        try:
            yield
        finally:  # a websocket operation ends with GeneratorExit here once its client has its (error) result
            self._record(started)

    def _record(self, started: float) -> None:
        context = self.execution_context
        name = _cut(context.operation_name) or "anonymous"
        kind = _kind(context)
        operation_name.set(name)
        result: Any = context.result
        # Strawberry copies a result's errors into pre_execution_errors: those count only when there is no result.
        errors = list((result.errors if result is not None else context.pre_execution_errors) or [])
        for error in errors:
            GRAPHQL_ERRORS.labels(code_of(error)).inc()
        elapsed = time.perf_counter() - started
        label = OPERATION_LABELS(name)
        GRAPHQL_REQUESTS.labels(label, kind, "error" if errors else "ok").inc()
        GRAPHQL_LATENCY.labels(label, kind).observe(elapsed)
        log.info("%s %s", kind, name, extra={"duration_ms": round(elapsed * 1000, 1), "errors": len(errors)})
