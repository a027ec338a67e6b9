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
    bad = await admin.post(
        UPDATE_PI,
        {
            "input": {
                "id": pi_id,
                "credentials": {"clientSecret": SECRET + "2", "restEndpoint": "https://10.1.1.1/rest"},
            }
        },
    )
    responses.append(bad.text)
    responses.append(
        (await admin.post("{ account { platformIntegrations { credentials { clientSecretHint } } } }")).text
    )
    responses.append((await admin.post('{ __type(name: "MarketoCredentials") { fields { name } } }')).text)
    await world.worker().run_until_idle()  # the first sync tests the connection too

    rows = await Tortoise.get_connection("default").execute_query_dict("SELECT * FROM platform_integration")
    assert rows and all(SECRET not in str(value) for row in rows for value in row.values())
    assert rows[0]["client_secret_encrypted"] and rows[0]["client_secret_hint"] == "…6789"
    for text in responses:
        assert SECRET not in text
    assert 'clientSecret"' not in responses[-1]
    assert caplog.records, "the run should have logged something"
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in str(record.args)
    assert SECRET not in caplog.text


async def test_a_secret_that_works_is_not_logged_either(world, simulator, caplog):
    """The secret reaches Marketo (tokens issued, a sync and a connection test succeed) and nowhere else."""
    caplog.set_level(logging.DEBUG)
    _, admin = await world.account()
    instance = simulator.endpoints("http://127.0.0.1")[0]
    secret = instance["clientSecret"]
    credentials = {k: instance[k] for k in ("clientId", "clientSecret", "restEndpoint", "identityEndpoint")}
    created = await admin.post(CREATE_PI, {"input": {"name": "US", "credentials": credentials}})
    pi_id = created.json()["data"]["createPlatformIntegration"]["platformIntegration"]["id"]
    worker = world.worker()
    await worker.run_until_idle()
    tested = await admin.post(TEST_PI, {"id": pi_id})
    await worker.run_until_idle()
    shown = await admin.post(
        """query($id: ID!) { node(id: $id) { ... on PlatformIntegration {
          connectionStatus syncStatus { state } credentials { clientSecretHint } } } }""",
        {"id": pi_id},
    )
    node = shown.json()["data"]["node"]
    assert node["connectionStatus"] == "CONNECTED" and node["syncStatus"]["state"] == "COMPLETED"
    assert simulator.instances[instance["munchkinId"]].stats.identity_calls >= 1  # the secret was used
    for text in (created.text, tested.text, shown.text):
        assert secret not in text
    rows = await Tortoise.get_connection("default").execute_query_dict("SELECT * FROM platform_integration")
    assert all(secret not in str(value) for row in rows for value in row.values())
    assert any("HTTP Request" in record.getMessage() for record in caplog.records)  # httpx logged its calls
    assert secret not in caplog.text
    for record in caplog.records:
        assert secret not in record.getMessage() and secret not in str(record.args)


CREATE = """mutation($input: CreatePlatformIntegrationInput!) {
  createPlatformIntegration(input: $input) { userErrors { code } } }"""
UPDATE = """mutation($input: UpdatePlatformIntegrationInput!) {
  updatePlatformIntegration(input: $input) { userErrors { code } } }"""


async def test_input_errors_never_echo_the_value_that_was_sent(world, caplog):
    """graphql-core's coercion errors print the whole input ("found: {...}"); ours name the field only."""
    caplog.set_level(logging.DEBUG)
    _, admin = await world.account()
    pi_id = (await admin(CREATE_PI, {"input": pi_input()}))["createPlatformIntegration"]["platformIntegration"]["id"]
    literal = SECRET.replace("-", "_")  # a valid enum name, so the enum check sees it as a value
    requests = [
        (CREATE, {"input": {"name": "x", "credentials": {"clientId": "a", "clientSecret": SECRET}}}),
        (
            CREATE,
            {
                "input": {
                    "name": "x",
                    "credentials": {"clientId": "a", "clientSecret": SECRET, "restEndpoint": "r", "extra": 1},
                }
            },
        ),
        (
            CREATE,
            {"input": {"name": "x", "credentials": {"clientId": "a", "clientSecret": [SECRET], "restEndpoint": "r"}}},
        ),
        (CREATE, {"input": {"name": "x", "credentials": [SECRET]}}),
        (
            CREATE,
            {
                "input": {
                    "name": "x",
                    "vendor": SECRET,
                    "credentials": {"clientId": "a", "clientSecret": "b", "restEndpoint": "r"},
                }
            },
        ),
        (UPDATE, {"input": {"id": pi_id, "credentials": {"clientSecret": SECRET, "unknown": True}}}),
        (UPDATE, {"input": {"id": pi_id, "credentials": {"clientSecret": SECRET, "clientSecre": True}}}),
        (
            'mutation { updatePlatformIntegration(input: {id: "'
            + pi_id
            + '", credentials: {clientSecret: "'
            + SECRET
            + '", nope: 1}}) { userErrors { code } } }',
            None,
        ),
        (
            'mutation { createPlatformIntegration(input: {name: "x", credentials: {clientId: "a", clientSecret: "'
            + SECRET
            + '"}}) { userErrors { code } } }',
            None,
        ),
        (
            'mutation { createPlatformIntegration(input: {name: "x", vendor: '
            + literal
            + ', credentials: {clientId: "a", '
            'clientSecret: "b", restEndpoint: "r"}}) { userErrors { code } } }',
            None,
        ),
        (
            'mutation { createPlatformIntegration(input: {name: "x", credentials: {clientId: "a", clientSecret: ["'
            + SECRET
            + '"], restEndpoint: "r"}}) { userErrors { code } } }',
            None,
        ),
    ]
    for query, variables in requests:
        response = await admin.post(query, variables)
        errors = response.json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"] * len(errors), response.text
        assert SECRET not in response.text and literal not in response.text, response.text
    # The message still says what is wrong.
    first = (await admin.post(*requests[0])).json()["errors"][0]["message"]
    assert "restEndpoint" in first and "MarketoCredentialsInput" in first, first
    for record in caplog.records:
        assert SECRET not in record.getMessage() and literal not in record.getMessage()
    assert SECRET not in caplog.text and literal not in caplog.text
