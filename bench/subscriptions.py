"""N websocket subscribers of one integration's sync status: `jeto serve` against a bare Strawberry subscription.

    python bench/subscriptions.py [--subscribers 1000 10000] [--changes 20] [--rate 2] [--client-processes 3]

For each N, in the same run and with the same client code (bench/subscription_clients.py, in processes of
their own so that the clients are not what is measured), two servers are loaded in turn, each its own
process:
  - jeto: `jeto serve` (JETO_WORKER=off) on SQLite with Redis as its event bus (JETO_BENCH_REDIS_URL, default
    redis://127.0.0.1:6379); this process commits each change to the database and publishes its event on the
    bus, as the worker does;
  - bare: bench/bare_subscriptions.py, Strawberry's own handlers fed by broadcaster's memory backend; this
    process posts each change to it.
Each change sets foldersSynced to its sequence number, so each subscriber's records show what it got.
Printed per server: delivered in order / expected, repeats, backwards, p50 and p99 latency from the change's
commit (or post) to its receipt, the server's resident memory per subscriber (after the subscriptions opened
minus before, over N), and the server's CPU time per delivered message while the changes were sent.
Needs the bench extra for the baseline: pip install -e ".[bench]".
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
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from domain import accounts, changes, events, platform_integrations  # noqa: E402
from domain.models import PlatformIntegration, Role  # noqa: E402
from domain.viewer import Viewer  # noqa: E402
from jeto import database  # noqa: E402
from jeto.auth import issue_development_token  # noqa: E402
from jeto.bus import open_bus  # noqa: E402
from jeto.secret_box import SecretBox  # noqa: E402
from jeto.settings import Settings  # noqa: E402
from resolvers.ids import encode_id  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def until_listening(port: int) -> None:
    for _ in range(400):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class Figures:
    server: str
    n: int
    in_order: int
    expected: int
    repeats: int
    backwards: int
    p50_ms: float
    p99_ms: float
    kib_per_subscriber: float
    cpu_us_per_message: float


def judge(server: str, n: int, changes: int, records: list[list[list[float]]], sent: dict[int, float],
          kib: float, cpu: float) -> Figures:  # fmt: skip
    in_order = repeats = backwards = 0
    latencies = []
    for received in records:
        seen: set[int] = set()
        last = 0
        for seq, at in received:
            seq = int(seq)
            if seq in seen:
                repeats += 1
            elif seq < last:
                backwards += 1
            else:
                in_order += 1
                latencies.append(at - sent[seq])
            seen.add(seq)
            last = max(last, seq)
    latencies.sort()
    delivered = sum(len(r) for r in records)
    return Figures(
        server, n, in_order, n * changes, repeats, backwards,
        statistics.median(latencies) * 1000 if latencies else float("nan"),
        latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else float("nan"),
        kib / n, cpu / max(delivered, 1) * 1e6,
    )  # fmt: skip


class Clients:
    """The subscribers, spread over processes."""

    def __init__(self, url: str, token: str, integration_id: str, n: int, processes: int) -> None:
        counts = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
        script = str(ROOT / "bench" / "subscription_clients.py")
        self.processes = [
            subprocess.Popen(
                [sys.executable, script, url, token, integration_id, str(count)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for count in counts
            if count
        ]

    async def ready(self) -> None:
        loop = asyncio.get_running_loop()
        for process in self.processes:
            line = await asyncio.wait_for(loop.run_in_executor(None, process.stdout.readline), 600)
            if line.strip() != "ready":
                raise RuntimeError(f"a client process failed to subscribe: {line!r}")

    def records(self) -> list[list[list[float]]]:
        found = []
        for process in self.processes:
            process.stdin.write("stop\n")
            process.stdin.flush()
        for process in self.processes:
            found += json.loads(process.stdout.readline())
            process.wait(30)
        return found

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()


async def measure(server: str, pid: int, url: str, token: str, integration_id: str, n: int, args: argparse.Namespace,
                  change) -> Figures:  # fmt: skip
    await asyncio.sleep(0.5)
    before = rss_kib(pid)
    clients = Clients(url, token, integration_id, n, args.client_processes)
    try:
        await clients.ready()
        await asyncio.sleep(1)  # what the server allocated settles
        after = rss_kib(pid)
        cpu_before = cpu_seconds(pid)
        sent: dict[int, float] = {}
        for seq in range(1, args.changes + 1):
            sent[seq] = await change(seq)
            await asyncio.sleep(1 / args.rate)
        await asyncio.sleep(args.settle)
        cpu = cpu_seconds(pid) - cpu_before
        records = await asyncio.get_running_loop().run_in_executor(None, clients.records)
    finally:
        clients.kill()
    return judge(server, n, args.changes, records, sent, after - before, cpu)


async def _nowhere(account_id: int, event: events.Event) -> None:
    pass


async def _integration(account_id: int, admin_id: int, settings: Settings) -> platform_integrations.Created:
    return await platform_integrations.create(
        Viewer(admin_id, account_id, Role.ADMIN),
        name="Bench",
        confirm_trial=False,
        sealer=SecretBox(settings.secret_key),
        allowed_hosts=["*"],
        credentials=platform_integrations.CredentialsInput(
            "id", "secret-value-1234", "https://1-a-1.mktorest.com/rest", None
        ),
    )


async def jeto(n: int, args: argparse.Namespace, redis_url: str) -> Figures:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{folder}/bench.sqlite3"
        settings = Settings(database_url=url, broadcast_url=redis_url)
        await database.migrate(url)
        await Tortoise.init(config=database.tortoise_config(url))
        try:
            account, admin = await accounts.create_account("Bench", "bench@bench.test")
            with changes.publishing_to(_nowhere):  # no server listens yet
                created = await _integration(account.id, admin.id, settings)
            pk = created.integration.id
            port = free_port()
            env = {**os.environ, "JETO_DATABASE_URL": url, "JETO_BROADCAST_URL": redis_url, "JETO_WORKER": "off"}
            server = subprocess.Popen(
                [sys.executable, "-m", "jeto.cli", "serve", "--port", str(port)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
            )  # fmt: skip
            try:
                await until_listening(port)
                async with open_bus(redis_url) as bus:

                    async def change(seq: int) -> float:
                        await PlatformIntegration.filter(id=pk).update(folders_synced=seq)
                        committed = time.monotonic()
                        event = await events.sync_status_changed(pk)  # the snapshot a worker publishes
                        await bus.publish(events.account_channel(account.id), event.encode())
                        return committed

                    return await measure(
                        "jeto", server.pid, f"ws://127.0.0.1:{port}/graphql",
                        issue_development_token(settings, admin.email),
                        encode_id("PlatformIntegration", pk), n, args, change,
                    )  # fmt: skip
            finally:
                server.terminate()
                server.wait(30)
        finally:
            await Tortoise.close_connections()


async def bare(n: int, args: argparse.Namespace) -> Figures:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bare_subscriptions.py"), str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await until_listening(port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def change(seq: int) -> float:
                posted = time.monotonic()
                (await http.post("/publish", json={"foldersSynced": seq})).raise_for_status()
                return posted

            return await measure("bare", server.pid, f"ws://127.0.0.1:{port}/graphql", "-", "1", n, args, change)
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="changes per second")
    parser.add_argument("--client-processes", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds given to the last change to arrive")
    parser.add_argument("--servers", nargs="+", default=["bare", "jeto"], choices=["bare", "jeto"])
    args = parser.parse_args()
    redis_url = os.environ.get("JETO_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    print(f"{args.changes} status changes at {args.rate:g}/s; jeto: SQLite, Redis bus; bare: broadcaster memory://")
    print(
        f"{'server':>6} {'N':>6} {'in order/expected':>19} {'repeats':>7} {'backwards':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'KiB/subscriber':>14} {'CPU µs/message':>14}"
    )
    for n in args.subscribers:
        for server in args.servers:
            f = asyncio.run(jeto(n, args, redis_url) if server == "jeto" else bare(n, args))
            print(
                f"{f.server:>6} {f.n:>6} {f.in_order:>9}/{f.expected:<9} {f.repeats:>7} {f.backwards:>9} "
                f"{f.p50_ms:>8.1f} {f.p99_ms:>8.1f} {f.kib_per_subscriber:>14.1f} {f.cpu_us_per_message:>14.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
