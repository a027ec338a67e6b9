"""PostgreSQL LISTEN/NOTIFY behind the bus, without Redis.

One dedicated connection LISTENs; a supervisor task pings it, notices its termination and
reconnects with capped exponential backoff, LISTENing to every channel again. NOTIFY goes through
a small pool, so concurrent publishes work (broadcaster's backend shares one connection and fails).

NOTIFY is fire-and-forget: events sent while the listening connection is down are lost, so after a
reconnect every channel's subscribers receive RESYNC, and re-read the state they show.
Payloads are text shorter than 8000 bytes (PostgreSQL's default limit): send ids, not rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from jeto.bus import RESYNC, Event, EventBusUnavailable, public_location
from marketo.credentials import Secret

log = logging.getLogger("jeto.bus")

MAX_PAYLOAD_BYTES = 7999  # PostgreSQL: "payload string too long" from 8000 bytes on
PUBLISH_POOL_SIZE = 4
CONNECT_TIMEOUT = 5.0
PING_EVERY = 5.0
PING_TIMEOUT = 5.0
RECONNECT_FIRST_DELAY = 0.1
RECONNECT_MAX_DELAY = 2.0

CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # includes "connection is closed" and ConnectionDoesNotExistError
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    OSError,
    TimeoutError,
)


class PostgresNotifyBackend:
    """The bus over LISTEN/NOTIFY (jeto/bus/__init__.py's backend); `next_published()` never raises on a lost connection."""

    def __init__(self, url: str) -> None:
        self._url = Secret(url)
        self._where = public_location(url)
        self._channels: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._lock = asyncio.Lock()  # one operation at a time on the listening connection
        self._lost = asyncio.Event()
        self._listening: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        """The supervisor runs and holds a live listening connection."""
        return (
            self._listening is not None
            and not self._listening.is_closed()
            and self._supervisor is not None
            and not self._supervisor.done()
        )

    async def connect(self) -> None:
        """Fails (EventBusUnavailable) if PostgreSQL does not answer now, so a wrong URL stops start-up."""
        try:
            self._pool = await asyncpg.create_pool(
                self._url.reveal(), min_size=1, max_size=PUBLISH_POOL_SIZE, timeout=CONNECT_TIMEOUT
            )
            await self._open()
        except CONNECTION_LOST as error:
            await self._close_pool()
            raise EventBusUnavailable(
                f"event bus: PostgreSQL at {self._where} is unavailable ({_reason(error)})"
            ) from None
        self._supervisor = asyncio.create_task(self._supervise(), name="jeto.bus.postgres-listener")

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._drop_listening()
        await self._close_pool()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        async with self._lock:
            if self._listening is not None:  # otherwise the supervisor LISTENs when it reconnects
                with contextlib.suppress(*CONNECTION_LOST):
                    await self._listening.add_listener(channel, self._on_notify)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        async with self._lock:
            if self._listening is not None:
                with contextlib.suppress(*CONNECTION_LOST):  # a new connection will not LISTEN to it
                    await self._listening.remove_listener(channel, self._on_notify)

    async def publish(self, channel: str, message: Any) -> None:
        """Raises ValueError for a payload that is not text under 8000 bytes, EventBusUnavailable when down."""
        if not isinstance(message, str):
            raise ValueError(f"event bus payload must be str, not {type(message).__name__}")
        if len(message.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(
                f"event bus payload is {len(message.encode())} bytes; PostgreSQL takes at most {MAX_PAYLOAD_BYTES}"
            )
        assert self._pool is not None, "connect() first"
        for attempt in (1, 2):  # a pooled connection may have died with a server restart: try a fresh one once
            try:
                async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as connection:
                    await connection.execute("SELECT pg_notify($1, $2)", channel, message)
                return
            except CONNECTION_LOST as error:
                if attempt == 2:
                    raise EventBusUnavailable(
                        f"event bus: PostgreSQL at {self._where} is unavailable, event on {channel!r} dropped ({_reason(error)})"
                    ) from None

    async def next_published(self) -> Event:
        return await self._events.get()

    async def _open(self) -> None:
        connection = await asyncpg.connect(self._url.reveal(), timeout=CONNECT_TIMEOUT)
        try:
            connection.add_termination_listener(self._on_terminated)
            async with self._lock:
                for channel in sorted(self._channels):
                    await connection.add_listener(channel, self._on_notify)
                self._listening = connection
                self._lost.clear()
        except BaseException:
            connection.terminate()
            raise

    async def _supervise(self) -> None:
        """Pings the listening connection and replaces it when lost; only cancellation ends it."""
        loop = asyncio.get_running_loop()
        delay = RECONNECT_FIRST_DELAY
        outage_since: float | None = None
        while True:
            try:
                if self._listening is None:
                    await self._open()
                    for channel in sorted(self._channels):  # LISTENing again: from now on nothing is lost
                        self._events.put_nowait(Event(channel=channel, message=RESYNC))
                    if outage_since is not None:
                        log.info(
                            "event bus: reconnected to PostgreSQL at %s after %.1f s, %d channel(s) listened again",
                            self._where,
                            loop.time() - outage_since,
                            len(self._channels),
                        )
                    outage_since, delay = None, RECONNECT_FIRST_DELAY
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(PING_EVERY):
                        await self._lost.wait()
                if self._lost.is_set():
                    raise ConnectionError("listening connection terminated")
                async with self._lock, asyncio.timeout(PING_TIMEOUT):
                    await self._listening.execute("SELECT 1")  # type: ignore[union-attr]
            except asyncio.CancelledError:
                raise
            except Exception as error:
                await self._drop_listening()
                if not isinstance(error, CONNECTION_LOST):
                    log.exception(
                        "event bus: unexpected error on the PostgreSQL listening connection at %s", self._where
                    )
                elif outage_since is None:
                    log.warning(
                        "event bus: lost PostgreSQL at %s (%s); reconnecting, events sent meanwhile are lost",
                        self._where,
                        _reason(error),
                    )
                if outage_since is None:
                    outage_since = loop.time()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: object) -> None:
        if channel in self._channels:  # a NOTIFY's payload is always text
            self._events.put_nowait(Event(channel=channel, message=str(payload)))

    def _on_terminated(self, connection: Any) -> None:
        if connection is self._listening:
            self._lost.set()

    async def _drop_listening(self) -> None:
        connection, self._listening = self._listening, None
        if connection is not None and not connection.is_closed():
            try:
                async with asyncio.timeout(1.0):
                    await connection.close()
            except Exception:
                connection.terminate()

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                async with asyncio.timeout(2.0):
                    await pool.close()
            except Exception:
                pool.terminate()


def _reason(error: BaseException) -> str:
    """The error's type and text; asyncpg's texts name host and port, never the password."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
