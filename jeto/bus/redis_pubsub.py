"""Redis pub/sub behind the bus, for redis-py 8 and a Redis that restarts.

One supervised reader task owns the subscribing connection: it polls `get_message(timeout=1)`,
pings every few seconds so a silent connection is noticed, and after any loss reconnects with
capped exponential backoff and subscribes every channel again. Publishing uses its own client.

Redis pub/sub is fire-and-forget: events published while Redis is down, or while the reader is
reconnecting, are lost. So once Redis confirms a channel subscribed again after a reconnect, its
subscribers receive RESYNC, and re-read the state they show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis import asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff

from jeto.bus import RESYNC, Event, EventBusUnavailable, public_location
from marketo.credentials import Secret

log = logging.getLogger("jeto.bus")

READ_TIMEOUT = 1.0
PING_EVERY = 5.0
SILENCE_LIMIT = 3 * PING_EVERY  # nothing heard, not even a pong: the connection is dead
RECONNECT_FIRST_DELAY = 0.1
RECONNECT_MAX_DELAY = 2.0
SUBSCRIBE_ACK_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0

CONNECTION_LOST = (redis_errors.ConnectionError, redis_errors.TimeoutError, ConnectionError, TimeoutError, OSError)


class RedisPubSubBackend:
    """The bus over Redis pub/sub (jeto/bus/__init__.py's backend); `next_published()` never raises on a lost connection."""

    def __init__(self, url: str) -> None:
        self._url = Secret(url)
        self._where = public_location(url)
        self._channels: set[str] = set()
        self._acks: dict[str, list[asyncio.Future[None]]] = {}
        self._resync: set[str] = set()  # channels subscribed again after a reconnect, not yet confirmed
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._lock = asyncio.Lock()  # one command at a time on the subscribing connection
        self._subscriber: aioredis.Redis | None = None
        self._publisher: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._last_heard = 0.0
        self._last_ping = 0.0

    @property
    def healthy(self) -> bool:
        """The reader runs and holds a live subscribing connection."""
        return self._pubsub is not None and self._reader is not None and not self._reader.done()

    async def connect(self) -> None:
        """Fails (EventBusUnavailable) if Redis does not answer now, so a wrong URL stops start-up."""
        url = self._url.reveal()
        # The reader does its own reconnecting, so redis-py must neither retry nor health-check
        # (its health check would read the socket the reader task is already reading).
        self._subscriber = aioredis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0, supported_errors=()),
            health_check_interval=0,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=CONNECT_TIMEOUT,
        )
        self._publisher = aioredis.Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),
            health_check_interval=10,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=CONNECT_TIMEOUT,
        )
        try:
            await self._open()
        except CONNECTION_LOST as error:
            await self._close_clients()
            raise EventBusUnavailable(f"event bus: Redis at {self._where} is unavailable ({_reason(error)})") from None
        self._reader = asyncio.create_task(self._read_forever(), name="jeto.bus.redis-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()
        await self._close_clients()

    async def subscribe(self, channel: str) -> None:
        """Returns once Redis confirmed the subscription, or after a short wait while Redis is down."""
        self._channels.add(channel)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks.setdefault(channel, []).append(ack)
        try:
            async with self._lock:
                if self._pubsub is not None:  # otherwise the reader subscribes when it reconnects
                    await self._pubsub.subscribe(channel)
            async with asyncio.timeout(SUBSCRIBE_ACK_TIMEOUT):
                await ack
        except CONNECTION_LOST:  # includes the ack timeout; the reader re-subscribes after reconnecting
            pass
        finally:
            waiting = self._acks.get(channel, [])
            if ack in waiting:
                waiting.remove(ack)
            if not waiting:
                self._acks.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        async with self._lock:
            if self._pubsub is not None:
                with contextlib.suppress(*CONNECTION_LOST):  # a new connection will not subscribe it
                    await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        """Raises EventBusUnavailable when Redis is down: the event is lost, as Redis pub/sub does.

        A retried PUBLISH whose first reply was lost can deliver twice; subscribers must tolerate it.
        """
        assert self._publisher is not None, "connect() first"
        try:
            await self._publisher.publish(channel, message)
        except CONNECTION_LOST as error:
            raise EventBusUnavailable(
                f"event bus: Redis at {self._where} is unavailable, event on {channel!r} dropped ({_reason(error)})"
            ) from None

    async def next_published(self) -> Event:
        return await self._events.get()

    async def _open(self, *, reconnecting: bool = False) -> None:
        assert self._subscriber is not None
        pubsub = self._subscriber.pubsub()
        try:
            await pubsub.connect()
            async with self._lock:
                channels = sorted(self._channels)
                if reconnecting:
                    self._resync = set(channels)
                if channels:
                    await pubsub.subscribe(*channels)
                self._pubsub = pubsub
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise
        self._last_heard = self._last_ping = asyncio.get_running_loop().time()

    async def _read_forever(self) -> None:
        """The supervisor: reads until the connection is lost, then reconnects; only cancellation ends it."""
        loop = asyncio.get_running_loop()
        delay = RECONNECT_FIRST_DELAY
        outage_since: float | None = None
        while True:
            try:
                if self._pubsub is None:
                    await self._open(reconnecting=True)
                    if outage_since is not None:
                        log.info(
                            "event bus: reconnected to Redis at %s after %.1f s, %d channel(s) subscribed again",
                            self._where,
                            loop.time() - outage_since,
                            len(self._channels),
                        )
                    outage_since, delay = None, RECONNECT_FIRST_DELAY
                await self._read_until_lost()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                await self._drop_pubsub()
                if not isinstance(error, CONNECTION_LOST):
                    log.exception("event bus: unexpected error reading from Redis at %s", self._where)
                elif outage_since is None:
                    log.warning(
                        "event bus: lost Redis at %s (%s); reconnecting, events published meanwhile are lost",
                        self._where,
                        _reason(error),
                    )
                if outage_since is None:
                    outage_since = loop.time()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)

    async def _read_until_lost(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        loop = asyncio.get_running_loop()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=False, timeout=READ_TIMEOUT)
            now = loop.time()
            if message is not None:
                self._last_heard = now
                self._receive(message)
            elif now - self._last_heard > SILENCE_LIMIT:
                raise TimeoutError(f"no reply from Redis in {SILENCE_LIMIT:.0f} s")
            if now - self._last_ping >= PING_EVERY:
                self._last_ping = now
                async with self._lock:
                    await pubsub.ping()

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            channel = _text(message["channel"])
            if channel in self._channels:  # late messages of a channel just unsubscribed are dropped
                self._events.put_nowait(Event(channel=channel, message=_text(message["data"])))
        elif kind == "subscribe":
            channel = _text(message["channel"])
            for ack in self._acks.get(channel, []):
                if not ack.done():
                    ack.set_result(None)
            if channel in self._resync:  # from now on nothing is lost: subscribers read the state again
                self._resync.discard(channel)
                if channel in self._channels:
                    self._events.put_nowait(Event(channel=channel, message=RESYNC))

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _close_clients(self) -> None:
        for client in (self._subscriber, self._publisher):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._subscriber = self._publisher = None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _reason(error: BaseException) -> str:
    """The error's type and text; redis-py's texts name host and port, never the password."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
