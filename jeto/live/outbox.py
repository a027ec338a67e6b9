"""What one socket has yet to send, in order; sent at once while the socket takes it, by a task only when not.

A socket whose reader keeps up takes each message at once: it is written synchronously, by whoever put it
(a subscription group delivering one change to ten thousand sockets creates no task for any). Only a send
that has to wait (the reader is behind and the transport paused) goes on in a task, which then sends what
was queued meanwhile. A reader that falls behind is held at most `OutboxLimits.bytes`: past that, what is
held is compacted to the latest message per subject (a status is a snapshot, so the newest one tells
everything the skipped ones did, and an older one is never sent after a newer one). A reader that takes no
message for `OutboxLimits.stuck_seconds` is cast off: it is sent nothing more but a close frame (1013, "try
again later"), which it reads after what it was sent already, if it ever reads again; it then reconnects and
is sent the current state. Either way a slow reader costs the server a bounded amount of memory and delays
no one else.
"""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import Callable, Coroutine, Generator, Hashable
from dataclasses import dataclass
from typing import Any, cast

from starlette.types import Message, Send

from jeto.live.protocols import NORMAL, TRY_AGAIN_LATER, reason_of
from jeto.observability import CAST_OFF_SOCKETS

log = logging.getLogger("jeto.live")

CAST_OFF_REASON = "The client read too slowly: reconnect to be sent the current state."


@dataclass(frozen=True)
class OutboxLimits:
    bytes: int = 64 * 1024  # held for one socket before compacting to the latest message per subject
    stuck_seconds: float = 30.0  # one message not taken by the reader for this long: it is cast off


class Outbox:
    __slots__ = ("_send", "_limits", "_items", "_bytes", "_waiting", "_closing", "_closed", "_done", "_on_cast_off")

    def __init__(self, send: Send, limits: OutboxLimits, on_cast_off: Callable[[], None]) -> None:
        self._send = send
        self._limits = limits
        self._items: list[tuple[Hashable | None, str]] = []  # a list: a socket's is almost always empty
        self._bytes = 0
        self._waiting: asyncio.Task[None] | None = None  # a send the socket did not take at once
        self._closing: tuple[int, str] | None = None
        self._closed: asyncio.Future[None] | None = None  # done once the close frame is sent (or the client gone)
        self._done = False  # the close frame is sent, or the client is gone: nothing more to send
        self._on_cast_off = on_cast_off  # the socket stops its operations: it is sent nothing more

    @property
    def closing(self) -> bool:
        return self._closing is not None

    def put(self, text: str, subject: Hashable | None = None) -> None:
        """Queues a message and sends what the socket takes now; one with a subject may be dropped for a newer
        one of the same subject."""
        if self._closing is not None:
            return
        self._items.append((subject, text))
        self._bytes += len(text)
        if self._bytes > self._limits.bytes:
            self._compact()
        self._pump()

    async def close(self, code: int, reason: str = "") -> None:
        """Sends what is queued, then the close frame; returns once it is sent (or the client is gone)."""
        if self._done:
            return
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
        self.close_soon(code, reason)
        await self._closed

    def close_soon(self, code: int, reason: str = "") -> None:
        """Sends what is queued, then the close frame, without waiting for either."""
        if self._closing is None:
            self._closing = (code, reason_of(reason))
            self._pump()

    def discard(self) -> None:
        """The client is gone: nothing more is sent."""
        self._closing = self._closing or (NORMAL, "")
        self._items.clear()
        if self._waiting is not None:
            self._waiting.cancel()
        self._close_done()

    def _compact(self) -> None:
        """The latest message per subject, in the order they were queued; messages without a subject stay."""
        kept: list[tuple[Hashable | None, str]] = []
        seen: set[Hashable] = set()
        for subject, text in reversed(self._items):
            if subject is None or subject not in seen:
                kept.append((subject, text))
                if subject is not None:
                    seen.add(subject)
        kept.reverse()
        self._items = kept
        self._bytes = sum(len(text) for _, text in kept)
        if self._bytes > self._limits.bytes:  # nothing left to compact: the reader cannot keep up at all
            self._cast_off()

    def _cast_off(self) -> None:
        CAST_OFF_SOCKETS.inc()
        self._items.clear()
        self._bytes = 0
        self._closing = (TRY_AGAIN_LATER, CAST_OFF_REASON)
        self._on_cast_off()

    def _pump(self) -> None:
        """Sends while the socket takes each message at once; hands the first that must wait to a task."""
        while self._waiting is None and not self._done:
            if self._items:
                _, text = self._items.pop(0)
                self._bytes -= len(text)
                message: Message = {"type": "websocket.send", "text": text}
            elif self._closing is not None:
                code, reason = self._closing
                message = {"type": "websocket.close", "code": code, "reason": reason}
            else:
                return
            sending = cast(Coroutine[Any, Any, None], self._send(message))  # an ASGI server's send is async
            try:
                waits_for = sending.send(None)  # as far as it goes without waiting (Python 3.12's eager tasks)
            except StopIteration:
                if message["type"] == "websocket.close":
                    self._close_done()
                continue
            except (OSError, RuntimeError):  # uvicorn's ClientDisconnected, or a socket already closed: the
                self.discard()  # receiving side sees the disconnect and cleans up
                return
            except Exception:  # never the business of whoever was delivering to every socket (a group)
                log.exception("a websocket send failed: nothing more is sent on it")
                self.discard()
                return
            self._waiting = asyncio.get_running_loop().create_task(self._finish(sending, waits_for, message))

    async def _finish(self, sending: Coroutine[Any, Any, None], waits_for: Any, message: Message) -> None:
        try:
            async with asyncio.timeout(self._limits.stuck_seconds if message["type"] == "websocket.send" else None):
                await _resumed(sending, waits_for)
        except TimeoutError:
            log.info("cast off a websocket whose reader took nothing for %ss", self._limits.stuck_seconds)
            self._cast_off()
        except (OSError, RuntimeError):
            self.discard()
            return
        finally:
            self._waiting = None
        if message["type"] == "websocket.close":
            self._close_done()
        self._pump()

    def _close_done(self) -> None:
        self._done = True
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)


@types.coroutine
def _resumed(coroutine: Coroutine[Any, Any, None], waits_for: Any) -> Generator[Any, Any, None]:
    """Drives a coroutine that was started by hand (`send(None)`) and stopped on `waits_for`, from the task
    that awaits this: what it waits for goes up to the task, what the task is woken with (or cancelled by)
    goes back down to it."""
    while True:
        try:
            woken = yield waits_for
        except BaseException as error:  # a cancellation: the coroutine gets it where it waits
            try:
                waits_for = coroutine.throw(error)
            except StopIteration:
                return
        else:
            try:
                waits_for = coroutine.send(woken)
            except StopIteration:
                return
