"""Races the row locks must close, forced into their worst order on PostgreSQL.

A raw connection holds a lock so that one request stops at a known point; the test then waits until
PostgreSQL reports the request waiting for a lock (or the request has finished, when nothing stopped
it), lets the other side go, and checks the outcome. No sleeps: the order is made, not hoped for.
SQLite runs one transaction at a time, so these races cannot happen there.
"""

import asyncio
from collections.abc import Awaitable

import asyncpg
import pytest

from domain.models import Launcher, LauncherCollaborator, PlatformIntegration, SyncRun
from resolvers.ids import encode_id
from tests.api import factories
from tests.api.operations import CREATE_LAUNCHER, SET_COLLABORATORS, UPDATE_LAUNCHER, UPDATE_PI


@pytest.fixture
async def raw(database_url, is_postgres):
    if not is_postgres:
        pytest.skip("row locks are PostgreSQL's: SQLite serialises every transaction (set JETO_TEST_DATABASE_URL)")
    connections = []

    async def connect() -> asyncpg.Connection:
        connection = await asyncpg.connect(database_url)
        connections.append(connection)
        return connection

    yield connect
    for connection in connections:
        await connection.close()


async def _lock_waiters(observer: asyncpg.Connection) -> int:
    return await observer.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )


async def until_waiting(observer: asyncpg.Connection, waiters: int, *running: asyncio.Task) -> bool:
    """True once `waiters` backends wait for a lock; False if the tasks all finished first (nothing blocked them)."""
    async with asyncio.timeout(30):
        while await _lock_waiters(observer) < waiters:
            if all(task.done() for task in running):
                return False
            await asyncio.sleep(0.01)
    return True


def started(call: Awaitable) -> asyncio.Task:
    return asyncio.ensure_future(call)


async def test_a_sync_queued_while_a_launcher_is_created_never_lands_before_it_commits(world, raw):
    """createLauncher reads the sync states, then inserts; a sync queued between the two must wait for it."""
    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    holder, syncer, observer = await raw(), await raw(), await raw()
    # Stop createLauncher at its insert, after it has checked the sync states.
    await holder.execute("BEGIN; LOCK TABLE launcher IN SHARE MODE")
    creating = started(admin.post(CREATE_LAUNCHER, {"input": {"name": "Racing"}}))
    assert await until_waiting(observer, 1, creating)
    # Now a sync is queued (as queue_sync does: the integration's row, in its own transaction).
    queuing = started(
        syncer.execute(f"UPDATE platform_integration SET sync_state = 'QUEUED' WHERE id = {factories.pk(pi)}")
    )
    sync_waited = await until_waiting(observer, 2, queuing)
    await holder.execute("ROLLBACK")
    payload = (await creating).json()["data"]["createLauncher"]
    await queuing
    created = payload["launcher"] is not None
    # Either the sync waited for the launcher's commit, or the launcher saw the sync and was refused.
    assert sync_waited or not created, "the sync was queued while the launcher being created had checked for none"
    assert created == (await Launcher.all().count() == 1)


async def test_simultaneous_collaborator_replacements_both_succeed_and_the_last_wins(world, raw):
    account_id, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "Shared"}}))["createLauncher"]["launcher"]["id"]
    users = [encode_id("User", (await world.user(account_id))[0]) for _ in range(2)]
    await admin(SET_COLLABORATORS, {"launcherId": launcher, "userIds": users[:1]})
    holder, observer = await raw(), await raw()
    # Both requests stop at the same point, then go at once.
    await holder.execute("BEGIN; LOCK TABLE launcher_collaborator IN SHARE MODE")
    calls = [started(admin.post(SET_COLLABORATORS, {"launcherId": launcher, "userIds": users})) for _ in range(2)]
    assert await until_waiting(observer, 2, *calls)
    await holder.execute("ROLLBACK")
    responses = await asyncio.gather(*calls)
    for response in responses:
        body = response.json()
        assert "errors" not in body, body
        assert body["data"]["setLauncherCollaborators"]["userErrors"] == []
    assert await LauncherCollaborator.filter(launcher_id=factories.pk(launcher)).count() == 2


async def test_collaborators_are_not_granted_on_a_launcher_deleted_meanwhile(world, raw):
    account_id, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "Going"}}))["createLauncher"]["launcher"]["id"]
    user = encode_id("User", (await world.user(account_id))[0])
    holder, observer = await raw(), await raw()
    # deleteLauncher has marked the launcher deleted but not committed yet.
    await holder.execute(f"BEGIN; UPDATE launcher SET deleted_at = now() WHERE id = {factories.pk(launcher)}")
    granting = started(admin.post(SET_COLLABORATORS, {"launcherId": launcher, "userIds": [user]}))
    await until_waiting(observer, 1, granting)
    await holder.execute("COMMIT")
    payload = (await granting).json()["data"]["setLauncherCollaborators"]
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    assert await LauncherCollaborator.filter(launcher_id=factories.pk(launcher)).count() == 0


async def test_an_integration_deleted_meanwhile_is_not_updated(world, raw):
    account_id, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    runs_before = await SyncRun.filter(platform_integration_id=factories.pk(pi)).count()
    holder, observer = await raw(), await raw()
    # deletePlatformIntegration holds the account's lock and has marked the integration deleted.
    await holder.execute(
        f"BEGIN; SELECT id FROM account WHERE id = {account_id} FOR UPDATE; "
        f"UPDATE platform_integration SET deleted_at = now(), is_default = false WHERE id = {factories.pk(pi)}"
    )
    new_credentials = {"clientSecret": "another-secret-value-1234"}
    updating = started(admin.post(UPDATE_PI, {"input": {"id": pi, "name": "Renamed", "credentials": new_credentials}}))
    await until_waiting(observer, 1, updating)
    await holder.execute("COMMIT")
    payload = (await updating).json()["data"]["updatePlatformIntegration"]
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    stored = await PlatformIntegration.get(id=factories.pk(pi))
    assert stored.name == "US" and stored.deleted_at is not None
    assert await SyncRun.filter(platform_integration_id=factories.pk(pi)).count() == runs_before


async def test_a_sync_requested_while_the_integration_is_being_deleted_is_refused(world, raw):
    """queue_sync locks the integration's row: it waits for the deletion, then sees it and queues nothing."""
    from domain import syncs
    from domain.errors import Rejected
    from domain.models import Job, JobState, SyncTrigger
    from domain.sync_state import SyncState

    _, admin = await world.account()
    pi = factories.pk(await factories.integration(admin, "US", "111-AAA-111"))
    holder, observer = await raw(), await raw()
    await holder.execute(f"BEGIN; UPDATE platform_integration SET deleted_at = now() WHERE id = {pi}")
    queued = started(syncs.queue_sync(pi, SyncTrigger.MANUAL))
    assert await until_waiting(observer, 1, queued)
    await holder.execute("COMMIT")
    with pytest.raises(Rejected):
        await queued
    assert not await Job.filter(state=JobState.PENDING).exists()
    assert await SyncRun.filter(state=SyncState.QUEUED).count() == 0


async def test_a_launcher_deleted_meanwhile_is_not_updated(world, raw):
    """updateLauncher read the launcher, then deleteLauncher committed: the update must not rename a deleted launcher."""
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "Before"}}))["createLauncher"]["launcher"]["id"]
    holder, observer = await raw(), await raw()
    # deleteLauncher has marked the launcher deleted and not yet committed.
    await holder.execute(f"BEGIN; UPDATE launcher SET deleted_at = now() WHERE id = {factories.pk(launcher)}")
    updating = started(admin.post(UPDATE_LAUNCHER, {"input": {"id": launcher, "name": "After"}}))
    assert await until_waiting(observer, 1, updating)
    await holder.execute("COMMIT")
    payload = (await updating).json()["data"]["updateLauncher"]
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    stored = await Launcher.get(id=factories.pk(launcher))
    assert stored.name == "Before" and stored.deleted_at is not None


async def test_a_worker_writing_a_notification_under_its_lease_and_a_launcher_being_created_do_not_deadlock(world, raw):
    """The worker locks its integration (Lease.held) and inserts a notification, whose key on the account needs
    a share of the account's row; createLauncher holds the account's row and waits for the integration's. With
    FOR UPDATE on the account the two waited for each other and PostgreSQL killed one (an INTERNAL_SERVER_ERROR)."""
    from datetime import UTC, datetime, timedelta

    from domain import outbox
    from domain.models import Notification
    from marketo.worker.queue import Lease

    account_id, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    await PlatformIntegration.filter(id=factories.pk(pi)).update(
        lease_owner="worker-1", lease_expires_at=datetime.now(UTC) + timedelta(minutes=1)
    )
    observer = await raw()
    locked, go = asyncio.Event(), asyncio.Event()

    async def worker() -> None:
        async with Lease("worker-1", factories.pk(pi)).held():
            locked.set()
            await go.wait()
            await outbox.notify_admins(account_id, "Jeto could not sync US", "why")

    working = started(worker())
    await locked.wait()
    creating = started(admin.post(CREATE_LAUNCHER, {"input": {"name": "Meanwhile"}}))
    assert await until_waiting(observer, 1, creating)  # createLauncher holds the account, waits for the integration
    go.set()
    await working
    body = (await creating).json()
    assert "errors" not in body, body
    assert body["data"]["createLauncher"]["userErrors"] == [] and body["data"]["createLauncher"]["launcher"]
    assert await Notification.filter(account_id=account_id).count() == 1


async def _provisioning_campaign(admin, name: str) -> tuple[str, str]:
    """A campaign still PROVISIONING (no worker runs here), and the program row its clone would be."""
    from tests.api.operations import CREATE_CAMPAIGN

    pi = await factories.integration(admin, "US", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "L"}}))["createLauncher"]["launcher"]["id"]
    campaign = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": name}}))["createCampaign"]
    return campaign["campaign"]["id"], await factories.program(pi, name)


async def test_a_rename_racing_the_provisioning_commit_is_not_lost(world, raw):
    """The worker records READY with the program "Alpha" while updateCampaign renames the campaign "Beta": the
    rename must see the program and queue its renaming, not store "Beta" beside a program still named "Alpha"."""
    from domain.models import Campaign, Job, JobKind
    from tests.api.operations import UPDATE_CAMPAIGN

    _, admin = await world.account()
    campaign, program = await _provisioning_campaign(admin, "Alpha")
    holder, observer = await raw(), await raw()
    # The worker's outcome, written and not yet committed: the campaign's row is locked.
    await holder.execute(
        f"BEGIN; UPDATE campaign SET status = 'READY', marketo_program_id = {factories.pk(program)} "
        f"WHERE id = {factories.pk(campaign)}"
    )
    renaming = started(admin.post(UPDATE_CAMPAIGN, {"input": {"id": campaign, "name": "Beta"}}))
    assert await until_waiting(observer, 1, renaming)
    await holder.execute("COMMIT")
    body = (await renaming).json()
    assert body["data"]["updateCampaign"]["userErrors"] == [], body
    stored = await Campaign.get(id=factories.pk(campaign))
    assert (stored.name, stored.status.value) == ("Beta", "PROVISIONING")
    assert await Job.filter(campaign_id=stored.id, kind=JobKind.RENAME_PROGRAM).count() == 1
