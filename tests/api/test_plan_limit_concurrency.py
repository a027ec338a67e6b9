"""Twenty simultaneous requests never create more integrations than the plan allows (run on PostgreSQL in CI,
where requests really run in parallel on a pool of connections)."""

import asyncio

from domain.models import PlatformIntegration
from tests.api.operations import CREATE_PI, SET_DEFAULT, pi_input


async def test_twenty_simultaneous_creations_respect_the_limit(world):
    account_id, admin = await world.account(limit=2)
    requests = [
        admin.post(CREATE_PI, {"input": pi_input(name=f"PI {i}", munchkin=f"{i:03d}-AAA-{i:03d}")}) for i in range(20)
    ]
    responses = await asyncio.gather(*requests)
    payloads = [r.json()["data"]["createPlatformIntegration"] for r in responses]
    created = [p for p in payloads if p["platformIntegration"]]
    refused = [p for p in payloads if p["trialConfirmation"]]
    assert len(created) == 2 and len(refused) == 18
    assert {p["trialConfirmation"]["used"] for p in refused} == {2}
    assert await PlatformIntegration.filter(account_id=account_id).count() == 2
    assert await PlatformIntegration.filter(account_id=account_id, is_default=True).count() == 1


async def test_simultaneous_default_switches_leave_exactly_one_default(world):
    account_id, admin = await world.account(limit=5)
    ids = []
    for i in range(5):
        data = await admin(CREATE_PI, {"input": pi_input(name=f"PI {i}", munchkin=f"{i:03d}-BBB-{i:03d}")})
        ids.append(data["createPlatformIntegration"]["platformIntegration"]["id"])
    responses = await asyncio.gather(*[admin.post(SET_DEFAULT, {"id": ids[i % 5]}) for i in range(20)])
    assert all(r.json()["data"]["setDefaultPlatformIntegration"]["userErrors"] == [] for r in responses)
    assert await PlatformIntegration.filter(account_id=account_id, is_default=True).count() == 1


async def test_deleting_and_defaulting_at_once_leave_exactly_one_default(world):
    account_id, admin = await world.account(limit=3)
    ids = []
    for i in range(3):
        data = await admin(CREATE_PI, {"input": pi_input(name=f"PI {i}", munchkin=f"{i:03d}-CCC-{i:03d}")})
        ids.append(data["createPlatformIntegration"]["platformIntegration"]["id"])
    delete = "mutation($id: ID!) { deletePlatformIntegration(id: $id) { deletedId userErrors { code } } }"
    await asyncio.gather(
        admin.post(delete, {"id": ids[1]}), admin.post(SET_DEFAULT, {"id": ids[1]}), admin.post(delete, {"id": ids[0]})
    )
    live = PlatformIntegration.filter(account_id=account_id, deleted_at=None)
    assert await live.filter(is_default=True).count() == 1


async def test_a_launcher_is_never_left_on_a_deleted_integration(world):
    from domain.models import Launcher
    from tests.api.operations import CREATE_LAUNCHER

    account_id, admin = await world.account(limit=1)
    pi = (await admin(CREATE_PI, {"input": pi_input()}))["createPlatformIntegration"]["platformIntegration"]["id"]
    await PlatformIntegration.all().update(sync_state="COMPLETED")
    delete = "mutation($id: ID!) { deletePlatformIntegration(id: $id) { deletedId userErrors { code } } }"
    await asyncio.gather(admin.post(CREATE_LAUNCHER, {"input": {"name": "Racing"}}), admin.post(delete, {"id": pi}))
    live_launchers = await Launcher.filter(account_id=account_id, deleted_at=None).prefetch_related(
        "platform_integration"
    )
    assert all(launcher.platform_integration.deleted_at is None for launcher in live_launchers)
