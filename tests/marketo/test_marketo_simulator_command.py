"""The command that runs the simulator as a server, and what it prints."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import socket

import httpx

from marketo.simulator import SimulatorConfig, create_simulator, running_simulator, serve_simulator
from marketo.simulator.command import add_arguments, config_from
from marketo.simulator.server import _bind


def test_arguments_cover_the_cli_options() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "9100",
            "--instances",
            "4",
            "--folders",
            "7",
            "--programs",
            "300",
            "--calls-per-window",
            "40",
            "--window-seconds",
            "2.5",
            "--max-concurrent",
            "3",
            "--token-ttl",
            "90",
            "--seed",
            "5",
            "--latency",
            "0.1",
            "--error-rates",
            '{"604": 0.1}',
            "--drop-after-rate",
            "0.2",
        ]
    )
    config = config_from(args)
    assert args.port == 9100
    assert config == SimulatorConfig(
        instances=4,
        folders=7,
        programs=300,
        calls_per_window=40,
        window_seconds=2.5,
        max_concurrent=3,
        token_ttl=90,
        seed=5,
        latency=0.1,
        error_rates={"604": 0.1},
        drop_after_rate=0.2,
    )


async def test_serve_simulator_prints_one_json_line_per_instance_and_serves_them() -> None:
    out = io.StringIO()
    server = asyncio.ensure_future(serve_simulator(SimulatorConfig(instances=2, programs=3), "127.0.0.1", 0, out=out))
    try:
        async with asyncio.timeout(5):
            while out.getvalue().count("\n") < 3:
                await asyncio.sleep(0.01)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        instances = [line for line in lines if "restEndpoint" in line]
        assert len(instances) == 2
        assert set(instances[0]) >= {"restEndpoint", "identityEndpoint", "clientId", "clientSecret"}
        async with httpx.AsyncClient() as http:
            token = await http.post(
                f"{instances[1]['identityEndpoint']}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": instances[1]["clientId"],
                    "client_secret": instances[1]["clientSecret"],
                },
            )
            assert token.json()["token_type"] == "bearer"
            stats = (await http.get(lines[-1]["adminStats"])).json()
        assert stats["100-AAB-002"]["identityCalls"] == 1 and stats["100-AAA-001"]["identityCalls"] == 0
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def logging_state() -> list[tuple[str, list[logging.Handler], int, bool, bool]]:
    return [
        (name, list(log.handlers), log.level, log.propagate, log.disabled)
        for name, log in ((name, logging.getLogger(name)) for name in LOGGERS)
    ]


async def test_running_the_simulator_leaves_the_process_s_logging_alone() -> None:
    """Inside `jeto serve --demo` the simulator shares the process with the API and its JSON logs."""
    access_lines: list[logging.LogRecord] = []
    api_access_log = logging.Handler()
    api_access_log.emit = access_lines.append  # type: ignore[method-assign]
    logging.getLogger("uvicorn.access").addHandler(api_access_log)
    before = logging_state()
    try:
        async with running_simulator(create_simulator(SimulatorConfig(programs=3))) as base_url:
            async with httpx.AsyncClient() as http:
                assert (await http.get(f"{base_url}/_admin/stats")).status_code == 200
            assert logging_state() == before
        assert logging_state() == before
        assert access_lines == []  # the simulator's own requests stay out of the API's access log
    finally:
        for name, handlers, level, propagate, disabled in before:
            log = logging.getLogger(name)
            log.handlers[:] = handlers
            log.setLevel(level)
            log.propagate, log.disabled = propagate, disabled
        logging.getLogger("uvicorn.access").removeHandler(api_access_log)


async def test_the_server_s_connections_send_small_answers_without_waiting_for_an_ack() -> None:
    """With Nagle on, an answer's small body waited ~40 ms for the client's delayed ACK."""
    sock = _bind("127.0.0.1", 0)
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nodelay.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)  # as uvicorn serves the socket
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname())
        assert await asyncio.wait_for(nodelay, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
