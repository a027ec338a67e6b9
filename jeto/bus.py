"""The event bus behind GraphQL subscriptions: a `broadcaster.Broadcast` whose backend the URL picks.

broadcaster 0.3.1's own Redis backend receives nothing with redis-py 8 and neither it nor its
PostgreSQL backend reconnects (notes/stack.md §3), so those two schemes use our backends. Its
`Broadcast.subscribe` loses subscribers that arrive together (see EventBus), so we use our own.

After a reconnect our backends deliver RESYNC on every channel: events published during the
outage are lost, so subscribers re-read the state they show. A subscriber too slow to keep up is
told the same: its queue is bounded, and what overflows it is replaced by RESYNC.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from broadcaster import Broadcast, Event
from broadcaster._base import Subscriber  # not exported by broadcaster 0.3.1

RESYNC = "jeto.bus.resync"  # a message our backends deliver locally after a reconnect; never published
SUBSCRIBER_QUEUE_SIZE = 1000  # events waiting for one subscriber; beyond, it re-reads the state instead

SUPPORTED_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")

log = logging.getLogger("jeto.bus")


class EventBusUnavailable(ConnectionError):
    """The bus's server cannot be reached right now; the event was not published."""


class _Mailbox(asyncio.Queue[Event | None]):
    """A subscriber's bounded queue. When full, the oldest event goes, and a RESYNC after it tells the
    subscriber to re-read the state: events carry versioned snapshots, so what it reads then is at least
    as new as what was dropped."""

    def __init__(self, channel: str, maxsize: int) -> None:
        super().__init__(maxsize)
        self._channel = channel
        self._resyncs = 0  # RESYNCs waiting in the queue

    def offer(self, event: Event | None) -> None:
        """Never waits; None (the subscription ended) is always delivered."""
        if self.full():
            dropped = self.get_nowait()
            if event is not None and (self._resyncs == 0 or _is_resync(dropped)):
                self.put_nowait(Event(self._channel, RESYNC))  # the new event is part of the state it re-reads
                return
        self.put_nowait(event)

    def _put(self, item: Event | None) -> None:
        self._resyncs += _is_resync(item)
        super()._put(item)  # type: ignore[misc]

    def _get(self) -> Event | None:
        item: Event | None = super()._get()  # type: ignore[misc]
        self._resyncs -= _is_resync(item)
        return item


def _is_resync(item: Event | None) -> bool:
    return item is not None and item.message == RESYNC


class EventBus(Broadcast):
    """broadcaster's Broadcast with a subscribe that concurrent subscribers of one channel survive.

    broadcaster 0.3.1 stores a first subscriber's queue only after `backend.subscribe()` returns, so a
    second first subscriber arriving meanwhile overwrites it (that one never receives anything) and
    the exit raises KeyError (broadcaster issue #142). Here the queue is registered first, and a
    per-channel lock orders the backend's subscribe and unsubscribe of a channel.
    """

    def __init__(self, url: str | None = None, *, backend: object | None = None) -> None:
        super().__init__(url, backend=backend)  # type: ignore[arg-type]
        self._channel_locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def _listener(self) -> None:
        """broadcaster's, but a slow subscriber never holds up the others (nor grows without bound)."""
        while True:
            event = await self._backend.next_published()
            for queue in list(self._subscribers.get(event.channel, ())):
                queue.offer(event)  # type: ignore[attr-defined]

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        queue = _Mailbox(channel, SUBSCRIBER_QUEUE_SIZE)
        async with self._channel_lock(channel):
            listeners = self._subscribers.setdefault(channel, set())
            listeners.add(queue)
            if len(listeners) == 1:
                try:
                    await self._backend.subscribe(channel)
                except BaseException:
                    # Cancelled (or failed) while the server confirmed it: the backend may hold the channel,
                    # and the server too, with no one left to unsubscribe it.
                    if self._forget(channel, queue):
                        await asyncio.shield(self._unsubscribe_quietly(channel))
                    raise
        try:
            yield Subscriber(queue)
        finally:
            # Shielded: a cancelled subscriber still unsubscribes, or the channel stays subscribed forever.
            await asyncio.shield(self._leave(channel, queue))

    async def _leave(self, channel: str, queue: _Mailbox) -> None:
        async with self._channel_lock(channel):
            if self._forget(channel, queue):
                await self._backend.unsubscribe(channel)
        queue.offer(None)

    async def _unsubscribe_quietly(self, channel: str) -> None:
        try:
            await self._backend.unsubscribe(channel)
        except Exception:  # the subscribe's own error is the one to raise
            log.warning("event bus: could not unsubscribe %r after a failed subscribe", channel, exc_info=True)

    def _forget(self, channel: str, queue: asyncio.Queue[Event | None]) -> bool:
        """Drops the queue; True if it was the channel's last."""
        listeners = self._subscribers.get(channel, set())
        listeners.discard(queue)
        if listeners:
            return False
        self._subscribers.pop(channel, None)
        return True

    @contextlib.asynccontextmanager
    async def _channel_lock(self, channel: str) -> AsyncIterator[None]:
        """A lock per channel, kept only while someone holds or awaits it."""
        lock, users = self._channel_locks.get(channel, (asyncio.Lock(), 0))
        self._channel_locks[channel] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._channel_locks[channel]
            if users == 1:
                del self._channel_locks[channel]
            else:
                self._channel_locks[channel] = (lock, users - 1)


def open_broadcast(url: str) -> EventBus:
    """A not yet connected bus for `url`; use it as `async with open_broadcast(url) as broadcast:`."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return EventBus("memory://")
    if scheme in ("redis", "rediss"):
        from jeto.bus_redis import RedisPubSubBackend

        return EventBus(backend=RedisPubSubBackend(url))
    if scheme in ("postgres", "postgresql"):
        from jeto.bus_postgres import PostgresNotifyBackend

        return EventBus(backend=PostgresNotifyBackend(url))
    raise ValueError(f"unsupported event bus scheme {scheme!r}: use one of {', '.join(SUPPORTED_SCHEMES)}")


def bus_healthy(broadcast: Broadcast) -> bool:
    """For a readiness probe: the listener runs and the backend's reader is connected (memory: always)."""
    listener = getattr(broadcast, "_listener_task", None)  # broadcaster has no public accessor
    if listener is None or listener.done():
        return False
    return bool(getattr(broadcast._backend, "healthy", True))


def public_location(url: str) -> str:
    """`scheme://host:port` of a URL, for logs and errors: never the user name or password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"
