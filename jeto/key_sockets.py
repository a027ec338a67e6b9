"""A websocket signed in with an API key closes when the key is revoked, on whichever API process that happens,
or when it expires.

Each such socket follows its account's channel on the event bus: a revocation is published there after its
commit (Services.api_key_revoked), and every process closes its sockets of that key. After the bus reconnected
(events of the outage are lost) the key is read again. The watch is a task of the socket's, started when the
socket signs in and cancelled when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from domain import api_keys, events
from domain.viewer import Viewer
from jeto.bus import RESYNC
from resolvers import sql

log = logging.getLogger("jeto.key_sockets")

CLOSED = 4403  # as a websocket whose connection_init carries no valid token
_TASK = "jeto.key_watch"  # where the socket's scope keeps its watch


async def _refusal_now(key_id: int) -> str | None:
    found = await sql.rows("SELECT revoked_at, expires_at FROM api_key WHERE id = ?", [key_id])
    if not found:
        return "The API key no longer exists."
    return api_keys.refusal(sql.when(found[0][0]), sql.when(found[0][1]), datetime.now(UTC))


async def _until_refused(subscriber: Any, key_id: int) -> str:
    async for event in subscriber:
        if event.message != RESYNC:
            decoded = events.Event.decode(event.message)
            if decoded is None or decoded.kind != events.API_KEY_REVOKED or decoded.id != key_id:
                continue
        reason = await _refusal_now(key_id)
        if reason is not None:
            return reason
    return "The server is closing."  # the bus ended: the process is stopping


async def _until_expired(subscriber: Any, key_id: int, expires_at: datetime | None) -> str:
    deadline = asyncio.timeout((expires_at - datetime.now(UTC)).total_seconds() if expires_at is not None else None)
    try:
        async with deadline:
            return await _until_refused(subscriber, key_id)
    except TimeoutError:
        if deadline.expired():
            return "The API key has expired."
        raise


async def _watch(websocket: Any, broadcast: Any, viewer: Viewer, expires_at: datetime | None) -> None:
    assert viewer.api_key_id is not None
    async with broadcast.subscribe(events.account_channel(viewer.account_id)) as subscriber:
        # Revoked between signing in and following the channel: that event was missed.
        reason = await _refusal_now(viewer.api_key_id) or await _until_expired(
            subscriber, viewer.api_key_id, expires_at
        )
    log.info("closing a websocket of API key %s: %s", viewer.api_key_id, reason)
    with contextlib.suppress(RuntimeError):  # closed meanwhile by its client
        await websocket.close(code=CLOSED, reason=reason)


def watch(websocket: Any, broadcast: Any, viewer: Viewer, expires_at: datetime | None) -> None:
    """Closes the socket when its key is revoked or expires; `stop` ends the watch with the socket."""
    stop(websocket.scope)  # signed in again (graphql-ws lets a client send connection_init twice): one watch
    task = asyncio.create_task(_watch(websocket, broadcast, viewer, expires_at))
    task.add_done_callback(_log_failure)
    websocket.scope.setdefault("state", {})[_TASK] = task


def stop(scope: Any) -> None:
    task = scope.get("state", {}).pop(_TASK, None)
    if task is not None:
        task.cancel()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("the watch of an API key's websocket failed: %s", type(task.exception()).__name__)
