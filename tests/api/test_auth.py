"""Authentication: HS256 development tokens, RS256 tokens checked against a JWKS served by the test."""

import asyncio
import json
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
    forged = jwt.encode({"sub": "x@y.test", "exp": datetime.now(UTC) + timedelta(minutes=5)}, "a-wrong-key-that-is-long-enough-for-hs256", algorithm="HS256")
    expired = jwt.encode(
        {"sub": "x@y.test", "exp": datetime.now(UTC) - timedelta(minutes=5)}, world.settings.jwt_secret.reveal(), algorithm="HS256"
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


@pytest_asyncio.fixture
async def identity_provider():
    """A key pair made here and a JWKS served on loopback by a real HTTP server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="test-key", use="sig", alg="RS256")
    fetched = []

    async def jwks(request):
        fetched.append(1)
        return JSONResponse({"keys": [jwk]})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/jwks.json", jwks)]), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield key, f"http://127.0.0.1:{port}/jwks.json", fetched
    server.should_exit = True
    await task


@pytest.fixture
def sso_settings(settings, identity_provider):
    import dataclasses

    _, url, _ = identity_provider
    return dataclasses.replace(settings, jwks_url=url, jwt_audience="jeto-api", jwt_issuer="https://idp.test/")


@pytest_asyncio.fixture
async def sso_world(sso_settings, simulator):
    import httpx
    from asgi_lifespan import LifespanManager

    from jeto.app import create_app

    application = create_app(sso_settings)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://jeto.test") as http:
            yield http


def _rs256(key, **claims):
    base = {"sub": "idp|12345", "aud": "jeto-api", "iss": "https://idp.test/", "exp": datetime.now(UTC) + timedelta(minutes=5)}
    base.update(claims)
    return jwt.encode(base, key, algorithm="RS256", headers={"kid": "test-key"})


async def test_rs256_tokens_are_checked_against_the_jwks(sso_world, identity_provider):
    key, _, fetched = identity_provider
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
    forged = jwt.encode({"sub": "sso-owner@acme.test", "exp": datetime.now(UTC) + timedelta(minutes=5)}, DEV_JWT_SECRET,
                        algorithm="HS256")
    assert (await Caller(sso_world, forged).post(VIEWER)).status_code == 401
