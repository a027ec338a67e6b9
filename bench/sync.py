"""K platform integrations synced in parallel by one worker, against the simulator with latency.

    python bench/sync.py [--integrations 1 5 20] [--programs 4000] [--latency 0.1]

The simulator runs as its own process (see marketo_parallel.py); the worker, its database
(SQLite in a temporary folder, or JETO_BENCH_DATABASE_URL) and its Marketo client run here.
The bound is the least time the client's limits and the latency allow for the calls one
instance needs: a sync of K instances is as fast as one when instances never wait for each other.
`--programs 16000` needs about 170 calls per instance, so Marketo's 20 s window is crossed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from marketo_parallel import lower_bound, start_simulator  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from domain import accounts, platform_integrations  # noqa: E402
from domain.models import Account, MarketoProgram, PlatformIntegration, Role, SyncRun  # noqa: E402
from domain.sync_state import SyncState  # noqa: E402
from domain.viewer import Viewer  # noqa: E402
from jeto import database  # noqa: E402
from jeto.secret_box import SecretBox  # noqa: E402
from jeto.settings import Secret  # noqa: E402
from marketo import InstanceLimits, MarketoCredentials, MarketoPool  # noqa: E402
from marketo.limits import Priority  # noqa: E402
from marketo.worker.runner import Worker  # noqa: E402

BOX = SecretBox(Secret("bench-secret-key"))


async def create_integrations(endpoints: list[dict]) -> Account:
    """An account with one integration per simulated instance, made through the use case (which queues their
    syncs)."""
    account, admin = await accounts.create_account(
        "Bench", f"bench-{len(endpoints)}-{time.time_ns()}@bench.test", integrations_limit=len(endpoints)
    )
    viewer = Viewer(admin.id, account.id, Role.ADMIN)
    for index, endpoint in enumerate(endpoints):
        await platform_integrations.create(
            viewer,
            name=f"Instance {index}",
            credentials=platform_integrations.CredentialsInput(
                endpoint["clientId"],
                endpoint["clientSecret"],
                endpoint["restEndpoint"],
                endpoint["identityEndpoint"],
            ),
            confirm_trial=False,
            sealer=BOX,
            allowed_hosts=["127.0.0.1"],
        )
    return account


def credentials(pi: PlatformIntegration) -> MarketoCredentials:
    return MarketoCredentials(
        pi.rest_endpoint, pi.identity_endpoint, pi.client_id, BOX.open(pi.client_secret_encrypted)
    )


async def publish(account_id: int, event: object) -> None:
    return None


async def run(k: int, programs: int, latency: float, url: str) -> dict:
    process, endpoints, admin_url = start_simulator(k, programs, latency, 3600.0)
    try:
        await database.migrate(url)
        await Tortoise.init(config=database.tortoise_config(url))
        account = await create_integrations(endpoints)
        limits = InstanceLimits()
        async with MarketoPool(limits=limits) as pool:
            started = time.perf_counter()
            await Worker(pool=pool, credentials=credentials, publish=publish).run_until_idle()
            wall = time.perf_counter() - started
        mine = PlatformIntegration.filter(account_id=account.id)
        states = set(await mine.values_list("sync_state", flat=True))
        assert states == {SyncState.COMPLETED}, states
        synced = await MarketoProgram.filter(platform_integration__account_id=account.id).count()
        assert synced == k * programs, (synced, k * programs)
        attempts = await SyncRun.filter(platform_integration__account_id=account.id).values_list("attempts", flat=True)
        async with httpx.AsyncClient() as http:
            stats = list((await http.get(admin_url)).json().values())
    finally:
        await Tortoise.close_connections()
        process.terminate()
        process.wait(10)
    calls = max(s["calls"] for s in stats)
    return {
        "k": k,
        "wall": wall,
        "bound": lower_bound(calls, limits, latency, Priority.BULK),
        "calls": calls,
        "identity": sorted({s["identityCalls"] for s in stats}),
        "rate_limited": sum(s["rateLimited606"] for s in stats),
        "concurrency_limited": sum(s["concurrencyLimited615"] for s in stats),
        "attempts": max(attempts),
        "rows": synced,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--integrations", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--programs", type=int, default=4000, help="programs per instance")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the simulator adds to each call")
    args = parser.parse_args()
    print(f"each instance: {args.programs} programs, 30 folders, {args.latency:.2f} s latency per call")
    print(
        f"{'K':>3} {'wall s':>7} {'bound s':>8} {'wall/bound':>10} {'calls/inst':>10} {'identity/inst':>13} "
        f"{'606':>4} {'615':>4} {'attempts':>8} {'program rows':>12}"
    )
    results = []
    for k in args.integrations:
        with tempfile.TemporaryDirectory() as folder:
            url = os.environ.get("JETO_BENCH_DATABASE_URL") or f"sqlite://{folder}/bench.sqlite3"
            result = asyncio.run(run(k, args.programs, args.latency, url))
        results.append(result)
        print(
            f"{k:>3} {result['wall']:>7.2f} {result['bound']:>8.2f} {result['wall'] / result['bound']:>10.2f} "
            f"{result['calls']:>10} {'/'.join(map(str, result['identity'])):>13} {result['rate_limited']:>4} "
            f"{result['concurrency_limited']:>4} {result['attempts']:>8} {result['rows']:>12}"
        )
    if len(results) > 1:
        print(f"wall time K={results[-1]['k']} / K={results[0]['k']}: {results[-1]['wall'] / results[0]['wall']:.2f}x")


if __name__ == "__main__":
    main()
