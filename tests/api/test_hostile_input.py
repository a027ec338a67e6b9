"""What a signed-in client sends cannot stall, bloat or crash the server: documents that expand exponentially
are measured in linear time and refused, malformed JSON and websocket messages get a coded answer (never a
500, a traceback or a dropped socket), and no error quotes a string literal of the document."""

from __future__ import annotations

import json
import logging

import pytest

from tests.api.websocket import close_of, run, socket

# Each fragment spreads the next one twice: 2^60 paths in about 2 KB. Before documents were measured with each
# fragment once, the depth, alias and node checks walked every path (21 levels took 12 s; 60 never end).
LEVELS = 60


def bomb(leaf: str, levels: int = LEVELS) -> str:
    fragments = " ".join(f"fragment F{i} on Account {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query Bomb {{ account {{ ...F0 }} }} {fragments} fragment F{levels} on Account {{ {leaf} }}"


@pytest.mark.timeout(30)
async def test_fragment_bombs_are_measured_once_per_fragment_and_refused_for_what_they_expand_to(world):
    _, admin = await world.account()
    refusals = {
        "a: id": "aliases",  # 2^60 aliased fields
        "launchers(first: 1) { totalCount }": "nodes",  # 2^60 pages of one
        "platformIntegrations { " * 13 + "id" + " }" * 13: "deep",
    }
    for leaf, why in refusals.items():
        [error] = await admin.errors(bomb(leaf))
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and why in error["message"], (leaf, error)
        assert "1,152,921,504,606,846,976" in error["message"] or why == "deep", error  # 2^60, counted exactly
    # Fields with one response name merge into one: 2^60 `id`s are one field, which runs.
    data = await admin(bomb("id"))
    assert data["account"]["id"]


@pytest.mark.timeout(30)
async def test_fragment_bombs_are_refused_over_websockets_too(world):
    _, admin = await world.account()
    async with socket(world.app, admin.token, ack=True) as ws:
        [message] = await run(ws, "graphql-transport-ws", {"query": bomb("a: id")})
    assert message["type"] == "error" and "aliases" in message["payload"][0]["message"]
    assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def post_raw(world, admin, body: bytes, **headers: str):
    headers = {"authorization": f"Bearer {admin.token}", "content-type": "application/json", **headers}
    return await world.http.post("/graphql", content=body, headers=headers)


MALFORMED_BODIES = {
    "nested arrays as the body": (b"[" * 100_000, "nests deeper than 32"),
    "nested arrays in variables": (b'{"query": "{ viewer { id } }", "variables": ' + b"[" * 100_000, "nests deeper"),
    "invalid UTF-8": (b'{"query": "{ viewer { id } }\xff"}', "not valid UTF-8"),
    "a 5,000-digit number": (b'{"query": "{ viewer { id } }", "variables": {"n": ' + b"9" * 5000 + b"}}", "digits"),
    "NaN": (b'{"query": "{ viewer { id } }", "variables": {"n": NaN}}', "NaN is not JSON"),
    "variables that are a list": (b'{"query": "{ viewer { id } }", "variables": [1]}', "`variables` must be"),
    "a query that is a number": (b'{"query": 5}', "`query` must be a string"),
    "extensions that are a string": (b'{"query": "{ viewer { id } }", "extensions": "x"}', "`extensions` must be"),
}


@pytest.mark.parametrize("case", MALFORMED_BODIES)
async def test_malformed_bodies_are_the_clients_mistake(world, caplog, case):
    body, says = MALFORMED_BODIES[case]
    _, admin = await world.account()
    caplog.set_level(logging.INFO)
    response = await post_raw(world, admin, body)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and says in error["message"], error
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_get_whose_variables_nest_deeply_is_a_400(world, caplog):
    _, admin = await world.account()
    caplog.set_level(logging.INFO)
    params = {"query": "{ viewer { id } }", "variables": '{"a":' * 3000 + "1" + "}" * 3000}
    response = await world.http.get("/graphql", params=params, headers={"authorization": f"Bearer {admin.token}"})
    assert response.status_code == 400 and "nests deeper" in response.json()["errors"][0]["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


SECRET = "se-1234567890abcdef-secret"
MISTYPED = [
    f'mutation {{ createPlatformIntegration(input: {{name "{SECRET}"}}) {{ platformIntegration {{ id }} }} }}',
    f'mutation {{ createPlatformIntegration(input: {{ name: "x", credentials: {{ clientSecret "{SECRET}" }} }}) {{ platformIntegration {{ id }} }} }}',
    f'mutation {{ createPlatformIntegration(input: {{ name: "x" credentials: {{ clientSecret: """{SECRET}""" clientId: }} }}) {{ platformIntegration {{ id }} }} }}',
    f'{{ "{SECRET}" }}',
    f'{{ account {{ launchers(first: "{SECRET}") {{ totalCount }} }} }}',
]


async def test_no_error_quotes_a_string_literal_of_the_document(world, caplog):
    _, admin = await world.account()
    caplog.set_level(logging.DEBUG)
    for document in MISTYPED:
        response = await admin.post(document)
        assert response.json()["errors"] and SECRET not in response.text, response.text
    async with socket(world.app, admin.token, ack=True) as ws:
        for n, document in enumerate(MISTYPED):
            await ws.send_json({"id": str(n), "type": "subscribe", "payload": {"query": document}})
            answer = await ws.receive_text(timeout=5)
            assert SECRET not in answer and '"error"' in answer, answer
    assert SECRET not in caplog.text


# Each is sent on a signed-in graphql-transport-ws socket, then the close code and a word of its reason.
MALFORMED_MESSAGES = {
    "a JSON list": ("[1, 2]", 4400, "JSON object"),
    "a message without type": ('{"id": "1"}', 4400, "`type`"),
    "a null payload": ('{"type": "subscribe", "id": "1", "payload": null}', 4400, "`payload`"),
    "an id that is an object": (
        '{"type": "subscribe", "id": {"a": 1}, "payload": {"query": "{ viewer { id } }"}}',
        4400,
        "`id`",
    ),
    "variables that are a list": (
        '{"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { id } }", "variables": [1]}}',
        4400,
        "variables",
    ),
    "a query that is a number": ('{"type": "subscribe", "id": "1", "payload": {"query": 5}}', 4400, "query"),
    "deeply nested variables": (
        '{"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { id } }", "variables": '
        + "[" * 100_000
        + "}}",
        4400,
        "nests deeper",
    ),
    "invalid JSON": ("{nope", 4400, "malformed"),
    "a complete without id": ('{"type": "complete"}', 4400, "`id`"),
}


@pytest.mark.parametrize("case", MALFORMED_MESSAGES)
async def test_malformed_websocket_messages_close_the_socket_with_the_protocols_code(world, caplog, case):
    text, code, says = MALFORMED_MESSAGES[case]
    _, admin = await world.account()
    caplog.set_level(logging.INFO)
    async with socket(world.app, admin.token, ack=True) as ws:
        await ws.send_text(text)
        closed, reason = await close_of(ws)
    assert (closed, says in reason) == (code, True), (closed, reason)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_malformed_messages_on_the_legacy_protocol_close_it_too(world, caplog):
    _, admin = await world.account()
    caplog.set_level(logging.INFO)
    for text, says in (
        ('{"type": "start", "id": "1", "payload": null}', "`payload`"),
        ('{"type": "start", "id": "1", "payload": {"query": "{ viewer { id } }", "variables": [1]}}', "variables"),
        ("[1]", "JSON object"),
    ):
        async with socket(world.app, admin.token, protocol="graphql-ws", ack=True) as ws:
            await ws.send_text(text)
            closed, reason = await close_of(ws)
        assert closed == 4400 and says in reason, (text, closed, reason)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_null_connection_init_payload_is_allowed_as_the_protocol_says(world):
    from httpx import AsyncClient
    from httpx_ws import aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport

    async with AsyncClient(transport=ASGIWebSocketTransport(app=world.app), base_url="http://jeto.test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_text(json.dumps({"type": "connection_init", "payload": None}))
            assert await close_of(ws) == (4403, "Forbidden")  # read as no credentials, not as a malformed message


async def test_fields_repeated_beyond_what_can_be_checked_cheaply_are_refused(world):
    from graphql.validation.rules import overlapping_fields_can_be_merged

    _, admin = await world.account()
    # graphql-core compares same-named fields in pairs: 740 copies (within the token limit) are 273,430 pairs.
    [error] = await admin.errors("{ " + " ".join("viewer { id }" for _ in range(740)) + " }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "select each field once" in error["message"]
    assert overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET == 10_000  # the knob pinned in schema.documents
    assert (await admin("{ " + " ".join("viewer { id }" for _ in range(20)) + " }"))["viewer"]["id"]
