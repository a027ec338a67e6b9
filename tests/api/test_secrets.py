"""Client secrets are write-only: encrypted at rest, never returned, never logged, never in an error."""

import logging

from tortoise import Tortoise

from tests.api.operations import CREATE_PI, TEST_PI, UPDATE_PI, pi_input

SECRET = "Sup3r-Secret-Value-0123456789"


async def test_the_secret_is_neither_stored_in_clear_nor_returned_nor_logged(world, caplog):
    caplog.set_level(logging.DEBUG)
    _, admin = await world.account()
    created = await admin.post(CREATE_PI, {"input": pi_input(credentials={"clientSecret": SECRET})})
    pi_id = created.json()["data"]["createPlatformIntegration"]["platformIntegration"]["id"]
    responses = [created.text]
    responses.append((await admin.post(TEST_PI, {"id": pi_id})).text)
    bad = await admin.post(UPDATE_PI, {"input": {"id": pi_id, "credentials": {"clientSecret": SECRET + "2", "restEndpoint": "https://10.1.1.1/rest"}}})
    responses.append(bad.text)
    responses.append((await admin.post("{ account { platformIntegrations { credentials { clientSecretHint } } } }")).text)
    responses.append((await admin.post("{ __type(name: \"MarketoCredentials\") { fields { name } } }")).text)
    await world.worker().run_until_idle()  # the first sync tests the connection too

    rows = await Tortoise.get_connection("default").execute_query_dict("SELECT * FROM platform_integration")
    assert rows and all(SECRET not in str(value) for row in rows for value in row.values())
    assert rows[0]["client_secret_encrypted"] and rows[0]["client_secret_hint"] == "…6789"
    for text in responses:
        assert SECRET not in text
    assert "clientSecret\"" not in responses[-1]
    assert caplog.records, "the run should have logged something"
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in str(record.args)
    assert SECRET not in caplog.text
