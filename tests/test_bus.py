"""The event bus: memory, Redis (redis-py 8, idle, restart) and PostgreSQL backends, against real servers.

Redis and PostgreSQL tests use JETO_TEST_REDIS_URL / JETO_TEST_POSTGRES_URL; with the variable
unset they skip when the default local server does not answer, with it set they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from redis import asyncio as aioredis

from jeto.bus import RESYNC, Bus, Event, EventBusUnavailable, open_bus
from jeto.bus.postgres_notify import PostgresNotifyBackend
from jeto.bus.redis_pubsub import RedisPubSubBackend
from tests.conftest import free_port
from tests.redis_server import RedisServer, redis_answers

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def channel_name(label: str) -> str:
    return f"jeto-test-{label}-{uuid.uuid4().hex[:10]}"


async def receive(subscriber: object, seconds: float = 3.0) -> Event:
    async with asyncio.timeout(seconds):
        return await subscriber.get()  # type: ignore[attr-defined,no-any-return]


async def _server_url(variable: str, default: str, answers: object) -> str:
    url = os.environ.get(variable)
    try:
        async with asyncio.timeout(2):
            await answers(url or default)  # type: ignore[operator]
    except Exception as error:
        if url:
            pytest.fail(f"{variable} is set but the server does not answer: {type(error).__name__}")
        pytest.skip(f"no server at {default} ({type(error).__name__}); set {variable}")
    return url or default


async def _postgres_answers(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=1)
    await connection.close()


@pytest_asyncio.fixture
async def redis_url() -> str:
    return await _server_url("JETO_TEST_REDIS_URL", DEFAULT_REDIS_URL, redis_answers)


@pytest_asyncio.fixture
async def postgres_url() -> str:
    return await _server_url("JETO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL, _postgres_answers)


@pytest_asyncio.fixture
async def redis_bus(redis_url: str) -> AsyncIterator[Bus]:
    async with open_bus(redis_url) as broadcast:
        yield broadcast


@pytest_asyncio.fixture
async def redis_raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


# -- choosing the backend ---------------------------------------------------------------------


def test_the_url_scheme_picks_the_backend() -> None:
    assert isinstance(open_bus("redis://127.0.0.1:6379/0").backend, RedisPubSubBackend)
    assert isinstance(open_bus("rediss://user:secret@example.test:6380").backend, RedisPubSubBackend)
    assert isinstance(open_bus("postgres://u@h/db").backend, PostgresNotifyBackend)
    assert isinstance(open_bus("postgresql://u@h/db").backend, PostgresNotifyBackend)


@pytest.mark.parametrize(
    "url", ["kafka://localhost:9092", "redis-stream://localhost", "nats://x", "", "localhost:6379"]
)
def test_an_unknown_scheme_is_refused_naming_the_supported_ones(url: str) -> None:
    with pytest.raises(ValueError, match="memory, redis, rediss, postgres, postgresql") as raised:
        open_bus(url)
    assert "\n" not in str(raised.value)


# -- memory -----------------------------------------------------------------------------------


async def test_memory_roundtrip() -> None:
    async with asyncio.timeout(5), open_bus("memory://") as broadcast:
        assert broadcast.healthy
        async with broadcast.subscribe("room") as subscriber:
            await broadcast.publish("room", "hello")
            assert await receive(subscriber) == Event("room", "hello")


# -- Redis ------------------------------------------------------------------------------------


async def test_redis_roundtrip(redis_bus: Bus) -> None:
    channel = channel_name("roundtrip")
    async with asyncio.timeout(10):
        assert redis_bus.healthy
        async with redis_bus.subscribe(channel) as subscriber:
            await redis_bus.publish(channel, "hello")  # no sleep: subscribe() waits for Redis's confirmation
            assert await receive(subscriber) == Event(channel, "hello")
            await redis_bus.publish(channel, "é ✓")
            assert (await receive(subscriber)).message == "é ✓"


async def test_redis_delivers_50_concurrent_publishes_in_order_per_publisher(redis_bus: Bus) -> None:
    channel = channel_name("concurrent")
    publishers, each = 10, 5

    async def publisher(p: int) -> None:
        for n in range(each):
            await redis_bus.publish(channel, f"{p}:{n}")

    async with asyncio.timeout(10), redis_bus.subscribe(channel) as subscriber:
        await asyncio.gather(*(publisher(p) for p in range(publishers)))
        received = [(await receive(subscriber)).message for _ in range(publishers * each)]
    assert sorted(received) == sorted(f"{p}:{n}" for p in range(publishers) for n in range(each))
    for p in range(publishers):
        assert [m for m in received if m.startswith(f"{p}:")] == [f"{p}:{n}" for n in range(each)]


async def test_redis_two_subscribers_of_one_channel_both_receive(redis_bus: Bus) -> None:
    channel = channel_name("fanout")
    async with asyncio.timeout(10):
        async with redis_bus.subscribe(channel) as first, redis_bus.subscribe(channel) as second:
            await redis_bus.publish(channel, "to both")
            assert await receive(first) == Event(channel, "to both")
            assert await receive(second) == Event(channel, "to both")


async def test_redis_unsubscribing_the_last_subscriber_stops_delivery(
    redis_url: str, redis_raw: aioredis.Redis
) -> None:
    gone, kept = channel_name("gone"), channel_name("kept")
    backend = RedisPubSubBackend(redis_url)
    await backend.connect()
    try:
        async with asyncio.timeout(10):
            await backend.subscribe(gone)
            await backend.subscribe(kept)
            await backend.publish(gone, "before")
            assert await backend.next_published() == Event(gone, "before")

            await backend.unsubscribe(gone)
            await asyncio.sleep(0.2)  # UNSUBSCRIBE has no acknowledgement we wait for
            assert await redis_raw.publish(gone, "after") == 0, "Redis still has a subscriber"
            await backend.publish(gone, "after")
            await backend.publish(kept, "marker")
            assert await backend.next_published() == Event(kept, "marker")
    finally:
        await backend.disconnect()

    async with asyncio.timeout(10), open_bus(redis_url) as broadcast:
        channel = channel_name("last")
        async with broadcast.subscribe(channel), broadcast.subscribe(channel) as subscriber:
            await broadcast.publish(channel, "while subscribed")
            assert await receive(subscriber) == Event(channel, "while subscribed")
            assert (await redis_raw.pubsub_numsub(channel)) == [(channel.encode(), 1)]
        await asyncio.sleep(0.2)
        assert (await redis_raw.pubsub_numsub(channel)) == [(channel.encode(), 0)]


async def test_redis_still_delivers_after_6_seconds_idle(redis_bus: Bus) -> None:
    channel = channel_name("idle")
    async with asyncio.timeout(15), redis_bus.subscribe(channel) as subscriber:
        await asyncio.sleep(6)  # redis-py 8.0.0 killed an idle listener after 5 s
        assert redis_bus.healthy
        await redis_bus.publish(channel, "still here")
        assert await receive(subscriber) == Event(channel, "still here")


async def test_redis_that_does_not_answer_fails_at_connect() -> None:
    port = free_port()
    with pytest.raises(EventBusUnavailable, match=f"127.0.0.1:{port}") as raised:
        async with asyncio.timeout(10):
            await RedisPubSubBackend(f"redis://user:s3cret@127.0.0.1:{port}").connect()
    assert "s3cret" not in str(raised.value)


# -- Redis restart ----------------------------------------------------------------------------


async def test_redis_subscribers_receive_again_after_a_restart(redis_server: RedisServer) -> None:
    redis_server.start()
    await redis_server.answering()
    channel = channel_name("restart")
    async with asyncio.timeout(30), open_bus(f"redis://127.0.0.1:{redis_server.port}") as broadcast:
        async with broadcast.subscribe(channel) as subscriber:
            await broadcast.publish(channel, "before")
            assert await receive(subscriber) == Event(channel, "before")

            redis_server.stop()
            with pytest.raises(EventBusUnavailable):
                await broadcast.publish(channel, "lost")
            await asyncio.sleep(0.5)
            assert not broadcast.healthy

            redis_server.start()
            await redis_server.answering()
            # Subscribed again, the subscriber is told to read the state again: what was published meanwhile is lost.
            assert await receive(subscriber, seconds=10) == Event(channel, RESYNC)
            restarted = asyncio.get_running_loop().time()
            received: Event | None = None
            while received is None:
                assert asyncio.get_running_loop().time() - restarted < 10, "no delivery 10 s after Redis came back"
                try:
                    await broadcast.publish(channel, "after")
                    received = await receive(subscriber, seconds=0.5)
                except (EventBusUnavailable, TimeoutError):
                    pass
            assert received == Event(channel, "after")
            assert broadcast.healthy  # its listener runs, and the backend is connected


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def postgres_bus(postgres_url: str) -> AsyncIterator[Bus]:
    async with open_bus(postgres_url) as broadcast:
        yield broadcast


async def test_postgres_roundtrip(postgres_bus: Bus) -> None:
    channel = channel_name("pg")
    async with asyncio.timeout(10):
        assert postgres_bus.healthy
        async with postgres_bus.subscribe(channel) as subscriber:
            await postgres_bus.publish(channel, "hello")
            assert await receive(subscriber) == Event(channel, "hello")


async def test_postgres_delivers_20_concurrent_publishes(postgres_bus: Bus) -> None:
    channel = channel_name("pg-concurrent")
    async with asyncio.timeout(10), postgres_bus.subscribe(channel) as subscriber:
        await asyncio.gather(*(postgres_bus.publish(channel, str(n)) for n in range(20)))
        received = [(await receive(subscriber)).message for _ in range(20)]
    assert sorted(received, key=int) == [str(n) for n in range(20)]


async def test_postgres_refuses_payloads_it_cannot_send(postgres_bus: Bus) -> None:
    channel = channel_name("pg-big")
    async with asyncio.timeout(10), postgres_bus.subscribe(channel) as subscriber:
        with pytest.raises(ValueError, match="at most 7999"):
            await postgres_bus.publish(channel, "x" * 8001)
        with pytest.raises(ValueError, match="at most 7999"):
            await postgres_bus.publish(channel, "é" * 4000)  # 8000 bytes
        with pytest.raises(ValueError, match="must be str"):
            await postgres_bus.publish(channel, b"bytes")
        await postgres_bus.publish(channel, "x" * 7999)
        assert (await receive(subscriber)).message == "x" * 7999


async def test_postgres_listener_reconnects_when_its_connection_is_killed(postgres_bus: Bus) -> None:
    channel = channel_name("pg-killed")
    backend = postgres_bus.backend
    async with asyncio.timeout(15), postgres_bus.subscribe(channel) as subscriber:
        pid = backend._listening.get_server_pid()  # type: ignore[attr-defined]
        killer = await asyncpg.connect(backend._url.reveal())  # type: ignore[attr-defined]
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        assert await receive(subscriber, seconds=10) == Event(channel, RESYNC)  # listening again: read state again
        received: Event | None = None
        while received is None:
            await postgres_bus.publish(channel, "after")
            try:
                received = await receive(subscriber, seconds=0.5)
            except TimeoutError:
                pass
        assert received == Event(channel, "after")
        assert backend._listening.get_server_pid() != pid  # type: ignore[attr-defined]


# -- many first subscribers of one channel at once ----------------------------------------------


async def _subscribe_at_once(bus: Bus, channel: str, count: int, stack: contextlib.AsyncExitStack) -> list[object]:
    """`count` subscriptions of one channel opened concurrently, all closed when `stack` closes."""
    return list(await asyncio.gather(*(stack.enter_async_context(bus.subscribe(channel)) for _ in range(count))))


async def _every_simultaneous_subscriber_receives(bus: Bus, channel: str, count: int = 8) -> None:
    async with asyncio.timeout(15):
        async with contextlib.AsyncExitStack() as stack:
            subscribers = await _subscribe_at_once(bus, channel, count, stack)
            await bus.publish(channel, "to all")
            for subscriber in subscribers:
                assert await receive(subscriber) == Event(channel, "to all")
        assert channel not in bus._subscribers
        # Leaving and arriving at once: the channel ends subscribed exactly when someone still listens.
        async with contextlib.AsyncExitStack() as first_wave:
            await _subscribe_at_once(bus, channel, count, first_wave)
            second_wave = contextlib.AsyncExitStack()
            arriving = asyncio.ensure_future(_subscribe_at_once(bus, channel, count, second_wave))
        async with second_wave:
            latecomers = await arriving
            await bus.publish(channel, "to the latecomers")
            for subscriber in latecomers:
                assert await receive(subscriber) == Event(channel, "to the latecomers")
        assert channel not in bus._subscribers


async def test_redis_simultaneous_first_subscribers_of_a_channel_all_receive(
    redis_bus: Bus, redis_raw: aioredis.Redis
) -> None:
    channel = channel_name("simultaneous")
    await _every_simultaneous_subscriber_receives(redis_bus, channel)
    await asyncio.sleep(0.2)  # UNSUBSCRIBE has no acknowledgement we wait for
    assert (await redis_raw.pubsub_numsub(channel)) == [(channel.encode(), 0)]


async def test_postgres_simultaneous_first_subscribers_of_a_channel_all_receive(postgres_bus: Bus) -> None:
    channel = channel_name("pg-simultaneous")
    await _every_simultaneous_subscriber_receives(postgres_bus, channel)
    assert channel not in postgres_bus.backend._channels  # type: ignore[attr-defined]


async def test_a_backend_that_fails_to_subscribe_leaves_nothing_behind_and_raises_its_own_error() -> None:
    async with open_bus("memory://") as bus:

        async def refuse(channel: str) -> None:
            raise ConnectionError("backend down")

        bus.backend.subscribe = refuse  # type: ignore[method-assign]
        with pytest.raises(ConnectionError, match="backend down"):
            async with bus.subscribe("room"):
                pass
        assert "room" not in bus._subscribers


# -- a subscriber cancelled while subscribing; a slow subscriber --------------------------------


async def _cancel_while_subscribing(bus: Bus, channel: str, subscribing: asyncio.Event, settle: float = 0.0) -> None:
    """A subscriber cancelled while the backend waits for the server to confirm its subscription (`settle`
    seconds after the backend started subscribing)."""

    async def subscriber() -> None:
        async with bus.subscribe(channel):
            pytest.fail("the subscription was to be cancelled before it started")

    task = asyncio.create_task(subscriber())
    await asyncio.wait_for(subscribing.wait(), 5)
    await asyncio.sleep(settle)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert channel not in bus._subscribers


async def test_a_subscriber_cancelled_while_subscribing_unsubscribes_the_backend() -> None:
    async with open_bus("memory://") as bus:
        subscribing, calls = asyncio.Event(), []
        real_subscribe, real_unsubscribe = bus.backend.subscribe, bus.backend.unsubscribe

        async def slow_subscribe(channel: str) -> None:
            calls.append(("subscribe", channel))
            await real_subscribe(channel)
            subscribing.set()
            await asyncio.sleep(10)  # as the Redis backend waits for Redis to confirm

        async def unsubscribe(channel: str) -> None:
            calls.append(("unsubscribe", channel))
            await real_unsubscribe(channel)

        bus.backend.subscribe, bus.backend.unsubscribe = slow_subscribe, unsubscribe  # type: ignore[method-assign]
        await _cancel_while_subscribing(bus, "room", subscribing)
        assert calls == [("subscribe", "room"), ("unsubscribe", "room")]


async def test_redis_a_subscriber_cancelled_before_redis_confirmed_leaves_nothing_subscribed(
    redis_server: RedisServer,
) -> None:
    redis_server.start()
    await redis_server.answering()
    url = f"redis://127.0.0.1:{redis_server.port}"
    channel = channel_name("cancelled")
    raw = aioredis.Redis.from_url(url)
    try:
        async with asyncio.timeout(20), open_bus(url) as bus:
            backend = bus.backend
            subscribing = asyncio.Event()
            real_subscribe = backend.subscribe

            async def subscribe(name: str) -> None:
                subscribing.set()
                await real_subscribe(name)

            backend.subscribe = subscribe  # type: ignore[method-assign]
            # Redis answers nothing for a moment: the SUBSCRIBE waits for its confirmation.
            await raw.execute_command("CLIENT", "PAUSE", "1500", "ALL")
            await _cancel_while_subscribing(bus, channel, subscribing, settle=0.3)  # SUBSCRIBE sent, unanswered
            assert channel not in backend._channels  # type: ignore[attr-defined]
            await raw.execute_command("CLIENT", "UNPAUSE")
            async with asyncio.timeout(5):  # Redis has run the SUBSCRIBE, then the UNSUBSCRIBE
                while (await raw.pubsub_numsub(channel)) != [(channel.encode(), 0)]:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            assert (await raw.pubsub_numsub(channel)) == [(channel.encode(), 0)]
    finally:
        await raw.aclose()


async def test_postgres_a_subscriber_cancelled_before_listening_leaves_nothing_listened(
    postgres_bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = channel_name("pg-cancelled")
    backend = postgres_bus.backend
    listening = backend._listening  # type: ignore[attr-defined]
    subscribing = asyncio.Event()
    real_add_listener = type(listening).add_listener

    async def slow_add_listener(self, name, callback):  # a LISTEN that takes its time
        if name == channel:
            subscribing.set()
            await asyncio.sleep(0.5)
        await real_add_listener(self, name, callback)

    monkeypatch.setattr(type(listening), "add_listener", slow_add_listener)
    async with asyncio.timeout(10):
        await _cancel_while_subscribing(postgres_bus, channel, subscribing)
        assert channel not in backend._channels  # type: ignore[attr-defined]
        async with backend._lock:  # type: ignore[attr-defined]
            listened = await listening.fetch("SELECT pg_listening_channels() AS name")
        assert channel not in {row["name"] for row in listened}


async def test_a_slow_subscriber_holds_a_bounded_queue_and_is_told_to_read_the_state_again() -> None:
    from jeto.bus import SUBSCRIBER_QUEUE_SIZE

    published = SUBSCRIBER_QUEUE_SIZE + 500
    async with open_bus("memory://") as bus, bus.subscribe("room") as slow, bus.subscribe("room") as quick:
        received_quickly = []

        async def keep_up() -> None:
            while len(received_quickly) < published:
                received_quickly.append((await quick.get()).message)

        keeping_up = asyncio.create_task(keep_up())
        for n in range(published):
            await bus.publish("room", str(n))
            await asyncio.sleep(0)  # the quick subscriber reads as they come
        async with asyncio.timeout(10):
            await keeping_up
            while bus.backend._published.qsize():  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
        assert received_quickly == [str(n) for n in range(published)]  # the slow one held up no one
        assert slow.waiting <= SUBSCRIBER_QUEUE_SIZE
        received = []
        while slow.waiting:
            received.append((await receive(slow)).message)
    kept = [int(m) for m in received if m != RESYNC]
    dropped = set(range(published)) - set(kept)
    assert kept == sorted(kept) and dropped
    # Whatever was dropped comes before a RESYNC: re-reading the state then shows it.
    last_resync = max(i for i, m in enumerate(received) if m == RESYNC)
    assert all(int(m) > max(dropped) for m in received[last_resync + 1 :])
