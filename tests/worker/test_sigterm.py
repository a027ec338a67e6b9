"""SIGTERM hands the work back: `jeto worker` and `jeto serve`, stopped at any moment of a sync (waiting on
Marketo, writing a page, between pages), announce QUEUED, release the lease and exit 0, and the next worker
takes the sync at once, with no takeover counted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from domain import events, syncs
from domain.models import Job, JobKind, JobState, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from jeto.bus import open_bus
from marketo.simulator import SimulatorConfig, create_simulator, running_simulator
from tests.api import factories
from tests.conftest import free_port
from tests.waiting import wait_until
from tests.worker.test_sync import connect

# Seconds after the sync shows SYNCING; a call takes 0.2 s, and about 40 of them, five at a time, make a sync.
MOMENTS = [0.05 + n * 0.075 for n in range(20)]


def start(command: str, database_url: str, bus_url: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "JETO_DATABASE_URL": database_url,
        "JETO_BROADCAST_URL": bus_url,
        "JETO_MARKETO_ALLOWED_HOSTS": "127.0.0.1",
        "JETO_WORKER_METRICS_PORT": "0",
        "JETO_WORKER_LEASE_SECONDS": "30",  # were it not released, the next worker would wait all of it
    }
    args = ["worker"] if command == "worker" else ["serve", "--port", str(free_port())]
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "jeto.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


@pytest.mark.timeout(600)
async def test_sigterm_at_any_moment_of_a_sync_hands_it_back(world, database_url, bus_url, tmp_path):
    simulator = create_simulator(SimulatorConfig(instances=1, folders=10, programs=4000, latency=0.2))
    _, admin = await world.account()
    async with running_simulator(simulator) as base_url, open_bus(bus_url) as bus:
        pi, _ = await connect(admin, simulator, 0, "Main", base_url)
        pk = factories.pk(pi)
        account_id = (await PlatformIntegration.get(id=pk)).account_id
        async with bus.subscribe(events.account_channel(account_id)) as heard:
            for n, moment in enumerate(MOMENTS):
                command = ("worker", "serve")[n % 2]
                await syncs.request_sync(pk, full=True)  # every run lists everything: long enough to interrupt
                process = start(command, database_url, bus_url, tmp_path / f"{command}.log")
                try:

                    async def syncing() -> bool:
                        return (await PlatformIntegration.get(id=pk)).sync_state is SyncState.SYNCING

                    await wait_until(syncing, 60)
                    await asyncio.sleep(moment)
                    assert (await PlatformIntegration.get(id=pk)).sync_state is SyncState.SYNCING, (command, moment)
                    process.send_signal(signal.SIGTERM)
                    code = await asyncio.to_thread(process.wait, 30)
                finally:
                    if process.poll() is None:
                        process.kill()
                assert code == 0, (command, moment, (tmp_path / f"{command}.log").read_text()[-3000:])
                row = await PlatformIntegration.get(id=pk)
                job = await Job.get(kind=JobKind.SYNC, state__in=[JobState.PENDING, JobState.RUNNING])
                run = await SyncRun.get(id=job.sync_run_id)
                assert (row.lease_owner, row.sync_state, run.state, job.state, job.takeovers) == (
                    None, SyncState.QUEUED, SyncState.QUEUED, JobState.PENDING, 0,
                ), (command, moment)  # fmt: skip
                await _heard_queued_after_syncing(heard, pk, (command, moment))
                # The next worker takes it at once (the lease is free), and counts no takeover.
                next_worker = world.worker()
                running = asyncio.create_task(next_worker.run())
                await wait_until(syncing, 10)
                await next_worker.stop()
                await running
                job = await Job.get(id=job.id)
                assert job.takeovers == 0 and job.state is JobState.PENDING, (command, moment)


async def _heard_queued_after_syncing(heard, pk: int, where) -> None:
    """The bus carried, for this integration, SYNCING and then QUEUED: what its subscribers showed."""
    states: list[str] = []
    async with asyncio.timeout(10):
        while not (states and "SYNCING" in states and states[-1] == "QUEUED" and states.index("SYNCING") < len(states)):
            message = await heard.get()
            event = events.Event.decode(message.message)
            if event is not None and event.kind == events.SYNC_STATUS and event.id == pk and event.fields:
                states.append(event.fields["sync_state"])
                if states[-1] == "QUEUED" and "SYNCING" in states:
                    return
    raise AssertionError(f"{where}: heard {states}")
