"""The lookups campaigns need: by id, a folder's content, by name (never for names with commas), by workspace."""

from __future__ import annotations

import httpx
import pytest

from marketo import FolderRef, MarketoCredentials
from marketo.simulator import SimulatorConfig, create_simulator
from marketo.simulator.assets import FolderRecord, utc_now

MID = "100-AAA-001"
IMAGES_AND_FILES = 27  # seeded under Design Studio


@pytest.fixture
def simulator():
    return create_simulator(SimulatorConfig(instances=1, folders=6, programs=20))


@pytest.fixture
def client(simulator, make_pool):
    endpoint = simulator.endpoints("http://sim")[0]
    pool = make_pool(transport=httpx.ASGITransport(app=simulator.app))
    return pool.client(
        MarketoCredentials(
            endpoint["restEndpoint"], endpoint["identityEndpoint"], endpoint["clientId"], endpoint["clientSecret"]
        )
    )


def a_program_with_its_folder(simulator):
    store = simulator.instances[MID].store
    program = next(iter(store.programs.values()))
    return store, program, FolderRef(*program.folder)


async def test_names_with_commas_are_not_found_by_name_but_by_id_and_folder_content(simulator, client) -> None:
    store, program, folder = a_program_with_its_folder(simulator)
    store.update_program(program.id, "Spring, EMEA", None, utc_now())
    assert await client.get_program_by_name("Spring, EMEA") is None
    assert await client.get_folder_by_name("Spring, EMEA", type="Program") is None
    assert (await client.get_program(program.id)).name == "Spring, EMEA"
    content = await client.folder_content(folder)
    assert FolderRef(program.id, "Program") in content
    assert content == [FolderRef(*ref) for ref in store.children(program.folder)]
    stats = simulator.instances[MID].stats.by_operation
    assert stats["program_by_name"] == 1 and stats["program_by_id"] == 1 and stats["folder_content"] == 1


async def test_folder_content_pages_and_unknown_ids(simulator, make_pool) -> None:
    endpoint = simulator.endpoints("http://sim")[0]
    pool = make_pool(transport=httpx.ASGITransport(app=simulator.app), page_size=2)
    client = pool.client(
        MarketoCredentials(
            endpoint["restEndpoint"], endpoint["identityEndpoint"], endpoint["clientId"], endpoint["clientSecret"]
        )
    )
    store = simulator.instances[MID].store
    busiest = max(store.folders.values(), key=lambda f: len(store.children(f.ref)))
    assert len(store.children(busiest.ref)) > 2  # more than one page
    assert await client.folder_content(FolderRef(busiest.id)) == [FolderRef(*r) for r in store.children(busiest.ref)]
    assert await client.folder_content(FolderRef(999_999)) == []
    assert await client.get_program(999_999) is None
    assert await client.get_folder(FolderRef(999_999)) is None


async def test_folder_by_name_can_be_limited_to_a_workspace(simulator, client) -> None:
    store = simulator.instances[MID].store
    now = utc_now()
    zone = store.add_folder(
        FolderRecord(store.new_folder_id(), "EMEA studio", None, "Zone", True, now, now, None, "EMEA")
    )
    emea = store.add_folder(
        FolderRecord(store.new_folder_id(), "Images and Files", zone.ref, "Image", True, now, now, None, "EMEA")
    )
    assert (await client.get_folder_by_name("Images and Files")).id == IMAGES_AND_FILES
    assert (await client.get_folder_by_name("Images and Files", workspace="EMEA")).id == emea.id
    assert (await client.get_folder_by_name("Images and Files", workspace="Default")).id == IMAGES_AND_FILES
    assert (await client.get_folder(FolderRef(emea.id))).workspace == "EMEA"
