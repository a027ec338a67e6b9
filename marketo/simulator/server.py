"""Running the simulator on a real HTTP server: as a command, or inside a test or benchmark."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .app import Simulator, create_simulator
from .config import SimulatorConfig

# The simulator's own log: its server errors (injected dropped connections among them) go here.
LOGGER = logging.getLogger("marketo.simulator")


class _SimulatorProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """Uvicorn's HTTP protocol, minus access lines and with errors on the simulator's logger.

    uvicorn's own switches for that (log_level, access_log=False, its default log_config) act on the
    process-wide "uvicorn.*" loggers, which inside `jeto serve --demo` belong to the API server.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False
        self.logger = LOGGER


def _server(simulator: Simulator) -> uvicorn.Server:
    config = uvicorn.Config(
        simulator.app,
        lifespan="off",
        ws="none",
        http=_SimulatorProtocol,
        log_config=None,  # the process's logging, whatever it is, stays as it is
        log_level=None,
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio turns Nagle off only on connections of such a socket, and with
    # Nagle on every small answer waited ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def running_simulator(
    simulator: Simulator, host: str = "127.0.0.1", port: int = 0, log_level: str = "critical"
) -> AsyncIterator[str]:
    """Serve ``simulator`` in this event loop on a real socket; yields the base URL."""
    LOGGER.setLevel(log_level.upper())
    sock = _bind(host, port)
    server = _server(simulator)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def serve_simulator(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8800, out: TextIO = sys.stdout
) -> None:
    """Serve until cancelled, after printing each instance's connection details as a JSON line."""
    simulator = create_simulator(config)
    async with running_simulator(simulator, host, port, log_level="warning") as base_url:
        for endpoint in simulator.endpoints(base_url):
            print(json.dumps(endpoint), file=out, flush=True)
        print(json.dumps({"adminStats": f"{base_url}/_admin/stats"}), file=out, flush=True)
        await asyncio.Event().wait()
