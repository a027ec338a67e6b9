"""Stopping work without cancelling a task inside a database transaction.

A task cancelled while Tortoise opens a transaction on SQLite leaves the connection's lock taken for
good: every later transaction of the process waits forever. So work stops at checkpoints (between jobs,
between pages of a listing) when its lease is lost or the process stops, and a task that must be
cancelled all the same (a Marketo call that would outlast the stop) is cancelled only once it is out of
the transactions it opened within `transaction_section`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

_depth: dict[asyncio.Task[object], int] = {}  # tasks inside transaction sections, and how deep
_deferred: set[asyncio.Task[object]] = set()  # cancelled once they leave them


class Stopping(Exception):
    """The worker is stopping: the job is handed back as it is, for the next worker."""


class StopSignal:
    """Asks the work on one integration to stop at its next checkpoint, and says why."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self._reason: Exception | None = None

    def request(self, reason: Exception) -> None:
        """The first reason stays: a lease lost before the stop is still lost."""
        if self._reason is None:
            self._reason = reason
        self.requested.set()

    @property
    def reason(self) -> Exception | None:
        return self._reason

    def check(self) -> None:
        """A checkpoint: raises the reason to stop, if there is one."""
        if self._reason is not None:
            raise self._reason


@contextlib.asynccontextmanager
async def transaction_section() -> AsyncIterator[None]:
    """Wrap each transaction a task of the worker opens: `cancel_outside_transactions` waits for its end."""
    task = asyncio.current_task()
    assert task is not None
    _depth[task] = _depth.get(task, 0) + 1
    try:
        yield
    finally:
        _depth[task] -= 1
        if not _depth[task]:
            del _depth[task]
            if task in _deferred:
                _deferred.discard(task)
                # Not task.cancel() now: that would land at the task's next await, which may be inside the next
                # transaction it opens. Once it is suspended, it is cancelled there if outside any transaction.
                asyncio.get_running_loop().call_soon(cancel_outside_transactions, task)


def cancel_outside_transactions(task: asyncio.Task[object]) -> None:
    """Cancels `task` now, or as soon as it leaves the transaction it is in."""
    if task in _depth:
        _deferred.add(task)
    else:
        task.cancel()
