"""What a sync costs in worker CPU per program written, against a floor doing the same work, in one run.

    python bench/ingest.py [--integrations 20] [--programs 4000] [--rounds 2]

PostgreSQL only (JETO_BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/jeto_bench_ingest, dropped
and made anew). The simulator runs as its own process, with no latency and a call budget that never refuses,
so both sides are bound by their own CPU. Each round, on fresh integrations of the same K instances:

- the worker: `Worker.run_until_idle()` syncing K integrations in full (token, roots, folders, programs,
  progress, removals, statuses: everything a sync does);
- the floor: the same pages fetched with httpx (same page size and pages in flight), decoded with
  `response.json()`, each page written with asyncpg's `copy_records_to_table` into a temporary table and
  one `INSERT … SELECT … ON CONFLICT` (programs joined to their folder there), each page its own
  transaction.

Printed: CPU seconds of this process (user + system) per program written, folders included (Marketo
lists every program as a folder too), and worker / floor. The two alternate, floor first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from domain import accounts, changes, platform_integrations  # noqa: E402
from domain.models import Job, JobState, MarketoFolder, MarketoProgram, PlatformIntegration, Role, SyncRun  # noqa: E402
from domain.sync_state import SyncState  # noqa: E402
from domain.viewer import Viewer  # noqa: E402
from jeto import database  # noqa: E402
from jeto.secret_box import SecretBox  # noqa: E402
from jeto.settings import Secret  # noqa: E402
from marketo import InstanceLimits, MarketoCredentials, MarketoPool  # noqa: E402
from marketo.client import BROWSED_AREAS, MAX_PAGE_SIZE  # noqa: E402
from marketo.timestamps import parse_marketo_datetime  # noqa: E402
from marketo.worker.runner import Worker  # noqa: E402
from marketo.worker.sync import FOLDER_DEPTH  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jeto_bench_ingest"
PAGES_IN_FLIGHT = 5  # the client's default page_concurrency


def start_simulator(instances: int, programs: int) -> tuple[subprocess.Popen[str], list[dict[str, Any]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "marketo.simulator", "--port", "0", "--instances", str(instances),
        "--programs", str(programs), "--folders", "30", "--calls-per-window", "1000000", "--max-concurrent", "1000",
        "--daily-quota", "100000000",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert process.stdout is not None
    endpoints = []
    for line in process.stdout:
        record = json.loads(line)
        if "adminStats" in record:
            return process, endpoints
        endpoints.append(record)
    raise RuntimeError("the simulator did not start")


async def no_one(account_id: int, event: object) -> None:
    """Events go nowhere: a subscriber's cost is another benchmark's (subscriptions.py)."""


def cpu() -> float:
    times = os.times()
    return times.user + times.system


# The floor


FOLDER_COLUMNS = (
    "platform_integration_id", "marketo_id", "marketo_type", "name", "path", "parent_marketo_id",
    "parent_marketo_type", "folder_type", "is_system", "url", "marketo_updated_at", "seen_at",
)  # fmt: skip
PROGRAM_COLUMNS = (
    "platform_integration_id", "marketo_id", "name", "type", "channel", "status", "folder_marketo_id",
    "folder_marketo_type", "url", "marketo_updated_at", "seen_at",
)  # fmt: skip
SETUP = """
CREATE TEMPORARY TABLE folder_in (
    platform_integration_id int, marketo_id int, marketo_type varchar(20), name varchar(255), path varchar(2000),
    parent_marketo_id int, parent_marketo_type varchar(20), folder_type varchar(40), is_system bool,
    url varchar(500), marketo_updated_at timestamptz, seen_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE program_in (
    platform_integration_id int, marketo_id int, name varchar(255), type varchar(40), channel varchar(100),
    status varchar(40), folder_marketo_id int, folder_marketo_type varchar(20), url varchar(500),
    marketo_updated_at timestamptz, seen_at timestamptz
) ON COMMIT DELETE ROWS;
"""
_FOLDER_LIST = ", ".join(FOLDER_COLUMNS)
WRITE_FOLDERS = f"""
INSERT INTO marketo_folder ({_FOLDER_LIST}) SELECT {_FOLDER_LIST} FROM folder_in
ON CONFLICT (platform_integration_id, marketo_id, marketo_type) DO UPDATE SET
    name = excluded.name, path = excluded.path, parent_marketo_id = excluded.parent_marketo_id,
    parent_marketo_type = excluded.parent_marketo_type, folder_type = excluded.folder_type,
    is_system = excluded.is_system, url = excluded.url, marketo_updated_at = excluded.marketo_updated_at,
    seen_at = excluded.seen_at
"""
WRITE_PROGRAMS = """
INSERT INTO marketo_program
    (platform_integration_id, marketo_id, name, type, channel, status, folder_id, url, marketo_updated_at, seen_at)
SELECT p.platform_integration_id, p.marketo_id, p.name, p.type, p.channel, p.status, f.id, p.url,
       p.marketo_updated_at, p.seen_at
FROM program_in p LEFT JOIN marketo_folder f ON f.platform_integration_id = p.platform_integration_id
    AND f.marketo_id = p.folder_marketo_id AND f.marketo_type = p.folder_marketo_type
ON CONFLICT (platform_integration_id, marketo_id) DO UPDATE SET
    name = excluded.name, type = excluded.type, channel = excluded.channel, status = excluded.status,
    folder_id = excluded.folder_id, url = excluded.url, marketo_updated_at = excluded.marketo_updated_at,
    seen_at = excluded.seen_at
"""


async def floor_instance(
    http: httpx.AsyncClient, endpoint: dict[str, Any], integration_id: int, pool: asyncpg.Pool
) -> int:
    token = (
        await http.get(
            f"{endpoint['identityEndpoint']}/oauth/token",
            params={
                "grant_type": "client_credentials",
                "client_id": endpoint["clientId"],
                "client_secret": endpoint["clientSecret"],
            },
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    asset = f"{endpoint['restEndpoint']}/asset/v1"
    seen_at = datetime.now(UTC)

    async def get(path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return (await http.get(f"{asset}/{path}", params=params, headers=headers)).json().get("result") or []

    async def pages(path: str, params: dict[str, Any]) -> Any:
        offset = 0
        while True:
            batch = await asyncio.gather(
                *(
                    get(path, {**params, "maxReturn": MAX_PAGE_SIZE, "offset": offset + i * MAX_PAGE_SIZE})
                    for i in range(PAGES_IN_FLIGHT)
                )
            )
            for page in batch:
                if page:
                    yield page
            if len(batch[-1]) < MAX_PAGE_SIZE:
                return
            offset += PAGES_IN_FLIGHT * MAX_PAGE_SIZE

    async def write(table: str, columns: tuple[str, ...], statement: str, records: list[tuple[Any, ...]]) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await connection.copy_records_to_table(table, records=records, columns=columns)
            await connection.execute(statement)

    written = 0
    for area in BROWSED_AREAS:
        roots = await get("folder/byName.json", {"name": area, "type": "Folder"})
        root = next(r for r in roots if r.get("parent") is None)
        ref = json.dumps({"id": root["id"], "type": "Folder"})
        async for page in pages("folders.json", {"root": ref, "maxDepth": FOLDER_DEPTH}):
            records = [
                (
                    integration_id,
                    f["folderId"]["id"],
                    f["folderId"]["type"],
                    f["name"][:255],
                    f["path"][:2000],
                    (f.get("parent") or {}).get("id"),
                    (f.get("parent") or {}).get("type"),
                    f.get("folderType"),
                    bool(f.get("isSystem")),
                    f.get("url"),
                    parse_marketo_datetime(f.get("updatedAt")),
                    seen_at,
                )
                for f in page
            ]
            await write("folder_in", FOLDER_COLUMNS, WRITE_FOLDERS, records)
    async for page in pages("programs.json", {}):
        records = [
            (
                integration_id,
                p["id"],
                p["name"][:255],
                p["type"],
                p.get("channel"),
                p.get("status"),
                (p.get("folder") or {}).get("value"),
                (p.get("folder") or {}).get("type"),
                p.get("url"),
                parse_marketo_datetime(p.get("updatedAt")),
                seen_at,
            )
            for p in page
        ]
        await write("program_in", PROGRAM_COLUMNS, WRITE_PROGRAMS, records)
        written += len(records)
    return written


async def floor(url: str, endpoints: list[dict[str, Any]], integration_ids: list[int]) -> tuple[float, int]:
    async def setup(connection: asyncpg.Connection) -> None:
        await connection.execute(SETUP)

    pool = await asyncpg.create_pool(url.replace("postgres://", "postgresql://"), min_size=10, max_size=10, init=setup)
    try:
        # One HTTP client per instance, as the worker has: httpcore's pool costs grow with its connections.
        async with contextlib.AsyncExitStack() as clients:
            https = [await clients.enter_async_context(httpx.AsyncClient()) for _ in endpoints]
            started = cpu()
            counts = await asyncio.gather(
                *(floor_instance(*args, pool) for args in zip(https, endpoints, integration_ids, strict=True))
            )
            return cpu() - started, sum(counts)
    finally:
        await pool.close()


# The worker


async def worker(box: SecretBox) -> float:
    def credentials(pi: PlatformIntegration) -> MarketoCredentials:
        return MarketoCredentials(
            pi.rest_endpoint, pi.identity_endpoint, pi.client_id, box.open(pi.client_secret_encrypted)
        )

    async def publish(account_id: int, event: object) -> None:
        return None

    # Marketo's window shortened to a second: the worker's pace is its own, as the floor's is.
    limits = InstanceLimits(calls_per_window=99, window_seconds=1.0)
    async with MarketoPool(limits=limits) as pool:
        started = cpu()
        await Worker(pool=pool, credentials=credentials, publish=no_one).run_until_idle()
        return cpu() - started


async def integrations(box: SecretBox, endpoints: list[dict[str, Any]], label: str) -> tuple[int, list[int]]:
    account, admin = await accounts.create_account(
        f"Bench {label}", f"ingest-{label}-{time.time_ns()}@bench.test", integrations_limit=len(endpoints)
    )
    viewer = Viewer(admin.id, account.id, Role.ADMIN)
    ids = []
    for index, endpoint in enumerate(endpoints):
        created = await platform_integrations.create(
            viewer,
            name=f"Instance {index}",
            credentials=platform_integrations.CredentialsInput(
                endpoint["clientId"], endpoint["clientSecret"], endpoint["restEndpoint"], endpoint["identityEndpoint"]
            ),
            confirm_trial=False,
            sealer=box,
            allowed_hosts=["127.0.0.1"],
        )
        assert created.integration is not None
        ids.append(created.integration.id)
    return account.id, ids


async def settled(integration_ids: list[int]) -> None:
    """The floor writes rows only: the syncs its integrations queued when they were created are marked done, or the
    worker would sync them too (and be charged for twice the work)."""
    await PlatformIntegration.filter(id__in=integration_ids).update(sync_state=SyncState.COMPLETED)
    await SyncRun.filter(platform_integration_id__in=integration_ids).update(state=SyncState.COMPLETED)
    await Job.filter(platform_integration_id__in=integration_ids).update(state=JobState.DONE)


async def rows(account_id: int) -> tuple[int, int]:
    folders = await MarketoFolder.filter(platform_integration__account_id=account_id).count()
    programs = await MarketoProgram.filter(platform_integration__account_id=account_id).count()
    return folders, programs


async def fresh_database(url: str) -> None:
    """The worker syncs whatever is queued: nothing from an earlier run may be."""
    server, _, name = url.replace("postgres://", "postgresql://").rpartition("/")
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def main(k: int, programs: int, rounds: int, url: str, *, worker_only: bool = False) -> None:
    await fresh_database(url)
    process, endpoints = start_simulator(k, programs)
    box = SecretBox(Secret("bench-secret-key"))
    results: list[tuple[float, float]] = []
    try:
        await database.migrate(url)
        await Tortoise.init(config=database.tortoise_config(url))
        with changes.publishing_to(no_one):
            for round_ in range(1, rounds + 1):
                if worker_only:  # for a profiler: the rows' count is checked against the floor's otherwise
                    worker_account, _ = await integrations(box, endpoints, f"worker-{round_}")
                    worker_cpu = await worker(box)
                    print(f"round {round_}: worker {worker_cpu:.2f} s CPU for {await rows(worker_account)}", flush=True)
                    continue
                floor_account, floor_ids = await integrations(box, endpoints, f"floor-{round_}")
                await settled(floor_ids)
                floor_cpu, floor_programs = await floor(url, endpoints, floor_ids)
                floor_rows = await rows(floor_account)

                worker_account, _ = await integrations(box, endpoints, f"worker-{round_}")
                worker_cpu = await worker(box)
                worker_rows = await rows(worker_account)
                assert worker_rows == floor_rows, (worker_rows, floor_rows)
                assert floor_programs == k * programs == worker_rows[1], (floor_programs, worker_rows)

                per_floor, per_worker = floor_cpu / floor_programs * 1e6, worker_cpu / floor_programs * 1e6
                results.append((per_worker, per_floor))
                print(
                    f"round {round_}: {worker_rows[0]:,} folders and {worker_rows[1]:,} programs each side; "
                    f"worker {worker_cpu:.2f} s CPU = {per_worker:.1f} µs/program, floor {floor_cpu:.2f} s = "
                    f"{per_floor:.1f} µs/program: {per_worker / per_floor:.2f}x",
                    flush=True,
                )
    finally:
        await Tortoise.close_connections()
        process.terminate()
        process.wait(10)
    if worker_only:
        return
    ratios = [w / f for w, f in results]
    print(
        f"median: worker {statistics.median(w for w, _ in results):.1f} µs/program, floor "
        f"{statistics.median(f for _, f in results):.1f} µs/program, worker/floor {statistics.median(ratios):.2f}x "
        f"(rounds: {', '.join(f'{r:.2f}x' for r in ratios)})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--integrations", type=int, default=20)
    parser.add_argument("--programs", type=int, default=4000, help="programs per instance")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker-only", action="store_true", help="the worker's rounds alone, to run under a profiler")
    args = parser.parse_args()
    url = os.environ.get("JETO_BENCH_DATABASE_URL") or DEFAULT_URL
    asyncio.run(main(args.integrations, args.programs, args.rounds, url, worker_only=args.worker_only))
