"""A subscriber that stops reading, over real TCP: it delays no one, holds a bounded backlog on the server, is
sent the newest state when it reads again, and one stuck past the limit is closed with 1013."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from domain import events
from domain.models import PlatformIntegration
from jeto.http_server import listening_socket, local_url, make_server, serve
from jeto.settings import Settings
from tests.api import factories

STUCK_SECONDS = 4.0
BACKLOG_BYTES = 4096
CHANGES = 1500
# Thirty aliases of the integration's id: a status of about 2 kB, so a stalled reader's kernel buffers and
# the server's transport fill after a few hundred, and the rest is the server's backlog to bound.
WIDE = " ".join(f"i{n}: platformIntegrationId" for n in range(30))
QUERY = f"subscription($id: ID!) {{ syncStatus(platformIntegrationId: $id) {{ foldersSynced {WIDE} }} }}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, websocket_backlog_bytes=BACKLOG_BYTES, websocket_stuck_seconds=STUCK_SECONDS)


@contextlib.asynccontextmanager
async def served(app) -> AsyncIterator[tuple[str, int]]:
    """The app over real TCP (its lifespan already runs): the websocket URL and the port."""
    with listening_socket("127.0.0.1", 0) as sock:
        # Small kernel buffers on the server's side too (accepted sockets inherit them): otherwise Linux grows
        # a socket's send buffer to megabytes, and a stalled reader's statuses would wait in the kernel.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        server = make_server(app, own_signals=False, lifespan="off")
        serving = asyncio.create_task(serve(server, sock))
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            yield local_url(sock).replace("http://", "ws://") + "/graphql", sock.getsockname()[1]
        finally:
            server.should_exit = True
            await serving


async def subscriber(
    url: str, port: int, token: str, pi: str, *, receive_buffer: int | None = None
) -> ClientConnection:
    """Subscribed, its first payload (the current state) read. A small receive buffer and a queue of one frame
    make a reader that stops reading hold up the server's sends within a few messages."""
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    ws = await websockets.connect(
        url, sock=sock, subprotocols=["graphql-transport-ws"], max_queue=1, compression=None, ping_interval=None
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY, "variables": {"id": pi}}}))
    assert json.loads(await ws.recv())["payload"]["data"]["syncStatus"]["foldersSynced"] == 0
    return ws


async def folders_synced_of(ws: ClientConnection) -> int:
    message = json.loads(await ws.recv())
    assert message["type"] == "next", message
    return message["payload"]["data"]["syncStatus"]["foldersSynced"]


async def keep_reading(ws: ClientConnection, received: list[int]) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            received.append(await folders_synced_of(ws))


async def changes_announced(world, account_id: int, pi: str, quick: list[int]) -> None:
    """CHANGES statuses of the integration, each announced as the worker announces one, and each received by
    the quick reader before the next is announced."""
    row = await PlatformIntegration.get(id=factories.pk(pi))
    for n in range(1, CHANGES + 1):
        row.folders_synced, row.status_version = n, row.status_version + 1
        await world.services.publish(account_id, events.sync_status(row))
        async with asyncio.timeout(5):
            while not quick or quick[-1] < n:
                await asyncio.sleep(0)


def backlog_bytes(snapshot: tracemalloc.Snapshot) -> int:
    """What the server holds for its sockets: its outboxes (jeto/live) and its transports' buffers (asyncio)."""
    held = snapshot.filter_traces(
        [tracemalloc.Filter(True, "*/jeto/live/*"), tracemalloc.Filter(True, "*/asyncio/selector_events.py")]
    )
    return sum(stat.size for stat in held.statistics("filename"))


@dataclasses.dataclass
class Readers:
    """One reader that stops reading (small buffers), one that keeps up, both of one integration's status."""

    announce: Callable[[], Awaitable[None]]  # the CHANGES statuses, each received by the quick reader in turn
    slow: ClientConnection
    received_quickly: list[int]


@contextlib.asynccontextmanager
async def two_readers(world) -> AsyncIterator[Readers]:
    account_id, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111", synced=False)
    async with served(world.app) as (url, port):
        slow = await subscriber(url, port, admin.token, pi, receive_buffer=1024)
        quick = await subscriber(url, port, admin.token, pi)
        received_quickly: list[int] = []
        reading = asyncio.create_task(keep_reading(quick, received_quickly))
        try:
            yield Readers(lambda: changes_announced(world, account_id, pi, received_quickly), slow, received_quickly)
        finally:
            reading.cancel()
            await asyncio.gather(quick.close(), slow.close())


async def test_a_reader_that_stops_delays_no_one_holds_a_bounded_backlog_and_is_closed_with_1013(world):
    async with two_readers(world) as readers:
        tracemalloc.start()
        try:
            before = backlog_bytes(tracemalloc.take_snapshot())
            await readers.announce()
            held = backlog_bytes(tracemalloc.take_snapshot()) - before
        finally:
            tracemalloc.stop()
        # Every change reached the reader that keeps up, in order, while the other one read nothing.
        assert readers.received_quickly == list(range(1, CHANGES + 1))
        sent = CHANGES * len(QUERY)  # about what holding every status for the stalled reader would take
        assert held < 256 * 1024 < sent, (held, sent)

        await asyncio.sleep(STUCK_SECONDS + 1)  # past the limit: cast off
        received_late: list[int] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                received_late.append(await folders_synced_of(readers.slow))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013, closed.value
        assert "too slowly" in closed.value.rcvd.reason
        # What it was sent before it fell behind, in order, never an older status after a newer one.
        assert received_late == sorted(set(received_late)) and len(received_late) < CHANGES


async def test_a_reader_that_falls_behind_then_reads_again_ends_on_the_newest_state(world):
    async with two_readers(world) as readers:
        await readers.announce()
        received_slowly: list[int] = []
        async with asyncio.timeout(STUCK_SECONDS):
            while not received_slowly or received_slowly[-1] < CHANGES:
                received_slowly.append(await folders_synced_of(readers.slow))
        # Statuses skipped while it lagged (snapshots: the newest tells all), never one older than the last.
        assert received_slowly == sorted(set(received_slowly)) and len(received_slowly) < CHANGES
        assert received_slowly[-1] == CHANGES
