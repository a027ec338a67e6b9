"""Campaigns and launcher folders are made in the launcher's instance, and in no other."""

import asyncio
import contextlib
import logging

import pytest
from tortoise.exceptions import IntegrityError

from domain.models import (
    Campaign,
    CampaignStatus,
    Job,
    JobKind,
    JobState,
    Launcher,
    MarketoFolder,
    MarketoProgram,
    PlatformIntegration,
)
from marketo.client import MarketoClient
from marketo.errors import MarketoUnreachable
from marketo.simulator import SimulatorConfig, create_simulator
from marketo.simulator.assets import FolderRecord, utc_now
from marketo.worker import queue
from marketo.worker.jobs import assets_folder
from marketo.worker.store import RowStore
from resolvers.ids import encode_id
from tests.api import factories
from tests.api.operations import (
    CREATE_CAMPAIGN,
    CREATE_LAUNCHER,
    SET_COLLABORATORS,
    SYNC_PI,
    UPDATE_CAMPAIGN,
    UPDATE_LAUNCHER,
)
from tests.waiting import wait_until
from tests.worker.test_sync import connect

CAMPAIGN = """query($id: ID!) { node(id: $id) { ... on Campaign { name status error
  marketoProgram { name marketoId platformIntegration { id } folder { id } } } } }"""
LAUNCHER = """query($id: ID!) { node(id: $id) { ... on Launcher { assetsFolder { id name path marketoId platformIntegration { id } } } } }"""
RETRY = "mutation($id: ID!) { retryCampaign(id: $id) { campaign { status error } userErrors { code message } } }"

MARKETO_CALLS = (
    "clone_program",
    "update_program",
    "program_by_name",
    "program_by_id",
    "folder_by_name",
    "folder_by_id",
    "folder_content",
    "create_folder",
)


@pytest.fixture
def simulator():
    return create_simulator(SimulatorConfig(instances=2, folders=6, programs=30))


async def two_instances(world, simulator):
    """An account bound to both simulated instances, synced, with one launcher on the second."""
    _, admin = await world.account(limit=2)
    (us, us_mid), (emea, emea_mid) = [await connect(admin, simulator, i, name) for i, name in enumerate(("US", "EMEA"))]
    await world.worker().run_until_idle()
    folder = await MarketoFolder.filter(
        platform_integration_id=factories.pk(emea), marketo_type="Folder", is_system=False
    ).first()
    template = await MarketoProgram.filter(platform_integration_id=factories.pk(emea)).order_by("id").first()
    launcher = (
        await admin(
            CREATE_LAUNCHER,
            {
                "input": {
                    "name": "EMEA webinars",
                    "platformIntegrationId": emea,
                    "destinationFolderId": encode_id("MarketoFolder", folder.id),
                    "templateProgramId": encode_id("MarketoProgram", template.id),
                }
            },
        )
    )["createLauncher"]["launcher"]["id"]
    await world.worker().run_until_idle()  # the launcher's assets folder
    for instance in simulator.instances.values():
        instance.stats.by_operation.clear()
    return admin, launcher, folder, {"US": (us, us_mid), "EMEA": (emea, emea_mid)}


def calls(simulator, munchkin):
    ops = simulator.instances[munchkin].stats.by_operation
    return {op: ops[op] for op in MARKETO_CALLS if ops[op]}


@contextlib.contextmanager
def untouched(simulator, munchkin):
    """Fails unless the block sent that instance no call at all: no REST call, no token request."""
    stats = simulator.instances[munchkin].stats
    before = (stats.calls, stats.identity_calls)
    yield
    assert (stats.calls, stats.identity_calls) == before


async def submit(admin, launcher, name):
    payload = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": name}}))["createCampaign"]
    assert payload["userErrors"] == [] and payload["campaign"]["status"] == "PROVISIONING"
    return payload["campaign"]["id"]


async def rename(admin, campaign, name):
    payload = (await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": name}}))["updateCampaign"]
    assert payload["userErrors"] == []
    return payload["campaign"]


class DyingBeforeSaving(RowStore):
    """A worker's rows, which die (as a process would) after Marketo answered and before the answer is saved."""

    def __init__(self, when) -> None:
        self.when = when

    async def save_program(self, integration_id, program):
        if self.when(program):
            raise asyncio.CancelledError
        return await super().save_program(integration_id, program)


async def die_once_marketo_answered(world, monkeypatch, integration_pk, when=lambda program: True):
    """Runs the integration's jobs in a worker that dies (as a process would) after Marketo answered a call
    and before the database recorded the answer; the dead worker's lease then lapses."""
    doomed = world.worker(store=DyingBeforeSaving(when))
    assert await queue.claim_integration(doomed.owner, set()) == integration_pk
    with pytest.raises(asyncio.CancelledError):
        await doomed._work_on(integration_pk)
    await PlatformIntegration.all().update(lease_expires_at=None)


def programs_named(simulator, munchkin, *names):
    return [p for p in simulator.instances[munchkin].store.programs.values() if p.name in names]


async def test_a_campaign_program_is_cloned_in_the_launcher_instance_only(world, simulator):
    admin, launcher, folder, pis = await two_instances(world, simulator)
    with untouched(simulator, pis["US"][1]):
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
    # Marked as this campaign's, so a retry after a lost answer can tell it from anyone else's.
    assert emea_store.programs[program["marketoId"]].description == f"Jeto campaign {campaign}"
    assert calls(simulator, pis["EMEA"][1]) == {"program_by_name": 1, "clone_program": 1}


async def test_a_name_taken_in_that_instance_fails_with_an_actionable_error_and_can_be_retried(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    with untouched(simulator, pis["US"][1]):
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


async def test_a_worker_killed_after_the_clone_does_not_make_a_second_program(world, simulator, monkeypatch):
    admin, launcher, _, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Crash test")
    await die_once_marketo_answered(world, monkeypatch, factories.pk(pis["EMEA"][0]))
    assert (await Campaign.get(id=factories.pk(campaign))).status is CampaignStatus.PROVISIONING
    assert (await Job.get(campaign_id=factories.pk(campaign))).state is JobState.RUNNING
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY"
    store = simulator.instances[pis["EMEA"][1]].store
    assert [p.name for p in store.programs.values()].count("Crash test") == 1
    assert simulator.instances[pis["EMEA"][1]].stats.by_operation["clone_program"] == 1


async def test_a_lost_clone_answer_then_a_rename_adopts_the_program_and_renames_it(world, simulator, monkeypatch):
    admin, launcher, _, pis = await two_instances(world, simulator)
    emea_mid = pis["EMEA"][1]
    seeded = len(simulator.instances[emea_mid].store.programs)
    campaign = await submit(admin, launcher, "Alpha")
    await die_once_marketo_answered(world, monkeypatch, factories.pk(pis["EMEA"][0]))
    assert [p.name for p in programs_named(simulator, emea_mid, "Alpha")] == ["Alpha"]  # Marketo made it
    await rename(admin, campaign, "Beta")  # no program recorded yet: only the campaign's name changes
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["name"] == "Beta" and node["marketoProgram"]["name"] == "Beta"
    assert [p.name for p in programs_named(simulator, emea_mid, "Alpha", "Beta")] == ["Beta"]
    assert len(simulator.instances[emea_mid].store.programs) == seeded + 1
    assert calls(simulator, emea_mid)["clone_program"] == 1


async def test_a_name_with_commas_is_adopted_after_a_lost_clone_answer(world, simulator, monkeypatch):
    admin, launcher, _, pis = await two_instances(world, simulator)
    emea_mid = pis["EMEA"][1]
    campaign = await submit(admin, launcher, "Spring, EMEA, 2026")
    await die_once_marketo_answered(world, monkeypatch, factories.pk(pis["EMEA"][0]))
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["error"] is None
    assert node["marketoProgram"]["name"] == "Spring, EMEA, 2026"
    assert len(programs_named(simulator, emea_mid, "Spring, EMEA, 2026")) == 1
    assert calls(simulator, emea_mid)["clone_program"] == 1


async def test_a_campaign_never_adopts_another_campaigns_program(world, simulator, monkeypatch):
    admin, launcher, _, pis = await two_instances(world, simulator)
    first = await submit(admin, launcher, "Spring")
    await world.worker().run_until_idle()
    first_program = (await admin(CAMPAIGN, {"id": first}))["node"]["marketoProgram"]

    async def no_answer(self, *args, **kwargs):  # the clone request was sent; what Marketo did is unknown
        raise MarketoUnreachable("timeout", "Marketo did not answer in time", retryable=True)

    with monkeypatch.context() as patch:
        patch.setattr(MarketoClient, "clone_program", no_answer)
        second = await submit(admin, launcher, "Autumn")
        await world.worker().run_until_idle()
    assert (await admin(CAMPAIGN, {"id": second}))["node"]["status"] == "FAILED"
    await rename(admin, second, "Spring")  # the first campaign's name, in the same launcher
    assert (await admin(RETRY, {"id": second}))["retryCampaign"]["userErrors"] == []
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": second}))["node"]
    assert node["status"] == "FAILED" and node["marketoProgram"] is None
    assert 'A program named "Spring" already exists in EMEA' in node["error"]
    assert (await admin(CAMPAIGN, {"id": first}))["node"]["marketoProgram"] == first_program


async def test_two_campaigns_cannot_share_a_program(world, simulator):
    admin, launcher, _, _ = await two_instances(world, simulator)
    first, second = [await submit(admin, launcher, name) for name in ("One", "Two")]
    await world.worker().run_until_idle()
    program = (await Campaign.get(id=factories.pk(first))).marketo_program_id
    with pytest.raises(IntegrityError):
        await Campaign.filter(id=factories.pk(second)).update(marketo_program_id=program)


async def test_renaming_a_campaign_renames_its_program_in_the_same_instance(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Old name")
    await world.worker().run_until_idle()
    with untouched(simulator, pis["US"][1]):
        await rename(admin, campaign, "New name")
        assert (await admin(CAMPAIGN, {"id": campaign}))["node"]["status"] == "PROVISIONING"
        await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["marketoProgram"]["name"] == "New name"
    assert simulator.instances[pis["EMEA"][1]].store.programs[node["marketoProgram"]["marketoId"]].name == "New name"
    assert calls(simulator, pis["EMEA"][1])["update_program"] == 1


async def test_renaming_back_before_the_worker_runs_keeps_the_program_and_its_folder(world, simulator):
    admin, launcher, folder, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Same")
    await world.worker().run_until_idle()
    await rename(admin, campaign, "Other")
    await rename(admin, campaign, "Same")
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["name"] == "Same" and node["marketoProgram"]["name"] == "Same"
    assert node["marketoProgram"]["folder"] == {"id": encode_id("MarketoFolder", folder.id)}
    assert "update_program" not in calls(simulator, pis["EMEA"][1])


async def test_a_refused_rename_keeps_the_program_name_and_says_why(world, simulator):
    admin, launcher, folder, pis = await two_instances(world, simulator)
    taken = next(iter(simulator.instances[pis["EMEA"][1]].store.programs.values())).name
    campaign = await submit(admin, launcher, "Mine")
    await world.worker().run_until_idle()
    await rename(admin, campaign, taken)
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    # Nothing half-done: the campaign still has the name its program has in Marketo, and says why.
    assert node["status"] == "READY" and node["name"] == "Mine" and node["marketoProgram"]["name"] == "Mine"
    assert node["error"] == (
        f'The Marketo program could not be renamed to "{taken}": a program named "{taken}" already exists in EMEA. '
        'The campaign keeps the name "Mine"; rename it again to choose another name.'
    )
    assert node["marketoProgram"]["folder"] == {"id": encode_id("MarketoFolder", folder.id)}
    assert simulator.instances[pis["EMEA"][1]].store.programs[node["marketoProgram"]["marketoId"]].name == "Mine"
    # Going back to the name it had changes nothing; another name works and clears the error.
    assert (await rename(admin, campaign, "Mine"))["name"] == "Mine"
    await rename(admin, campaign, "Mine, renamed")
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["error"] is None
    assert node["marketoProgram"] == {**node["marketoProgram"], "name": "Mine, renamed"}
    assert node["marketoProgram"]["folder"] == {"id": encode_id("MarketoFolder", folder.id)}


async def test_a_rename_marketo_made_but_we_never_recorded_is_undone_when_the_user_renames_back(
    world, simulator, monkeypatch
):
    admin, launcher, folder, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "First")
    await world.worker().run_until_idle()
    await rename(admin, campaign, "Second")
    await die_once_marketo_answered(
        world, monkeypatch, factories.pk(pis["EMEA"][0]), when=lambda program: program.name == "Second"
    )
    await rename(admin, campaign, "First")
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["name"] == "First" and node["marketoProgram"]["name"] == "First"
    assert simulator.instances[pis["EMEA"][1]].store.programs[node["marketoProgram"]["marketoId"]].name == "First"
    assert node["marketoProgram"]["folder"] == {"id": encode_id("MarketoFolder", folder.id)}


async def test_a_program_deleted_in_marketo_fails_the_rename_and_a_retry_makes_another(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Gone")
    await world.worker().run_until_idle()
    store = simulator.instances[pis["EMEA"][1]].store
    store.delete_program((await admin(CAMPAIGN, {"id": campaign}))["node"]["marketoProgram"]["marketoId"])
    await rename(admin, campaign, "Gone again")
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "FAILED" and node["marketoProgram"] is None
    assert node["error"] == (
        'The Marketo program "Gone" of this campaign no longer exists in EMEA: retry the campaign to create a new one.'
    )
    assert (await admin(RETRY, {"id": campaign}))["retryCampaign"]["userErrors"] == []
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["marketoProgram"]["name"] == "Gone again"


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (
            "template",
            "The launcher's template program no longer exists in EMEA: "
            "choose another template in the launcher, then retry the campaign.",
        ),
        (
            "folder",
            "The launcher's destination folder no longer exists in EMEA: "
            "choose another folder in the launcher, then retry the campaign.",
        ),
        (
            "name",
            'A program named "Taken, too" already exists in EMEA (a name is used once in a Marketo instance): '
            "rename the campaign, then retry it. Marketo said: \"Program name 'Taken, too' is already in use\".",
        ),
    ],
)
async def test_marketo_refusals_say_what_to_do(world, simulator, break_it, message):
    admin, launcher, folder, pis = await two_instances(world, simulator)
    store = simulator.instances[pis["EMEA"][1]].store
    if break_it == "template":
        store.delete_program((await MarketoProgram.get(template_of__id=factories.pk(launcher))).marketo_id)
    elif break_it == "folder":
        del store.folders[folder.marketo_id]
    else:
        store.update_program(next(iter(store.programs)), "Taken, too", None, utc_now())  # not searchable by name
    campaign = await submit(admin, launcher, "Taken, too")
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "FAILED" and node["marketoProgram"] is None
    assert node["error"] == message
    assert (await Campaign.get(id=factories.pk(campaign))).clone_requested_at is None  # refused: nothing was made


@pytest.mark.parametrize(
    ("meanwhile", "message"),
    [
        (
            "template deleted",
            "The launcher's template program no longer exists in EMEA: "
            "choose another template in the launcher, then retry the campaign.",
        ),
        (
            "name taken",
            'A program named "Spring" already exists in EMEA (a name is used once in a Marketo instance): '
            "rename the campaign, then retry it.",
        ),
        (
            "template not clonable",
            "Marketo (EMEA) refused: Programs containing push notifications cannot be cloned (Marketo code 709). "
            "Marketo rejected the request's parameters; check the names, ids and folder chosen.",
        ),
    ],
)
async def test_a_clone_refused_with_709_says_the_reason_marketo_confirms(world, simulator, meanwhile, message):
    """709 answers a deleted template as it answers a name in use: Marketo is asked which it is."""
    from marketo.simulator.envelopes import AssetError

    admin, launcher, folder, pis = await two_instances(world, simulator)
    instance = simulator.instances[pis["EMEA"][1]]
    template = (await MarketoProgram.get(template_of__id=factories.pk(launcher))).marketo_id

    async def between_check_and_clone(operation, params):
        """What happens in Marketo after the worker found the name free and before its clone arrives."""
        if operation != "clone_program":
            return
        if meanwhile == "template deleted":
            instance.store.delete_program(template)
        elif meanwhile == "name taken":
            instance.store.clone_program(template, "Spring", (folder.marketo_id, "Folder"), "someone's", utc_now())
        else:
            raise AssetError("709", "Programs containing push notifications cannot be cloned")

    instance.faults.before_answer = between_check_and_clone
    campaign = await submit(admin, launcher, "Spring")
    await world.worker().run_until_idle()
    node = (await admin(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "FAILED" and node["marketoProgram"] is None
    assert node["error"] == message
    asked = calls(simulator, pis["EMEA"][1])
    # The name was asked for again only while the template was there to clone.
    assert asked["clone_program"] == 1
    assert asked["program_by_name"] == (1 if meanwhile == "template deleted" else 2)


async def test_a_launcher_without_assets_folder_gets_its_instance_jeto_folder(world, simulator):
    _, admin = await world.account(limit=2)
    (us, us_mid), (emea, emea_mid) = [await connect(admin, simulator, i, name) for i, name in enumerate(("US", "EMEA"))]
    await world.worker().run_until_idle()
    own = await MarketoFolder.filter(
        platform_integration_id=factories.pk(emea), marketo_type="Folder", is_system=False
    ).first()
    with untouched(simulator, us_mid):
        launchers = []
        for name in ("First", "Second"):
            payload = await admin(CREATE_LAUNCHER, {"input": {"name": name, "platformIntegrationId": emea}})
            launchers.append(payload["createLauncher"]["launcher"]["id"])
            await world.worker().run_until_idle()
        # A launcher that names its own assets folder keeps it.
        chosen = {"name": "Own", "platformIntegrationId": emea, "assetsFolderId": encode_id("MarketoFolder", own.id)}
        launchers.append((await admin(CREATE_LAUNCHER, {"input": chosen}))["createLauncher"]["launcher"]["id"])
        await world.worker().run_until_idle()
    first, second, third = [(await admin(LAUNCHER, {"id": launcher}))["node"]["assetsFolder"] for launcher in launchers]
    assert first == second
    assert first["name"] == "Jeto" and first["platformIntegration"]["id"] == emea
    assert "Images and Files" in first["path"]
    emea_folders = simulator.instances[emea_mid].store.folders
    assert [f.name for f in emea_folders.values()].count("Jeto") == 1
    assert simulator.instances[emea_mid].stats.by_operation["create_folder"] == 1  # found, not made, the 2nd time
    assert third["id"] == encode_id("MarketoFolder", own.id)


async def launcher_without_assets_folder(admin, integration, **choices):
    payload = await admin(
        CREATE_LAUNCHER, {"input": {"name": "Assets", "platformIntegrationId": integration, **choices}}
    )
    return payload["createLauncher"]["launcher"]["id"]


async def assets_folder_of(admin, launcher):
    return (await admin(LAUNCHER, {"id": launcher}))["node"]["assetsFolder"]


@pytest.mark.parametrize("cause", ["no Images and Files folder", "credentials changed in Marketo"])
async def test_a_launcher_left_without_assets_folder_tries_again_after_its_integration_syncs(
    world, simulator, caplog, cause
):
    _, admin = await world.account()
    emea, mid = await connect(admin, simulator, 1, "EMEA")
    await world.worker().run_until_idle()
    instance = simulator.instances[mid]
    if cause == "no Images and Files folder":
        images = instance.store.folders.pop(27)
        expected = 'No "Images and Files" folder in EMEA.'
    else:
        secret, instance.client_secret = instance.client_secret, "rotated-in-marketo"
        instance.expire_tokens()
        expected = "Bad client credentials"
    caplog.set_level(logging.WARNING, logger="jeto.worker")
    launcher = await launcher_without_assets_folder(admin, emea)
    await world.worker().run_until_idle()
    assert await assets_folder_of(admin, launcher) is None
    assert (await Job.get(kind=JobKind.ASSETS_FOLDER)).state is JobState.FAILED
    assert f"launcher {factories.pk(launcher)} got no assets folder" in caplog.text and expected in caplog.text
    if cause == "no Images and Files folder":
        instance.store.add_folder(images)  # an admin fixed it in Marketo
    else:
        instance.client_secret = secret  # or gave Jeto the right credentials
    # The next successful sync of the integration is what makes the launcher try again.
    synced = (await admin(SYNC_PI, {"id": emea}))["syncPlatformIntegration"]
    assert synced["userErrors"] == []
    await world.worker().run_until_idle()
    folder = await assets_folder_of(admin, launcher)
    assert folder["name"] == "Jeto" and folder["path"] == "/Design Studio/Default/Images and Files/Jeto"
    assert await assets_folder.queue_missing(factories.pk(emea)) == 0  # nobody left without one


async def test_a_launcher_waiting_for_its_assets_folder_is_queued_once(world, simulator):
    _, admin = await world.account()
    emea, mid = await connect(admin, simulator, 1, "EMEA")
    await world.worker().run_until_idle()
    images = simulator.instances[mid].store.folders.pop(27)
    await launcher_without_assets_folder(admin, emea)
    await world.worker().run_until_idle()
    simulator.instances[mid].store.add_folder(images)
    assert await assets_folder.queue_missing(factories.pk(emea)) == 1
    assert await assets_folder.queue_missing(factories.pk(emea)) == 0  # queued already


async def test_the_jeto_folder_is_made_in_the_workspace_of_the_launcher_destination(world, simulator):
    _, admin = await world.account()
    emea, mid = await connect(admin, simulator, 1, "EMEA")
    store = simulator.instances[mid].store
    now = utc_now()

    def folder(name, parent, kind):
        record = FolderRecord(store.new_folder_id(), name, parent, kind, kind == "Zone", now, now, None, "Partners")
        return store.add_folder(record)

    # A second workspace: a Zone of its own under each area's root, as the Default workspace has.
    activities = folder("Partners", (14, "Folder"), "Zone")  # under Marketing Activities
    destination = folder("Partner webinars", activities.ref, "Marketing Folder")
    images = folder("Images and Files", folder("Partners", (26, "Folder"), "Zone").ref, "Image")  # Design Studio
    await world.worker().run_until_idle()
    row = await MarketoFolder.get(
        platform_integration_id=factories.pk(emea), marketo_id=destination.id, marketo_type="Folder"
    )
    launcher = await launcher_without_assets_folder(admin, emea, destinationFolderId=encode_id("MarketoFolder", row.id))
    await world.worker().run_until_idle()
    made = await assets_folder_of(admin, launcher)
    assert made["path"] == "/Design Studio/Partners/Images and Files/Jeto"
    record = store.folders[made["marketoId"]]
    assert record.parent == images.ref and record.workspace == "Partners"


async def test_an_assets_folder_an_admin_chooses_while_the_job_runs_is_kept(world, simulator):
    _, admin = await world.account()
    emea, mid = await connect(admin, simulator, 1, "EMEA")
    await world.worker().run_until_idle()
    instance = simulator.instances[mid]
    chosen = await MarketoFolder.filter(
        platform_integration_id=factories.pk(emea), marketo_type="Folder", is_system=False
    ).first()
    launcher = await launcher_without_assets_folder(admin, emea)
    instance.faults.gate = asyncio.Event()
    worker = asyncio.create_task(world.worker().run_until_idle())
    await wait_until(lambda: instance.stats.in_flight)  # the job is asking Marketo
    updated = await admin(
        UPDATE_LAUNCHER, {"input": {"id": launcher, "assetsFolderId": encode_id("MarketoFolder", chosen.id)}}
    )
    assert updated["updateLauncher"]["userErrors"] == []
    instance.faults.gate.set()
    await worker
    assert (await assets_folder_of(admin, launcher))["id"] == encode_id("MarketoFolder", chosen.id)
    assert (await Job.get(kind=JobKind.ASSETS_FOLDER)).state is JobState.DONE


async def test_the_campaign_subscription_pushes_each_status_change(world, simulator):
    from tests.api.websocket import next_payload, receive, socket

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
        assert (await next_payload(ws))["campaign"] == {
            "name": "Watched again",
            "status": "READY",
            "marketoProgram": {"name": "Watched again"},
        }


async def test_a_waiting_campaign_goes_before_a_bulk_sync_of_the_same_integration(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    emea = factories.pk(pis["EMEA"][0])
    sync_run = (await admin(SYNC_PI, {"id": pis["EMEA"][0]}))["syncPlatformIntegration"]["syncRun"]
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
    await wait_until(lambda: instance.stats.in_flight)  # Marketo is working on the clone
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


async def test_a_collaborator_retries_a_campaign_of_a_launcher_granted_to_them_only(world, simulator):
    admin, launcher, _, pis = await two_instances(world, simulator)
    account_id = (await Launcher.get(id=factories.pk(launcher))).account_id
    granted_id, granted = await world.user(account_id)
    _, other = await world.user(account_id)
    await admin(SET_COLLABORATORS, {"launcherId": launcher, "userIds": [encode_id("User", granted_id)]})
    taken = next(iter(simulator.instances[pis["EMEA"][1]].store.programs.values())).name
    campaign = await submit(granted, launcher, taken)
    await world.worker().run_until_idle()
    refused = (await other(RETRY, {"id": campaign}))["retryCampaign"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"] and refused["campaign"] is None
    assert (await Campaign.get(id=factories.pk(campaign))).status is CampaignStatus.FAILED
    await rename(granted, campaign, "Free name")
    retried = (await granted(RETRY, {"id": campaign}))["retryCampaign"]
    assert retried == {"campaign": {"status": "PROVISIONING", "error": None}, "userErrors": []}
    await world.worker().run_until_idle()
    node = (await granted(CAMPAIGN, {"id": campaign}))["node"]
    assert node["status"] == "READY" and node["marketoProgram"]["name"] == "Free name"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "The name cannot be empty."),
        ("  \t ", "The name cannot be empty."),
        ("x" * 121, "The name is 121 characters long; at most 120 are allowed."),
        ("Spring\x00webinar", "The name cannot contain control characters."),
        ("Spring\nwebinar", "The name cannot contain control characters."),
    ],
)
async def test_campaign_names_are_checked_on_create_and_update_and_nothing_changes(world, simulator, name, message):
    admin, launcher, _, _ = await two_instances(world, simulator)
    campaign = await submit(admin, launcher, "Valid")
    created = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": name}}))["createCampaign"]
    assert created["campaign"] is None
    assert created["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "name"], "message": message}]
    updated = (await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": name}}))["updateCampaign"]
    assert updated["campaign"] is None
    assert updated["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "name"], "message": message}]
    assert [c.name for c in await Campaign.all()] == ["Valid"]
    assert await Job.filter(kind=JobKind.RENAME_PROGRAM).count() == 0


async def test_a_rename_sees_a_program_recorded_after_the_campaign_was_read(world, monkeypatch):
    """The worker's READY may commit between updateCampaign's first read and its transaction: the decision to
    rename the program is taken on the campaign as it is inside the transaction (any database)."""
    import contextlib

    from domain import campaigns as use_cases
    from domain.models import Campaign, CampaignStatus, Job, JobKind
    from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER, UPDATE_CAMPAIGN

    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "L"}}))["createLauncher"]["launcher"]["id"]
    created = await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": "Alpha"}})
    campaign = created["createCampaign"]["campaign"]["id"]
    campaign_id = factories.pk(campaign)
    program_id = factories.pk(await factories.program(pi, "Alpha"))
    transaction = use_cases.changing

    @contextlib.asynccontextmanager
    async def worker_commits_first():
        await Campaign.filter(id=campaign_id).update(status=CampaignStatus.READY, marketo_program_id=program_id)
        async with transaction():
            yield

    monkeypatch.setattr(use_cases, "changing", worker_commits_first)
    renamed = await admin(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": "Beta"}})
    assert renamed["updateCampaign"]["userErrors"] == []
    stored = await Campaign.get(id=campaign_id)
    assert (stored.name, stored.status) == ("Beta", CampaignStatus.PROVISIONING)
    assert await Job.filter(campaign_id=campaign_id, kind=JobKind.RENAME_PROGRAM).count() == 1
