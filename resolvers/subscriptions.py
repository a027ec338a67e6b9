"""Subscriptions: subscribe to the account's channel first, then yield the current state, then each change.

Subscribing before reading closes the gap in which a change could be missed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from domain import events, models
from jeto.observability import ACTIVE_SUBSCRIPTIONS
from resolvers.context import Context
from resolvers.errors import NotFound
from resolvers.ids import pk_argument
from resolvers.loaders import Loaders
from schema import nodes

Info = strawberry.Info[Context, None]


async def _account_events(info: Info, kind: str) -> AsyncGenerator[int | None, None]:
    """None first (read the current state now), then the id of every changed object of this kind."""
    channel = events.account_channel(info.context.viewer.account_id)
    ACTIVE_SUBSCRIPTIONS.inc()
    try:
        async with info.context.services.broadcast.subscribe(channel) as subscriber:
            yield None
            async for message in subscriber:
                event = events.Event.decode(message.message)
                if event is not None and event.kind == kind:
                    # Fresh loaders per event: a websocket's context lives as long as the socket.
                    info.context.loaders = Loaders()
                    yield event.id
    finally:
        ACTIVE_SUBSCRIPTIONS.dec()


async def sync_status(info: Info, platform_integration_id: strawberry.ID) -> AsyncGenerator[nodes.SyncStatus, None]:
    pk = pk_argument(platform_integration_id, "PlatformIntegration", "platformIntegrationId")
    visible = info.context.viewer.integrations()
    if not await visible.filter(id=pk).exists():
        raise NotFound("No platform integration with this id.")
    async for changed in _account_events(info, "sync_status"):
        if changed in (None, pk):
            row = await visible.filter(id=pk).first()
            if row is None:
                return
            yield nodes.SyncStatus.of(row)


async def account_sync_status(info: Info) -> AsyncGenerator[nodes.SyncStatus, None]:
    visible = info.context.viewer.integrations()
    async for changed in _account_events(info, "sync_status"):
        rows = await (visible.order_by("id") if changed is None else visible.filter(id=changed))
        for row in rows:
            yield nodes.SyncStatus.of(row)


async def campaign(info: Info, id: strawberry.ID) -> AsyncGenerator[nodes.Campaign, None]:
    pk = pk_argument(id, "Campaign", "id")
    visible = info.context.viewer.campaigns()
    if not await visible.filter(id=pk).exists():
        raise NotFound("No campaign with this id.")
    async for changed in _account_events(info, "campaign"):
        if changed in (None, pk):
            row: models.Campaign | None = await visible.filter(id=pk).first()
            if row is None:
                return
            yield nodes.Campaign(model=row)
