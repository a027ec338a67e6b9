"""Rows the API cannot create yet by itself in a test (synced folders and programs), made directly."""

from __future__ import annotations

import itertools

from domain.models import Job, JobState, MarketoFolder, MarketoProgram, PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from resolvers.ids import encode_id
from tests.api.operations import CREATE_PI, pi_input

_marketo_ids = itertools.count(1000)


async def integration(admin, name: str, munchkin: str, *, synced: bool = True, **extra) -> str:
    """Creates an integration over the API; `synced` then marks its first sync done, as a worker would."""
    data = await admin(CREATE_PI, {"input": pi_input(name=name, munchkin=munchkin, **extra)})
    payload = data["createPlatformIntegration"]
    assert payload["userErrors"] == [], payload
    integration_id = payload["platformIntegration"]["id"]
    if synced:
        await Job.filter(platform_integration_id=pk(integration_id)).update(state=JobState.DONE)
        await SyncRun.filter(platform_integration_id=pk(integration_id)).update(state=SyncState.COMPLETED)
        await PlatformIntegration.filter(id=pk(integration_id)).update(sync_state=SyncState.COMPLETED)
    return integration_id


def pk(global_id: str) -> int:
    from resolvers.ids import decode_id

    decoded = decode_id(global_id)
    assert decoded is not None
    return decoded[1]


async def folder(integration_id: str, name: str = "Campaigns") -> str:
    row = await MarketoFolder.create(
        platform_integration_id=pk(integration_id),
        marketo_id=next(_marketo_ids),
        marketo_type="Folder",
        name=name,
        path=f"/Marketing Activities/{name}",
    )
    return encode_id("MarketoFolder", row.id)


async def program(integration_id: str, name: str = "Template", folder_id: str | None = None) -> str:
    row = await MarketoProgram.create(
        platform_integration_id=pk(integration_id),
        marketo_id=next(_marketo_ids),
        name=name,
        type="Email",
        channel="Email Blast",
        folder_id=pk(folder_id) if folder_id else None,
    )
    return encode_id("MarketoProgram", row.id)


async def set_sync_state(integration_id: str, state: str) -> None:
    await PlatformIntegration.filter(id=pk(integration_id)).update(sync_state=state)


def announcing(world):
    """Changes made within are announced on the app's bus once committed, as a request's or a worker's are."""
    from domain import changes

    return changes.publishing_to(world.services.publish)


async def change_sync_state(world, integration_id: str, state: str) -> None:
    """The integration's sync state changed, as a worker changes it: in a transaction that declares it."""
    from domain import changes

    with announcing(world):
        async with changes.changing():
            await PlatformIntegration.filter(id=pk(integration_id)).update(sync_state=state)
            changes.sync_status_changed(pk(integration_id))
