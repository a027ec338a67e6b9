"""Two `jeto worker` processes share the work on PostgreSQL; one killed mid-sync loses no job."""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from domain.models import Job, JobKind, JobState, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.simulator import SimulatorConfig, create_simulator, running_simulator
from tests.worker.test_sync import connect

pytestmark = pytest.mark.skipif(
    not os.environ.get("JETO_TEST_DATABASE_URL", "").startswith("postgres"),
    reason="several worker processes share work through PostgreSQL row locks; CI runs this on PostgreSQL",
)


def _host(row: PlatformIntegration) -> str:
    return row.lease_owner.split(":")[0]


def start_worker(database_url: str, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "JETO_DATABASE_URL": database_url,
        "JETO_BROADCAST_URL": database_url.replace("postgres://", "postgresql://", 1),
        "JETO_WORKER_LEASE_SECONDS": "3",
        "JETO_WORKER_METRICS_PORT": "0",  # two workers on one machine: each its own free port
        "JETO_MARKETO_ALLOWED_HOSTS": "127.0.0.1",  # the simulator's; checked at every call since issue 16
    }
    return subprocess.Popen(
        [sys.executable, "-m", "jeto.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=log
    )


async def test_two_workers_share_the_integrations_and_one_killed_mid_sync_loses_nothing(world, database_url, tmp_path):
    simulator = create_simulator(SimulatorConfig(instances=4, folders=6, programs=1500, latency=0.03))
    _, admin = await world.account(limit=4)
    async with running_simulator(simulator) as base_url:
        for i in range(4):
            await connect(admin, simulator, i, f"PI {i}", base_url)
        logs = [open(tmp_path / f"worker-{n}.log", "wb") for n in (1, 2)]  # noqa: SIM115 - closed below
        first, second = start_worker(database_url, logs[0]), start_worker(database_url, logs[1])
        workers = {first.pid: first, second.pid: second}
        owners: dict[int, set[int]] = {}
        killed = None
        try:
            async with asyncio.timeout(90):
                while True:
                    rows = await PlatformIntegration.all()
                    for row in rows:
                        if row.lease_owner:
                            owners.setdefault(row.id, set()).add(int(row.lease_owner.split(":")[1]))
                    syncing = [r for r in rows if r.sync_state is SyncState.SYNCING and r.lease_owner]
                    if killed is None and syncing and syncing[0].folders_synced > 0:
                        victim = int(syncing[0].lease_owner.split(":")[1])
                        workers[victim].send_signal(signal.SIGKILL)
                        workers[victim].wait()
                        held = {
                            r.id
                            for r in await PlatformIntegration.filter(
                                lease_owner__startswith=f"{_host(syncing[0])}:{victim}:"
                            )
                        }
                        for pk in held:
                            owners.setdefault(pk, set()).add(victim)
                        killed = (victim, syncing[0].id, held)
                    if killed and all(r.sync_state is SyncState.COMPLETED for r in rows):
                        break
                    await asyncio.sleep(0.05)
        finally:
            for process in workers.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in workers.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            for log in logs:
                log.close()
    assert killed is not None
    victim, interrupted, held = killed
    survivor = next(pid for pid in workers if pid != victim)
    assert interrupted in held
    for pk in held:
        assert owners[pk] == {victim, survivor}  # taken over once the lease lapsed
    assert all(len(seen) == 1 for pk, seen in owners.items() if pk not in held)  # one owner each
    assert len(set().union(*owners.values())) == 2  # both workers took work
    assert await Job.filter(kind=JobKind.SYNC, state=JobState.DONE).count() == 4
    assert await Job.exclude(state=JobState.DONE).count() == 0
    for run in await SyncRun.all():
        assert run.state is SyncState.COMPLETED and run.programs_synced == 1500
    assert (await SyncRun.get(platform_integration_id=interrupted)).attempts == 2
