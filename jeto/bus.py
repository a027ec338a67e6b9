"""The event bus behind GraphQL subscriptions: a `broadcaster.Broadcast` whose backend the URL picks.

broadcaster 0.3.1's own Redis backend receives nothing with redis-py 8 and neither it nor its
PostgreSQL backend reconnects (notes/stack.md §3), so those two schemes use our backends. Its
`Broadcast.subscribe` loses subscribers that arrive together (see EventBus), so we use our own.

After a reconnect our backends deliver RESYNC on every channel: events published during the
outage are lost, so subscribers re-read the state they show.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from broadcaster import Broadcast, Event
from broadcaster._base import Subscriber  # not exported by broadcaster 0.3.1

RESYNC = "jeto.bus.resync"  # a message our backends deliver locally after a reconnect; never published

SUPPORTED_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")


class EventBusUnavailable(ConnectionError):
    """The bus's server cannot be reached right now; the event was not published."""


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

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        async with self._channel_lock(channel):
            listeners = self._subscribers.setdefault(channel, set())
            listeners.add(queue)
            if len(listeners) == 1:
                try:
                    await self._backend.subscribe(channel)
                except BaseException:
                    self._forget(channel, queue)
                    raise
        try:
            yield Subscriber(queue)
        finally:
            # Shielded: a cancelled subscriber still unsubscribes, or the channel stays subscribed forever.
            await asyncio.shield(self._leave(channel, queue))

    async def _leave(self, channel: str, queue: asyncio.Queue[Event | None]) -> None:
        async with self._channel_lock(channel):
            if self._forget(channel, queue):
                await self._backend.unsubscribe(channel)
        queue.put_nowait(None)

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
