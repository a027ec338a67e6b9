"""The worker against the simulator: parallel syncs, tokens expiring mid-sync, faults, errors users can act on."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import OperationalError

from domain.models import (
    Job,
    JobKind,
    JobState,
    MarketoFolder,
    MarketoProgram,
    Notification,
    PlatformIntegration,
    SyncRun,
)
from domain.sync_state import SyncState
from marketo.simulator import SimulatorConfig, create_simulator, running_simulator
from marketo.worker import queue, schedule
from marketo.worker.store import RowStore
from tests.api import factories
from tests.api.operations import ACCOUNT, CREATE_LAUNCHER, CREATE_PI, SYNC_PI
from tests.waiting import wait_until
from tests.worker.handlers import handled_by

STATUS = """query($id: ID!) { node(id: $id) { ... on PlatformIntegration {
  connectionStatus syncStatus { state error foldersSynced programsSynced nextAttemptAt lastSucceededAt }
  syncRuns { totalCount edges { node { trigger state attempts error foldersSynced programsSynced } } } } } }"""


@pytest.fixture
def simulator():
    return create_simulator(SimulatorConfig(instances=3, folders=8, programs=450, window_seconds=2.0))


async def connect(admin, simulator, index, name, base_url="http://127.0.0.1"):
    """A PI bound to a simulated instance: in-process by default, or on a real server at `base_url`."""
    instance = simulator.endpoints(base_url)[index]
    credentials = {k: instance[k] for k in ("clientId", "clientSecret", "restEndpoint", "identityEndpoint")}
    data = await admin(CREATE_PI, {"input": {"name": name, "credentials": credentials, "confirmTrial": True}})
    payload = data["createPlatformIntegration"]
    assert payload["userErrors"] == [], payload
    return payload["platformIntegration"]["id"], instance["munchkinId"]


async def status(admin, pi):
    return (await admin(STATUS, {"id": pi}))["node"]


async def until_syncing(admin, pi):
    async def syncing() -> bool:
        return (await status(admin, pi))["syncStatus"]["state"] == "SYNCING"

    await wait_until(syncing)


def expected_counts(simulator, munchkin):
    store = simulator.instances[munchkin].store
    return len(store.folders) + len(store.programs), len(store.programs)


async def test_integrations_sync_in_parallel_into_their_own_rows(world, simulator):
    _, admin = await world.account(limit=3)
    pis = [await connect(admin, simulator, i, f"PI {i}") for i in range(3)]
    await world.worker().run_until_idle()
    for pi, munchkin in pis:
        node = await status(admin, pi)
        assert node["connectionStatus"] == "CONNECTED"
        assert node["syncStatus"]["state"] == "COMPLETED" and node["syncStatus"]["error"] is None
        store = simulator.instances[munchkin].store
        assert node["syncStatus"]["programsSynced"] == len(store.programs) == 450
        pk = factories.pk(pi)
        assert await MarketoProgram.filter(platform_integration_id=pk).count() == 450
        assert set(await MarketoProgram.filter(platform_integration_id=pk).values_list("marketo_id", flat=True)) == set(
            store.programs
        )
        runs = node["syncRuns"]["edges"]
        assert [r["node"]["trigger"] for r in runs] == ["CREDENTIALS_CHANGED"]
        assert runs[0]["node"]["state"] == "COMPLETED" and runs[0]["node"]["attempts"] == 1
        stats = simulator.instances[munchkin].stats
        assert stats.identity_calls == 1 and stats.rate_limited == 0 and stats.concurrency_limited == 0
        # Every folder (and program) of the two trees browsed from their roots, found by name as Adobe says.
        trees = {ref for root in (14, 26) for ref in store.browse((root, "Folder"), 100, None)}
        synced = await MarketoFolder.filter(platform_integration_id=pk).values_list("marketo_id", "marketo_type")
        assert set(synced) == trees and len(synced) == len(trees)
        assert stats.by_operation["folder_by_name"] == 2
    # Program folders resolve to the integration's own folder rows.
    linked = await MarketoProgram.filter(folder_id__not_isnull=True).prefetch_related("folder")
    assert linked and all(p.folder.platform_integration_id == p.platform_integration_id for p in linked)


async def test_a_token_expiring_mid_sync_is_renewed_and_the_sync_completes(world, simulator):
    """Marketo ends the token after the first page of programs: the calls that get 602 renew it once and are
    replayed, and the same attempt of the sync completes."""
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Short tokens")
    instance = simulator.instances[munchkin]

    async def expire_after_first_page(operation: str, params: dict[str, str]) -> None:
        if operation == "browse_programs" and instance.faults.before_answer is not None:
            instance.faults.before_answer = None
            instance.expire_tokens()  # this call was admitted; the next ones are refused with 602

    instance.faults.before_answer = expire_after_first_page
    await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "COMPLETED"
    assert node["syncStatus"]["programsSynced"] == len(instance.store.programs)
    assert node["syncRuns"]["edges"][0]["node"]["attempts"] == 1
    assert instance.faults.before_answer is None and instance.stats.token_errors["602"] >= 1
    assert instance.stats.identity_calls == 2  # the first token, and one renewal however many calls got 602


@pytest.mark.parametrize(
    "faults",
    [
        {"error_rates": {"604": 0.3}},
        {"error_rates": {"608": 0.3}},
        {"error_rates": {"611": 0.3}},
        {"error_rates": {"713": 0.3}},
        {"error_rates": {"719": 0.3}},
        {"http_502_rate": 0.3},
        {"drop_rate": 0.2},
    ],
    ids=["604", "608", "611", "713", "719", "502", "dropped"],
)
async def test_every_transient_fault_is_retried_until_the_sync_completes(world, simulator, faults):
    _, admin = await world.account()
    async with running_simulator(simulator) as base_url:  # a real socket, so a dropped connection is one
        pi, munchkin = await connect(admin, simulator, 0, "Flaky", base_url)
        instance = simulator.instances[munchkin]
        for name, value in faults.items():
            setattr(instance.faults, name, value)
        await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "COMPLETED", node
    assert node["syncStatus"]["programsSynced"] == 450
    assert sum(instance.stats.faults.values()) > 0


async def test_rejected_credentials_end_in_error_without_a_retry_loop(world, simulator):
    _, admin = await world.account()
    instance = simulator.endpoints("http://127.0.0.1")[0]
    credentials = {
        "clientId": instance["clientId"],
        "clientSecret": "wrong-secret-0000",
        "restEndpoint": instance["restEndpoint"],
    }
    data = await admin(CREATE_PI, {"input": {"name": "Wrong", "credentials": credentials}})
    pi = data["createPlatformIntegration"]["platformIntegration"]["id"]
    await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["connectionStatus"] == "INVALID_CREDENTIALS"
    assert node["syncStatus"]["state"] == "ERROR" and node["syncStatus"]["nextAttemptAt"] is None
    assert "credentials" in node["syncStatus"]["error"].lower()
    assert node["syncRuns"]["edges"][0]["node"]["attempts"] == 1
    assert await Job.filter(state=JobState.FAILED).count() == 1
    assert simulator.instances[instance["munchkinId"]].stats.calls == 0


async def test_between_attempts_the_integration_shows_error_with_the_next_attempt_and_does_not_block_launchers(
    world, simulator
):
    _, admin = await world.account(limit=2)
    pi, munchkin = await connect(admin, simulator, 0, "Down")
    simulator.instances[munchkin].faults.error_rates = {"611": 1.0}
    await world.worker(retry_delay=lambda attempt: timedelta(hours=1)).run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "ERROR"
    assert node["syncStatus"]["nextAttemptAt"] is not None and node["syncStatus"]["error"]
    account = (await admin(ACCOUNT))["account"]
    assert account["syncState"] == "ERROR" and account["launcherCreation"]["allowed"] is True
    # Asking again returns the run waiting for its next attempt rather than queuing another.
    again = (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]["syncRun"]
    assert again["state"] == "ERROR" and await SyncRun.all().count() == 1


async def test_the_second_sync_is_incremental_and_a_full_one_removes_what_disappeared(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()
    store = simulator.instances[munchkin].store
    renamed_id = next(iter(store.programs))
    store.update_program(renamed_id, "Renamed in Marketo", None, datetime.now(UTC))
    deleted_id = list(store.programs)[-1]
    store.delete_program(deleted_id)
    run = (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]["syncRun"]
    assert run["trigger"] == "MANUAL" and run["state"] == "QUEUED"
    await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "COMPLETED"
    # The run fetched only what changed since the last success; the integration still holds every program.
    assert node["syncRuns"]["edges"][0]["node"]["programsSynced"] < 10
    assert node["syncStatus"]["programsSynced"] == 450
    assert (await MarketoProgram.get(marketo_id=renamed_id)).name == "Renamed in Marketo"
    assert await MarketoProgram.filter(marketo_id=deleted_id).exists()  # an incremental sync cannot see it
    await PlatformIntegration.filter(id=factories.pk(pi)).update(needs_full_sync=True)
    await admin(SYNC_PI, {"id": pi})
    await world.worker().run_until_idle()
    assert not await MarketoProgram.filter(marketo_id=deleted_id).exists()
    assert await MarketoProgram.filter(platform_integration_id=factories.pk(pi)).count() == len(store.programs)


async def test_launcher_creation_is_refused_during_a_sync_and_accepted_after(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    instance = simulator.instances[munchkin]
    instance.faults.gate = asyncio.Event()  # holds every REST call of this instance until set
    worker = asyncio.create_task(world.worker().run_until_idle())
    await until_syncing(admin, pi)
    refused = (await admin(CREATE_LAUNCHER, {"input": {"name": "During"}}))["createLauncher"]
    assert [e["code"] for e in refused["userErrors"]] == ["SYNC_IN_PROGRESS"]
    instance.faults.gate.set()
    await worker
    accepted = (await admin(CREATE_LAUNCHER, {"input": {"name": "After"}}))["createLauncher"]
    assert accepted["userErrors"] == []


async def test_recurring_syncs_are_queued_on_their_cadence(world, simulator):
    _, admin = await world.account(limit=2)
    pi, _ = await connect(admin, simulator, 0, "Main")
    recent, _ = await connect(admin, simulator, 1, "Recent")
    worker = world.worker(sync_cadence=timedelta(minutes=60))
    await worker.run_until_idle()
    assert await schedule.queue_due_syncs(worker) == 0  # synced a moment ago
    main_pk = (await PlatformIntegration.get(name="Main")).id
    await SyncRun.filter(platform_integration_id=main_pk).update(queued_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert await schedule.queue_due_syncs(worker) == 1  # only the one whose last sync is a cadence old
    await worker.run_until_idle()
    runs = (await status(admin, pi))["syncRuns"]["edges"]
    assert [r["node"]["trigger"] for r in runs] == ["SCHEDULED", "CREDENTIALS_CHANGED"]
    assert runs[0]["node"]["state"] == "COMPLETED"
    assert [r["node"]["trigger"] for r in (await status(admin, recent))["syncRuns"]["edges"]] == ["CREDENTIALS_CHANGED"]


def _metric(text: str, name: str, label: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") and label in line
    )


async def test_marketo_calls_errors_waits_and_token_refreshes_are_metrics_per_integration(world, simulator):
    from tests.api.factories import pk

    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Measured")
    instance = f'integration="{pk(pi)}"'
    before = await world.metrics()
    simulator.instances[munchkin].faults.error_rates = {"604": 0.2}
    await world.worker().run_until_idle()
    after = await world.metrics()
    stats = simulator.instances[munchkin].stats

    def grew(name: str) -> float:
        return _metric(after, name, instance) - _metric(before, name, instance)

    assert grew("jeto_marketo_calls_total") == stats.calls
    assert grew("jeto_marketo_errors_total") == stats.faults["604"] > 0
    assert grew("jeto_marketo_token_refreshes_total") == stats.identity_calls == 1
    assert "jeto_marketo_throttle_wait_seconds_total" in after
    assert munchkin.lower() not in after.lower() and "127.0.0.1" not in after  # no customer's instance address


async def test_new_credentials_during_a_running_sync_queue_another_run_that_tests_them(world, simulator):
    from domain import syncs
    from domain.models import SyncTrigger
    from tests.api.operations import UPDATE_PI

    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    await SyncRun.all().update(state="SYNCING")  # the first sync has started with the old credentials
    await PlatformIntegration.all().update(sync_state="SYNCING")
    updated = await admin(UPDATE_PI, {"input": {"id": pi, "credentials": {"clientSecret": "new-but-wrong-secret"}}})
    assert updated["updatePlatformIntegration"]["userErrors"] == []
    runs = await SyncRun.all().order_by("id")
    assert [(r.trigger.value, r.state.value) for r in runs] == [
        ("CREDENTIALS_CHANGED", "SYNCING"),
        ("CREDENTIALS_CHANGED", "QUEUED"),
    ]
    # A manual sync meanwhile joins the queued run rather than adding a third.
    assert (await syncs.queue_sync(factories.pk(pi), SyncTrigger.MANUAL)).id == runs[1].id


async def test_credentials_changed_during_a_sync_keep_the_next_sync_full(world, simulator):
    """Pointed at another instance mid-sync: the run queued behind is full, so no row of the old instance stays."""
    from tests.api.operations import UPDATE_PI

    _, admin = await world.account()
    pi, first_mid = await connect(admin, simulator, 0, "Main")
    second = simulator.endpoints("http://127.0.0.1")[1]
    gate = simulator.instances[first_mid].faults.gate = asyncio.Event()
    worker = asyncio.create_task(world.worker().run_until_idle())
    await until_syncing(admin, pi)
    moved = {k: second[k] for k in ("clientId", "clientSecret", "restEndpoint", "identityEndpoint")}
    await admin(UPDATE_PI, {"input": {"id": pi, "credentials": moved}})
    gate.set()
    await worker
    await world.worker().run_until_idle()  # the run queued behind the first one
    stored = set(
        await MarketoProgram.filter(platform_integration_id=factories.pk(pi)).values_list("marketo_id", flat=True)
    )
    assert stored == set(simulator.instances[second["munchkinId"]].store.programs)
    assert not (await PlatformIntegration.get(id=factories.pk(pi))).needs_full_sync


class BrokenProgramRows(RowStore):
    """A bug where a sync writes programs."""

    async def upsert_programs(self, *args, **kwargs):
        raise RuntimeError("a bug")


async def test_an_unexpected_failure_never_leaves_the_integration_syncing(world, simulator):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    await world.worker(store=BrokenProgramRows()).run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "ERROR" and "internal error" in node["syncStatus"]["error"]
    assert (await admin(ACCOUNT))["account"]["launcherCreation"]["allowed"] is True
    again = (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]["syncRun"]
    assert again["state"] == "QUEUED"  # a new run, not the dead one


async def test_an_integration_that_failed_for_good_is_not_resynced_on_the_cadence(world, simulator):
    _, admin = await world.account()
    instance = simulator.endpoints("http://127.0.0.1")[0]
    await admin(
        CREATE_PI,
        {
            "input": {
                "name": "Wrong",
                "credentials": {
                    "clientId": instance["clientId"],
                    "clientSecret": "wrong-secret-0000",
                    "restEndpoint": instance["restEndpoint"],
                },
            }
        },
    )
    worker = world.worker(sync_cadence=timedelta(minutes=60))
    await worker.run_until_idle()
    await SyncRun.all().update(queued_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert await schedule.queue_due_syncs(worker) == 0


async def test_access_denied_603_ends_in_error_at_once_and_the_cadence_tries_again(world, simulator):
    """Any failure but rejected credentials is synced again on the cadence (the cause may be fixed meanwhile)."""
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Locked")
    instance = simulator.instances[munchkin]
    instance.faults.error_rates = {"603": 1.0}
    worker = world.worker(sync_cadence=timedelta(minutes=60))
    await worker.run_until_idle()
    node = await status(admin, pi)
    assert node["connectionStatus"] == "CONNECTED"  # the token was fine; the role lacks a permission
    assert node["syncStatus"]["state"] == "ERROR" and node["syncStatus"]["nextAttemptAt"] is None
    assert "Users & Roles" in node["syncStatus"]["error"]
    assert node["syncRuns"]["edges"][0]["node"]["attempts"] == 1 and instance.stats.faults["603"] == 1
    instance.faults.error_rates = {}  # the admin fixed the role
    await SyncRun.all().update(queued_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert await schedule.queue_due_syncs(worker) == 1
    await worker.run_until_idle()
    assert (await status(admin, pi))["syncStatus"]["state"] == "COMPLETED"


async def test_a_used_up_daily_quota_is_tried_again_after_midnight_in_chicago(world, simulator):
    from domain.sync_policy import quota_resets_at

    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Busy")
    simulator.instances[munchkin].faults.error_rates = {"607": 1.0}
    before = datetime.now(UTC)
    worker = world.worker(sync_cadence=timedelta(minutes=60))
    await worker.run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "ERROR" and "12:00 AM US Central" in node["syncStatus"]["error"]
    next_attempt = datetime.fromisoformat(node["syncStatus"]["nextAttemptAt"])
    assert quota_resets_at(before) <= next_attempt <= quota_resets_at(datetime.now(UTC))
    job = await Job.get(kind=JobKind.SYNC)
    assert job.state is JobState.PENDING and job.run_after == next_attempt
    assert (await admin(ACCOUNT))["account"]["launcherCreation"]["allowed"] is True
    await SyncRun.all().update(queued_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert await schedule.queue_due_syncs(worker) == 0  # the waiting run is the next sync


async def test_a_database_error_as_a_sync_starts_leaves_nothing_syncing(world, simulator, monkeypatch):
    from marketo.worker import sync as sync_module

    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    real_start = sync_module.start

    async def start_then_fail(*args, **kwargs):
        await real_start(*args, **kwargs)  # committed: the run and the integration show SYNCING
        raise OperationalError("the database went away for a moment")

    monkeypatch.setattr(sync_module, "start", start_then_fail)
    await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "ERROR" and "internal error" in node["syncStatus"]["error"]
    assert node["syncRuns"]["edges"][0]["node"]["state"] == "ERROR"
    assert (await Job.get(kind=JobKind.SYNC)).state is JobState.FAILED
    assert (await admin(ACCOUNT))["account"]["launcherCreation"]["allowed"] is True
    assert (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]["syncRun"]["state"] == "QUEUED"


async def test_a_failure_while_recording_a_failure_still_leaves_nothing_syncing(world, simulator, monkeypatch):
    from marketo.worker import sync as sync_module

    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    simulator.instances[munchkin].faults.error_rates = {"603": 1.0}
    real_record = sync_module.record_failure
    calls = 0

    async def record_failing_once(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OperationalError("the database went away for a moment")
        return await real_record(*args, **kwargs)

    monkeypatch.setattr(sync_module, "record_failure", record_failing_once)
    await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "ERROR" and node["syncRuns"]["edges"][0]["node"]["state"] == "ERROR"
    assert (await Job.get(kind=JobKind.SYNC)).state is JobState.FAILED


async def test_an_internal_error_emails_the_admins_in_the_transaction_that_records_it(world, simulator, monkeypatch):
    from tortoise import connections
    from tortoise.backends.base.client import TransactionalDBClient

    from domain import outbox

    _, admin = await world.account()
    await connect(admin, simulator, 0, "Main")
    real_notify = outbox.notify_admins
    seen = []

    async def notify(*args, **kwargs):
        run = await SyncRun.first()
        seen.append((isinstance(connections.get("default"), TransactionalDBClient), run.state))
        return await real_notify(*args, **kwargs)

    monkeypatch.setattr(outbox, "notify_admins", notify)
    await world.worker(store=BrokenProgramRows()).run_until_idle()
    assert seen == [(True, SyncState.ERROR)]
    mail = await Notification.get()
    assert "Main" in mail.body and "internal error" in mail.body


async def test_an_unreachable_identity_service_is_recorded_as_unreachable(world):
    from marketo.backoff import RetryPolicy
    from marketo.pool import MarketoPool
    from marketo.worker.runner import Worker, WorkerSettings
    from tests.conftest import free_port

    _, admin = await world.account()
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: the connection is refused
    data = await admin(
        CREATE_PI,
        {
            "input": {
                "name": "Away",
                "confirmTrial": True,
                "credentials": {
                    "clientId": "id",
                    "clientSecret": "secret-secret",
                    "restEndpoint": nowhere + "/rest",
                    "identityEndpoint": nowhere + "/identity",
                },
            }
        },
    )
    pi = data["createPlatformIntegration"]["platformIntegration"]["id"]
    async with MarketoPool(retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as pool:
        worker = Worker(
            pool=pool,
            credentials=world.services.credentials,
            publish=world.services.publish,
            settings=WorkerSettings(retry_delay=lambda attempt: timedelta(hours=1)),
        )
        await worker.run_until_idle()
    node = await status(admin, pi)
    assert node["connectionStatus"] == "UNREACHABLE"
    assert node["syncStatus"]["state"] == "ERROR" and node["syncStatus"]["nextAttemptAt"] is not None


async def test_new_credentials_are_tested_even_while_a_sync_holds_the_integration(world, simulator):
    from tests.api.operations import UPDATE_PI

    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()
    started, release = asyncio.Event(), asyncio.Event()

    async def held(worker, job):
        started.set()
        await release.wait()
        await queue.finish(job)

    await admin(SYNC_PI, {"id": pi})
    worker = world.worker(poll_interval=0.05)
    worker.handlers[JobKind.SYNC] = handled_by(held)
    running = asyncio.create_task(worker.run_until_idle())
    await asyncio.wait_for(started.wait(), 10)
    update = {"input": {"id": pi, "credentials": {"clientSecret": "a-wrong-new-secret"}}}
    assert (await admin(UPDATE_PI, update))["updatePlatformIntegration"]["userErrors"] == []
    assert (await status(admin, pi))["connectionStatus"] == "UNTESTED"

    async def tested() -> bool:
        return (await status(admin, pi))["connectionStatus"] != "UNTESTED"

    await wait_until(tested)
    assert (await status(admin, pi))["connectionStatus"] == "INVALID_CREDENTIALS"
    assert not running.done()  # tested while the sync still ran
    release.set()
    await asyncio.wait_for(running, 20)


async def test_progress_is_announced_at_most_about_once_a_second(world):
    simulator = create_simulator(SimulatorConfig(instances=1, folders=5, programs=1000))
    _, admin = await world.account()
    async with running_simulator(simulator) as base_url:
        pi, _ = await connect(admin, simulator, 0, "Main", base_url)
        readings: list[float] = []

        def clock() -> float:  # each reading is 0.4 s after the previous one: one page per reading
            readings.append(len(readings) * 0.4)
            return readings[-1]

        worker = world.worker(clock=clock)
        published: list[tuple[float | None, object]] = []

        async def capture(account_id, event):
            published.append((readings[-1] if readings else None, event))

        worker.publish = capture
        await worker.run_until_idle()
    states = [e.fields["sync_state"] for _, e in published]
    assert states[0] == "SYNCING" and states[-1] == "COMPLETED" and set(states[1:-1]) == {"SYNCING"}
    progress = [at for at, _ in published[1:-1]]
    assert len(readings) > 10 and len(progress) >= 3  # many pages, several progress events
    assert all(later - earlier >= 1.0 for earlier, later in zip(progress, progress[1:], strict=False))
    # No reading a second or more after the last event went unannounced.
    for at in readings:
        assert at - max(p for p in progress if p <= at) < 1.0 or at in progress
    counts = [e.fields["programs_synced"] for _, e in published]
    assert counts == sorted(counts) and counts[-1] == 1000  # what the integration holds, advancing
    versions = [e.version for _, e in published]
    assert versions == sorted(set(versions))


async def test_integrations_make_their_marketo_calls_at_the_same_time(world):
    simulator = create_simulator(SimulatorConfig(instances=3, folders=5, programs=50))
    _, admin = await world.account(limit=3)
    async with running_simulator(simulator) as base_url:
        for i in range(3):
            await connect(admin, simulator, i, f"PI {i}", base_url)
        gate = asyncio.Event()
        for instance in simulator.instances.values():
            instance.faults.gate = gate  # every REST call waits here
        running = asyncio.create_task(world.worker().run_until_idle())
        await wait_until(lambda: all(i.stats.in_flight for i in simulator.instances.values()), 20)
        # Three calls in flight at once, one per instance: no integration waits for another.
        gate.set()
        await asyncio.wait_for(running, 30)
    assert all(i.stats.max_in_flight >= 1 for i in simulator.instances.values())
    for i in range(3):
        assert (await PlatformIntegration.get(name=f"PI {i}")).sync_state is SyncState.COMPLETED


async def test_simultaneous_sync_requests_return_one_run(world, simulator):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()
    results = await asyncio.gather(*(admin(SYNC_PI, {"id": pi}) for _ in range(8)))
    ids = {r["syncPlatformIntegration"]["syncRun"]["id"] for r in results}
    assert len(ids) == 1
    assert await SyncRun.filter(state=SyncState.QUEUED).count() == 1
    assert await Job.filter(kind=JobKind.SYNC, state=JobState.PENDING).count() == 1


async def test_a_sync_request_while_a_sync_runs_returns_the_running_run(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()
    first = (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]["syncRun"]
    gate = simulator.instances[munchkin].faults.gate = asyncio.Event()  # the sync stops at its first call
    worker = asyncio.create_task(world.worker().run_until_idle())
    try:
        await until_syncing(admin, pi)
        again = (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]
        assert again["userErrors"] == []
        assert again["syncRun"]["id"] == first["id"] and again["syncRun"]["state"] == "SYNCING"
    finally:
        gate.set()
        await worker
    assert await SyncRun.filter(platform_integration_id=factories.pk(pi)).count() == 2  # the first sync, and this one
    assert (await status(admin, pi))["syncStatus"]["state"] == "COMPLETED"


async def test_a_full_sync_asked_for_during_an_incremental_one_is_the_next_run(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()  # the first sync: a full one
    store = simulator.instances[munchkin].store
    deleted_id = list(store.programs)[-1]
    store.delete_program(deleted_id)
    await admin(SYNC_PI, {"id": pi})
    gate = simulator.instances[munchkin].faults.gate = asyncio.Event()
    worker = asyncio.create_task(world.worker().run_until_idle())
    try:
        await until_syncing(admin, pi)
        await PlatformIntegration.filter(id=factories.pk(pi)).update(needs_full_sync=True)  # `jeto sync --full`
    finally:
        gate.set()
        await worker
    assert await MarketoProgram.filter(marketo_id=deleted_id).exists()  # an incremental run cannot see deletions
    assert (await PlatformIntegration.get(id=factories.pk(pi))).needs_full_sync  # still asked for
    await admin(SYNC_PI, {"id": pi})
    await world.worker().run_until_idle()
    assert not await MarketoProgram.filter(marketo_id=deleted_id).exists()
    assert not (await PlatformIntegration.get(id=factories.pk(pi))).needs_full_sync


async def test_a_deleted_integration_is_not_queued_for_a_sync(world, simulator):
    from domain import syncs
    from domain.errors import Rejected, UserErrorCode
    from domain.models import SyncTrigger

    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()
    await admin("mutation($id: ID!) { deletePlatformIntegration(id: $id) { deletedId } }", {"id": pi})
    with pytest.raises(Rejected) as rejected:
        await syncs.queue_sync(factories.pk(pi), SyncTrigger.MANUAL)
    assert [e.code for e in rejected.value.errors] == [UserErrorCode.NOT_FOUND]
    assert await SyncRun.all().count() == 1 and not await Job.filter(state=JobState.PENDING).exists()


async def test_the_full_sync_cadence_is_a_setting(world, simulator):
    from jeto.services import make_worker
    from jeto.settings import Settings

    assert Settings.from_env({"JETO_FULL_SYNC_HOURS": "6"}).full_sync_hours == 6
    assert make_worker(Settings(full_sync_hours=6), world.services).settings.full_sync_every == timedelta(hours=6)
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()
    store = simulator.instances[munchkin].store
    deleted_id = list(store.programs)[-1]
    store.delete_program(deleted_id)
    await admin(SYNC_PI, {"id": pi})
    await world.worker(full_sync_every=timedelta(0)).run_until_idle()  # every sync is a full one
    assert not await MarketoProgram.filter(marketo_id=deleted_id).exists()
    assert (await status(admin, pi))["syncStatus"]["programsSynced"] == len(store.programs) == 449


def test_the_recurring_sync_cadence_and_the_lease_are_settings(world):
    from jeto.services import make_worker
    from jeto.settings import Settings

    settings = Settings.from_env({"JETO_SYNC_INTERVAL_MINUTES": "15", "JETO_WORKER_LEASE_SECONDS": "12"})
    worker = make_worker(settings, world.services)
    assert worker.settings.sync_cadence == timedelta(minutes=15)
    assert worker.settings.lease == timedelta(seconds=12)
    assert make_worker(Settings.from_env({}), world.services).settings.sync_cadence == timedelta(minutes=60)


async def test_a_run_that_ends_while_another_is_queued_leaves_the_integration_queued(world, simulator):
    """New credentials mid-sync queue a second run: when the first ends, the integration is still busy."""
    from tests.api.operations import UPDATE_PI

    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    gate = simulator.instances[munchkin].faults.gate = asyncio.Event()
    worker = world.worker()
    first_run = await SyncRun.get(platform_integration_id=factories.pk(pi))
    first_ended, checked = asyncio.Event(), asyncio.Event()
    announced = []
    real_publish = worker.publish

    async def publish(account_id, event):
        await real_publish(account_id, event)
        if not first_ended.is_set() and (await SyncRun.get(id=first_run.id)).state is SyncState.COMPLETED:
            announced.append(event)
            first_ended.set()
            await checked.wait()  # the worker goes on with the queued run once the test has looked

    worker.publish = publish
    running = asyncio.create_task(worker.run_until_idle())
    await until_syncing(admin, pi)
    second = simulator.endpoints("http://127.0.0.1")[1]
    moved = {k: second[k] for k in ("clientId", "clientSecret", "restEndpoint", "identityEndpoint")}
    await admin(UPDATE_PI, {"input": {"id": pi, "credentials": moved}})
    gate.set()
    await asyncio.wait_for(first_ended.wait(), 20)
    try:
        assert announced[0].fields["sync_state"] == "QUEUED"
        assert (await status(admin, pi))["syncStatus"]["state"] == "QUEUED"
        creation = (await admin(ACCOUNT))["account"]["launcherCreation"]
        assert creation["allowed"] is False and creation["reason"] == "SYNC_IN_PROGRESS"
    finally:
        checked.set()
        await asyncio.wait_for(running, 20)
    assert (await status(admin, pi))["syncStatus"]["state"] == "COMPLETED"


async def test_a_run_that_fails_while_another_is_queued_leaves_the_integration_queued(world, simulator):
    from domain import syncs
    from domain.models import SyncTrigger
    from marketo.worker import sync as sync_module

    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    first = await SyncRun.get(platform_integration_id=factories.pk(pi))
    await SyncRun.filter(id=first.id).update(state=SyncState.SYNCING)  # started with the old credentials
    await PlatformIntegration.all().update(sync_state=SyncState.SYNCING)
    second = await syncs.queue_sync(factories.pk(pi), SyncTrigger.CREDENTIALS_CHANGED)
    assert second.id != first.id
    await sync_module.record_failure(factories.pk(pi), first.id, "Access denied", next_attempt_at=None)
    assert (await status(admin, pi))["syncStatus"]["state"] == "QUEUED"
