"""Platform integrations over HTTP: creation, the plan limit and trial, the default, edits and deletion."""

from domain.models import PlatformIntegration
from resolvers.ids import decode_id
from tests.api.operations import ACCOUNT, CREATE_PI, DELETE_PI, SET_DEFAULT, TEST_PI, UPDATE_PI, pi_input


async def create_pi(caller, **kwargs):
    data = await caller(CREATE_PI, {"input": pi_input(**kwargs)})
    return data["createPlatformIntegration"]


async def test_the_first_integration_becomes_the_default(world):
    _, admin = await world.account()
    payload = await create_pi(admin)
    assert payload["userErrors"] == [] and payload["trialConfirmation"] is None
    pi = payload["platformIntegration"]
    assert pi["isDefault"] is True and pi["isTrial"] is False
    assert pi["credentials"] == {
        "clientId": "client-123-ABC-456",
        "restEndpoint": "https://123-abc-456.mktorest.com/rest",
        "identityEndpoint": "https://123-abc-456.mktorest.com/identity",
        "clientSecretHint": "…XYZW",
    }
    account = (await admin(ACCOUNT))["account"]
    assert account["defaultPlatformIntegration"]["id"] == pi["id"]


async def test_over_the_plan_limit_the_trial_confirmation_comes_back_and_nothing_is_created(world):
    account_id, admin = await world.account(limit=1)
    await create_pi(admin, name="First")
    payload = await create_pi(admin, name="Second", munchkin="222-BBB-222")
    assert payload["platformIntegration"] is None and payload["userErrors"] == []
    assert payload["trialConfirmation"] == {
        "title": "Unlock new marketing possibilities!",
        "body": "We've granted you a free trial access to a new Jeto feature: integrating with a additional "
        "Marketo instances. To permanently add more integration(s) to your subscription, simply connect with "
        "your account manager.",
        "confirmLabel": "Proceed",
        "cancelLabel": "Cancel",
        "limit": 1,
        "used": 1,
    }
    assert await PlatformIntegration.filter(account_id=account_id).count() == 1


async def test_confirming_the_trial_creates_a_trial_integration_that_is_not_default(world):
    _, admin = await world.account(limit=1)
    await create_pi(admin, name="First")
    payload = await create_pi(admin, name="Second", munchkin="222-BBB-222", confirmTrial=True)
    assert payload["platformIntegration"]["isTrial"] is True
    assert payload["platformIntegration"]["isDefault"] is False


async def test_within_a_raised_limit_no_trial_is_needed(world):
    _, admin = await world.account(limit=3)
    await create_pi(admin, name="A")
    payload = await create_pi(admin, name="B", munchkin="222-BBB-222")
    assert payload["platformIntegration"]["isTrial"] is False
    plan = (await admin(ACCOUNT))["account"]["plan"]
    assert plan == {"name": "Standard", "limits": {"platformIntegrations": 3, "users": None}}


async def test_bad_input_gets_coded_user_errors_and_changes_nothing(world):
    account_id, admin = await world.account(limit=5)
    cases = [
        (pi_input(name=""), "INVALID_INPUT", ["input", "name"]),
        (pi_input(name="x" * 300), "INVALID_INPUT", ["input", "name"]),
        (
            pi_input(credentials={"restEndpoint": "not a url"}),
            "INVALID_INPUT",
            ["input", "credentials", "restEndpoint"],
        ),
        (
            pi_input(credentials={"restEndpoint": "https://10.0.0.8/rest"}),
            "ENDPOINT_NOT_ALLOWED",
            ["input", "credentials", "restEndpoint"],
        ),
        (
            pi_input(credentials={"identityEndpoint": "https://metadata.internal/identity"}),
            "ENDPOINT_NOT_ALLOWED",
            ["input", "credentials", "identityEndpoint"],
        ),
        (pi_input(credentials={"clientSecret": ""}), "INVALID_INPUT", ["input", "credentials", "clientSecret"]),
        (pi_input(credentials={"clientId": " "}), "INVALID_INPUT", ["input", "credentials", "clientId"]),
    ]
    for given, code, field in cases:
        payload = (await admin(CREATE_PI, {"input": given}))["createPlatformIntegration"]
        assert payload["platformIntegration"] is None, given
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)], given
    assert await PlatformIntegration.filter(account_id=account_id).count() == 0


async def test_names_are_unique_within_an_account(world):
    _, admin = await world.account(limit=5)
    await create_pi(admin, name="Main")
    payload = await create_pi(admin, name="MAIN", munchkin="222-BBB-222")
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_INPUT"]


async def test_set_default_switches_atomically(world):
    account_id, admin = await world.account(limit=3)
    first = (await create_pi(admin, name="A"))["platformIntegration"]["id"]
    second = (await create_pi(admin, name="B", munchkin="222-BBB-222"))["platformIntegration"]["id"]
    payload = (await admin(SET_DEFAULT, {"id": second}))["setDefaultPlatformIntegration"]
    assert payload["platformIntegration"] == {"id": second, "isDefault": True}
    integrations = (await admin(ACCOUNT))["account"]["platformIntegrations"]
    assert [(pi["id"], pi["isDefault"]) for pi in integrations] == [(second, True), (first, False)]
    assert await PlatformIntegration.filter(account_id=account_id, is_default=True).count() == 1


async def test_the_database_refuses_a_second_default(world):
    account_id, admin = await world.account(limit=3)
    await create_pi(admin, name="A")
    await create_pi(admin, name="B", munchkin="222-BBB-222")
    import pytest
    from tortoise.exceptions import IntegrityError

    with pytest.raises(IntegrityError):
        await PlatformIntegration.filter(account_id=account_id).update(is_default=True)


async def test_deleting_the_default_makes_the_oldest_remaining_one_default(world):
    _, admin = await world.account(limit=3)
    first = (await create_pi(admin, name="A"))["platformIntegration"]["id"]
    second = (await create_pi(admin, name="B", munchkin="222-BBB-222"))["platformIntegration"]["id"]
    third = (await create_pi(admin, name="C", munchkin="333-CCC-333"))["platformIntegration"]["id"]
    payload = (await admin(DELETE_PI, {"id": first}))["deletePlatformIntegration"]
    assert payload == {"deletedId": first, "userErrors": []}
    account = (await admin(ACCOUNT))["account"]
    assert account["defaultPlatformIntegration"]["id"] == second
    assert [pi["id"] for pi in account["platformIntegrations"]] == [second, third]
    # Its queued sync is not left waiting for a worker that will never claim it.
    from domain.models import Job, JobState, SyncRun

    first_pk = decode_id(first)[1]
    assert await Job.filter(platform_integration_id=first_pk, state=JobState.PENDING).count() == 0
    assert (await SyncRun.get(platform_integration_id=first_pk)).error == "The integration was deleted."


async def test_updating_credentials_keeps_the_secret_when_omitted_and_validates_endpoints(world):
    _, admin = await world.account()
    pi = (await create_pi(admin))["platformIntegration"]
    payload = (
        await admin(UPDATE_PI, {"input": {"id": pi["id"], "name": "Renamed", "credentials": {"clientId": "new-id"}}})
    )["updatePlatformIntegration"]
    assert payload["userErrors"] == []
    assert payload["platformIntegration"]["name"] == "Renamed"
    assert payload["platformIntegration"]["credentials"]["clientId"] == "new-id"
    assert payload["platformIntegration"]["credentials"]["clientSecretHint"] == "…XYZW"
    bad = (
        await admin(UPDATE_PI, {"input": {"id": pi["id"], "credentials": {"restEndpoint": "https://127.0.0.2/rest"}}})
    )["updatePlatformIntegration"]
    assert [e["code"] for e in bad["userErrors"]] == ["ENDPOINT_NOT_ALLOWED"]
    stored = await PlatformIntegration.get(name="Renamed")
    assert stored.rest_endpoint == "https://123-abc-456.mktorest.com/rest"


async def test_unknown_and_wrong_type_ids_are_user_errors(world):
    _, admin = await world.account()
    from resolvers.ids import encode_id

    for given, code in [
        (encode_id("PlatformIntegration", 999999), "NOT_FOUND"),
        (encode_id("Launcher", 1), "INVALID_INPUT"),
        ("garbage", "INVALID_INPUT"),
    ]:
        payload = (await admin(SET_DEFAULT, {"id": given}))["setDefaultPlatformIntegration"]
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, ["id"])]


async def test_connection_test_against_the_simulator_records_the_status(world, simulator):
    _, admin = await world.account(limit=2)
    good, _ = simulator.endpoints("http://127.0.0.1")
    credentials = {k: good[k] for k in ("clientId", "clientSecret", "restEndpoint")}
    pi = (await create_pi(admin, credentials=credentials))["platformIntegration"]
    await world.worker().run_until_idle()  # the first sync tests the connection
    stored = await PlatformIntegration.get(name="Main")
    assert stored.connection_status.value == "CONNECTED"

    wrong = {**credentials, "clientSecret": "not-the-secret-1234"}
    updated = (await admin(UPDATE_PI, {"input": {"id": pi["id"], "credentials": wrong}}))["updatePlatformIntegration"]
    assert updated["platformIntegration"]["connectionStatus"] == "UNTESTED"
    tested = (await admin(TEST_PI, {"id": pi["id"]}))["testPlatformIntegrationConnection"]
    assert tested["platformIntegration"]["connectionStatus"] == "INVALID_CREDENTIALS"
    assert simulator.instances[good["munchkinId"]].stats.identity_calls >= 2


async def test_bad_updates_of_an_integration_are_coded_and_change_nothing(world):
    account_id, admin = await world.account(limit=2)
    pi = (await create_pi(admin, name="Main"))["platformIntegration"]["id"]
    await create_pi(admin, name="Other", munchkin="222-BBB-222")
    columns = (
        "name",
        "client_id",
        "client_secret_encrypted",
        "rest_endpoint",
        "identity_endpoint",
        "connection_status",
    )
    before = await PlatformIntegration.filter(account_id=account_id).order_by("id").values(*columns)
    cases = [
        ({"name": ""}, ("INVALID_INPUT", ["input", "name"])),
        ({"name": "  "}, ("INVALID_INPUT", ["input", "name"])),
        ({"name": "x" * 300}, ("INVALID_INPUT", ["input", "name"])),
        ({"name": "other"}, ("INVALID_INPUT", ["input", "name"])),  # taken, whatever the case
        ({"credentials": {"clientId": ""}}, ("INVALID_INPUT", ["input", "credentials", "clientId"])),
        ({"credentials": {"clientSecret": "s" * 600}}, ("INVALID_INPUT", ["input", "credentials", "clientSecret"])),
        ({"credentials": {"restEndpoint": "not a url"}}, ("INVALID_INPUT", ["input", "credentials", "restEndpoint"])),
        (
            {"name": "Renamed", "credentials": {"restEndpoint": "https://10.0.0.8/rest"}},
            ("ENDPOINT_NOT_ALLOWED", ["input", "credentials", "restEndpoint"]),
        ),
    ]
    for changes, expected in cases:
        payload = (await admin(UPDATE_PI, {"input": {"id": pi, **changes}}))["updatePlatformIntegration"]
        assert payload["platformIntegration"] is None and [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            expected
        ], changes
        assert await PlatformIntegration.filter(account_id=account_id).order_by("id").values(*columns) == before, (
            changes
        )


async def test_deleting_an_integration_within_the_plan_lets_the_oldest_trials_fit_in_it(world):
    account_id, admin = await world.account(limit=2)
    ids = []
    for i, name in enumerate(("A", "B", "C", "D")):
        payload = await create_pi(admin, name=name, munchkin=f"{i}{i}{i}-AAA-{i}{i}{i}", confirmTrial=True)
        ids.append(payload["platformIntegration"]["id"])
    flags = lambda data: [(pi["name"], pi["isTrial"]) for pi in data["account"]["platformIntegrations"]]  # noqa: E731
    assert sorted(flags(await admin(ACCOUNT))) == [("A", False), ("B", False), ("C", True), ("D", True)]
    assert (await admin(DELETE_PI, {"id": ids[1]}))["deletePlatformIntegration"]["userErrors"] == []
    assert sorted(flags(await admin(ACCOUNT))) == [("A", False), ("C", False), ("D", True)]
    # Deleting a trial frees nothing of the plan.
    assert (await admin(DELETE_PI, {"id": ids[3]}))["deletePlatformIntegration"]["userErrors"] == []
    assert sorted(flags(await admin(ACCOUNT))) == [("A", False), ("C", False)]
    assert await PlatformIntegration.filter(account_id=account_id, deleted_at=None, is_trial=True).count() == 0
