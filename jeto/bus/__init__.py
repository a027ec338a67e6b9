"""The event bus behind GraphQL subscriptions: publish a message on a channel, subscribe to a channel.

A narrow interface (`Bus`: publish, subscribe, healthy), a small hub, and one module per backend, which the
URL picks: memory:// for one process, redis:// (Redis pub/sub) or postgres:// (LISTEN/NOTIFY) for several.
The hub is ours: broadcaster 0.3.1, which this replaced, loses subscribers that arrive together, holds an
unbounded queue per subscriber, never reconnects, and its Redis backend receives nothing with redis-py 8
(notes/stack.md §3); fixing that meant subclassing it through private attributes a patch release may change.

After a reconnect the backends deliver RESYNC on every channel: events published during the outage are
lost, so subscribers re-read the state they show. A subscriber too slow to keep up is told the same: its
queue is bounded, and what overflows it is replaced by RESYNC.

A backend: `connect()`, `disconnect()`, `subscribe(channel)`, `unsubscribe(channel)`, `publish(channel,
message)`, `next_published() -> Event` (never raising on a lost connection: it reconnects), and `healthy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol
from urllib.parse import urlsplit

RESYNC = "jeto.bus.resync"  # a message our backends deliver locally after a reconnect; never published
SUBSCRIBER_QUEUE_SIZE = 1000  # events waiting for one subscriber; beyond, it re-reads the state instead

SUPPORTED_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")

log = logging.getLogger("jeto.bus")


@dataclass(frozen=True)
class Event:
    channel: str
    message: str


class EventBusUnavailable(ConnectionError):
    """The bus's server cannot be reached right now; the event was not published."""


class Backend(Protocol):
    @property
    def healthy(self) -> bool: ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    async def publish(self, channel: str, message: str) -> None: ...

    async def next_published(self) -> Event: ...


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
        super()._put(item)

    def _get(self) -> Event | None:
        item: Event | None = super()._get()
        self._resyncs -= _is_resync(item)
        return item


def _is_resync(item: Event | None) -> bool:
    return item is not None and item.message == RESYNC


class Subscriber:
    """One subscription's events, in order: `await get()`, or `async for event in subscriber`."""

    def __init__(self, mailbox: _Mailbox) -> None:
        self._mailbox = mailbox

    async def get(self) -> Event:
        event = await self._mailbox.get()
        if event is None:
            raise Unsubscribed
        return event

    @property
    def waiting(self) -> int:
        """Events received and not yet read."""
        return self._mailbox.qsize()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        while (event := await self._mailbox.get()) is not None:
            yield event


class Unsubscribed(Exception):
    """The subscription ended: no more events."""


class Bus:
    """`async with open_bus(url) as bus:` then `await bus.publish(channel, message)` and
    `async with bus.subscribe(channel) as subscriber:`.

    One listener task hands each event to the channel's subscribers' bounded mailboxes, so a slow subscriber
    never holds up the others. The backend subscribes a channel once, for its first subscriber, and
    unsubscribes it after its last; a lock per channel orders the two.
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._subscribers: dict[str, set[_Mailbox]] = {}
        self._channel_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._listener: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Bus:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        await self._backend.connect()
        self._listener = asyncio.create_task(self._listen())

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        await self._backend.disconnect()

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open, on every channel."""
        return sum(len(mailboxes) for mailboxes in self._subscribers.values())

    @property
    def healthy(self) -> bool:
        """For a readiness probe: the listener runs and the backend's reader is connected."""
        return (
            self._listener is not None and not self._listener.done() and bool(getattr(self._backend, "healthy", True))
        )

    async def publish(self, channel: str, message: str) -> None:
        await self._backend.publish(channel, message)

    async def _listen(self) -> None:
        while True:
            event = await self._backend.next_published()
            for mailbox in list(self._subscribers.get(event.channel, ())):
                mailbox.offer(event)

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


def open_bus(url: str) -> Bus:
    """A not yet connected bus for `url`; use it as `async with open_bus(url) as bus:`."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from jeto.bus.memory import MemoryBackend

        return Bus(MemoryBackend())
    if scheme in ("redis", "rediss"):
        from jeto.bus.redis_pubsub import RedisPubSubBackend

        return Bus(RedisPubSubBackend(url))
    if scheme in ("postgres", "postgresql"):
        from jeto.bus.postgres_notify import PostgresNotifyBackend

        return Bus(PostgresNotifyBackend(url))
    raise ValueError(f"unsupported event bus scheme {scheme!r}: use one of {', '.join(SUPPORTED_SCHEMES)}")


def public_location(url: str) -> str:
    """`scheme://host:port` of a URL, for logs and errors: never the user name or password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"
