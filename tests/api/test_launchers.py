"""Launchers over HTTP: bound to one integration, everything they name comes from it, never re-bound."""

import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError, OperationalError

from domain.models import Launcher
from tests.api import factories
from tests.api.operations import ACCOUNT, CREATE_LAUNCHER, DELETE_LAUNCHER, DELETE_PI, UPDATE_LAUNCHER


async def create_launcher(admin, **fields):
    data = await admin(CREATE_LAUNCHER, {"input": {"name": "Webinar launcher", **fields}})
    return data["createLauncher"]


async def test_with_one_integration_it_is_used_without_being_named(world):
    _, admin = await world.account()
    pi = await factories.integration(admin, "Main", "111-AAA-111")
    payload = await create_launcher(admin)
    assert payload["userErrors"] == []
    assert payload["launcher"]["platformIntegration"]["id"] == pi


async def test_without_any_integration_a_launcher_cannot_be_created_and_the_account_says_so(world):
    _, admin = await world.account()
    creation = (await admin(ACCOUNT))["account"]["launcherCreation"]
    assert creation["allowed"] is False and creation["reason"] == "PLATFORM_INTEGRATION_REQUIRED"
    assert "Marketo" in creation["message"]
    payload = await create_launcher(admin)
    assert [(e["code"], e["field"], e["message"]) for e in payload["userErrors"]] == [
        ("PLATFORM_INTEGRATION_REQUIRED", ["input", "platformIntegrationId"], creation["message"])
    ]


async def test_with_several_integrations_one_must_be_named(world):
    account_id, admin = await world.account(limit=2)
    await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    payload = await create_launcher(admin)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("PLATFORM_INTEGRATION_REQUIRED", ["input", "platformIntegrationId"])
    ]
    assert await Launcher.filter(account_id=account_id).count() == 0
    named = await create_launcher(admin, platformIntegrationId=emea)
    assert named["launcher"]["platformIntegration"]["id"] == emea


async def test_folders_and_template_must_come_from_the_launcher_integration(world):
    account_id, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    us_folder, emea_folder = await factories.folder(us), await factories.folder(emea)
    emea_program = await factories.program(emea)
    payload = await create_launcher(
        admin,
        platformIntegrationId=us,
        destinationFolderId=emea_folder,
        templateProgramId=emea_program,
        assetsFolderId=us_folder,
    )
    assert sorted((e["code"], e["field"][1]) for e in payload["userErrors"]) == [
        ("WRONG_PLATFORM_INTEGRATION", "destinationFolderId"),
        ("WRONG_PLATFORM_INTEGRATION", "templateProgramId"),
    ]
    assert await Launcher.filter(account_id=account_id).count() == 0
    good = await create_launcher(
        admin, platformIntegrationId=emea, destinationFolderId=emea_folder, templateProgramId=emea_program
    )
    assert good["launcher"]["destinationFolder"]["id"] == emea_folder
    assert good["launcher"]["templateProgram"]["id"] == emea_program
    changed = (
        await admin(UPDATE_LAUNCHER, {"input": {"id": good["launcher"]["id"], "destinationFolderId": us_folder}})
    )["updateLauncher"]
    assert [e["code"] for e in changed["userErrors"]] == ["WRONG_PLATFORM_INTEGRATION"]


async def test_the_integration_of_a_launcher_can_never_change(world):
    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    launcher = (await create_launcher(admin, platformIntegrationId=us))["launcher"]
    same = (
        await admin(UPDATE_LAUNCHER, {"input": {"id": launcher["id"], "platformIntegrationId": us, "name": "Renamed"}})
    )["updateLauncher"]
    assert same["userErrors"] == [] and same["launcher"]["name"] == "Renamed"
    moved = (await admin(UPDATE_LAUNCHER, {"input": {"id": launcher["id"], "platformIntegrationId": emea}}))[
        "updateLauncher"
    ]
    assert [(e["code"], e["field"]) for e in moved["userErrors"]] == [
        ("PLATFORM_INTEGRATION_IMMUTABLE", ["input", "platformIntegrationId"])
    ]
    assert (await Launcher.get(id=factories.pk(launcher["id"]))).platform_integration_id == factories.pk(us)


async def test_the_database_itself_refuses_to_rebind_a_launcher(world):
    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    launcher = (await create_launcher(admin, platformIntegrationId=us))["launcher"]
    with pytest.raises((OperationalError, IntegrityError)) as raised:
        await Tortoise.get_connection("default").execute_query(
            f"UPDATE launcher SET platform_integration_id = {factories.pk(emea)} WHERE id = {factories.pk(launcher['id'])}"
        )
    assert "immutable" in str(raised.value)
    with pytest.raises((OperationalError, IntegrityError)):
        await Launcher.filter(id=factories.pk(launcher["id"])).update(platform_integration_id=factories.pk(emea))


async def test_launchers_cannot_be_created_while_any_integration_syncs(world):
    account_id, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    for state in ("QUEUED", "SYNCING"):
        await factories.set_sync_state(emea, state)
        account = (await admin(ACCOUNT))["account"]
        assert account["launcherCreation"]["allowed"] is False
        assert account["launcherCreation"]["reason"] == "SYNC_IN_PROGRESS"
        assert "EMEA" in account["launcherCreation"]["message"]
        assert account["syncState"] == "SYNCING"
        payload = await create_launcher(admin, platformIntegrationId=us)
        assert [e["code"] for e in payload["userErrors"]] == ["SYNC_IN_PROGRESS"]
    assert await Launcher.filter(account_id=account_id).count() == 0
    await factories.set_sync_state(emea, "ERROR")
    account = (await admin(ACCOUNT))["account"]
    assert account["launcherCreation"] == {"allowed": True, "reason": None, "message": None}
    assert account["syncState"] == "ERROR"
    assert (await create_launcher(admin, platformIntegrationId=us))["userErrors"] == []


async def test_an_integration_used_by_a_launcher_cannot_be_deleted_until_the_launcher_is(world):
    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    launcher = (await create_launcher(admin))["launcher"]
    refused = (await admin(DELETE_PI, {"id": us}))["deletePlatformIntegration"]
    assert refused["deletedId"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["PLATFORM_INTEGRATION_IN_USE"]
    deleted = (await admin(DELETE_LAUNCHER, {"id": launcher["id"]}))["deleteLauncher"]
    assert deleted == {"deletedId": launcher["id"], "userErrors": []}
    accepted = (await admin(DELETE_PI, {"id": us}))["deletePlatformIntegration"]
    assert accepted == {"deletedId": us, "userErrors": []}


async def test_launcher_names_are_checked(world):
    _, admin = await world.account()
    await factories.integration(admin, "US", "111-AAA-111")
    for name in ("", "y" * 300):
        payload = await create_launcher(admin, name=name)
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["input", "name"])]


async def _launcher_row(launcher_id):
    return await Launcher.filter(id=factories.pk(launcher_id)).values(
        "name",
        "platform_integration_id",
        "destination_folder_id",
        "template_program_id",
        "assets_folder_id",
        "deleted_at",
    )


async def test_bad_updates_of_a_launcher_are_coded_and_change_nothing(world):
    from resolvers.ids import encode_id

    _, admin = await world.account(limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    us_folder, emea_folder = await factories.folder(us), await factories.folder(emea)
    us_program, emea_program = await factories.program(us), await factories.program(emea)
    launcher = (
        await create_launcher(
            admin,
            platformIntegrationId=us,
            destinationFolderId=us_folder,
            templateProgramId=us_program,
            assetsFolderId=us_folder,
        )
    )["launcher"]["id"]
    before = await _launcher_row(launcher)
    cases = [
        ({"name": ""}, [("INVALID_INPUT", ["input", "name"])]),
        ({"name": "   "}, [("INVALID_INPUT", ["input", "name"])]),
        ({"name": "y" * 300}, [("INVALID_INPUT", ["input", "name"])]),
        (
            {"name": "Renamed", "destinationFolderId": emea_folder},
            [("WRONG_PLATFORM_INTEGRATION", ["input", "destinationFolderId"])],
        ),
        (
            {"name": "Renamed", "templateProgramId": emea_program},
            [("WRONG_PLATFORM_INTEGRATION", ["input", "templateProgramId"])],
        ),
        (
            {"name": "Renamed", "assetsFolderId": emea_folder},
            [("WRONG_PLATFORM_INTEGRATION", ["input", "assetsFolderId"])],
        ),
        (
            {"platformIntegrationId": emea, "name": "Renamed"},
            [("PLATFORM_INTEGRATION_IMMUTABLE", ["input", "platformIntegrationId"])],
        ),
    ]
    for field, type_name in (
        ("destinationFolderId", "MarketoFolder"),
        ("templateProgramId", "MarketoProgram"),
        ("assetsFolderId", "MarketoFolder"),
    ):
        cases.append(({"name": "Renamed", field: encode_id(type_name, 999_999)}, [("NOT_FOUND", ["input", field])]))
        cases.append(({"name": "Renamed", field: us}, [("INVALID_INPUT", ["input", field])]))  # an integration's id
        cases.append(({"name": "Renamed", field: "garbage"}, [("INVALID_INPUT", ["input", field])]))
    for changes, expected in cases:
        payload = (await admin(UPDATE_LAUNCHER, {"input": {"id": launcher, **changes}}))["updateLauncher"]
        assert payload["launcher"] is None and [(e["code"], e["field"]) for e in payload["userErrors"]] == expected, (
            changes
        )
        assert await _launcher_row(launcher) == before, changes
    renamed = (await admin(UPDATE_LAUNCHER, {"input": {"id": launcher, "name": "Renamed"}}))["updateLauncher"]
    assert renamed["userErrors"] == [] and (await _launcher_row(launcher))[0]["name"] == "Renamed"


async def test_unknown_and_wrong_type_asset_ids_on_creation_are_coded_and_create_nothing(world):
    from resolvers.ids import encode_id

    account_id, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111")
    for field, type_name in (
        ("destinationFolderId", "MarketoFolder"),
        ("templateProgramId", "MarketoProgram"),
        ("assetsFolderId", "MarketoFolder"),
    ):
        for given, code in (
            (encode_id(type_name, 999_999), "NOT_FOUND"),
            (pi, "INVALID_INPUT"),
            ("garbage", "INVALID_INPUT"),
        ):
            payload = await create_launcher(admin, **{field: given})
            assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, ["input", field])], (
                field,
                given,
            )
    assert await Launcher.filter(account_id=account_id).count() == 0
