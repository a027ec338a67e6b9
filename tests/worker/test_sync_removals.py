"""A sync removes only what is gone from Marketo: never a row a launcher or campaign uses that still exists,
nor one the worker wrote while the sync ran."""

import asyncio

import pytest

from domain import changes, jobs
from domain.models import (
    Campaign,
    CampaignStatus,
    JobKind,
    Launcher,
    MarketoFolder,
    MarketoProgram,
    PlatformIntegration,
)
from marketo.client import MarketoClient
from marketo.limits import InstanceLimits
from marketo.pool import MarketoPool
from marketo.simulator import SimulatorConfig, create_simulator, seed
from marketo.worker.jobs import assets_folder
from marketo.worker.runner import Worker
from marketo.worker.sync import FOLDER_DEPTH
from resolvers.ids import encode_id
from tests.api import factories
from tests.api.operations import CREATE_LAUNCHER, SYNC_PI
from tests.conftest import SimulatorTransport
from tests.waiting import wait_until
from tests.worker.test_campaigns import submit
from tests.worker.test_sync import connect

LAUNCHER = """query($id: ID!) { node(id: $id) { ... on Launcher {
  templateProgram { id marketoId } destinationFolder { id marketoId } assetsFolder { id name } } } }"""


@pytest.fixture
def simulator():
    return create_simulator(SimulatorConfig(instances=1, folders=6, programs=40, window_seconds=0.1))


def paged_worker(world, simulator, page_size: int, **settings) -> tuple[Worker, MarketoPool]:
    """A worker whose listings come in pages of `page_size`, within a short window (the simulator's is short)."""
    pool = MarketoPool(
        transport=SimulatorTransport(simulator), page_size=page_size,
        limits=InstanceLimits(calls_per_window=99, window_seconds=0.1, max_in_flight=5),
    )  # fmt: skip
    return world.worker(pool, **settings), pool


async def synced_launcher(world, simulator, *, template_marketo_id: int, folder_marketo_id: int):
    """One integration, synced, and a launcher of that template and destination folder."""
    _, admin = await world.account()
    pi, munchkin = await connect(admin, simulator, 0, "Main")
    await world.worker().run_until_idle()
    pk = factories.pk(pi)
    template = await MarketoProgram.get(platform_integration_id=pk, marketo_id=template_marketo_id)
    folder = await MarketoFolder.get(platform_integration_id=pk, marketo_id=folder_marketo_id, marketo_type="Folder")
    created = await admin(CREATE_LAUNCHER, {"input": {
        "name": "Webinars", "platformIntegrationId": pi,
        "destinationFolderId": encode_id("MarketoFolder", folder.id),
        "templateProgramId": encode_id("MarketoProgram", template.id),
    }})  # fmt: skip
    assert created["createLauncher"]["userErrors"] == []
    await world.worker().run_until_idle()  # its assets folder
    await PlatformIntegration.filter(id=pk).update(needs_full_sync=True)  # the next sync lists everything
    await admin(SYNC_PI, {"id": pi})
    return admin, pi, munchkin, created["createLauncher"]["launcher"]["id"], template.id, folder.id


def delete_on_page(simulator, munchkin, operation: str, offset: int, delete) -> None:
    """Deletes an asset in Marketo just before the listing's page at `offset` is answered: that page
    shifts by one, so the asset first on it was on no page the sync received."""
    instance = simulator.instances[munchkin]

    async def hook(called: str, params: dict[str, str]) -> None:
        if called == operation and int(params.get("offset", 0)) == offset and instance.faults.before_answer:
            instance.faults.before_answer = None
            delete(instance.store)

    instance.faults.before_answer = hook


async def test_a_template_missed_by_a_shifting_listing_stays_the_launchers_template(world, simulator):
    ids = sorted(simulator.instances[next(iter(simulator.instances))].store.programs)
    page = 10
    admin, pi, munchkin, launcher, template_pk, _ = await synced_launcher(
        world, simulator, template_marketo_id=ids[page], folder_marketo_id=1000
    )
    delete_on_page(simulator, munchkin, "browse_programs", page, lambda store: store.delete_program(ids[0]))
    worker, pool = paged_worker(world, simulator, page)
    async with pool:
        await worker.run_until_idle()
    assert simulator.instances[munchkin].faults.before_answer is None  # the page did shift
    node = (await admin(LAUNCHER, {"id": launcher}))["node"]
    assert node["templateProgram"] == {"id": encode_id("MarketoProgram", template_pk), "marketoId": ids[page]}
    stored = set(
        await MarketoProgram.filter(platform_integration_id=factories.pk(pi)).values_list("marketo_id", flat=True)
    )
    # The deleted program was listed before it went: the next full sync removes it.
    assert stored == set(simulator.instances[munchkin].store.programs) | {ids[0]}


async def test_a_destination_folder_missed_by_a_shifting_listing_stays_the_launchers_folder(world, simulator):
    store = simulator.instances[next(iter(simulator.instances))].store
    listing = store.browse(None, FOLDER_DEPTH, None)
    # A marketing folder with a program listed before it: the program's deletion shifts the folder off its page.
    at = next(i for i, (ident, kind) in enumerate(listing) if kind == "Folder" and not store.folders[ident].is_system
              and any(k == "Program" for _, k in listing[:i]))  # fmt: skip
    deleted = next(ident for ident, kind in listing[:at] if kind == "Program")
    admin, pi, munchkin, launcher, _, folder_pk = await synced_launcher(
        world, simulator, template_marketo_id=max(store.programs), folder_marketo_id=listing[at][0]
    )
    delete_on_page(simulator, munchkin, "browse_folders", at, lambda store: store.delete_program(deleted))
    worker, pool = paged_worker(world, simulator, at)
    async with pool:
        await worker.run_until_idle()
    assert simulator.instances[munchkin].faults.before_answer is None
    node = (await admin(LAUNCHER, {"id": launcher}))["node"]
    assert node["destinationFolder"] == {"id": encode_id("MarketoFolder", folder_pk), "marketoId": listing[at][0]}
    programs_in_it = [p.id for p in store.programs.values() if p.folder == listing[at]]
    rows = await MarketoProgram.filter(marketo_id__in=programs_in_it).values_list("folder_id", flat=True)
    assert rows and set(rows) == {folder_pk}  # its programs are still in it


async def test_a_template_deleted_in_marketo_is_removed_once_marketo_confirms_it(world, simulator):
    store = simulator.instances[next(iter(simulator.instances))].store
    template = max(store.programs)
    admin, pi, munchkin, launcher, _, _ = await synced_launcher(
        world, simulator, template_marketo_id=template, folder_marketo_id=1000
    )
    store.delete_program(template)
    simulator.instances[munchkin].stats.by_operation.clear()
    await world.worker().run_until_idle()
    assert (await admin(LAUNCHER, {"id": launcher}))["node"]["templateProgram"] is None
    assert not await MarketoProgram.filter(marketo_id=template).exists()
    assert simulator.instances[munchkin].stats.by_operation["program_by_id"] == 1  # asked once, by id


async def test_a_campaign_program_made_while_a_full_sync_runs_stays_the_campaigns(world, simulator, monkeypatch):
    store = simulator.instances[next(iter(simulator.instances))].store
    admin, pi, munchkin, launcher, _, _ = await synced_launcher(
        world, simulator, template_marketo_id=max(store.programs), folder_marketo_id=1000
    )
    listed, resume = asyncio.Event(), asyncio.Event()
    real_listing = MarketoClient.program_listing

    async def listing_then_wait(self, *args, **kwargs):
        async for page in real_listing(self, *args, **kwargs):
            yield page
        listed.set()
        await resume.wait()  # the sync has seen every program, and has not removed any yet

    monkeypatch.setattr(MarketoClient, "program_listing", listing_then_wait)
    running = asyncio.create_task(world.worker(poll_interval=0.05).run_until_idle())
    await asyncio.wait_for(listed.wait(), 10)
    campaign = await submit(admin, launcher, "Made mid-sync")  # on the interactive lane, meanwhile

    async def ready() -> bool:
        return (await Campaign.get(id=factories.pk(campaign))).status is CampaignStatus.READY

    await wait_until(ready)
    resume.set()
    await asyncio.wait_for(running, 20)
    row = await Campaign.get(id=factories.pk(campaign))
    assert row.status is CampaignStatus.READY and row.marketo_program_id is not None
    program = await MarketoProgram.get(id=row.marketo_program_id)
    assert program.name == "Made mid-sync" and program.marketo_id in store.programs
    assert (await PlatformIntegration.get(id=factories.pk(pi))).sync_state.value == "COMPLETED"


async def test_an_assets_folder_made_while_a_sync_runs_stays_the_launchers(world, simulator, monkeypatch):
    store = simulator.instances[next(iter(simulator.instances))].store
    admin, pi, munchkin, launcher, _, _ = await synced_launcher(
        world, simulator, template_marketo_id=max(store.programs), folder_marketo_id=1000
    )
    # The launcher lost its "Jeto" folder (deleted in Marketo): a sync is running when the worker makes another.
    jeto = next(f for f in store.folders.values() if f.name == assets_folder.JETO_ASSETS_FOLDER)
    del store.folders[jeto.id]
    await MarketoFolder.filter(marketo_id=jeto.id).delete()
    listed, resume = asyncio.Event(), asyncio.Event()
    real_listing = MarketoClient.folder_listing

    async def listing_then_wait(self, root, *args, **kwargs):
        async for page in real_listing(self, root, *args, **kwargs):
            yield page
        if root.id == seed.DESIGN_STUDIO:  # the last area listed: the sync has seen every folder
            listed.set()
            await resume.wait()

    monkeypatch.setattr(MarketoClient, "folder_listing", listing_then_wait)
    running = asyncio.create_task(world.worker(poll_interval=0.05).run_until_idle())
    await asyncio.wait_for(listed.wait(), 10)
    async with changes.changing():  # as a use case queues it
        await jobs.enqueue(
            JobKind.ASSETS_FOLDER, factories.pk(pi), priority=jobs.INTERACTIVE, launcher_id=factories.pk(launcher)
        )

    async def has_folder() -> bool:
        return (await Launcher.get(id=factories.pk(launcher))).assets_folder_id is not None

    await wait_until(has_folder)
    made = (await Launcher.get(id=factories.pk(launcher))).assets_folder_id
    resume.set()
    await asyncio.wait_for(running, 20)
    node = (await admin(LAUNCHER, {"id": launcher}))["node"]
    assert node["assetsFolder"] == {"id": encode_id("MarketoFolder", made), "name": assets_folder.JETO_ASSETS_FOLDER}
