"""A full sync of an instance with more programs than one SQL statement takes parameters (32,767 on PostgreSQL)."""

import time

import pytest

from domain.models import MarketoProgram
from marketo.limits import InstanceLimits
from marketo.pool import MarketoPool
from marketo.simulator import SimulatorConfig, create_simulator
from marketo.worker.upsert import PROGRAM_COLUMNS, write_programs
from tests.api import factories
from tests.conftest import SimulatorTransport
from tests.worker.test_sync import connect, status

PROGRAMS = 33_000  # beyond PostgreSQL's 32,767 parameters per statement and SQLite's 32,766 variables


@pytest.fixture
def simulator():
    # A short window: the test is about the database, not about Marketo's pace.
    return create_simulator(SimulatorConfig(instances=1, folders=3, programs=PROGRAMS, window_seconds=0.1))


async def test_a_full_sync_of_more_programs_than_a_statement_takes_completes_and_removes_what_went(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Large")
    pk = factories.pk(pi)
    store = simulator.instances[munchkin].store
    # Rows of an earlier sync, made directly to keep the test short; 33 programs were deleted in Marketo since.
    earlier = [
        {"platform_integration_id": pk, "marketo_id": marketo_id, "name": f"Program {marketo_id}", "type": "Email"}
        for marketo_id in store.programs
    ]
    await write_programs([tuple(row.get(column) for column in PROGRAM_COLUMNS) for row in earlier])
    before = dict(await MarketoProgram.filter(platform_integration_id=pk).values_list("marketo_id", "id"))
    deleted = sorted(store.programs)[::1000]
    for marketo_id in deleted:
        store.delete_program(marketo_id)

    limits = InstanceLimits(calls_per_window=99, window_seconds=0.1, max_in_flight=10)
    async with MarketoPool(transport=SimulatorTransport(simulator), limits=limits) as pool:
        worker = world.worker(pool)
        started = time.monotonic()
        await worker.run_until_idle()
        print(
            f"\nfull sync of {len(store.programs):,} programs, {len(deleted)} removed: {time.monotonic() - started:.1f} s"
        )
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "COMPLETED", node["syncStatus"]
    assert node["syncStatus"]["programsSynced"] == PROGRAMS - len(deleted)
    after = dict(await MarketoProgram.filter(platform_integration_id=pk).values_list("marketo_id", "id"))
    assert set(after) == set(store.programs)
    assert all(after[marketo_id] == before[marketo_id] for marketo_id in after)  # updated in place: same rows
    assert (await MarketoProgram.get(id=after[min(after)])).name == store.programs[min(after)].name
