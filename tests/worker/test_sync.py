"""The worker against the simulator: parallel syncs, tokens expiring mid-sync, faults, errors users can act on."""

import asyncio
from datetime import timedelta

import pytest

from domain.models import Job, JobState, MarketoProgram, PlatformIntegration, SyncRun
from marketo.simulator import SimulatorConfig, create_simulator, running_simulator
from tests.api import factories
from tests.api.operations import ACCOUNT, CREATE_LAUNCHER, CREATE_PI, SYNC_PI

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
        assert set(await MarketoProgram.filter(platform_integration_id=pk).values_list("marketo_id", flat=True)) == set(store.programs)
        runs = node["syncRuns"]["edges"]
        assert [r["node"]["trigger"] for r in runs] == ["CREDENTIALS_CHANGED"]
        assert runs[0]["node"]["state"] == "COMPLETED" and runs[0]["node"]["attempts"] == 1
        stats = simulator.instances[munchkin].stats
        assert stats.identity_calls == 1 and stats.rate_limited == 0 and stats.concurrency_limited == 0
    # Program folders resolve to the integration's own folder rows.
    linked = await MarketoProgram.filter(folder_id__not_isnull=True).prefetch_related("folder")
    assert linked and all(p.folder.platform_integration_id == p.platform_integration_id for p in linked)


async def test_a_token_expiring_mid_sync_is_renewed_and_the_sync_completes(world):
    simulator = create_simulator(SimulatorConfig(instances=1, folders=5, programs=1000, token_ttl=1.0, latency=0.05))
    _, admin = await world.account()
    async with running_simulator(simulator) as base_url:
        pi, munchkin = await connect(admin, simulator, 0, "Short tokens", base_url)
        await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "COMPLETED"
    assert node["syncStatus"]["programsSynced"] == 1000
    assert simulator.instances[munchkin].stats.identity_calls >= 2


@pytest.mark.parametrize(
    "faults",
    [{"error_rates": {"604": 0.3}}, {"error_rates": {"608": 0.3}}, {"error_rates": {"611": 0.3}},
     {"error_rates": {"713": 0.3}}, {"http_502_rate": 0.3}, {"drop_rate": 0.2}],
    ids=["604", "608", "611", "713", "502", "dropped"],
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
    credentials = {"clientId": instance["clientId"], "clientSecret": "wrong-secret-0000", "restEndpoint": instance["restEndpoint"]}
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


async def test_between_attempts_the_integration_shows_error_with_the_next_attempt_and_does_not_block_launchers(world, simulator):
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
    store.update_program(renamed_id, "Renamed in Marketo", None, __import__("datetime").datetime.now(__import__("datetime").UTC))
    deleted_id = list(store.programs)[-1]
    del store.programs[deleted_id]
    store._programs_in_order = None
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
    for _ in range(200):
        if (await status(admin, pi))["syncStatus"]["state"] == "SYNCING":
            break
        await asyncio.sleep(0.01)
    refused = (await admin(CREATE_LAUNCHER, {"input": {"name": "During"}}))["createLauncher"]
    assert [e["code"] for e in refused["userErrors"]] == ["SYNC_IN_PROGRESS"]
    instance.faults.gate.set()
    await worker
    accepted = (await admin(CREATE_LAUNCHER, {"input": {"name": "After"}}))["createLauncher"]
    assert accepted["userErrors"] == []


async def test_recurring_syncs_are_queued_on_their_cadence(world, simulator):
    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")
    worker = world.worker(sync_cadence=timedelta(minutes=60))
    await worker.run_until_idle()
    assert await worker.queue_due_syncs() == 0  # synced a moment ago
    await SyncRun.all().update(queued_at=__import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC))
    assert await worker.queue_due_syncs() == 1
    await worker.run_until_idle()
    runs = (await status(admin, pi))["syncRuns"]["edges"]
    assert [r["node"]["trigger"] for r in runs] == ["SCHEDULED", "CREDENTIALS_CHANGED"]
    assert runs[0]["node"]["state"] == "COMPLETED"


def _metric(text: str, name: str, label: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") and label in line
    )


async def test_marketo_calls_errors_waits_and_token_refreshes_are_metrics_per_instance(world, simulator):
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Measured")
    instance = f'instance="http://127.0.0.1/{munchkin}"'
    before = (await world.http.get("/metrics")).text
    simulator.instances[munchkin].faults.error_rates = {"604": 0.2}
    await world.worker().run_until_idle()
    after = (await world.http.get("/metrics")).text
    stats = simulator.instances[munchkin].stats

    def grew(name: str) -> float:
        return _metric(after, name, instance) - _metric(before, name, instance)

    assert grew("jeto_marketo_calls_total") == stats.calls
    assert grew("jeto_marketo_errors_total") == stats.faults["604"] > 0
    assert grew("jeto_marketo_token_refreshes_total") == stats.identity_calls == 1
    assert "jeto_marketo_throttle_wait_seconds_total" in after


async def test_new_credentials_during_a_running_sync_queue_another_run_that_tests_them(world, simulator):
    from domain import syncs
    from domain.models import SyncTrigger
    from tests.api.operations import UPDATE_PI

    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    await SyncRun.all().update(state="SYNCING")  # the first sync has started with the old credentials
    await PlatformIntegration.all().update(sync_state="SYNCING")
    updated = (await admin(UPDATE_PI, {"input": {"id": pi, "credentials": {"clientSecret": "new-but-wrong-secret"}}}))
    assert updated["updatePlatformIntegration"]["userErrors"] == []
    runs = await SyncRun.all().order_by("id")
    assert [(r.trigger.value, r.state.value) for r in runs] == [("CREDENTIALS_CHANGED", "SYNCING"), ("CREDENTIALS_CHANGED", "QUEUED")]
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
    for _ in range(200):
        if (await status(admin, pi))["syncStatus"]["state"] == "SYNCING":
            break
        await asyncio.sleep(0.01)
    moved = {k: second[k] for k in ("clientId", "clientSecret", "restEndpoint", "identityEndpoint")}
    await admin(UPDATE_PI, {"input": {"id": pi, "credentials": moved}})
    gate.set()
    await worker
    await world.worker().run_until_idle()  # the run queued behind the first one
    stored = set(await MarketoProgram.filter(platform_integration_id=factories.pk(pi)).values_list("marketo_id", flat=True))
    assert stored == set(simulator.instances[second["munchkinId"]].store.programs)
    assert not (await PlatformIntegration.get(id=factories.pk(pi))).needs_full_sync


async def test_an_unexpected_failure_never_leaves_the_integration_syncing(world, simulator, monkeypatch):
    from marketo.worker import sync as sync_module

    _, admin = await world.account()
    pi, _ = await connect(admin, simulator, 0, "Main")

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(sync_module, "_upsert_programs", broken)
    await world.worker().run_until_idle()
    node = await status(admin, pi)
    assert node["syncStatus"]["state"] == "ERROR" and "internal error" in node["syncStatus"]["error"]
    assert (await admin(ACCOUNT))["account"]["launcherCreation"]["allowed"] is True
    again = (await admin(SYNC_PI, {"id": pi}))["syncPlatformIntegration"]["syncRun"]
    assert again["state"] == "QUEUED"  # a new run, not the dead one


async def test_an_integration_that_failed_for_good_is_not_resynced_on_the_cadence(world, simulator):
    _, admin = await world.account()
    instance = simulator.endpoints("http://127.0.0.1")[0]
    await admin(CREATE_PI, {"input": {"name": "Wrong", "credentials": {
        "clientId": instance["clientId"], "clientSecret": "wrong-secret-0000", "restEndpoint": instance["restEndpoint"]}}})
    worker = world.worker(sync_cadence=timedelta(minutes=60))
    await worker.run_until_idle()
    await SyncRun.all().update(queued_at=__import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC))
    assert await worker.queue_due_syncs() == 0
