"""GraphQL over websockets as a client speaks it, both protocols, against the app in process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

PROTOCOLS = ("graphql-transport-ws", "graphql-ws")


@contextlib.asynccontextmanager
async def socket(
    app: Any, token: str | None, protocol: str = "graphql-transport-ws", *, ack: bool = False
) -> AsyncIterator[AsyncWebSocketSession]:
    """A socket that has sent `connection_init` with the token; with `ack`, the server's acknowledgement is
    read (and checked) too. Without it the test reads the answer itself (an ack, an error, a close)."""
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url="http://jeto.test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=[protocol]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            if ack:
                assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            yield ws


async def receive(ws: AsyncWebSocketSession, timeout: float = 5.0) -> dict[str, Any]:
    return await ws.receive_json(timeout=timeout)


async def next_payload(ws: AsyncWebSocketSession) -> dict[str, Any]:
    """The next operation result's data, skipping keep-alives."""
    while True:
        message = await receive(ws)
        if message["type"] in ("next", "data"):
            return message["payload"]["data"]
        assert message["type"] in ("ka", "pong"), message


async def run(ws: AsyncWebSocketSession, protocol: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Sends one operation; its messages up to and including the one that ends it."""
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    await ws.send_json({"id": "1", "type": start, "payload": payload})
    messages = []
    while True:
        message = await receive(ws)
        if message["type"] == "ka":
            continue
        messages.append(message)
        if message["type"] in ("complete", "error"):
            return messages


def errors_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for message in messages:
        if message["type"] == "error":
            payload = message["payload"]
            found += payload if isinstance(payload, list) else [payload]
        elif message["type"] in ("next", "data"):
            found += message["payload"].get("errors") or []
    return found


async def close_of(ws: AsyncWebSocketSession, timeout: float = 5.0) -> tuple[int, str]:
    """The code and reason the server closes the socket with; fails if a message comes first."""
    from httpx_ws import WebSocketDisconnect

    try:
        message = await ws.receive_text(timeout=timeout)
    except WebSocketDisconnect as closed:
        return closed.code, closed.reason or ""
    raise AssertionError(f"the server sent {message!r} instead of closing")
