"""Queued work wakes the workers at once, through the bus: their poll is only a safety net."""

import dataclasses

from jeto.services import BackgroundWork
from tests.api.operations import SYNC_PI
from tests.waiting import wait_until
from tests.worker.test_sync import connect, status


async def test_a_requested_sync_starts_at_once_though_the_worker_polls_once_an_hour(world, simulator, settings):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Woken")  # queues its first sync
    hourly = dataclasses.replace(settings, worker_poll_seconds=3600)
    background = BackgroundWork(hourly, world.services).start()
    try:

        async def completed_runs() -> int:
            runs = (await admin(RUNS, {"id": pi}))["node"]["syncRuns"]["edges"]
            return sum(edge["node"]["state"] == "COMPLETED" for edge in runs)

        await wait_until(lambda: _at_least(completed_runs, 1))  # the worker's first look found the first sync
        requested = await admin(SYNC_PI, {"id": pi})
        assert requested["syncPlatformIntegration"]["userErrors"] == []
        # Only the announcement of the queued job can have started it: the next poll is an hour away.
        await wait_until(lambda: _at_least(completed_runs, 2))
        assert (await status(admin, pi))["syncStatus"]["state"] == "COMPLETED"
    finally:
        await background.stop()


async def _at_least(count, n: int) -> bool:
    return await count() >= n


RUNS = """query($id: ID!) { node(id: $id) { ... on PlatformIntegration {
  syncRuns(first: 10) { edges { node { state } } } } } }"""
