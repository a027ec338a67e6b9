"""What every resolver can reach: the viewer, and what the process lends the API (its ServicesForApi)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from domain.viewer import Viewer
from resolvers.errors import UNAUTHENTICATED, ApiError


class ServicesForApi(Protocol):
    """The composition root's services as the API uses them (jeto/services.py provides them)."""

    settings: Any  # campaign_email_hold, marketo_allowed_hosts
    secret_box: Any  # seals client secrets

    async def test_connection(self, integration: Any) -> Any: ...

    def account_events(self, account_id: int) -> AbstractAsyncContextManager[AsyncIterator[str | None]]:
        """The account's channel: each message as published, or None after the bus reconnected (events of
        the outage are lost: read the current state again)."""
        ...


@dataclass(frozen=True, slots=True)
class Subject:
    """What a subscription's latest result is about (a node type and its primary key). Subscribers that share
    one execution (jeto/live) keep the latest result per subject, which is what a newcomer is sent first."""

    kind: str
    pk: int
    gone: bool = False  # the last result about it: it was deleted, nothing more will be said of it


@dataclass
class Context:
    services: Any  # ServicesForApi
    request: Any = None
    response: Any = None
    viewer_or_none: Viewer | None = None
    # The viewer's account as read when they signed in, with this HTTP request (never for a long-lived websocket).
    account_row: tuple[Any, ...] | None = None
    budget: int | None = None  # the points per window of the viewer's account, read when they signed in
    rate_limit: Any = None  # the operation's charge (domain.rate_limits.Spent), once the request checks made it
    # Set by a subscription's resolver just before each yield: what the result about to be executed is about.
    subject: Subject | None = None

    def about(self, kind: str, pk: int, *, gone: bool = False) -> None:
        self.subject = Subject(kind, pk, gone)

    @property
    def viewer(self) -> Viewer:
        if self.viewer_or_none is None:
            raise ApiError("Sign in first.", code=UNAUTHENTICATED)
        return self.viewer_or_none
