"""Authentication: HS256 development tokens, RS256 tokens checked against a JWKS served by the test."""

import asyncio
import dataclasses
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import pytest_asyncio
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain import accounts
from domain.models import Role
from jeto.auth import issue_development_token
from tests.conftest import Caller, free_port

VIEWER = "{ viewer { email role } }"


async def test_no_token_a_bad_token_or_an_unknown_user_get_401(world):
    _, admin = await world.account()
    forged = jwt.encode(
        {"sub": "x@y.test", "exp": datetime.now(UTC) + timedelta(minutes=5)},
        "a-wrong-key-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    expired = jwt.encode(
        {"sub": "x@y.test", "exp": datetime.now(UTC) - timedelta(minutes=5)},
        world.settings.jwt_secret.reveal(),
        algorithm="HS256",
    )
    unknown = issue_development_token(world.settings, "nobody@nowhere.test")
    for token in (None, "not-a-jwt", forged, expired, unknown):
        response = await Caller(world.http, token).post(VIEWER)
        assert response.status_code == 401, token
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == "Bearer"
    response = await world.http.post("/graphql", json={"query": VIEWER}, headers={"authorization": "Basic abc"})
    assert response.status_code == 401
    assert (await admin(VIEWER))["viewer"]["role"] == "ADMIN"


@dataclass
class IdentityProvider:
    key: rsa.RSAPrivateKey
    url: str
    fetched: list
    published: list  # the JWKS's keys, as served now

    def publish(self, key: rsa.RSAPrivateKey, kid: str) -> None:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update(kid=kid, use="sig", alg="RS256")
        self.published.append(jwk)


@pytest_asyncio.fixture
async def identity_provider():
    """A key pair made here and a JWKS served on loopback by a real HTTP server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fetched, published = [], []

    async def jwks(request):
        fetched.append(1)
        return JSONResponse({"keys": published})

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/jwks.json", jwks)]), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    provider = IdentityProvider(key, f"http://127.0.0.1:{port}/jwks.json", fetched, published)
    provider.publish(key, "test-key")
    yield provider
    server.should_exit = True
    await task


@pytest.fixture
def sso_settings(settings, identity_provider):
    return dataclasses.replace(
        settings, jwks_url=identity_provider.url, jwt_audience="jeto-api", jwt_issuer="https://idp.test/"
    )


@pytest_asyncio.fixture
async def sso_world(sso_settings, simulator):
    import httpx
    from asgi_lifespan import LifespanManager

    from jeto.app import create_app

    application = create_app(sso_settings)
    async with LifespanManager(application):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://jeto.test"
        ) as http:
            yield http


def _rs256(key, kid="test-key", **claims):
    base = {
        "sub": "idp|12345",
        "aud": "jeto-api",
        "iss": "https://idp.test/",
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    base.update(claims)
    return jwt.encode(base, key, algorithm="RS256", headers={"kid": kid})


async def test_rs256_tokens_are_checked_against_the_jwks(sso_world, identity_provider):
    key, fetched = identity_provider.key, identity_provider.fetched
    account, _ = await accounts.create_account("Acme", "owner@acme.test")
    await accounts.add_user(account.id, "sso@acme.test", Role.COLLABORATOR, subject="idp|12345")
    ok = await Caller(sso_world, _rs256(key)).post(VIEWER)
    assert ok.status_code == 200 and ok.json()["data"]["viewer"] == {"email": "sso@acme.test", "role": "COLLABORATOR"}
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (
        _rs256(other_key),  # signed by someone else
        _rs256(key, aud="another-api"),
        _rs256(key, iss="https://evil.test/"),
        _rs256(key, exp=datetime.now(UTC) - timedelta(minutes=1)),
        _rs256(key, sub="idp|unknown"),
    ):
        assert (await Caller(sso_world, bad).post(VIEWER)).status_code == 401
    assert len(fetched) == 1  # the JWKS is cached, not fetched per request


async def test_with_sso_the_public_development_key_signs_nothing(sso_world):
    from jeto.settings import DEV_JWT_SECRET

    await accounts.create_account("Acme", "sso-owner@acme.test")
    forged = jwt.encode(
        {"sub": "sso-owner@acme.test", "exp": datetime.now(UTC) + timedelta(minutes=5)},
        DEV_JWT_SECRET,
        algorithm="HS256",
    )
    assert (await Caller(sso_world, forged).post(VIEWER)).status_code == 401


async def test_the_subject_of_an_sso_token_is_matched_to_the_identity_provider_subject_only(
    sso_world, identity_provider
):
    """RUNTIME.md: under SSO `sub` is the IdP's subject; a subject that happens to equal an email names no one."""
    someone = f"someone-{uuid.uuid4().hex[:8]}@acme.test"
    account, _ = await accounts.create_account("Acme", f"owner-{uuid.uuid4().hex[:8]}@acme.test")
    await accounts.add_user(account.id, someone, Role.ADMIN)  # no subject recorded
    token = _rs256(identity_provider.key, sub=someone)
    response = await Caller(sso_world, token).post(VIEWER)
    assert response.status_code == 401 and response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_sso_without_an_audience_refuses_to_start(settings):
    from jeto.app import create_app
    from jeto.settings import InvalidSetting

    with pytest.raises(InvalidSetting) as refused:
        create_app(dataclasses.replace(settings, jwks_url="https://idp.test/jwks.json", jwt_audience=None))
    message = str(refused.value)
    assert "JETO_JWT_AUDIENCE" in message and "\n" not in message


async def test_a_worker_opens_its_services_whatever_the_api_s_sso_settings(settings):
    """The worker authenticates nobody: an SSO setting the API refuses is none of its business."""
    from jeto.services import open_services

    sso = dataclasses.replace(settings, jwks_url="https://idp.test/jwks.json", jwt_audience=None)
    async with open_services(sso) as services:
        assert services.settings.jwks_url


@pytest.fixture
def logging_restored():
    """`jeto serve` points the root logger at its stderr; put back what the test run had."""
    import logging

    root, tortoise = logging.getLogger(), logging.getLogger("tortoise")
    saved = root.handlers[:], root.level, tortoise.level
    yield
    root.handlers[:], _, _ = saved
    root.setLevel(saved[1])
    tortoise.setLevel(saved[2])


def test_the_serve_command_says_so_in_one_line(tmp_path, monkeypatch, capsys, logging_restored):
    from jeto import cli

    monkeypatch.setenv("JETO_DATABASE_URL", f"sqlite://{tmp_path / 'jeto.sqlite3'}")
    monkeypatch.setenv("JETO_JWT_JWKS_URL", "https://idp.test/jwks.json")
    monkeypatch.delenv("JETO_JWT_AUDIENCE", raising=False)
    assert cli.main(["serve", "--port", str(free_port())]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("jeto: ") and "JETO_JWT_AUDIENCE" in line


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


async def test_a_rotated_key_is_fetched_once_and_then_accepted(app, sso_settings, identity_provider):
    import httpx

    from jeto.auth import JWKS_MIN_REFETCH_SECONDS, AuthenticationFailed, Authenticator

    account, _ = await accounts.create_account("Acme", f"owner-{uuid.uuid4().hex[:8]}@acme.test")
    await accounts.add_user(account.id, "sso@acme.test", Role.COLLABORATOR, subject="idp|12345")
    clock = _Clock()
    async with httpx.AsyncClient() as http:
        authenticator = Authenticator(sso_settings, http, clock=clock)
        assert (await authenticator.viewer(f"Bearer {_rs256(identity_provider.key)}")).role is Role.COLLABORATOR
        assert len(identity_provider.fetched) == 1
        # The IdP rotates: a new key signs from now on. The first token with its kid refetches the JWKS once.
        new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        identity_provider.publish(new_key, "rotated-key")
        clock.now += JWKS_MIN_REFETCH_SECONDS + 1
        for _ in range(3):
            assert (
                await authenticator.viewer(f"Bearer {_rs256(new_key, kid='rotated-key')}")
            ).role is Role.COLLABORATOR
        assert len(identity_provider.fetched) == 2
        # Unknown kids cannot make it fetch again and again.
        for attempt in range(3):
            with pytest.raises(AuthenticationFailed):
                await authenticator.viewer(f"Bearer {_rs256(new_key, kid=f'made-up-{attempt}')}")
        assert len(identity_provider.fetched) == 2


async def test_rs256_is_refused_when_no_jwks_is_configured(world, identity_provider):
    account, _ = await accounts.create_account("Acme", f"owner-{uuid.uuid4().hex[:8]}@acme.test")
    await accounts.add_user(account.id, "sso@acme.test", Role.COLLABORATOR, subject="idp|12345")
    for token in (_rs256(identity_provider.key), _rs256(identity_provider.key, sub="sso@acme.test")):
        response = await Caller(world.http, token).post(VIEWER)
        assert response.status_code == 401
    assert identity_provider.fetched == []
