"""Queries and mutations over websockets, both protocols: refused like over HTTP, with coded errors, and never
logged with the document's text."""

import logging

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from domain.models import Launcher, PlatformIntegration
from tests.api.websocket import PROTOCOLS, errors_of, run, socket

SECRET = "Sup3r-Secret-Value-0123456789"
BROKEN_CREATE = (
    'mutation { createPlatformIntegration(input: {name: "x", credentials: {clientId: "a", clientSecret: "'
    + SECRET
    + '", restEndpoint: "https://111-AAA-111.mktorest.com/rest"}}) { userErrors { code } }'  # no closing brace
)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_syntax_error_is_a_coded_error_and_the_document_is_never_logged(world, caplog, protocol):
    caplog.set_level(logging.DEBUG)
    _, admin = await world.account()
    async with socket(world.app, admin.token, protocol, ack=True) as ws:
        messages = await run(ws, protocol, {"query": BROKEN_CREATE})
        [error] = errors_of(messages)
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and "Syntax Error" in error["message"], messages
    assert SECRET not in str(messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert SECRET not in caplog.text
    assert await PlatformIntegration.all().count() == 0


@pytest.mark.parametrize("logger", ["strawberry.ws.task", "strawberry.execution", "asyncio", "uvicorn.error"])
async def test_a_logged_graphql_error_never_quotes_its_document(app, caplog, logger):
    """A GraphQL error's text quotes the document around its location: a traceback of one, logged by
    Strawberry or asyncio for whatever reason, would carry the secret the client sent."""
    from graphql import GraphQLError, parse

    caplog.set_level(logging.DEBUG)
    try:
        parse(BROKEN_CREATE)
    except GraphQLError as error:
        try:
            raise RuntimeError("the operation task failed") from error
        except RuntimeError as wrapped:
            logging.getLogger(logger).error(error, exc_info=error)
            logging.getLogger(logger).exception("Exception in worker task", exc_info=wrapped)
    logged = [record for record in caplog.records if record.name == logger]
    assert len(logged) == 2 and "GraphQLSyntaxError" in caplog.text, caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_which_operation_runs_is_never_guessed_over_websockets_either(world, protocol):
    from tests.api import factories

    _, admin = await world.account()
    pi = await factories.integration(admin, "US", "111-AAA-111", synced=False)
    document = "subscription First { accountSyncStatus { state } } subscription Second { accountSyncStatus { state } }"
    if protocol == "graphql-transport-ws":  # the legacy protocol runs subscriptions only
        document = 'mutation Make { createLauncher(input: {name: "guessed"}) { launcher { id } } } ' + document
    async with socket(world.app, admin.token, protocol, ack=True) as ws:
        for payload in ({"query": document}, {"query": document, "operationName": 5}):
            messages = await run(ws, protocol, payload)
            [error] = errors_of(messages)
            assert error["extensions"]["code"] == "BAD_USER_INPUT" and "operationName" in error["message"], messages
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        await ws.send_json({"id": "2", "type": start, "payload": {"query": document, "operationName": "Second"}})
        message = await ws.receive_json(timeout=5)
        assert message["payload"]["data"]["accountSyncStatus"]["state"] == "QUEUED", message
    assert pi and await Launcher.all().count() == 0


async def handshake(app, origin, base_url="http://127.0.0.1:8123"):
    """The websocket handshake of a browser page on `origin`: True if accepted. A refused handshake is closed
    before it is accepted (uvicorn answers that with 403; the in-process transport reports it as 1008)."""
    from httpx_ws import WebSocketDisconnect

    accepted = False
    try:
        async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url=base_url) as client:
            async with aconnect_ws("/graphql", client, subprotocols=[PROTOCOLS[0]], headers={"origin": origin}):
                accepted = True
    except* WebSocketDisconnect as refused:
        assert [error.code for error in refused.exceptions] == [1008]
    return accepted


async def test_a_page_of_this_host_is_the_same_origin_only_with_the_connection_s_scheme(world):
    """Strawberry compares host and port alone: a plain-http page passed for a wss endpoint, and the reverse."""
    assert await handshake(world.app, "http://127.0.0.1:8123")
    assert not await handshake(world.app, "https://127.0.0.1:8123")  # another origin than the ws:// page's
    assert not await handshake(world.app, "http://127.0.0.1:9999")
    assert await handshake(world.app, "https://127.0.0.1:8123", base_url="https://127.0.0.1:8123")  # wss
    assert not await handshake(world.app, "http://127.0.0.1:8123", base_url="https://127.0.0.1:8123")
    # Port left out: the default of each scheme, so http://host is port 80, never a wss endpoint's 443.
    assert not await handshake(world.app, "http://jeto.test", base_url="https://jeto.test")
    assert await handshake(world.app, "https://jeto.test", base_url="https://jeto.test")


async def test_a_listed_origin_is_accepted_whatever_its_scheme(settings, simulator):
    import dataclasses

    from asgi_lifespan import LifespanManager

    from jeto.app import create_app
    from tests.conftest import SimulatorTransport

    listed = dataclasses.replace(settings, allowed_origins=("https://127.0.0.1:8123",))
    app = create_app(listed, marketo_transport=SimulatorTransport(simulator))
    async with LifespanManager(app):
        assert await handshake(app, "https://127.0.0.1:8123")  # e.g. TLS ended at a proxy that does not say so
