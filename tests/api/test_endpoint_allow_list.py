"""The Marketo hosts an integration may point at are checked at every connection, not only when its endpoints
are saved: an integration saved while loopback was allowed (a demo, or before the list was narrowed) is never
called once the list leaves loopback out, and its admin is told to correct the endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest

from domain import platform_integrations
from domain.models import Role, User
from domain.viewer import Viewer
from jeto.settings import Settings
from resolvers.ids import encode_id
from tests.api.operations import CREATE_PI, pi_input

STATUS = """query($id: ID!) { node(id: $id) { ... on PlatformIntegration {
  connectionStatus connectionMessage syncStatus { state error } } } }"""
TEST_CONNECTION = """mutation($id: ID!) { testPlatformIntegrationConnection(id: $id) {
  platformIntegration { connectionStatus connectionMessage } userErrors { code } } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, marketo_allowed_hosts=("*.mktorest.com",))


@contextlib.asynccontextmanager
async def loopback_listener() -> AsyncIterator[tuple[int, list[int]]]:
    """A port on loopback that counts the connections made to it (and answers none)."""
    connections: list[int] = []

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(accepted, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connections
    finally:
        server.close()
        await server.wait_closed()


async def saved_while_loopback_was_allowed(world, caller, port: int) -> str:
    email = (await caller("{ viewer { email } }"))["viewer"]["email"]
    admin = await User.get(email=email)
    created = await platform_integrations.create(
        Viewer(user_id=admin.id, account_id=admin.account_id, role=Role.ADMIN),
        name="Demo instance",
        confirm_trial=False,
        credentials=platform_integrations.CredentialsInput(
            client_id="client",
            client_secret="a-secret-long-enough",
            rest_endpoint=f"http://127.0.0.1:{port}/rest",
            identity_endpoint=f"http://127.0.0.1:{port}/identity",
        ),
        sealer=world.services.secret_box,
        allowed_hosts=("127.0.0.1",),
    )
    assert created.integration is not None
    return encode_id("PlatformIntegration", created.integration.id)


async def test_an_integration_saved_under_a_wider_list_is_not_called_by_the_connection_test(world):
    _, admin = await world.account()
    async with loopback_listener() as (port, connections):
        pi = await saved_while_loopback_was_allowed(world, admin, port)
        payload = (await admin(TEST_CONNECTION, {"id": pi}))["testPlatformIntegrationConnection"]
        assert connections == []
    assert payload["platformIntegration"]["connectionStatus"] == "ENDPOINT_NOT_ALLOWED"
    assert "correct them" in payload["platformIntegration"]["connectionMessage"]


async def test_nor_by_the_worker_whose_sync_says_what_to_correct(world):
    _, admin = await world.account()
    async with loopback_listener() as (port, connections):
        pi = await saved_while_loopback_was_allowed(world, admin, port)
        await world.worker().run_until_idle()  # its connection test and first sync, queued by the creation
        assert connections == []
    node = (await admin(STATUS, {"id": pi}))["node"]
    assert node["connectionStatus"] == "ENDPOINT_NOT_ALLOWED"
    assert node["syncStatus"]["state"] == "ERROR"
    assert "127.0.0.1 is not an allowed Marketo host" in node["syncStatus"]["error"]
    assert "Correct the integration's REST and Identity endpoints" in node["syncStatus"]["error"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://[::1%25.mktorest.com]/rest",  # a zone id that reads like a name under the pattern
        "https://[::1]/rest",
        "https://127.1/rest",  # what a resolver reads as 127.0.0.1
        "https://2130706433/rest",
        "https://under_score.mktorest.com/rest",
    ],
)
async def test_address_literals_and_malformed_hosts_match_no_wildcard(world, endpoint):
    _, admin = await world.account()
    data = await admin(CREATE_PI, {"input": pi_input(name="X", credentials={"restEndpoint": endpoint})})
    codes = {error["code"] for error in data["createPlatformIntegration"]["userErrors"]}
    assert codes & {"ENDPOINT_NOT_ALLOWED", "INVALID_INPUT"}, data
    assert data["createPlatformIntegration"]["platformIntegration"] is None


def test_an_address_is_allowed_only_by_a_pattern_that_names_it():
    from domain.endpoints import host_allowed

    assert host_allowed("https://[::1]/rest", ["::1"]) and not host_allowed("https://[::1]/rest", ["*"])
    assert host_allowed("http://127.0.0.1:8080/rest", ["127.0.0.1"])
    assert not host_allowed("http://127.0.0.1/rest", ["127.0.0.*"])
    assert host_allowed("https://123-abc-456.mktorest.com/rest", ["*.mktorest.com"])
    assert not host_allowed("https://mktorest.com.evil.test/rest", ["*.mktorest.com"])
