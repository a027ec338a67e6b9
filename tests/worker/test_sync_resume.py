"""A sync taken over after its worker died resumes its listings at the run's cursor when Marketo did not change
meanwhile, and ends as an uninterrupted sync would; otherwise it starts over (marketo/worker/resume.py)."""

import asyncio
import copy
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain import syncs
from domain.models import Job, JobKind, JobState, MarketoFolder, MarketoProgram, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from marketo.limits import InstanceLimits
from marketo.pool import MarketoPool
from marketo.simulator import SimulatorConfig, create_simulator
from marketo.worker import queue, schedule
from marketo.worker.store import RowStore
from tests.api import factories
from tests.conftest import SimulatorTransport
from tests.waiting import wait_until
from tests.worker.test_sync import connect

PAGE = 10
LISTINGS = ("browse_folders", "folder_by_name", "browse_programs")


@pytest.fixture
def simulator():
    """Two instances holding the same folders and programs: one synced with a crash, its twin without."""
    simulator = create_simulator(SimulatorConfig(instances=2, folders=6, programs=120, window_seconds=0.1))
    first, second = simulator.instances.values()
    second.store = copy.deepcopy(first.store)
    return simulator


@pytest.fixture
async def pool(simulator):
    """Listings in pages of ten, so a sync is many pages."""
    limits = InstanceLimits(calls_per_window=99, window_seconds=0.1, max_in_flight=5)
    async with MarketoPool(transport=SimulatorTransport(simulator), page_size=PAGE, limits=limits) as pool:
        yield pool


class DyingOnPage(RowStore):
    """Dies, as a process would, when about to write one integration's page after `pages` of a listing were written:
    its earlier pages, and the cursor that counts them, are committed."""

    def __init__(self, integration_id: int, listing: str, pages: int) -> None:
        self.integration_id, self.listing, self.pages = integration_id, listing, pages
        self.written = 0

    def _page(self, integration_id: int, listing: str) -> None:
        if integration_id == self.integration_id and listing == self.listing:
            if self.written == self.pages:
                raise asyncio.CancelledError
            self.written += 1

    async def upsert_folders(self, integration_id, folders, seen_at):
        self._page(integration_id, "folders")
        await super().upsert_folders(integration_id, folders, seen_at)

    async def upsert_programs(self, integration_id, programs, seen_at):
        self._page(integration_id, "programs")
        await super().upsert_programs(integration_id, programs, seen_at)


async def die_mid_sync(world, pool, integration_pk: int, listing: str, pages: int) -> SyncRun:
    """Runs the integration's sync in a worker that dies after writing `pages` pages of `listing` (every page's
    progress saved: its clock reads a second later each time); the dead worker's lease then lapses."""
    doomed = world.worker(pool, store=DyingOnPage(integration_pk, listing, pages), clock=itertools.count().__next__)
    others = set(await PlatformIntegration.exclude(id=integration_pk).values_list("id", flat=True))
    assert await queue.claim_integration(doomed.owner, others) == integration_pk
    with pytest.raises(asyncio.CancelledError):
        await doomed._work_on(integration_pk)
    await PlatformIntegration.filter(id=integration_pk).update(lease_owner=None, lease_expires_at=None)
    run = await SyncRun.filter(platform_integration_id=integration_pk).order_by("-id").first()
    assert run.state is SyncState.SYNCING and run.listing_cursor is not None
    return run


async def twins(world, simulator, *, full: bool = True):
    """Two integrations on the twin instances, synced once, then asked for a sync (full, or not) of what changed
    since, in both: three programs deleted in Marketo, and 60 renamed a minute ago (an incremental sync asks
    again for the minutes before the last one, so it lists them)."""
    _, admin = await world.account(limit=2)
    crashed, twin = [await connect(admin, simulator, i, f"PI {i}") for i in range(2)]
    await world.worker().run_until_idle()
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    for instance in simulator.instances.values():
        for program_id in sorted(instance.store.programs)[-3:]:
            instance.store.delete_program(program_id)
        for program_id in sorted(instance.store.programs)[:60]:
            instance.store.update_program(program_id, f"Renamed {program_id}", None, a_minute_ago)
    for pi, _ in (crashed, twin):
        await syncs.request_sync(factories.pk(pi), full=full)
    return admin, crashed, twin


def listing_calls(simulator, munchkin) -> Counter[str]:
    stats = simulator.instances[munchkin].stats.by_operation
    return Counter({operation: stats[operation] for operation in LISTINGS})


async def holdings(integration_pk: int):
    folders = await MarketoFolder.filter(platform_integration_id=integration_pk).values_list(
        "marketo_id", "marketo_type", "name", "path", "parent_marketo_id"
    )
    programs = await MarketoProgram.filter(platform_integration_id=integration_pk).values_list(
        "marketo_id", "name", "folder__marketo_id"
    )
    return sorted(folders), sorted(programs)


async def last_run(integration_pk: int) -> SyncRun:
    return await SyncRun.filter(platform_integration_id=integration_pk).order_by("-id").first()


@pytest.mark.parametrize(
    "listing, pages, full",
    [("programs", 4, True), ("folders", 5, True), ("programs", 3, False)],
    ids=["full-in-programs", "full-in-folders", "incremental-in-programs"],
)
async def test_a_sync_taken_over_resumes_at_its_cursor_and_ends_as_an_uninterrupted_one(
    world, simulator, pool, listing, pages, full
):
    admin, (crashed, crashed_mid), (twin, twin_mid) = await twins(world, simulator, full=full)
    crashed_pk, twin_pk = factories.pk(crashed), factories.pk(twin)
    before = listing_calls(simulator, twin_mid)

    run = await die_mid_sync(world, pool, crashed_pk, listing, pages)
    cursor = run.listing_cursor
    assert (cursor["run"], cursor["listing"], cursor["offset"], cursor[listing]) == (
        run.id, listing, pages * PAGE, pages * PAGE
    )  # fmt: skip
    # Never ahead of the rows: every record it counts is written, stamped with the attempt's moment.
    model = MarketoProgram if listing == "programs" else MarketoFolder
    moment = datetime.fromisoformat(cursor["moment"])
    assert await model.filter(platform_integration_id=crashed_pk, seen_at__gte=moment).count() == pages * PAGE

    taken_over = listing_calls(simulator, crashed_mid)
    await world.worker(pool).run_until_idle()  # takes the crashed sync over, and syncs the twin
    resumed = listing_calls(simulator, crashed_mid) - taken_over
    uninterrupted = listing_calls(simulator, twin_mid) - before

    job = await Job.get(kind=JobKind.SYNC, platform_integration_id=crashed_pk, sync_run_id=run.id)
    assert job.state is JobState.DONE and job.takeovers == 1
    # The same rows (on a full sync, the three programs deleted in Marketo removed), the same counts, as the twin's.
    held = 117 if full else 120
    assert await holdings(crashed_pk) == await holdings(twin_pk)
    programs = dict((marketo_id, name) for marketo_id, name, _ in (await holdings(crashed_pk))[1])
    assert len(programs) == held and sum(name.startswith("Renamed") for name in programs.values()) == 60
    crashed_run, twin_run = await last_run(crashed_pk), await last_run(twin_pk)
    assert (crashed_run.state, crashed_run.attempts, twin_run.attempts) == (SyncState.COMPLETED, 2, 1)
    assert twin_run.programs_synced == (117 if full else 60)  # an incremental run lists what changed
    assert (crashed_run.folders_synced, crashed_run.programs_synced) == (
        twin_run.folders_synced,
        twin_run.programs_synced,
    )
    assert crashed_run.listing_cursor is None and twin_run.listing_cursor is None
    crashed_row, twin_row = await PlatformIntegration.get(id=crashed_pk), await PlatformIntegration.get(id=twin_pk)
    assert (crashed_row.folders_synced, crashed_row.programs_synced) == (twin_row.folders_synced, held)
    assert crashed_row.last_succeeded_at == moment  # the next incremental sync asks from the first attempt's start

    # The pages before the cursor were not listed again; the two checks are two calls with maxReturn 1.
    if listing == "programs":
        assert resumed["browse_folders"] == resumed["folder_by_name"] == 0
        assert resumed["browse_programs"] <= uninterrupted["browse_programs"] - pages + 2
    else:
        assert resumed["folder_by_name"] == 1  # Design Studio's root; Marketing Activities' is in the cursor
        assert resumed["browse_folders"] <= uninterrupted["browse_folders"] - pages + 1
        assert resumed["browse_programs"] == uninterrupted["browse_programs"] + 1


def rename_first(store) -> None:
    store.update_program(min(store.programs), "Renamed in Marketo", None, datetime.now(UTC))


def delete_first(store) -> None:
    """No updatedAt filter shows a deletion: only the record before the cursor moving does."""
    store.delete_program(min(store.programs))


def create_one(store) -> None:
    store.create_program("Made meanwhile", (1000, "Folder"), "Default", "Content", None, None, None, datetime.now(UTC))


@pytest.mark.parametrize("change", [rename_first, delete_first, create_one], ids=["renamed", "deleted", "created"])
async def test_a_change_in_marketo_between_the_crash_and_the_takeover_starts_the_sync_over(
    world, simulator, pool, change
):
    admin, (crashed, crashed_mid), _ = await twins(world, simulator)
    crashed_pk = factories.pk(crashed)
    run = await die_mid_sync(world, pool, crashed_pk, "programs", 4)
    store = simulator.instances[crashed_mid].store
    change(store)
    taken_over = listing_calls(simulator, crashed_mid)
    await world.worker(pool).run_until_idle()
    resumed = listing_calls(simulator, crashed_mid) - taken_over
    assert resumed["folder_by_name"] == 2 and resumed["browse_folders"] > 0  # every listing again
    assert resumed["browse_programs"] >= len(store.programs) // PAGE
    finished = await SyncRun.get(id=run.id)
    assert finished.state is SyncState.COMPLETED and finished.listing_cursor is None
    assert finished.programs_synced == len(store.programs)  # counted afresh
    rows = dict(await MarketoProgram.filter(platform_integration_id=crashed_pk).values_list("marketo_id", "name"))
    assert rows == {program.id: program.name for program in store.programs.values()}


def another_run(cursor: dict) -> dict:
    return {**cursor, "run": cursor["run"] + 1}


def another_api_user(cursor: dict) -> dict:
    return {**cursor, "instance": cursor["instance"].replace(" as ", " as someone-else-than-")}


def unreadable(cursor: dict) -> dict:
    return {**cursor, "offset": "forty"}


@pytest.mark.parametrize(
    "stale", [another_run, another_api_user, unreadable, None], ids=["another-run", "another-user", "unreadable", "off"]
)
async def test_a_cursor_of_another_run_or_instance_or_unreadable_is_ignored(world, simulator, pool, stale):
    admin, (crashed, crashed_mid), _ = await twins(world, simulator)
    crashed_pk = factories.pk(crashed)
    run = await die_mid_sync(world, pool, crashed_pk, "programs", 4)
    if stale is not None:
        await SyncRun.filter(id=run.id).update(listing_cursor=stale(run.listing_cursor))
    taken_over = listing_calls(simulator, crashed_mid)
    await world.worker(pool, resume_syncs=stale is not None).run_until_idle()  # None: resuming is off
    resumed = listing_calls(simulator, crashed_mid) - taken_over
    assert resumed["folder_by_name"] == 2 and resumed["browse_folders"] > 0
    store = simulator.instances[crashed_mid].store
    assert resumed["browse_programs"] >= len(store.programs) // PAGE
    finished = await SyncRun.get(id=run.id)
    assert finished.state is SyncState.COMPLETED and finished.listing_cursor is None
    assert finished.programs_synced == len(store.programs) == 117
    rows = await MarketoProgram.filter(platform_integration_id=crashed_pk).values_list("marketo_id", flat=True)
    assert sorted(rows) == sorted(store.programs)


async def test_a_run_that_fails_clears_its_cursor(world, simulator, pool):
    admin, (crashed, crashed_mid), _ = await twins(world, simulator)
    run = await die_mid_sync(world, pool, factories.pk(crashed), "programs", 4)
    simulator.instances[crashed_mid].faults.error_rates = {"603": 1.0}  # access denied: not retried
    await world.worker(pool).run_until_idle()
    failed = await SyncRun.get(id=run.id)
    assert failed.state is SyncState.ERROR and "603" in failed.error and failed.listing_cursor is None


async def test_a_run_settled_in_error_clears_its_cursor(world, simulator, pool):
    _, (crashed, _), _ = await twins(world, simulator)
    run = await die_mid_sync(world, pool, factories.pk(crashed), "programs", 4)
    await Job.filter(sync_run_id=run.id).update(state=JobState.FAILED)  # nothing behind the run any more
    assert await schedule.settle_stranded_runs(world.worker()) == 1
    settled = await SyncRun.get(id=run.id)
    assert settled.state is SyncState.ERROR and settled.listing_cursor is None


async def test_a_sync_handed_back_by_a_stopping_worker_is_resumed_by_the_next(world, simulator, pool):
    _, (stopped, stopped_mid), _ = await twins(world, simulator)
    stopped_pk = factories.pk(stopped)
    instance = simulator.instances[stopped_mid]
    waiting, release = asyncio.Event(), asyncio.Event()

    async def hold_the_fifth_page(operation, params):
        if operation == "browse_programs" and params.get("offset") == str(4 * PAGE):
            waiting.set()
            await release.wait()

    instance.faults.before_answer = hold_the_fifth_page
    others = set(await PlatformIntegration.exclude(id=stopped_pk).values_list("id", flat=True))
    await Job.filter(platform_integration_id__in=others).update(state=JobState.DONE)  # the twin is not this test's
    worker = world.worker(pool, clock=itertools.count().__next__, stop_grace=0.1)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(waiting.wait(), 10)

    async def four_pages_written() -> bool:
        cursor = (await last_run(stopped_pk)).listing_cursor
        return cursor is not None and cursor["listing"] == "programs" and cursor["offset"] == 4 * PAGE

    await wait_until(four_pages_written)
    await worker.stop()  # the sync is handed back, its fifth page still unanswered
    release.set()
    await asyncio.wait_for(running, 10)
    run = await last_run(stopped_pk)
    assert run.state is SyncState.QUEUED and run.listing_cursor["offset"] == 4 * PAGE
    instance.faults.before_answer = None

    handed_back = listing_calls(simulator, stopped_mid)
    await world.worker(pool).run_until_idle()
    resumed = listing_calls(simulator, stopped_mid) - handed_back
    assert resumed["browse_folders"] == resumed["folder_by_name"] == 0
    finished = await SyncRun.get(id=run.id)
    assert (finished.state, finished.attempts, finished.programs_synced) == (SyncState.COMPLETED, 1, 117)
    rows = await MarketoProgram.filter(platform_integration_id=stopped_pk).values_list("marketo_id", flat=True)
    assert sorted(rows) == sorted(instance.store.programs)
