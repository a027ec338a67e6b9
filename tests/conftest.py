"""Fixtures: a migrated database (SQLite by default, PostgreSQL with JETO_TEST_DATABASE_URL), the app
served in-process, and helpers that sign in as a user and send GraphQL over HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from tortoise import Tortoise

from domain import accounts
from domain.models import Role
from jeto import database
from jeto.app import create_app
from jeto.auth import issue_development_token
from jeto.settings import Settings
from marketo.credentials import Secret
from marketo.pool import MarketoPool
from marketo.simulator import Simulator, SimulatorConfig, create_simulator
from marketo.worker.runner import Worker, WorkerSettings
from marketo.worker.store import RowStore
from tests.redis_server import RedisServer

METRICS_TOKEN = "metrics-token-for-tests"
TABLES = [
    "audit_event",
    "api_key",
    "rate_limit_counter",
    "notification",
    "job",
    "campaign",
    "launcher_collaborator",
    "launcher",
    "sync_run",
    "marketo_program",
    "marketo_folder",
    "platform_integration",
    "app_user",
    "account",
]


# What the environment's JETO_TEST_* variables change: these fixtures, and the modules that read the variables.
ENVIRONMENT_FIXTURES = frozenset({"database_url", "bus_url", "redis_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With JETO_TEST_DATABASE_DEPENDENT_ONLY=1 (CI's second pass, on PostgreSQL and Redis), only the tests the
    database or the bus can change are run: a test that uses none of ENVIRONMENT_FIXTURES, in a module that reads
    no JETO_TEST_ variable, runs the same on every pass, and the first pass ran it. Deselected, not skipped: the
    summary counts them apart. So a fixture that reads a JETO_TEST_ variable belongs in ENVIRONMENT_FIXTURES (or
    depends on one), and a helper module that reads one is read only by test modules that name the variable."""
    if os.environ.get("JETO_TEST_DATABASE_DEPENDENT_ONLY") != "1":
        return
    reads_environment: dict[Path, bool] = {}

    def dependent(item: pytest.Item) -> bool:
        if ENVIRONMENT_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            return True
        module = item.path
        if module not in reads_environment:
            reads_environment[module] = "JETO_TEST_" in module.read_text(encoding="utf-8")
        return reads_environment[module]

    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (kept if dependent(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _postgres_admin_dsn(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return base.replace("postgres://", "postgresql://", 1) + "/postgres", name


def _on_postgres_server(url: str, statement: str) -> None:
    """Runs one statement on the server of `url`, connected to its maintenance database."""
    admin, _ = _postgres_admin_dsn(url)

    async def run() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database for the session; each test starts from empty tables."""
    configured = os.environ.get("JETO_TEST_DATABASE_URL")
    if configured and configured.startswith("postgres"):
        url = f"{configured.rstrip('/')}_{uuid.uuid4().hex[:8]}"
        _on_postgres_server(url, f'CREATE DATABASE "{_postgres_admin_dsn(url)[1]}"')
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'jeto.sqlite3'}"
    asyncio.run(database.migrate(url))
    yield url
    if url.startswith("postgres"):
        _on_postgres_server(url, f'DROP DATABASE IF EXISTS "{_postgres_admin_dsn(url)[1]}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest_asyncio.fixture
async def blank_database(database_url, tmp_path):
    """An empty database of the same kind as the suite's."""
    if not database_url.startswith("postgres"):
        yield f"sqlite://{tmp_path / 'models.sqlite3'}"
        return
    admin, _ = _postgres_admin_dsn(database_url)
    name = f"jeto_models_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url.rsplit("/", 1)[0] + "/" + name
    await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await conn.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own (not yet started); stopped at the end."""
    if shutil.which("redis-server") is None:
        if os.environ.get("JETO_TEST_REDIS_URL"):
            pytest.fail("JETO_TEST_REDIS_URL is set, so Redis is tested: the restart tests need redis-server on PATH")
        pytest.skip("redis-server is not on PATH (set JETO_TEST_REDIS_URL to make this a failure)")
    server = RedisServer(free_port())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bus_url(request):
    """A real event bus (the worker refuses memory://): JETO_TEST_BROADCAST_URL, else a Redis of our own."""
    configured = os.environ.get("JETO_TEST_BROADCAST_URL", "")
    if configured and not configured.startswith("memory"):
        return configured
    redis = request.getfixturevalue("redis_server")
    redis.start()
    asyncio.run(redis.answering())
    return f"redis://127.0.0.1:{redis.port}"


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgres")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        broadcast_url=os.environ.get("JETO_TEST_BROADCAST_URL", "memory://"),
        marketo_allowed_hosts=("*.mktorest.com", "127.0.0.1"),
        worker=False,  # tests that need the worker start their own, so every other test is deterministic
        metrics_token=Secret(METRICS_TOKEN),
        rate_limit_window_seconds=86400,  # a day: no test's budget starts afresh halfway through it but at midnight
    )


async def _empty_tables() -> None:
    connection = Tortoise.get_connection("default")
    for table in TABLES:
        await connection.execute_script(f"DELETE FROM {table}")


class SimulatorTransport(httpx.AsyncBaseTransport):
    """Marketo calls go to the in-process simulator, except those to a loopback port, which go to a real
    server a test started there: no test sends Marketo traffic anywhere else."""

    def __init__(self, simulator: Simulator) -> None:
        self._in_process = httpx.ASGITransport(app=simulator.app)
        self._loopback = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1" and request.url.port is not None:
            return await self._loopback.handle_async_request(request)
        return await self._in_process.handle_async_request(request)

    async def aclose(self) -> None:
        await self._loopback.aclose()


@pytest.fixture
def simulator() -> Simulator:
    """Two simulated Marketo instances, reached in-process: no test sends Marketo traffic anywhere."""
    return create_simulator(SimulatorConfig(instances=2, folders=6, programs=12))


@pytest_asyncio.fixture
async def app(settings: Settings, simulator: Simulator) -> AsyncIterator[Any]:
    application = create_app(settings, marketo_transport=SimulatorTransport(simulator))
    async with LifespanManager(application):
        await _empty_tables()
        yield application


@dataclass
class Caller:
    """Sends GraphQL over HTTP as one user."""

    http: httpx.AsyncClient
    token: str | None

    async def post(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        if self.token:
            headers.setdefault("authorization", f"Bearer {self.token}")
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The response's data; fails the test on any GraphQL error."""
        response = await self.post(query, variables)
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    async def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body = (await self.post(query, variables)).json()
        assert body.get("errors"), body
        return body["errors"]


@dataclass
class World:
    """Builds accounts and users, and hands out callers signed in as them."""

    app: Any
    settings: Settings
    http: httpx.AsyncClient

    async def account(self, name: str = "Acme", *, limit: int = 1) -> tuple[int, Caller]:
        email = f"admin-{uuid.uuid4().hex[:8]}@{name.lower().replace(' ', '')}.test"
        account, _ = await accounts.create_account(name, email, integrations_limit=limit)
        return account.id, self.caller(email)

    async def user(self, account_id: int, role: Role = Role.COLLABORATOR) -> tuple[int, Caller]:
        email = f"user-{uuid.uuid4().hex[:8]}@example.test"
        user = await accounts.add_user(account_id, email, role)
        return user.id, self.caller(email)

    def caller(self, email: str) -> Caller:
        return Caller(self.http, issue_development_token(self.settings, email))

    def anonymous(self) -> Caller:
        return Caller(self.http, None)

    async def metrics(self) -> str:
        """/metrics as the operator's scraper reads it."""
        response = await self.http.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200, response.text
        return response.text

    @property
    def services(self) -> Any:
        return self.app.state.services

    def worker(self, pool: MarketoPool | None = None, store: RowStore | None = None, **settings: Any) -> Worker:
        """A worker of this app's services (its own Marketo `pool`, or `store` of rows, if given); retries come at
        once unless told otherwise."""
        settings.setdefault("retry_delay", lambda attempt: timedelta(0))
        return Worker(
            pool=pool or self.services.marketo,
            credentials=self.services.credentials,
            publish=self.services.publish,
            settings=WorkerSettings(**settings),
            store=store or RowStore(),
        )


@pytest_asyncio.fixture
async def world(app: Any, settings: Settings) -> AsyncIterator[World]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://jeto.test") as http:
        yield World(app, settings, http)


REPO = Path(__file__).resolve().parent.parent
CONTRACT = REPO / "contract" / "api.graphql"  # our copy, so a clone alone can check the schema against it
SHARED_CONTRACT = REPO.parent / "shared" / "contract" / "api.graphql"  # the team's, beside a working checkout
