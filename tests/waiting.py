"""Waiting for what another task does: a synchronisation point polled until it holds, not an assertion."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def wait_until(condition: Callable[[], bool | Awaitable[bool]], seconds: float = 10.0) -> None:
    """Returns once `condition()` (plain or awaitable) is true; a TimeoutError after `seconds` otherwise."""
    async with asyncio.timeout(seconds):
        while True:
            met = condition()
            if inspect.isawaitable(met):
                met = await met
            if met:
                return
            await asyncio.sleep(0.005)
