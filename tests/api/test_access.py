"""Who sees what: admins everything of their account, collaborators their granted launchers, nobody another account."""

from domain.models import Campaign, Role, SyncRun
from resolvers.ids import encode_id
from tests.api import factories
from tests.api.operations import (
    CREATE_CAMPAIGN,
    CREATE_LAUNCHER,
    CREATE_PI,
    DELETE_LAUNCHER,
    DELETE_PI,
    SET_COLLABORATORS,
    SET_DEFAULT,
    SYNC_PI,
    TEST_PI,
    UPDATE_CAMPAIGN,
    UPDATE_LAUNCHER,
    UPDATE_PI,
    pi_input,
)

NODE = """query($id: ID!) { node(id: $id) { __typename id } }"""


async def _launcher(admin, name, pi_id):
    data = await admin(CREATE_LAUNCHER, {"input": {"name": name, "platformIntegrationId": pi_id}})
    return data["createLauncher"]["launcher"]["id"]


async def build(world):
    """An account with two integrations, two launchers (one granted to a collaborator), campaigns on both."""
    account_id, admin = await world.account("Acme", limit=2)
    us = await factories.integration(admin, "US", "111-AAA-111")
    emea = await factories.integration(admin, "EMEA", "222-BBB-222")
    folder = await factories.folder(us)
    program = await factories.program(us, folder_id=folder)
    emea_folder = await factories.folder(emea, "EMEA campaigns")
    emea_program = await factories.program(emea, "EMEA template", folder_id=emea_folder)
    granted = await _launcher(admin, "Granted", us)
    hidden = await _launcher(admin, "Hidden", emea)
    collaborator_id, collaborator = await world.user(account_id)
    await admin(SET_COLLABORATORS, {"launcherId": granted, "userIds": [encode_id("User", collaborator_id)]})
    granted_campaign = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": granted, "name": "Spring"}}))[
        "createCampaign"
    ]["campaign"]["id"]
    hidden_campaign = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": hidden, "name": "Autumn"}}))[
        "createCampaign"
    ]["campaign"]["id"]
    run = (await admin(SYNC_PI, {"id": us}))["syncPlatformIntegration"]["syncRun"]["id"]
    emea_run = (await admin(SYNC_PI, {"id": emea}))["syncPlatformIntegration"]["syncRun"]["id"]
    return {
        "account_id": account_id,
        "admin": admin,
        "collaborator": collaborator,
        "collaborator_id": collaborator_id,
        "us": us,
        "emea": emea,
        "folder": folder,
        "program": program,
        "granted": granted,
        "hidden": hidden,
        "granted_campaign": granted_campaign,
        "hidden_campaign": hidden_campaign,
        "run": run,
        "emea_folder": emea_folder,
        "emea_program": emea_program,
        "emea_run": emea_run,
    }


async def test_no_node_of_another_account_is_visible(world):
    mine = await build(world)
    _, outsider = await world.account("Globex")
    ids = [
        encode_id("Account", mine["account_id"]),
        encode_id("User", mine["collaborator_id"]),
        mine["us"],
        mine["folder"],
        mine["program"],
        mine["granted"],
        mine["granted_campaign"],
        mine["run"],
    ]
    for global_id in ids:
        assert (await outsider(NODE, {"id": global_id}))["node"] is None, global_id
        assert (await mine["admin"](NODE, {"id": global_id}))["node"]["id"] == global_id
    # Nor through arguments: filters and mutations refuse foreign ids.
    errors = await outsider.errors(
        "query($id: ID) { account { launchers(platformIntegrationId: $id) { totalCount } } }", {"id": mine["us"]}
    )
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    for mutation, variables, key in [
        (SET_DEFAULT, {"id": mine["us"]}, "setDefaultPlatformIntegration"),
        (DELETE_PI, {"id": mine["us"]}, "deletePlatformIntegration"),
        (CREATE_CAMPAIGN, {"input": {"launcherId": mine["granted"], "name": "x"}}, "createCampaign"),
        (UPDATE_CAMPAIGN, {"input": {"id": mine["granted_campaign"], "name": "x"}}, "updateCampaign"),
    ]:
        payload = (await outsider(mutation, variables))[key]
        assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"], key
    assert await Campaign.filter(account_id=mine["account_id"]).count() == 2


async def test_a_collaborator_sees_only_granted_launchers_their_campaigns_and_their_integrations(world):
    mine = await build(world)
    collaborator = mine["collaborator"]
    data = await collaborator("""{ account {
        launchers { totalCount edges { node { id campaigns { totalCount } } } }
        campaigns { totalCount edges { node { id } } }
        platformIntegrations { id credentials { clientId } }
    } }""")
    account = data["account"]
    assert [e["node"]["id"] for e in account["launchers"]["edges"]] == [mine["granted"]]
    assert [e["node"]["id"] for e in account["campaigns"]["edges"]] == [mine["granted_campaign"]]
    assert account["platformIntegrations"] == [{"id": mine["us"], "credentials": None}]
    for hidden in (mine["hidden"], mine["hidden_campaign"], mine["emea"]):
        assert (await collaborator(NODE, {"id": hidden}))["node"] is None
    for visible in (mine["granted"], mine["granted_campaign"], mine["us"], mine["folder"], mine["program"]):
        assert (await collaborator(NODE, {"id": visible}))["node"]["id"] == visible


async def test_a_collaborator_works_in_granted_launchers_only(world):
    mine = await build(world)
    collaborator = mine["collaborator"]
    ok = (await collaborator(CREATE_CAMPAIGN, {"input": {"launcherId": mine["granted"], "name": "Mine"}}))[
        "createCampaign"
    ]
    assert ok["userErrors"] == [] and ok["campaign"]["status"] == "PROVISIONING"
    refused = (await collaborator(CREATE_CAMPAIGN, {"input": {"launcherId": mine["hidden"], "name": "No"}}))[
        "createCampaign"
    ]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]
    renamed = (await collaborator(UPDATE_CAMPAIGN, {"input": {"id": mine["granted_campaign"], "name": "Renamed"}}))[
        "updateCampaign"
    ]
    assert renamed["campaign"]["name"] == "Renamed"


async def test_a_collaborator_calling_an_admin_mutation_is_forbidden_and_changes_nothing(world):
    mine = await build(world)
    collaborator = mine["collaborator"]
    runs_before = await SyncRun.all().count()
    calls = [
        (
            CREATE_PI,
            {"input": pi_input(name="Sneaky", munchkin="999-ZZZ-999", confirmTrial=True)},
            "createPlatformIntegration",
        ),
        (SET_DEFAULT, {"id": mine["us"]}, "setDefaultPlatformIntegration"),
        (DELETE_PI, {"id": mine["us"]}, "deletePlatformIntegration"),
        (SYNC_PI, {"id": mine["us"]}, "syncPlatformIntegration"),
        (CREATE_LAUNCHER, {"input": {"name": "x", "platformIntegrationId": mine["us"]}}, "createLauncher"),
        (SET_COLLABORATORS, {"launcherId": mine["granted"], "userIds": []}, "setLauncherCollaborators"),
    ]
    for mutation, variables, key in calls:
        payload = (await collaborator(mutation, variables))[key]
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"], key
    errors = await collaborator.errors("{ account { users { id } } }")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert await SyncRun.all().count() == runs_before
    data = await mine["admin"]("{ account { platformIntegrations { name isDefault } launchers { totalCount } } }")
    assert data["account"]["platformIntegrations"] == [
        {"name": "US", "isDefault": True},
        {"name": "EMEA", "isDefault": False},
    ]


async def test_collaborators_of_a_launcher_are_replaced_and_must_be_collaborators_of_the_account(world):
    mine = await build(world)
    admin = mine["admin"]
    cleared = (await admin(SET_COLLABORATORS, {"launcherId": mine["granted"], "userIds": []}))[
        "setLauncherCollaborators"
    ]
    assert cleared["launcher"]["collaborators"] == []
    assert (await mine["collaborator"]("{ account { launchers { totalCount } } }"))["account"]["launchers"][
        "totalCount"
    ] == 0
    other_account, _ = await world.account("Globex")
    stranger_id, _ = await world.user(other_account)
    refused = await admin(
        SET_COLLABORATORS, {"launcherId": mine["granted"], "userIds": [encode_id("User", stranger_id)]}
    )
    assert [e["code"] for e in refused["setLauncherCollaborators"]["userErrors"]] == ["NOT_FOUND"]
    admin_id, _ = await world.user(mine["account_id"], Role.ADMIN)
    refused = await admin(SET_COLLABORATORS, {"launcherId": mine["granted"], "userIds": [encode_id("User", admin_id)]})
    assert [e["code"] for e in refused["setLauncherCollaborators"]["userErrors"]] == ["INVALID_INPUT"]


async def test_a_collaborator_sees_the_same_users_through_fields_and_through_node(world):
    """Themselves, the submitters of campaigns they see, and the collaborators of launchers granted to them."""
    mine = await build(world)
    admin, collaborator = mine["admin"], mine["collaborator"]
    peer_id, peer = await world.user(mine["account_id"])  # shares the granted launcher
    stranger_id, _ = await world.user(mine["account_id"])  # works on the hidden launcher only
    silent_admin_id, _ = await world.user(mine["account_id"], Role.ADMIN)  # submitted nothing the collaborator sees
    await admin(
        SET_COLLABORATORS,
        {
            "launcherId": mine["granted"],
            "userIds": [encode_id("User", mine["collaborator_id"]), encode_id("User", peer_id)],
        },
    )
    await admin(SET_COLLABORATORS, {"launcherId": mine["hidden"], "userIds": [encode_id("User", stranger_id)]})
    await peer(CREATE_CAMPAIGN, {"input": {"launcherId": mine["granted"], "name": "By the peer"}})
    data = await collaborator("""{ viewer { id email }
        account { launchers { edges { node { collaborators { id email } campaigns { edges { node { submittedBy { id email } } } } } } }
                  campaigns { edges { node { submittedBy { id email } } } } } }""")
    through_fields = {data["viewer"]["id"]: data["viewer"]["email"]}
    for edge in data["account"]["launchers"]["edges"]:
        through_fields.update({u["id"]: u["email"] for u in edge["node"]["collaborators"]})
        through_fields.update(
            {
                c["node"]["submittedBy"]["id"]: c["node"]["submittedBy"]["email"]
                for c in edge["node"]["campaigns"]["edges"]
            }
        )
    through_fields.update(
        {
            c["node"]["submittedBy"]["id"]: c["node"]["submittedBy"]["email"]
            for c in data["account"]["campaigns"]["edges"]
        }
    )
    admin_id = (await admin("{ viewer { id } }"))["viewer"]["id"]
    assert set(through_fields) == {encode_id("User", mine["collaborator_id"]), encode_id("User", peer_id), admin_id}
    for user_id, email in through_fields.items():
        node = (await collaborator("query($id: ID!) { node(id: $id) { ... on User { id email } } }", {"id": user_id}))[
            "node"
        ]
        assert node == {"id": user_id, "email": email}, user_id
    for hidden in (stranger_id, silent_admin_id):
        assert (await collaborator(NODE, {"id": encode_id("User", hidden)}))["node"] is None
        assert (await admin(NODE, {"id": encode_id("User", hidden)}))["node"] is not None


async def test_a_collaborators_account_sync_state_adds_up_the_integrations_they_see(world):
    mine = await build(world)
    await factories.set_sync_state(mine["us"], "COMPLETED")
    await factories.set_sync_state(mine["emea"], "ERROR")  # behind the hidden launcher only
    assert (await mine["admin"]("{ account { syncState } }"))["account"]["syncState"] == "ERROR"
    assert (await mine["collaborator"]("{ account { syncState } }"))["account"]["syncState"] == "COMPLETED"
    description = (await mine["admin"]('{ __type(name: "Account") { fields { name description } } }'))["__type"][
        "fields"
    ]
    assert "collaborator" in next(f["description"] for f in description if f["name"] == "syncState")


# What ids of other accounts, ungranted launchers and collaborators' calls can reach: nothing, and they change nothing.

RETRY_CAMPAIGN = """
mutation($id: ID!) { retryCampaign(id: $id) { campaign { id status } userErrors { code field message } } }"""


async def state():
    """Everything a refused call could have changed, read back from the database."""
    from domain.models import Job, LauncherCollaborator, PlatformIntegration
    from domain.models import Launcher as LauncherRow

    return {
        "integrations": await PlatformIntegration.all()
        .order_by("id")
        .values(
            "id",
            "name",
            "deleted_at",
            "is_default",
            "client_id",
            "client_secret_hint",
            "rest_endpoint",
            "connection_status",
        ),
        "launchers": await LauncherRow.all()
        .order_by("id")
        .values("id", "name", "deleted_at", "destination_folder_id", "template_program_id", "assets_folder_id"),
        "grants": await LauncherCollaborator.all().order_by("id").values("launcher_id", "user_id"),
        "campaigns": await Campaign.all().order_by("id").values("id", "name", "status"),
        "runs": await SyncRun.all().count(),
        "jobs": await Job.all().count(),
    }


async def test_every_id_argument_refuses_another_accounts_ids_and_changes_nothing(world):
    from domain.models import CampaignStatus

    mine = await build(world)
    _, outsider = await world.account("Globex")
    theirs_pi = await factories.integration(outsider, "Theirs", "333-CCC-333")
    theirs_launcher = await _launcher(outsider, "Theirs", theirs_pi)
    await Campaign.filter(id=factories.pk(mine["granted_campaign"])).update(status=CampaignStatus.FAILED)
    before = await state()
    mutations = [
        (UPDATE_PI, {"input": {"id": mine["us"], "name": "Taken"}}, "updatePlatformIntegration", ["input", "id"]),
        (TEST_PI, {"id": mine["us"]}, "testPlatformIntegrationConnection", ["id"]),
        (SYNC_PI, {"id": mine["us"]}, "syncPlatformIntegration", ["id"]),
        (DELETE_PI, {"id": mine["us"]}, "deletePlatformIntegration", ["id"]),
        (SET_DEFAULT, {"id": mine["us"]}, "setDefaultPlatformIntegration", ["id"]),
        (
            CREATE_LAUNCHER,
            {"input": {"name": "x", "platformIntegrationId": mine["us"]}},
            "createLauncher",
            ["input", "platformIntegrationId"],
        ),
        (
            CREATE_LAUNCHER,
            {"input": {"name": "x", "platformIntegrationId": theirs_pi, "destinationFolderId": mine["folder"]}},
            "createLauncher",
            ["input", "destinationFolderId"],
        ),
        (
            CREATE_LAUNCHER,
            {"input": {"name": "x", "platformIntegrationId": theirs_pi, "templateProgramId": mine["program"]}},
            "createLauncher",
            ["input", "templateProgramId"],
        ),
        (
            CREATE_LAUNCHER,
            {"input": {"name": "x", "platformIntegrationId": theirs_pi, "assetsFolderId": mine["folder"]}},
            "createLauncher",
            ["input", "assetsFolderId"],
        ),
        (UPDATE_LAUNCHER, {"input": {"id": mine["granted"], "name": "Taken"}}, "updateLauncher", ["input", "id"]),
        (
            UPDATE_LAUNCHER,
            {"input": {"id": theirs_launcher, "destinationFolderId": mine["folder"]}},
            "updateLauncher",
            ["input", "destinationFolderId"],
        ),
        (
            UPDATE_LAUNCHER,
            {"input": {"id": theirs_launcher, "templateProgramId": mine["program"]}},
            "updateLauncher",
            ["input", "templateProgramId"],
        ),
        (
            UPDATE_LAUNCHER,
            {"input": {"id": theirs_launcher, "assetsFolderId": mine["folder"]}},
            "updateLauncher",
            ["input", "assetsFolderId"],
        ),
        (DELETE_LAUNCHER, {"id": mine["granted"]}, "deleteLauncher", ["id"]),
        (SET_COLLABORATORS, {"launcherId": mine["granted"], "userIds": []}, "setLauncherCollaborators", ["launcherId"]),
        (
            SET_COLLABORATORS,
            {"launcherId": theirs_launcher, "userIds": [encode_id("User", mine["collaborator_id"])]},
            "setLauncherCollaborators",
            ["userIds"],
        ),
        (
            CREATE_CAMPAIGN,
            {"input": {"launcherId": mine["granted"], "name": "x"}},
            "createCampaign",
            ["input", "launcherId"],
        ),
        (UPDATE_CAMPAIGN, {"input": {"id": mine["granted_campaign"], "name": "x"}}, "updateCampaign", ["input", "id"]),
        (RETRY_CAMPAIGN, {"id": mine["granted_campaign"]}, "retryCampaign", ["id"]),
    ]
    for mutation, variables, key, field in mutations:
        payload = (await outsider(mutation, variables))[key]
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", field)], (key, variables)
    filters = [
        ("query($id: ID) { account { campaigns(launcherId: $id) { totalCount } } }", mine["granted"]),
        ("query($id: ID) { account { campaigns(platformIntegrationId: $id) { totalCount } } }", mine["us"]),
        ("query($id: ID) { account { launchers(platformIntegrationId: $id) { totalCount } } }", mine["us"]),
    ]
    for query, foreign in filters:
        assert [e["extensions"]["code"] for e in await outsider.errors(query, {"id": foreign})] == ["NOT_FOUND"], query
    folder_filter = "query($pi: ID!, $f: ID) { node(id: $pi) { ... on PlatformIntegration { programs(folderId: $f) { totalCount } } } }"
    errors = await outsider.errors(folder_filter, {"pi": theirs_pi, "f": mine["folder"]})
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]
    assert await state() == before


async def test_ids_of_an_ungranted_launcher_reach_nothing_for_a_collaborator(world):
    mine = await build(world)
    collaborator = mine["collaborator"]
    for hidden in (
        mine["emea"],
        mine["emea_folder"],
        mine["emea_program"],
        mine["emea_run"],
        mine["hidden"],
        mine["hidden_campaign"],
    ):
        assert (await collaborator(NODE, {"id": hidden}))["node"] is None, hidden
    for visible in (mine["us"], mine["folder"], mine["program"], mine["run"]):
        assert (await collaborator(NODE, {"id": visible}))["node"]["id"] == visible
    data = await collaborator("""{ account { platformIntegrations { id folders { edges { node { id } } }
        programs { edges { node { id } } } syncRuns { edges { node { id } } } } } }""")
    [pi] = data["account"]["platformIntegrations"]
    assert [e["node"]["id"] for e in pi["folders"]["edges"]] == [mine["folder"]]
    assert [e["node"]["id"] for e in pi["programs"]["edges"]] == [mine["program"]]
    assert mine["emea_run"] not in [e["node"]["id"] for e in pi["syncRuns"]["edges"]]
    before = await state()
    for query, variables in [
        ("query($id: ID) { account { campaigns(launcherId: $id) { totalCount } } }", {"id": mine["hidden"]}),
        ("query($id: ID) { account { campaigns(platformIntegrationId: $id) { totalCount } } }", {"id": mine["emea"]}),
        ("query($id: ID) { account { launchers(platformIntegrationId: $id) { totalCount } } }", {"id": mine["emea"]}),
    ]:
        assert [e["extensions"]["code"] for e in await collaborator.errors(query, variables)] == ["NOT_FOUND"]
    for mutation, variables, key in [
        (CREATE_CAMPAIGN, {"input": {"launcherId": mine["hidden"], "name": "x"}}, "createCampaign"),
        (UPDATE_CAMPAIGN, {"input": {"id": mine["hidden_campaign"], "name": "x"}}, "updateCampaign"),
        (RETRY_CAMPAIGN, {"id": mine["hidden_campaign"]}, "retryCampaign"),
    ]:
        assert [e["code"] for e in (await collaborator(mutation, variables))[key]["userErrors"]] == ["NOT_FOUND"], key
    assert await state() == before


async def test_a_collaborator_cannot_edit_integrations_or_launchers(world):
    mine = await build(world)
    collaborator = mine["collaborator"]
    before = await state()
    for mutation, variables, key in [
        (
            UPDATE_PI,
            {"input": {"id": mine["us"], "name": "Mine now", "credentials": {"clientSecret": "a-new-secret-1234"}}},
            "updatePlatformIntegration",
        ),
        (TEST_PI, {"id": mine["us"]}, "testPlatformIntegrationConnection"),
        (UPDATE_LAUNCHER, {"input": {"id": mine["granted"], "name": "Mine now"}}, "updateLauncher"),
        (DELETE_LAUNCHER, {"id": mine["granted"]}, "deleteLauncher"),
    ]:
        payload = (await collaborator(mutation, variables))[key]
        assert [e["code"] for e in payload["userErrors"]] in (["FORBIDDEN"], ["NOT_FOUND"]), key
    assert await state() == before


async def test_subscriptions_refuse_ids_of_another_account_or_an_ungranted_launcher(world):
    from tests.api.websocket import socket

    mine = await build(world)
    _, outsider = await world.account("Globex")

    sync_status = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { state } }"
    campaign = "subscription($id: ID!) { campaign(id: $id) { id status } }"
    cases = [
        (outsider, sync_status, mine["us"], "NOT_FOUND"),
        (outsider, campaign, mine["granted_campaign"], "NOT_FOUND"),
        (mine["collaborator"], sync_status, mine["emea"], "NOT_FOUND"),
        (mine["collaborator"], campaign, mine["hidden_campaign"], "NOT_FOUND"),
        (mine["admin"], campaign, mine["us"], "BAD_USER_INPUT"),  # an id of another type
        (mine["admin"], sync_status, mine["granted_campaign"], "BAD_USER_INPUT"),
    ]
    for n, (caller, query, given, code) in enumerate(cases):
        async with socket(world.app, caller.token, ack=True) as ws:
            await ws.send_json(
                {"id": str(n), "type": "subscribe", "payload": {"query": query, "variables": {"id": given}}}
            )
            message = await ws.receive_json(timeout=5)
            assert message["type"] in ("error", "next"), message
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert [e["extensions"]["code"] for e in errors] == [code], (query, given, message)
