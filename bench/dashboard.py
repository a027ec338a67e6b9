"""The dashboard query served by `jeto serve`, against bare graphql-core serving the same result, in one run; and
what signing in with an API key and the rate limit cost it.

    python bench/dashboard.py [--databases sqlite postgres] [--seconds 5] [--connections 16] [--rounds 3]

For each database: seeds an account with 3 integrations, N launchers with 2 campaigns each, and an API key; counts
the SQL statements one dashboard request costs at 5, 50 and 500 launchers, signed in with the admin's token and
with the key (in process, from Tortoise's statement log); times, in process, one sign-in (token, key) and one
rate-limit charge (memory, the database, and Redis when JETO_BENCH_REDIS_URL or 127.0.0.1:6379 answers, under a
key prefix of the run's own). Then, at 50 launchers, starts `jeto serve` (JETO_WORKER=off) as its own process once
per variant (the admin's token without a rate limit, as before API keys existed; the token with the rate limit;
the key with the rate limit; on SQLite the limit counts in memory, on PostgreSQL in the database, plus a variant
in Redis when it answers) and, beside them, a bare server: uvicorn with one route that executes the same parsed
document with graphql-core over the same result held in memory as dicts (the JSON Jeto answered), so that
graphql-core's default resolvers read it. Each is loaded by the same client (two processes of N/2 keep-alive
connections each, for the same seconds) and timed alone (one request at a time), each variant `--rounds` times,
each time just after bare: on a shared machine the load drifts, so each ratio is of two measurements taken side
by side. Printed: requests/s of each and their ratio to bare (median of the rounds, and each round), one request
alone (median) of each and its ratio, statements per request, and the in-process
costs. PostgreSQL is JETO_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); a database of
the run's own is made and dropped. The budget is set high enough that no request is refused: every one is charged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.dashboard_shape import DASHBOARD  # noqa: E402

INTEGRATIONS, CAMPAIGNS = 3, 2
BUDGET = 10_000_000  # points: no request of the run is refused, each is charged
ROUNDS = 2000  # in-process sign-ins and charges timed, each


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Data


async def seed(database_url: str, launchers: int) -> tuple[str, str]:
    """A fresh account with INTEGRATIONS integrations, `launchers` launchers and CAMPAIGNS campaigns each, and a
    read-only API key; returns its admin's email and the key."""
    from tortoise import Tortoise

    from domain import api_keys
    from domain.models import (
        Account,
        ApiKey,
        ApiKeyScope,
        Campaign,
        CampaignStatus,
        Launcher,
        MarketoFolder,
        MarketoProgram,
        PlatformIntegration,
        Role,
        User,
    )
    from domain.sync_state import SyncState
    from jeto import database

    await database.migrate(database_url)
    await Tortoise.init(config=database.tortoise_config(database_url))
    try:
        for table in ("audit_event", "api_key", "rate_limit_counter", "campaign", "launcher_collaborator", "launcher",
                      "marketo_program", "marketo_folder", "sync_run", "job", "notification", "platform_integration",
                      "app_user", "account"):  # fmt: skip
            await Tortoise.get_connection("default").execute_script(f"DELETE FROM {table}")
        plan_limits = {"platform_integrations": INTEGRATIONS, "api_points": BUDGET}
        account = await Account.create(name="Bench Co", plan_limits=plan_limits)
        email = f"admin-{uuid.uuid4().hex[:6]}@bench.test"
        admin = await User.create(account=account, email=email, name="Bench Admin", role=Role.ADMIN)
        key = api_keys.new_key()
        await ApiKey.create(account=account, created_by=admin, name="Bench", scope=ApiKeyScope.READ_ONLY,
                            secret_hash=api_keys.secret_hash(key), hint=api_keys.hint(key))  # fmt: skip
        pis = []
        for n in range(INTEGRATIONS):
            pis.append(
                await PlatformIntegration.create(
                    account=account,
                    name=f"Instance {n}",
                    client_id=f"client-{n}",
                    client_secret_encrypted="-",
                    client_secret_hint="abcd",
                    rest_endpoint=f"https://10{n}-AAA-000.mktorest.com/rest",
                    identity_endpoint=f"https://10{n}-AAA-000.mktorest.com/identity",
                    is_default=n == 0,
                    sync_state=SyncState.COMPLETED,
                    folders_synced=12,
                    programs_synced=60,
                )  # fmt: skip
            )
        folders, programs = [], []
        for n in range(launchers):
            pi = pis[n % INTEGRATIONS]
            folders.append(MarketoFolder(platform_integration=pi, marketo_id=1000 + n, marketo_type="Folder",
                                         name=f"Campaigns {n}", path=f"/Marketing Activities/Campaigns {n}"))  # fmt: skip
        await MarketoFolder.bulk_create(folders)
        folders = await MarketoFolder.all().order_by("id")
        for n, folder in enumerate(folders):
            programs.append(MarketoProgram(platform_integration_id=folder.platform_integration_id, marketo_id=5000 + n,
                                           name=f"Template {n}", type="Event", folder=folder))  # fmt: skip
        await MarketoProgram.bulk_create(programs)
        programs = await MarketoProgram.all().order_by("id")
        await Launcher.bulk_create(
            [
                Launcher(
                    account=account,
                    platform_integration_id=folder.platform_integration_id,
                    name=f"Launcher {n}",
                    destination_folder=folder,
                    assets_folder=folder,
                    template_program=program,
                )  # fmt: skip
                for n, (folder, program) in enumerate(zip(folders, programs, strict=True))
            ]
        )
        await Campaign.bulk_create(
            [
                Campaign(
                    account=account,
                    launcher=launcher,
                    name=f"Campaign {c}",
                    status=CampaignStatus.READY,
                    submitted_by=admin,
                )  # fmt: skip
                for launcher in await Launcher.all().order_by("id")
                for c in range(CAMPAIGNS)
            ]
        )
        return email, key
    finally:
        await Tortoise.close_connections()


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def statements_per_request(database_url: str, email: str, key: str) -> tuple[dict[str, int], dict[str, Any]]:
    """The statements one dashboard request costs with the admin's token and with the key (after a first request
    of each warmed the process), and its data."""
    from asgi_lifespan import LifespanManager

    from jeto.app import create_app
    from jeto.auth import issue_development_token
    from jeto.settings import Settings

    settings = Settings(database_url=database_url, worker=False)
    app = create_app(settings)
    tokens = {"token": issue_development_token(settings, email), "key": key}
    logger = logging.getLogger("tortoise.db_client")
    counts, body = {}, {}
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c,
    ):
        for name, token in tokens.items():
            headers = {"authorization": f"Bearer {token}"}
            await c.post("/graphql", json={"query": DASHBOARD}, headers=headers)
            counter = _Counter()
            logger.setLevel(logging.DEBUG)
            logger.addHandler(counter)
            try:
                body = (await c.post("/graphql", json={"query": DASHBOARD}, headers=headers)).json()
            finally:
                logger.removeHandler(counter)
            assert "errors" not in body, body
            counts[name] = counter.count
    return counts, body["data"]


def redis_url() -> str | None:
    """JETO_BENCH_REDIS_URL, or the local Redis, if it answers."""
    from redis import Redis

    url = os.environ.get("JETO_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


async def _median_us(call: Any) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


async def in_process_costs(database_url: str, email: str, key: str, redis: str | None) -> dict[str, float]:
    """Median microseconds of one sign-in (token, key) and of one rate-limit charge in each store."""
    from asgi_lifespan import LifespanManager

    from domain.rate_limits import cost
    from jeto.app import create_app
    from jeto.auth import issue_development_token
    from jeto.rate_limits import DatabaseStore, MemoryStore, RateLimiter, RedisStore
    from jeto.settings import Settings

    settings = Settings(database_url=database_url, worker=False)
    app = create_app(settings)
    figures: dict[str, float] = {}
    async with LifespanManager(app):
        authenticator = app.state.services.authenticator
        token = f"Bearer {issue_development_token(settings, email)}"
        figures["sign-in, token"] = await _median_us(lambda: authenticator.sign_in(token))
        figures["sign-in, API key"] = await _median_us(lambda: authenticator.sign_in(f"Bearer {key}"))
        viewer = (await authenticator.sign_in(f"Bearer {key}")).viewer
        stores = {"memory": MemoryStore(), "database": DatabaseStore()}
        if redis is not None:
            stores["Redis"] = RedisStore(redis, f"jeto-bench-{uuid.uuid4().hex}:")
        for name, store in stores.items():
            limiter = RateLimiter(store, 3600)
            figures[f"charge, {name}"] = await _median_us(
                lambda limiter=limiter: limiter.charge(viewer, cost(150), BUDGET)
            )
            await store.aclose()
    return figures


# Servers


def serve_bare(port: int, result_file: str) -> None:
    """The bare engine: graphql-core executing the parsed dashboard over the result held in memory."""
    import uvicorn
    from graphql import build_schema, execute, parse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jeto.strawberry_overrides import sdl

    schema, document = build_schema(sdl()), parse(DASHBOARD)
    data = json.loads(Path(result_file).read_text())

    async def graphql(request: Request) -> JSONResponse:
        await request.json()  # read as a server would
        return JSONResponse({"data": execute(schema, document, root_value=data).data})

    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def wait_until_serving(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server ended with {process.returncode}"
        try:
            httpx.post(f"{url}/graphql", json={"query": "{ __typename }"}, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(url)


# Load


async def _load(url: str, token: str, seconds: float, connections: int) -> int:
    body = {"query": DASHBOARD}
    headers = {"authorization": f"Bearer {token}"}
    done = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                response = await client.post("/graphql", json=body, headers=headers)
                assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]
                done += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return done


def throughput(url: str, token: str, seconds: float, connections: int) -> float:
    """Requests/s from two client processes of connections/2 each, after a short warm-up."""
    asyncio.run(_load(url, token, 1.0, 2))
    command = [sys.executable, __file__, "--load", url, "--token", token, "--seconds", str(seconds),
               "--connections", str(connections // 2)]  # fmt: skip
    clients = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    return sum(int(client.communicate()[0].strip()) for client in clients) / seconds


def alone(url: str, token: str, rounds: int = 60) -> float:
    """Median seconds of one request at a time."""
    headers = {"authorization": f"Bearer {token}"}
    times = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(rounds + 5):
            started = time.perf_counter()
            assert client.post("/graphql", json={"query": DASHBOARD}, headers=headers).status_code == 200
            times.append(time.perf_counter() - started)
    return statistics.median(times[5:])


# A run


def database_url(kind: str, directory: Path) -> tuple[str, Any]:
    """A database of the run's own, and how to drop it."""
    if kind == "sqlite":
        return f"sqlite://{directory / 'bench.sqlite3'}", lambda: None
    import asyncpg

    server = os.environ.get("JETO_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = f"jeto_bench_{uuid.uuid4().hex[:8]}"
    admin = server.replace("postgres://", "postgresql://", 1)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    return server.rsplit("/", 1)[0] + "/" + name, lambda: asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


def measured(url: str, token: str, seconds: float, connections: int) -> dict[str, float]:
    return {"alone": alone(url, token), "rps": throughput(url, token, seconds, connections)}


def variants(kind: str, email: str, key: str, redis: str | None) -> list[tuple[str, str, str]]:
    """(what, bearer, JETO_RATE_LIMIT_STORE) of each `jeto serve` measured."""
    from jeto.auth import issue_development_token
    from jeto.settings import Settings

    token = issue_development_token(Settings(), email)
    store = "memory" if kind == "sqlite" else "database"
    found = [
        ("token, no rate limit", token, "off"),
        (f"token, rate limit ({store})", token, store),
        (f"API key, rate limit ({store})", key, store),
    ]
    if redis is not None:
        found.append(("API key, rate limit (Redis)", key, redis))
    return found


def bench(kind: str, seconds: float, connections: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        url, drop = database_url(kind, Path(directory))
        redis = redis_url()
        try:
            statements = {}
            for launchers in (5, 500, 50):  # 50 last: the data served below
                email, key = asyncio.run(seed(url, launchers))
                statements[launchers], data = asyncio.run(statements_per_request(url, email, key))
            costs = asyncio.run(in_process_costs(url, email, key, redis))
            result_file = Path(directory) / "result.json"
            result_file.write_text(json.dumps(data))
            bare_port = free_port()
            bare = subprocess.Popen([sys.executable, __file__, "--bare-server", str(bare_port), str(result_file)])
            try:
                bare_url = f"http://127.0.0.1:{bare_port}"
                wait_until_serving(bare_url, bare)
                served: dict[str, list[dict[str, float]]] = {}
                for what, bearer, store in variants(kind, email, key, redis):
                    port = free_port()
                    env = {**os.environ, "JETO_DATABASE_URL": url, "JETO_WORKER": "off", "JETO_RATE_LIMIT_STORE": store,
                           "JETO_RATE_LIMIT_KEY_PREFIX": f"jeto-bench-{uuid.uuid4().hex}:"}  # fmt: skip
                    jeto = subprocess.Popen([sys.executable, "-m", "jeto.cli", "serve", "--port", str(port)], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                    try:
                        jeto_url = f"http://127.0.0.1:{port}"
                        wait_until_serving(jeto_url, jeto)
                        # Bare, then Jeto, `rounds` times: each ratio is of two measurements taken side by side.
                        for _ in range(rounds):
                            served.setdefault(f"bare, beside {what}", []).append(
                                measured(bare_url, "none", seconds, connections)
                            )
                            served.setdefault(f"jeto, {what}", []).append(
                                measured(jeto_url, bearer, seconds, connections)
                            )
                    finally:
                        jeto.terminate()
                        jeto.wait(timeout=30)
            finally:
                bare.terminate()
                bare.wait(timeout=30)
        finally:
            drop()
    return {
        "statements": statements,
        "costs": costs,
        "served": served,
        "variants": list(dict.fromkeys(what.removeprefix("jeto, ") for what in served if what.startswith("jeto, "))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of bare and Jeto measured, per variant")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--bare-server", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(asyncio.run(_load(args.load, args.token, args.seconds, args.connections)))
        return
    if args.bare_server:
        serve_bare(int(args.bare_server[0]), args.bare_server[1])
        return
    if len(args.databases) > 1:  # Tortoise caches each table's INSERT by connection name: a process per database
        for kind in args.databases:
            options = [
                "--seconds",
                str(args.seconds),
                "--connections",
                str(args.connections),
                "--rounds",
                str(args.rounds),
            ]
            subprocess.run([sys.executable, __file__, "--databases", kind, *options], check=True)
        return
    print(f"dashboard: {INTEGRATIONS} integrations, 50 launchers x {CAMPAIGNS} campaigns; {args.connections} "
          f"connections for {args.seconds:g} s")  # fmt: skip
    for kind in args.databases:
        f = bench(kind, args.seconds, args.connections, args.rounds)
        s = f["statements"]
        print(f"\n{kind}")
        for signed in ("token", "key"):
            print(f"  statements per request at 5 / 50 / 500 launchers, {'admin token' if signed == 'token' else 'API key'}: "
                  f"{s[5][signed]} / {s[50][signed]} / {s[500][signed]}")  # fmt: skip
        for what, micros in f["costs"].items():
            print(f"  {what} (in process, median of {ROUNDS}): {micros:.1f} us")
        print("  requests/s and one request alone (median), each beside bare graphql-core measured just before it:")
        for what in f["variants"]:
            jeto, bare = f["served"][f"jeto, {what}"], f["served"][f"bare, beside {what}"]
            rps = [j["rps"] / b["rps"] for j, b in zip(jeto, bare, strict=True)]
            alone_ = [j["alone"] / b["alone"] for j, b in zip(jeto, bare, strict=True)]
            print(f"  jeto, {what}: {_median(jeto, 'rps'):.1f} requests/s against {_median(bare, 'rps'):.1f}, "
                  f"{statistics.median(rps):.2f}x bare (rounds {', '.join(f'{r:.2f}' for r in rps)}); one alone "
                  f"{_median(jeto, 'alone') * 1000:.2f} ms against {_median(bare, 'alone') * 1000:.2f}, "
                  f"{statistics.median(alone_):.2f}x bare (rounds {', '.join(f'{r:.2f}' for r in alone_)})")  # fmt: skip


def _median(measurements: list[dict[str, float]], what: str) -> float:
    return statistics.median(m[what] for m in measurements)


if __name__ == "__main__":
    main()
