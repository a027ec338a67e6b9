"""Subscriptions: subscribe to the account's channel first, then yield the current state, then each change.

Subscribing before reading closes the gap in which a change could be missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, TypeVar

import strawberry
from tortoise.models import Model
from tortoise.queryset import QuerySet

from domain import events, models
from jeto.observability import ACTIVE_SUBSCRIPTIONS
from resolvers.context import Context
from resolvers.errors import NotFound
from resolvers.ids import pk_argument
from resolvers.loaders import Loaders
from schema import nodes

Info = strawberry.Info[Context, None]
ModelT = TypeVar("ModelT", bound=Model)


class _SharedReads:
    """One event reaches every subscriber of an account at once: they share one read of the changed row.

    Reads are shared per event (the bus hands every subscriber the same event object), never across
    events: a read started for an earlier event could predate this one's commit.
    """

    def __init__(self) -> None:
        self._in_flight: dict[tuple[type[Model], int, int], tuple[object, asyncio.Future[Any]]] = {}

    async def get(self, model: type[ModelT], pk: int, event: object) -> ModelT | None:
        key = (model, pk, id(event))
        entry = self._in_flight.get(key)
        if entry is None or entry[0] is not event:
            future = asyncio.ensure_future(model.get_or_none(id=pk))
            self._in_flight[key] = (event, future)  # holding the event keeps its id from being reused
            future.add_done_callback(lambda _: self._in_flight.pop(key, None))
        else:
            future = entry[1]
        return await asyncio.shield(future)


_reads = _SharedReads()


async def _changed_row(
    info: Info, model: type[ModelT], pk: int, visible: QuerySet[ModelT], event: object
) -> ModelT | None:
    """The changed row if the viewer may still see it. Admins see their whole account (the channel is the
    account's), so their check needs no query of its own; a collaborator's grants are read again."""
    row = await _reads.get(model, pk, event)
    if row is None or getattr(row, "deleted_at", None) is not None:
        return None
    if info.context.viewer.is_admin:
        return row if row.account_id == info.context.viewer.account_id else None  # type: ignore[attr-defined]
    return await visible.filter(id=pk).first()


async def _account_events(info: Info, kind: str) -> AsyncGenerator[tuple[int | None, object], None]:
    """(None, None) first (read the current state now), then (id, event) for every change of this kind."""
    channel = events.account_channel(info.context.viewer.account_id)
    ACTIVE_SUBSCRIPTIONS.inc()
    try:
        async with info.context.services.broadcast.subscribe(channel) as subscriber:
            yield None, None
            async for message in subscriber:
                event = events.Event.decode(message.message)
                if event is not None and event.kind == kind:
                    # Fresh loaders per event: a websocket's context lives as long as the socket.
                    info.context.loaders = Loaders()
                    yield event.id, message
    finally:
        ACTIVE_SUBSCRIPTIONS.dec()


async def sync_status(info: Info, platform_integration_id: strawberry.ID) -> AsyncGenerator[nodes.SyncStatus, None]:
    pk = pk_argument(platform_integration_id, "PlatformIntegration", "platformIntegrationId")
    visible = info.context.viewer.integrations()
    if not await visible.filter(id=pk).exists():
        raise NotFound("No platform integration with this id.")
    async for changed, event in _account_events(info, "sync_status"):
        if changed in (None, pk):
            row = await (
                visible.filter(id=pk).first()
                if changed is None
                else _changed_row(info, models.PlatformIntegration, pk, visible, event)
            )
            if row is None:
                return
            yield nodes.SyncStatus.of(row)


async def account_sync_status(info: Info) -> AsyncGenerator[nodes.SyncStatus, None]:
    visible = info.context.viewer.integrations()
    async for changed, event in _account_events(info, "sync_status"):
        if changed is None:
            rows = await visible.order_by("id")
        else:
            row = await _changed_row(info, models.PlatformIntegration, changed, visible, event)
            rows = [row] if row is not None else []
        for row in rows:
            yield nodes.SyncStatus.of(row)


async def campaign(info: Info, id: strawberry.ID) -> AsyncGenerator[nodes.Campaign, None]:
    pk = pk_argument(id, "Campaign", "id")
    visible = info.context.viewer.campaigns()
    if not await visible.filter(id=pk).exists():
        raise NotFound("No campaign with this id.")
    async for changed, event in _account_events(info, "campaign"):
        if changed in (None, pk):
            row = await (
                visible.filter(id=pk).first()
                if changed is None
                else _changed_row(info, models.Campaign, pk, visible, event)
            )
            if row is None:
                return
            yield nodes.Campaign(model=row)
