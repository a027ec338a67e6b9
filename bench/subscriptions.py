"""N websocket subscribers on one `jeto serve`, and a stream of sync status changes.

    python bench/subscriptions.py [--subscribers 100 1000] [--changes 20] [--rate 5]

The server runs as its own process (JETO_WORKER=off) with Redis as its event bus
(JETO_BENCH_REDIS_URL, default redis://127.0.0.1:6379); this process commits each change to the
database and publishes it on the bus, as a worker would, and holds the N websocket clients.
Each change sets foldersSynced to its sequence number, so every subscriber's list of received
numbers shows what it got: distinct changes received in order (out of expected), repeats, changes
never received, and any step backwards. Latency is from the change's commit to its first receipt
(p50, p99). Memory is the server's resident set after the subscriptions opened minus before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from domain import accounts, events, platform_integrations  # noqa: E402
from domain.models import PlatformIntegration, Role  # noqa: E402
from domain.viewer import Viewer  # noqa: E402
from jeto import database  # noqa: E402
from jeto.auth import issue_development_token  # noqa: E402
from jeto.bus import open_bus  # noqa: E402
from jeto.secret_box import SecretBox  # noqa: E402
from jeto.settings import Settings  # noqa: E402
from resolvers.ids import encode_id  # noqa: E402

QUERY = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { state foldersSynced } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def subscriber(
    url: str,
    token: str,
    pi: str,
    ready: asyncio.Event,
    counter: list[int],
    n: int,
    received: list[tuple[int, float]],
    done: asyncio.Event,
) -> None:
    """Records (sequence number, receipt time) of every status this subscriber is sent, in order."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        await ws.recv()
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY, "variables": {"id": pi}}})
        )
        await ws.recv()  # the current state
        counter[0] += 1
        if counter[0] == n:
            ready.set()
        while not done.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            received.append((message["payload"]["data"]["syncStatus"]["foldersSynced"], time.perf_counter()))


def judge(received: list[tuple[int, float]], changes: int, sent: dict[int, float]) -> dict:
    """One subscriber's deliveries: distinct in order, repeats, missed, backwards, first-receipt latencies."""
    in_order, repeats, backwards, last = 0, 0, 0, 0
    first: dict[int, float] = {}
    for seq, at in received:
        if seq in first:
            repeats += 1
        elif seq < last:
            backwards += 1
        else:
            in_order += 1
        first.setdefault(seq, at)
        last = max(last, seq)
    return {
        "in_order": in_order,
        "repeats": repeats,
        "backwards": backwards,
        "missed": sum(1 for seq in range(1, changes + 1) if seq not in first),
        "latencies": [first[seq] - sent[seq] for seq in first if seq in sent],
    }


async def run(n: int, changes: int, rate: float, redis_url: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{folder}/bench.sqlite3"
        settings = Settings(database_url=url, broadcast_url=redis_url)
        await database.migrate(url)
        await Tortoise.init(config=database.tortoise_config(url))
        account, admin = await accounts.create_account("Bench", "bench@bench.test")
        viewer = Viewer(admin.id, account.id, Role.ADMIN)
        created = await platform_integrations.create(
            viewer,
            name="Bench",
            confirm_trial=False,
            sealer=SecretBox(settings.secret_key),
            allowed_hosts=["*"],
            credentials=platform_integrations.CredentialsInput(
                "id", "secret-value-1234", "https://1-a-1.mktorest.com/rest", None
            ),
        )
        pi_pk = created.integration.id
        pi = encode_id("PlatformIntegration", pi_pk)
        token = issue_development_token(settings, admin.email)
        port = free_port()
        env = {**os.environ, "JETO_DATABASE_URL": url, "JETO_BROADCAST_URL": redis_url, "JETO_WORKER": "off"}
        server = subprocess.Popen(
            [sys.executable, "-m", "jeto.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        try:
            for _ in range(200):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            before = rss_kib(server.pid)
            ready, done = asyncio.Event(), asyncio.Event()
            counter: list[int] = [0]
            sent: dict[int, float] = {}
            received: list[list[tuple[int, float]]] = [[] for _ in range(n)]
            tasks = [
                asyncio.create_task(
                    subscriber(f"ws://127.0.0.1:{port}/graphql", token, pi, ready, counter, n, received[i], done)
                )
                for i in range(n)
            ]
            await asyncio.wait_for(ready.wait(), 120)
            after = rss_kib(server.pid)
            async with open_bus(redis_url) as bus:
                for seq in range(1, changes + 1):
                    sent[seq] = time.perf_counter()
                    await PlatformIntegration.filter(id=pi_pk).update(folders_synced=seq)
                    event = await events.sync_status_changed(pi_pk)  # the snapshot a worker publishes
                    await bus.publish(events.account_channel(account.id), event.encode())
                    await asyncio.sleep(1 / rate)
                deadline = time.perf_counter() + 15
                while any(not r or r[-1][0] < changes for r in received) and time.perf_counter() < deadline:
                    await asyncio.sleep(0.1)
            done.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            server.terminate()
            server.wait(10)
            await Tortoise.close_connections()
    judged = [judge(r, changes, sent) for r in received]
    ordered = sorted(latency for j in judged for latency in j["latencies"])
    return {
        "n": n,
        "in_order": sum(j["in_order"] for j in judged),
        "expected": n * changes,
        "repeats": sum(j["repeats"] for j in judged),
        "missed": sum(j["missed"] for j in judged),
        "backwards": sum(j["backwards"] for j in judged),
        "p50": statistics.median(ordered) * 1000 if ordered else float("nan"),
        "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else float("nan"),
        "kib_per_subscriber": (after - before) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0, help="changes per second")
    args = parser.parse_args()
    redis_url = os.environ.get("JETO_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    print(f"{args.changes} status changes at {args.rate:g}/s, event bus {redis_url}, SQLite database")
    print(
        f"{'N':>5} {'in order/expected':>19} {'repeats':>8} {'missed':>7} {'backwards':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'KiB/subscriber':>15}"
    )
    for n in args.subscribers:
        r = asyncio.run(run(n, args.changes, args.rate, redis_url))
        print(
            f"{r['n']:>5} {r['in_order']:>9}/{r['expected']:<9} {r['repeats']:>8} {r['missed']:>7} {r['backwards']:>9} "
            f"{r['p50']:>8.1f} {r['p99']:>8.1f} {r['kib_per_subscriber']:>15.1f}"
        )


if __name__ == "__main__":
    main()
