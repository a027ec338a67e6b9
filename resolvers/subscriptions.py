"""Subscriptions: subscribe to the account's channel first, then yield the current state, then each change.

Subscribing before reading closes the gap in which a change could be missed. Events carry a snapshot
and its status version: a subscriber yields only versions newer than the last it yielded, so it shows
each change once, in order, never an older state after a newer one. After the bus reconnects (events
of the outage are lost) the current state is read again.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator
from typing import TypeVar

import strawberry
from tortoise.models import Model
from tortoise.queryset import QuerySet

from domain import events, models
from jeto.bus import RESYNC
from jeto.observability import ACTIVE_SUBSCRIPTIONS
from resolvers.context import Context
from resolvers.errors import NotFound
from resolvers.ids import pk_argument
from resolvers.loaders import Loaders
from schema import nodes

Info = strawberry.Info[Context, None]
ModelT = TypeVar("ModelT", bound=Model)

READ_CURRENT = None  # what _account_events yields when the current state must be read


@functools.lru_cache(maxsize=1024)
def _decode(message: str) -> events.Event | None:
    """Every subscriber of an account receives the same message: it is decoded once."""
    return events.Event.decode(message)


@functools.lru_cache(maxsize=1024)
def _sync_status_node(message: str) -> nodes.SyncStatus:
    """And its SyncStatus is built once, for all of them."""
    event = _decode(message)
    assert event is not None
    return _node_of(event)


def _node_of(snapshot: events.Event) -> nodes.SyncStatus:
    return nodes.SyncStatus.of(events.integration_as_of(snapshot))


async def _account_events(info: Info, kind: str) -> AsyncGenerator[events.Event | None, None]:
    """READ_CURRENT first and after every bus reconnect, then each event of this kind on the account."""
    channel = events.account_channel(info.context.viewer.account_id)
    ACTIVE_SUBSCRIPTIONS.inc()
    try:
        async with info.context.services.broadcast.subscribe(channel) as subscriber:
            yield READ_CURRENT
            async for message in subscriber:
                event = None if message.message == RESYNC else _decode(message.message)
                if message.message == RESYNC or (event is not None and event.kind == kind):
                    # Fresh loaders per event: a websocket's context lives as long as the socket.
                    info.context.loaders = Loaders()
                    yield event
    finally:
        ACTIVE_SUBSCRIPTIONS.dec()


async def _still_visible(info: Info, visible: QuerySet[ModelT], pk: int) -> bool:
    """Admins see their whole account (the channel is the account's); a collaborator's grants are read again."""
    return info.context.viewer.is_admin or await visible.filter(id=pk).exists()


async def _sync_status_of(
    info: Info, visible: QuerySet[models.PlatformIntegration], event: events.Event
) -> events.Event | None:
    """The event with its snapshot, or None if the viewer may no longer see the integration."""
    if event.fields is None:  # too large for the bus: read the row (a newer version is as good)
        row = await visible.filter(id=event.id).first()
        return events.sync_status(row) if row is not None else None
    if event.fields.get("deleted_at") is not None or not await _still_visible(info, visible, event.id):
        return None
    return event


def _render(snapshot: events.Event) -> nodes.SyncStatus:
    if snapshot.message is not None:
        return _sync_status_node(snapshot.message)
    return _node_of(snapshot)


async def sync_status(info: Info, platform_integration_id: strawberry.ID) -> AsyncGenerator[nodes.SyncStatus, None]:
    pk = pk_argument(platform_integration_id, "PlatformIntegration", "platformIntegrationId")
    visible = info.context.viewer.integrations()
    if not await visible.filter(id=pk).exists():
        raise NotFound("No platform integration with this id.")
    shown = -1
    async for event in _account_events(info, events.SYNC_STATUS):
        if event is READ_CURRENT:
            row = await visible.filter(id=pk).first()
            current = events.sync_status(row) if row is not None else None
        elif event.id == pk:
            current = await _sync_status_of(info, visible, event)
        else:
            continue
        if current is None:
            return  # deleted, or no longer visible to the viewer
        if current.version > shown:
            shown = current.version
            yield _render(current)


async def account_sync_status(info: Info) -> AsyncGenerator[nodes.SyncStatus, None]:
    visible = info.context.viewer.integrations()
    shown: dict[int, int] = {}
    async for event in _account_events(info, events.SYNC_STATUS):
        if event is READ_CURRENT:
            changes = [events.sync_status(row) for row in await visible.order_by("id")]
        else:
            current = await _sync_status_of(info, visible, event)
            changes = [current] if current is not None else []
        for current in changes:
            if current.version > shown.get(current.id, -1):
                shown[current.id] = current.version
                yield _render(current)


async def campaign(info: Info, id: strawberry.ID) -> AsyncGenerator[nodes.Campaign, None]:
    pk = pk_argument(id, "Campaign", "id")
    visible = info.context.viewer.campaigns()
    if not await visible.filter(id=pk).exists():
        raise NotFound("No campaign with this id.")
    shown = -1
    async for event in _account_events(info, events.CAMPAIGN):
        if event is not READ_CURRENT and (event.id != pk or event.version <= shown):
            continue
        row = await visible.filter(id=pk).first()  # also what never changes (launcher, submitter…)
        if row is None:
            return
        if event is not READ_CURRENT and event.fields is not None:
            row = events.campaign_as_of(event, row)
        if row.status_version > shown:
            shown = row.status_version
            yield nodes.Campaign(model=row)
