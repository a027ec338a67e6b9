"""Websockets signed in with an API key close (4403) when the key is revoked, on whichever process that is
committed, or when it expires.

One watch per process, not one per socket: the sockets of each key are registered here. For each account that
has some, one task follows its channel on the event bus, where a revocation is announced once committed
(domain.changes.api_key_revoked); each socket's expiry is a timer of the event loop. After the bus reconnected
(the events of the outage are lost) the account's keys are read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from domain import api_keys, events
from domain.viewer import Viewer
from jeto.bus import RESYNC, Bus
from resolvers import sql

log = logging.getLogger("jeto.live")

CLOSED = 4403  # as a websocket whose connection_init carries no valid token


class Closable(Protocol):
    def close_soon(self, code: int, reason: str) -> None: ...


@dataclass
class _Account:
    keys: dict[int, set[Closable]] = field(default_factory=dict)  # key id: its open sockets
    follower: asyncio.Task[None] | None = None


async def refusal_now(key_id: int) -> str | None:
    """Why the key may not be used now (revoked, expired, gone), or None."""
    found = await sql.rows("SELECT revoked_at, expires_at FROM api_key WHERE id = ?", [key_id])
    if not found:
        return "The API key no longer exists."
    return api_keys.refusal(sql.when(found[0][0]), sql.when(found[0][1]), datetime.now(UTC))


class KeySockets:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._accounts: dict[int, _Account] = {}

    def watch(self, socket: Closable, viewer: Viewer, expires_at: datetime | None) -> Callable[[], None]:
        """Closes the socket when its key is revoked or expires; returns what ends the watch with the socket."""
        key_id = viewer.api_key_id
        assert key_id is not None
        account = self._accounts.setdefault(viewer.account_id, _Account())
        account.keys.setdefault(key_id, set()).add(socket)
        if account.follower is None:
            account.follower = asyncio.get_running_loop().create_task(self._follow(viewer.account_id, account))
        expiry = None
        if expires_at is not None:
            delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
            expiry = asyncio.get_running_loop().call_later(delay, socket.close_soon, CLOSED, "The API key has expired.")

        def unwatch() -> None:
            if expiry is not None:
                expiry.cancel()
            sockets = account.keys.get(key_id, set())
            sockets.discard(socket)
            if not sockets:
                account.keys.pop(key_id, None)
            if not account.keys and self._accounts.get(viewer.account_id) is account:
                del self._accounts[viewer.account_id]
                if account.follower is not None:
                    account.follower.cancel()

        return unwatch

    async def _follow(self, account_id: int, account: _Account) -> None:
        try:
            async with self._bus.subscribe(events.account_channel(account_id)) as subscriber:
                await self._check(account, list(account.keys))  # revoked before the channel was followed
                async for event in subscriber:
                    if event.message == RESYNC:
                        await self._check(account, list(account.keys))
                        continue
                    decoded = events.Event.decode(event.message)
                    if decoded is not None and decoded.kind == events.API_KEY_REVOKED and decoded.id in account.keys:
                        await self._check(account, [decoded.id])
        except Exception as error:  # the sockets then close when the key is next read (at their next sign-in)
            log.warning("the API keys of account %s are no longer watched: %s", account_id, type(error).__name__)

    async def _check(self, account: _Account, key_ids: list[int]) -> None:
        for key_id in key_ids:
            reason = await refusal_now(key_id)
            if reason is not None:
                log.info("closing the websockets of API key %s: %s", key_id, reason)
                for socket in list(account.keys.get(key_id, ())):
                    with contextlib.suppress(Exception):
                        socket.close_soon(CLOSED, reason)
