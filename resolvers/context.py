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

    async def sync_queued(self, integration: Any) -> None: ...

    async def campaign_changed(self, campaign: Any) -> None: ...

    def wake_worker(self) -> None: ...

    async def api_key_revoked(self, account_id: int, key_id: int) -> None: ...

    def account_events(self, account_id: int) -> AbstractAsyncContextManager[AsyncIterator[str | None]]:
        """The account's channel: each message as published, or None after the bus reconnected (events of
        the outage are lost: read the current state again)."""
        ...


@dataclass
class Context:
    services: Any  # ServicesForApi
    request: Any = None
    response: Any = None
    viewer_or_none: Viewer | None = None
    connection_params: Any = None  # filled by Strawberry from a websocket's connection_init
    # The viewer's account as read when they signed in, with this HTTP request (never for a long-lived websocket).
    account_row: tuple[Any, ...] | None = None
    budget: int | None = None  # the points per window of the viewer's account, read when they signed in
    rate_limit: Any = None  # the operation's charge (domain.rate_limits.Spent), once the request checks made it

    @property
    def viewer(self) -> Viewer:
        if self.viewer_or_none is None:
            raise ApiError("Sign in first.", code=UNAUTHENTICATED)
        return self.viewer_or_none
