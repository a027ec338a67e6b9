"""The two long-running processes: `jeto serve` (the API, with the worker unless told otherwise) and `jeto worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

import uvloop
from tortoise import Tortoise

from jeto import database, healthcheck, http_server
from jeto import demo as demo_account
from jeto.app import DemoAccess, create_app
from jeto.auth import issue_development_token
from jeto.probes import create_probe_app
from jeto.services import BackgroundWork, open_services
from jeto.settings import Settings
from marketo.simulator import SimulatorConfig, create_simulator, running_simulator
from resolvers.ids import encode_id

log = logging.getLogger("jeto.processes")

DEMO_TOKEN_HOURS = 12


def _stop_on_signals() -> asyncio.Event:
    """Set by SIGTERM or SIGINT: the command then stops in order and exits 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def run(main: Coroutine[Any, Any, None]) -> None:
    """The long-running commands on uvloop, as uvicorn runs by default (uvicorn[standard] brings it): its
    event loop and transports cost about half of asyncio's own per request."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


async def serve(settings: Settings, host: str, port: int, *, demo: bool = False, demo_latency: float = 0.0) -> None:
    """`jeto serve`: the API (and, unless JETO_WORKER=off, the worker) until SIGINT or SIGTERM. With `demo`, the
    simulated Marketo answers each call in `demo_latency` seconds once serving (seeding runs without it).

    Every start-up check comes before serving: the port, the database, the settings, the event bus.
    """
    with contextlib.ExitStack() as sockets:
        sock = sockets.enter_context(http_server.listening_socket(host, port))
        metrics_sock = None
        if settings.metrics_port is not None:
            metrics_sock = sockets.enter_context(http_server.listening_socket(host, settings.metrics_port))
        url = http_server.local_url(sock)
        async with contextlib.AsyncExitStack() as stack:
            if demo:
                await stack.enter_async_context(demo_account.only_demo_of_its_database(settings.database_url, url))
            await database.migrate(settings.database_url)
            services = await stack.enter_async_context(open_services(settings))
            access, banner = None, ""
            if demo:
                simulator = create_simulator(SimulatorConfig(instances=2, folders=12, programs=60))
                with _quiet("uvicorn.error"):  # the simulator's server: one "Started server process" is enough
                    simulator_url = await stack.enter_async_context(running_simulator(simulator))
                seeded = await demo_account.seed(settings, services, simulator.endpoints(simulator_url))
                for instance in simulator.instances.values():
                    instance.faults.latency = demo_latency
                access = DemoAccess(integration_id=encode_id("PlatformIntegration", seeded.integration_id))
                banner = _demo_banner(settings, host, url, simulator_url, seeded, demo_latency)

            def started() -> None:
                healthcheck.record(settings.health_file, url)
                log.info("serving %s/graphql", url)
                if banner:
                    print(banner, flush=True)

            app = create_app(settings, demo=access, services=services)
            # SIGTERM or SIGINT: uvicorn stops serving, then the app's lifespan stops its worker in order
            # (jobs handed back, leases released) before the database closes; the command exits 0.
            server = http_server.make_server(app, own_signals=False, ws_max_size=settings.max_websocket_message_bytes)
            stop = _stop_on_signals()
            stopping = asyncio.ensure_future(_exit_on(stop, server))
            if metrics_sock is not None:
                await stack.enter_async_context(_probes_on(metrics_sock, settings, services, app.state.documents))
            try:
                await http_server.serve(server, sock, on_started=started)
            finally:
                stopping.cancel()
                healthcheck.forget(settings.health_file)


async def _exit_on(stop: asyncio.Event, server: Any) -> None:
    await stop.wait()
    server.should_exit = True


@contextlib.asynccontextmanager
async def _probes_on(sock: Any, settings: Settings, services: Any, documents: Any) -> AsyncIterator[None]:
    """/healthz, /readyz and /metrics on JETO_METRICS_PORT beside the API, for as long as it serves."""
    probe_app = create_probe_app(settings, services, documents=documents)
    server = http_server.make_server(probe_app, own_signals=False, lifespan="off")
    serving = asyncio.ensure_future(http_server.serve(server, sock))
    log.info("metrics at %s/metrics", http_server.local_url(sock))
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _demo_banner(settings: Settings, host: str, url: str, simulator_url: str, seeded: Any, latency: float) -> str:
    """The last thing the demo prints as it starts: where to go, signed in as whom."""
    admin = issue_development_token(settings, seeded.admin_email, DEMO_TOKEN_HOURS * 3600)
    collaborator = issue_development_token(settings, seeded.collaborator_email, DEMO_TOKEN_HOURS * 3600)
    everywhere = host in http_server.ANY_ADDRESS
    return "\n".join(
        [
            "",
            "Jeto demo is ready. These addresses carry a token for "
            f"{DEMO_TOKEN_HOURS} h in their fragment: keep them to yourself.",
            f"  GraphiQL, as the admin ({seeded.admin_email}):",
            f"    {url}/graphql#token={admin}",
            "  The live status of the Marketo instances: open it beside GraphiQL, then run the Sync tab:",
            f"    {url}/status#token={admin}",
            f"  GraphiQL, as the collaborator ({seeded.collaborator_email}), who sees only the launcher granted to them:",
            f"    {url}/graphql#token={collaborator}",
            *(
                ["  (listening on every interface: from another machine, use this machine's address)"]
                if everywhere
                else []
            ),
            f"Admin header for other clients: Authorization: Bearer {admin}",
            f"Simulated Marketo at {simulator_url}, answering each call in {latency:g} s (--demo-latency).",
            "",
        ]
    )


async def work(settings: Settings, host: str, port: int | None) -> None:
    """`jeto worker`: the Marketo worker and the mailer, with /healthz, /readyz and /metrics on their own port."""
    port = settings.worker_metrics_port if port is None else port
    with http_server.listening_socket(host, port) as sock:
        await database.migrate(settings.database_url)
        await Tortoise.init(config=database.tortoise_config(settings.database_url))
        try:
            async with open_services(settings) as services:
                url = http_server.local_url(sock)
                server = http_server.make_server(
                    create_probe_app(settings, services), own_signals=False, lifespan="off"
                )

                def started() -> None:
                    healthcheck.record(settings.health_file, url)
                    log.info("worker probes at %s/healthz, /readyz and /metrics", url)

                probes = asyncio.ensure_future(http_server.serve(server, sock, on_started=started))
                background = BackgroundWork(settings, services).start()
                stop = _stop_on_signals()
                try:
                    waits = {probes, asyncio.ensure_future(stop.wait()), asyncio.ensure_future(background.ended())}
                    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    for waiting in pending - {probes}:
                        waiting.cancel()
                finally:
                    # In order: the jobs handed back and the leases released, then the probes, then the database.
                    await background.stop()
                    server.should_exit = True
                    await asyncio.gather(probes, return_exceptions=True)
                for finished in done:
                    finished.result()  # a probe server or a worker that failed says so
        finally:
            healthcheck.forget(settings.health_file)
            await database.close_connections()
