"""Campaigns and launcher folders are made in the launcher's instance, and in no other."""

import asyncio

import pytest

from domain.models import Campaign, CampaignStatus, Job, JobState, MarketoFolder, MarketoProgram, PlatformIntegration
from marketo.simulator import SimulatorConfig, create_simulator
from marketo.worker import provisioning, queue
from schema.ids import encode_id
from tests.api import factories
from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER, UPDATE_CAMPAIGN
from tests.worker.test_sync import connect

CAMPAIGN = """query($id: ID!) { node(id: $id) { ... on Campaign { name status error
  marketoProgram { name marketoId platformIntegration { id } folder { id } } } } }"""
LAUNCHER = """query($id: ID!) { node(id: $id) { ... on Launcher { assetsFolder { id name path marketoId platformIntegration { id } } } } }"""
RETRY = "mutation($id: ID!) { retryCampaign(id: $id) { campaign { status error } userErrors { code message } } }"

MARKETO_CALLS = ("clone_program", "update_program", "program_by_name", "folder_by_name", "create_folder")


@pytest.fixture
def simulator():
    return create_simulator(SimulatorConfig(instances=2, folders=6, programs=30))


async def two_instances(world, simulator):
    """An account bound to both simulated instances, synced, with one launcher on the second."""
    _, admin = await world.account(limit=2)
    (us, us_mid), (emea, emea_mid) = [await connect(admin, simulator, i, name) for i, name in enumerate(("US", "EMEA"))]
    await world.worker().run_until_idle()
    folder = await MarketoFolder.filter(platform_integration_id=factories.pk(emea), marketo_type="Folder", is_system=False).first()
    template = await MarketoProgram.filter(platform_integration_id=factories.pk(emea)).order_by("id").first()
    launcher = (await admin(CREATE_LAUNCHER, {"input": {
        "name": "EMEA webinars", "platformIntegrationId": emea,
        "destinationFolderId": encode_id("MarketoFolder", folder.id),
        "templateProgramId": encode_id("MarketoProgram", template.id),
    }}))["createLauncher"]["launcher"]["id"]
    await world.worker().run_until_idle()  # the launcher's assets folder
    for instance in simulator.instances.values():
        instance.stats.by_operation.clear()
    return admin, launcher, folder, {"US": (us, us_mid), "EMEA": (emea, emea_mid)}


def calls(simulator, munchkin):
    ops = simulator.instances[munchkin].stats.by_operation
    return {op: ops[op] for op in MARKETO_CALLS if ops[op]}


async def submit(admin, launcher, name):
    payload = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": name}}))["createCampaign"]
    assert payload["userErrors"] == [] and payload["campaign"]["status"] == "PROVISIONING"
    return payload["campaign"]["id"]


async def test_a_campaign_program_is_cloned_in_the_launcher_instance_only(world, simulator):
    admin, launcher, folder, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Spring webinar")
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["error"] is None
    program = node["marketoProgram"]
    assert program["name"] == "Spring webinar"
    assert program["platformIntegration"]["id"] == pis["EMEA"][0]
    assert program["folder"]["id"] == encode_id("MarketoFolder", folder.id)
    emea_store = simulator.instances[pis["EMEA"][1]].store
    assert emea_store.programs[program["marketoId"]].folder == (folder.marketo_id, "Folder")
    assert calls(simulator, pis["EMEA"][1]) == {"program_by_name": 1, "clone_program": 1}
    assert calls(simulator, pis["US"][1]) == {}


async def test_a_name_taken_in_that_instance_fails_with_an_actionable_error_and_can_be_retried(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    taken = next(iter(simulator.instances[pis["EMEA"][1]].store.programs.values())).name
    campaign = await submit(admin, launcher, taken)
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "FAILED" and node["marketoProgram"] is None
    assert taken in node["error"] and "EMEA" in node["error"] and "rename" in node["error"]
    refused = (await admin(RETRY, {"id": campaign}))["retryCampaign"]  # still FAILED: allowed, fails again
    assert refused["campaign"]["status"] == "PROVISIONING"
    await world.worker().run_until_idle()
    renamed = (await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": "A fresh name"}}))["updateCampaign"]
    assert renamed["campaign"]["name"] == "A fresh name"
    retried = (await admin(RETRY, {"id": campaign}))["retryCampaign"]
    assert retried["userErrors"] == [] and retried["campaign"]["status"] == "PROVISIONING"
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["marketoProgram"]["name"] == "A fresh name"
    again = (await admin(RETRY, {"id": campaign}))["retryCampaign"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_INPUT"]
    assert calls(simulator, pis["US"][1]) == {}


async def test_a_worker_killed_after_the_clone_does_not_make_a_second_program(world, simulator, monkeypatch):
    admin, launcher, _, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Crash test")
    real_save = provisioning._save_program

    async def die(*args, **kwargs):
        raise asyncio.CancelledError  # the process ends here: Marketo has the program, the database does not

    monkeypatch.setattr(provisioning, "_save_program", die)
    doomed = world.worker()
    emea_pk = factories.pk(pis["EMEA"][0])
    assert await queue.claim_integration(doomed.owner, set()) == emea_pk
    with pytest.raises(asyncio.CancelledError):
        await doomed._work_on(emea_pk)
    assert (await Campaign.get(id=factories.pk(campaign))).status is CampaignStatus.PROVISIONING
    assert (await Job.get(campaign_id=factories.pk(campaign))).state is JobState.RUNNING
    monkeypatch.setattr(provisioning, "_save_program", real_save)
    await PlatformIntegration.all().update(lease_expires_at=None)  # the dead worker's lease has lapsed
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY"
    store = simulator.instances[pis["EMEA"][1]].store
    assert [p.name for p in store.programs.values()].count("Crash test") == 1
    assert simulator.instances[pis["EMEA"][1]].stats.by_operation["clone_program"] == 1


async def test_renaming_a_campaign_renames_its_program_in_the_same_instance(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Old name")
    await world.worker().run_until_idle()
    renamed = (await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": "New name"}}))["updateCampaign"]
    assert renamed["userErrors"] == []
    assert (await admin(CAMPAIGN, {"id": campaign}))["node"]["status"] == "PROVISIONING"
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["marketoProgram"]["name"] == "New name"
    assert simulator.instances[pis["EMEA"][1]].store.programs[node["marketoProgram"]["marketoId"]].name == "New name"
    assert calls(simulator, pis["EMEA"][1])["update_program"] == 1
    assert calls(simulator, pis["US"][1]) == {}


async def test_a_launcher_without_assets_folder_gets_its_instance_jeto_folder(world, simulator):
    _, admin = await world.account(limit=2)
    (us, us_mid), (emea, emea_mid) = [await connect(admin, simulator, i, name) for i, name in enumerate(("US", "EMEA"))]
    await world.worker().run_until_idle()
    first = (await admin(CREATE_LAUNCHER, {"input": {"name": "First", "platformIntegrationId": emea}}))["createLauncher"]["launcher"]["id"]
    await world.worker().run_until_idle()
    second = (await admin(CREATE_LAUNCHER, {"input": {"name": "Second", "platformIntegrationId": emea}}))["createLauncher"]["launcher"]["id"]
    await world.worker().run_until_idle()
    folders = [(await admin(LAUNCHER, {"id": launcher}))["node"]["assetsFolder"] for launcher in (first, second)]
    assert folders[0] == folders[1]
    assert folders[0]["name"] == "Jeto" and folders[0]["platformIntegration"]["id"] == emea
    assert "Images and Files" in folders[0]["path"]
    emea_folders = simulator.instances[emea_mid].store.folders
    assert [f.name for f in emea_folders.values()].count("Jeto") == 1
    assert simulator.instances[emea_mid].stats.by_operation["create_folder"] == 1  # found, not made, the 2nd time
    assert calls(simulator, us_mid) == {}
    # A launcher that names its own assets folder keeps it.
    own = await MarketoFolder.filter(platform_integration_id=factories.pk(emea), marketo_type="Folder", is_system=False).first()
    chosen = (await admin(CREATE_LAUNCHER, {"input": {"name": "Own", "platformIntegrationId": emea,
                                                      "assetsFolderId": encode_id("MarketoFolder", own.id)}}))["createLauncher"]["launcher"]
    await world.worker().run_until_idle()
    assert (await admin(LAUNCHER, {"id": chosen["id"]}))["node"]["assetsFolder"]["id"] == encode_id("MarketoFolder", own.id)


async def test_the_campaign_subscription_pushes_each_status_change(world, simulator):
    from tests.api.test_subscriptions import next_payload, receive, socket

    admin, launcher, _, _ = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Watched")
    query = "subscription($id: ID!) { campaign(id: $id) { name status marketoProgram { name } } }"
    async with socket(world.app, admin.token) as ws:
        await receive(ws)
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"id": campaign}}})
        assert (await next_payload(ws))["campaign"]["status"] == "PROVISIONING"
        await world.worker().run_until_idle()
        ready = (await next_payload(ws))["campaign"]
        assert ready == {"name": "Watched", "status": "READY", "marketoProgram": {"name": "Watched"}}
        await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": "Watched again"}})
        assert (await next_payload(ws))["campaign"]["status"] == "PROVISIONING"
        await world.worker().run_until_idle()
        assert (await next_payload(ws))["campaign"] == {"name": "Watched again", "status": "READY", "marketoProgram": {"name": "Watched again"}}


async def test_a_waiting_campaign_goes_before_a_bulk_sync_of_the_same_integration(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    emea = factories.pk(pis["EMEA"][0])
    sync_run = (await admin("mutation($id: ID!) { syncPlatformIntegration(id: $id) { syncRun { id } } }",
                            {"id": pis["EMEA"][0]}))["syncPlatformIntegration"]["syncRun"]
    assert sync_run is not None
    campaign = await submit(admin, launcher, "Urgent")  # queued after the sync
    worker = world.worker()
    assert await queue.claim_integration(worker.owner, set()) == emea
    first = await queue.next_job(worker.owner, emea)
    assert first.kind.value == "PROVISION_CAMPAIGN" and first.campaign_id == factories.pk(campaign)


async def test_a_rename_while_the_program_is_being_created_reaches_marketo(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    instance = simulator.instances[pis["EMEA"][1]]
    campaign = await submit(admin, launcher, "First name")
    instance.faults.gate = asyncio.Event()
    worker = asyncio.create_task(world.worker().run_until_idle())
    for _ in range(200):
        if instance.stats.in_flight:
            break
        await asyncio.sleep(0.01)
    assert instance.stats.in_flight  # Marketo is working on the clone
    await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": "Second name"}})
    instance.faults.gate.set()
    await worker
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["name"] == "Second name"
    assert node["marketoProgram"]["name"] == "Second name"
    assert instance.store.programs[node["marketoProgram"]["marketoId"]].name == "Second name"


async def test_a_deleted_launcher_campaigns_stay_readable_but_not_editable(world, simulator):
    admin, launcher, _, _ = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Kept")
    await admin("mutation($id: ID!) { deleteLauncher(id: $id) { deletedId } }", {"id": launcher})
    assert (await admin(CAMPAIGN, {"id": campaign}))["node"]["name"] == "Kept"
    renamed = (await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": "Changed"}}))["updateCampaign"]
    assert [e["code"] for e in renamed["userErrors"]] == ["NOT_FOUND"]
