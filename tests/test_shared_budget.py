"""Two `jeto serve` processes, as production runs them: one budget shared through Redis or the database, and a key
revoked on one process closes its websocket on the other (over a Redis bus)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from domain import rate_limits
from tests.api.keys import api_key
from tests.api.operations import RATE_LIMIT, REVOKE_API_KEY
from tests.jeto_process import running_jeto
from tests.test_probes_and_healthcheck import wait_for_file


@pytest.fixture(params=["database", "redis"])
async def store(request) -> str:
    """JETO_RATE_LIMIT_STORE for both processes: the suite's database (SQLite or PostgreSQL), or a Redis of the
    test's own."""
    if request.param == "database":
        return "database"
    server = request.getfixturevalue("redis_server")
    server.start()
    await server.answering()
    return f"redis://127.0.0.1:{server.port}"


async def test_two_api_processes_share_one_budget_and_close_a_revoked_key_s_sockets(
    world, database_url, tmp_path, store
):
    account_id, admin = await world.account()
    key_id, key = await api_key(admin, "READ_ONLY")
    await rate_limits.set_budget(account_id, 5)
    env = {
        "JETO_DATABASE_URL": database_url,
        "JETO_WORKER": "off",
        "JETO_RATE_LIMIT_STORE": store,
        "JETO_RATE_LIMIT_WINDOW_SECONDS": "86400",
        "JETO_RATE_LIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}:",  # never another run's counters
    }
    if store.startswith("redis"):
        env["JETO_BROADCAST_URL"] = store
    with (
        running_jeto(
            tmp_path, "serve", "--port", "0", env={**env, "JETO_HEALTH_FILE": str(tmp_path / "a")}, name="a"
        ) as a,
        running_jeto(
            tmp_path, "serve", "--port", "0", env={**env, "JETO_HEALTH_FILE": str(tmp_path / "b")}, name="b"
        ) as b,
    ):
        urls = [
            wait_for_file(tmp_path / name, process).removesuffix("/healthz") for name, process in (("a", a), ("b", b))
        ]
        answers = []
        async with httpx.AsyncClient(timeout=20) as http:
            for n in range(8):  # in turn: each process sees the other's charges
                response = await http.post(
                    f"{urls[n % 2]}/graphql",
                    json={"query": RATE_LIMIT},
                    headers={"authorization": f"Bearer {key.token}"},
                )
                answers.append((response.status_code, response.headers.get("x-ratelimit-remaining")))
            assert answers == [(200, "4"), (200, "3"), (200, "2"), (200, "1"), (200, "0")] + [(429, "0")] * 3

            if store.startswith("redis"):  # a bus both processes share: revoked on b, closed on a
                fresh_id, fresh = await api_key(admin, "READ_ONLY", name="Fresh")
                async with connect(
                    f"{urls[0].replace('http', 'ws', 1)}/graphql", subprotocols=["graphql-transport-ws"]
                ) as ws:
                    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {fresh.token}"}}
                    await ws.send(json.dumps(init))
                    assert json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] == "connection_ack"
                    revoked = await http.post(
                        f"{urls[1]}/graphql",
                        json={"query": REVOKE_API_KEY, "variables": {"id": fresh_id}},
                        headers={"authorization": f"Bearer {admin.token}"},
                    )
                    assert revoked.json()["data"]["revokeApiKey"]["userErrors"] == [], revoked.text
                    with pytest.raises(ConnectionClosed) as closed:
                        await asyncio.wait_for(ws.recv(), 20)
                    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "The API key was revoked.")
        for process in (a, b):
            assert key.token not in process.logs() and key.token not in process.output()
