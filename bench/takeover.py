"""A sync taken over after its worker died halfway through the programs: what the takeover costs when it resumes
at the run's cursor, and when it starts over (as every takeover did before resuming existed).

    python bench/takeover.py [--integrations 5] [--programs 4000] [--latency 0.1]

Both modes run in one invocation, each on a fresh simulator and database (SQLite in a temporary folder, or
JETO_BENCH_DATABASE_URL's PostgreSQL database, dropped and made anew), set up as bench/sync.py's: K instances
with `--programs` programs and 30 folders each, `--latency` added to each call, Marketo's limits. In each mode:

1. a worker syncs the K integrations and dies, as a process would (its tasks cancelled where they stand, no
   hand-back), on each integration's program page that would take it past half of the programs;
2. the dead worker's leases lapse, and Marketo's 20 s window with them (a lease lasts 30 s);
3. a new worker (a new process's pool, so its own limiter and tokens) takes the K syncs over and runs until
   idle, with `resume_syncs` on or off.

Printed per mode: how long the first worker ran, how many programs it wrote before it died and how many of them
its last cursor counts (written with the progress, about once a second); the takeover's wall time, and its
Marketo calls per instance: all of them, and the listing calls among them (folders.json and programs.json pages,
the cursor's two checks included); and the rows, which must be every program.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import fresh_database  # noqa: E402
from marketo_parallel import start_simulator  # noqa: E402
from sync import create_integrations, credentials, publish  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from domain import changes  # noqa: E402
from domain.models import Job, JobKind, MarketoProgram, PlatformIntegration, SyncRun  # noqa: E402
from domain.sync_state import SyncState  # noqa: E402
from jeto import database  # noqa: E402
from marketo import InstanceLimits, MarketoPool  # noqa: E402
from marketo.models import Program  # noqa: E402
from marketo.worker import queue  # noqa: E402
from marketo.worker.runner import Worker, WorkerSettings  # noqa: E402
from marketo.worker.store import RowStore  # noqa: E402

MARKETO_WINDOW = 20.0  # seconds: the simulator's, as Marketo's
PAGES = ("browse_folders", "browse_programs")


class DyingHalfway(RowStore):
    """Cancels the sync (as a process dying would) before the page that takes an integration past `half` programs:
    the pages before it, and the cursor that counts them, are written."""

    def __init__(self, half: int) -> None:
        self.half = half
        self.written: defaultdict[int, int] = defaultdict(int)

    async def upsert_programs(self, integration_id: int, programs: list[Program], seen_at: datetime) -> None:
        if self.written[integration_id] + len(programs) > self.half:
            raise asyncio.CancelledError
        self.written[integration_id] += len(programs)
        await super().upsert_programs(integration_id, programs, seen_at)


async def marketo_calls(admin_url: str) -> dict[str, Counter[str]]:
    """Per instance: its calls by operation, and `calls` in all."""
    async with httpx.AsyncClient() as http:
        stats = (await http.get(admin_url)).json()
    return {mid: Counter({**s["byOperation"], "calls": s["calls"]}) for mid, s in stats.items()}


async def die_halfway(integration_ids: list[int], programs: int) -> float:
    """Runs the syncs in a worker that dies halfway through each one's programs; returns how long that took."""
    async with MarketoPool(limits=InstanceLimits()) as pool:
        doomed = Worker(pool=pool, credentials=credentials, publish=publish, store=DyingHalfway(programs // 2))
        claimed: set[int] = set()
        for _ in integration_ids:
            claim = await queue.claim_integration(doomed.owner, claimed)
            assert claim is not None
            claimed.add(claim)
        started = time.perf_counter()
        with changes.publishing_to(publish):
            # Its work on each integration, as Worker.run starts it; a lane cancelled dies as a process would.
            ends = await asyncio.gather(*(doomed._work_on(i) for i in integration_ids), return_exceptions=True)
        assert all(isinstance(end, asyncio.CancelledError) for end in ends), ends
        return time.perf_counter() - started


async def run(k: int, programs: int, latency: float, url: str, *, resume: bool) -> dict:
    if url.startswith("postgres"):
        await fresh_database(url)  # the new worker takes over whatever is left running: only this mode's syncs
    process, endpoints, admin_url = start_simulator(k, programs, latency, 3600.0)
    try:
        await database.migrate(url)
        await Tortoise.init(config=database.tortoise_config(url))
        with changes.publishing_to(publish):
            account = await create_integrations(endpoints)
        mine = PlatformIntegration.filter(account_id=account.id)
        integration_ids = list(await mine.values_list("id", flat=True))
        until_death = await die_halfway(integration_ids, programs)
        written = await MarketoProgram.filter(platform_integration__account_id=account.id).count()
        cursors = await SyncRun.filter(platform_integration_id__in=integration_ids).values_list(
            "listing_cursor", flat=True
        )
        claimed = sum(cursor["programs"] if cursor else 0 for cursor in cursors)
        await mine.update(lease_owner=None, lease_expires_at=None)  # lapsed
        await asyncio.sleep(MARKETO_WINDOW)
        before = await marketo_calls(admin_url)

        async with MarketoPool(limits=InstanceLimits()) as pool:
            survivor = Worker(
                pool=pool, credentials=credentials, publish=publish, settings=WorkerSettings(resume_syncs=resume)
            )
            started = time.perf_counter()
            await survivor.run_until_idle()
            wall = time.perf_counter() - started
        after = await marketo_calls(admin_url)

        assert set(await mine.values_list("sync_state", flat=True)) == {SyncState.COMPLETED}
        synced = await MarketoProgram.filter(platform_integration__account_id=account.id).count()
        assert synced == k * programs, (synced, k * programs)
        takeovers = await Job.filter(kind=JobKind.SYNC, platform_integration_id__in=integration_ids).values_list(
            "takeovers", flat=True
        )
        attempts = await SyncRun.filter(platform_integration_id__in=integration_ids).values_list("attempts", flat=True)
        assert set(takeovers) == {1} and set(attempts) == {2}, (takeovers, attempts)
    finally:
        await Tortoise.close_connections()
        process.terminate()
        process.wait(10)
    spent = [after[mid] - before[mid] for mid in after]
    return {
        "mode": "resume" if resume else "restart",
        "until_death": until_death,
        "written": written / k,
        "claimed": claimed / k,
        "wall": wall,
        "calls": sum(s["calls"] for s in spent) / k,
        "pages": sum(s[page] for s in spent for page in PAGES) / k,
        "rows": synced,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--integrations", type=int, default=5)
    parser.add_argument("--programs", type=int, default=4000, help="programs per instance")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the simulator adds to each call")
    args = parser.parse_args()
    k = args.integrations
    print(
        f"K={k} instances: {args.programs} programs, 30 folders each, {args.latency:.2f} s latency per call; "
        f"the worker dies halfway through the programs, a new one takes over"
    )
    print(
        f"{'mode':>8} {'died after s':>12} {'programs written/inst':>21} {'in cursor/inst':>14} {'takeover s':>10} "
        f"{'calls/inst':>10} {'listing calls/inst':>18} {'program rows':>12}"
    )
    results = []
    for resume in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            url = os.environ.get("JETO_BENCH_DATABASE_URL") or f"sqlite://{folder}/bench.sqlite3"
            result = asyncio.run(run(k, args.programs, args.latency, url, resume=resume))
        results.append(result)
        print(
            f"{result['mode']:>8} {result['until_death']:>12.2f} {result['written']:>21.0f} {result['claimed']:>14.0f} "
            f"{result['wall']:>10.2f} {result['calls']:>10.1f} {result['pages']:>18.1f} {result['rows']:>12}"
        )
    restart, resumed = results
    print(
        f"resume / restart: {resumed['wall'] / restart['wall']:.2f}x the time, "
        f"{resumed['calls'] / restart['calls']:.2f}x the calls"
    )


if __name__ == "__main__":
    main()
