"""Every request runs within sizes the operator sets (and the README documents): an HTTP body or a GET's query
string, a document, a websocket message; and the cache of parsed documents stays within its bytes."""

from __future__ import annotations

import dataclasses
import re

import pytest

from jeto.settings import Settings
from schema.documents import DocumentLimits
from tests.api.websocket import close_of, socket

GAUGES = ("jeto_document_cache_bytes", "jeto_document_cache_entries")
LIMITS = DocumentLimits(length=4_000, cache_entries=50, cache_bytes=400_000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, max_body_bytes=8_000, max_websocket_message_bytes=8_000, document_limits=LIMITS
    )


def auth(caller) -> dict[str, str]:
    return {"authorization": f"Bearer {caller.token}"}


async def test_a_body_over_the_limit_is_refused_from_its_declared_length(world):
    _, admin = await world.account()
    response = await admin.post("{ viewer { id } }" + " " * 9_000)
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == "The request body may be at most 8,000 bytes."


async def test_a_body_sent_in_chunks_without_a_length_is_cut_at_the_limit(world):
    _, admin = await world.account()
    chunks_sent = 0

    async def chunks():
        nonlocal chunks_sent
        yield b'{"query": "{ viewer { id } }'
        for _ in range(100):
            chunks_sent += 1
            yield b" " * 1_000

    headers = {**auth(admin), "content-type": "application/json"}
    response = await world.http.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413 and "8,000 bytes" in response.text
    assert chunks_sent < 100  # refused while the body was still coming


async def test_a_get_whose_query_string_is_over_the_limit_is_refused(world):
    _, admin = await world.account()
    response = await world.http.get(
        "/graphql", params={"query": "{ viewer { id } }" + " " * 9_000}, headers=auth(admin)
    )
    assert response.status_code == 414 and "POST" in response.json()["errors"][0]["message"]


async def test_a_document_over_its_length_is_refused_without_being_parsed(world):
    _, admin = await world.account()
    document = "{ viewer { id } }" + "#" * 5_000  # a comment: no token, but length
    response = await admin.post(document)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("The document is 5,017 characters long; at most 4,000")
    async with socket(world.app, admin.token, ack=True) as ws:
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": document}})
        error = await ws.receive_json(timeout=5)
    assert error["type"] == "error" and "at most 4,000" in error["payload"][0]["message"]


async def test_a_websocket_message_over_the_limit_closes_with_1009(world):
    _, admin = await world.account()
    async with socket(world.app, admin.token, ack=True) as ws:
        big = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": "{ viewer { id } }", "variables": {"x": "y" * 9_000}},
        }
        await ws.send_json(big)
        code, reason = await close_of(ws)
    assert code == 1009 and "8,000 bytes" in reason


async def test_the_document_cache_is_bounded_by_bytes_as_well_as_entries(world):
    async def cache() -> tuple[float, float]:
        metrics = await world.metrics()
        return tuple(float(re.search(rf"^{name} (\S+)$", metrics, re.M)[1]) for name in GAUGES)

    _, admin = await world.account()
    for n in range(40):  # each about 2,100 characters and 200 tokens (110 kB): more than the cache's bytes may keep
        response = await admin.post(f"query Q{n} {{ viewer {{" + " id" * 200 + " } }" + " " * 1_500)
        assert response.status_code == 200
        size, entries = await cache()
        assert 0 < size <= LIMITS.cache_bytes and entries <= LIMITS.cache_entries
    assert entries < 40 and entries < LIMITS.cache_entries  # dropped for their bytes, not their number
