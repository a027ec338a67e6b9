from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from marketo import InstanceLimits, MarketoPool, RetryPolicy
from marketo.simulator import Simulator, SimulatorConfig, create_simulator, running_simulator

FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05)

StartSimulator = Callable[..., Awaitable[tuple[Simulator, str]]]


@pytest.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    """Start a simulator on a real local server (drops and timeouts need real sockets)."""
    async with AsyncExitStack() as stack:

        async def start(**config: Any) -> tuple[Simulator, str]:
            simulator = create_simulator(SimulatorConfig(**config))
            base_url = await stack.enter_async_context(running_simulator(simulator))
            return simulator, base_url

        yield start


@pytest.fixture
async def make_pool() -> AsyncIterator[Callable[..., MarketoPool]]:
    async with AsyncExitStack() as stack:

        def make(**options: Any) -> MarketoPool:
            options.setdefault("retry", FAST_RETRY)
            options.setdefault("limits", InstanceLimits(calls_per_window=50, window_seconds=20, max_in_flight=5))
            pool = MarketoPool(**options)
            stack.push_async_callback(pool.aclose)
            return pool

        yield make


@pytest.fixture
async def http(simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """Straight to the simulator's HTTP surface, in process: requests shaped by the test, as a client would."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator.app), base_url="http://sim") as client:
        yield client
