"""Handlers tests give a worker in place of a kind's own: they are given the job's context, as the real ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain.models import JobKind
from marketo.worker.jobs import HANDLERS, JobHandler


def handled_by(handle: Callable[[Any, Any], Awaitable[None]], kind: JobKind = JobKind.SYNC) -> JobHandler:
    """`handle(context, job)` for the kind's jobs; giving up as the kind does."""
    return JobHandler(handle, HANDLERS[kind].give_up)
