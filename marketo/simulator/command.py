"""``jeto marketo-simulator``: a local Marketo with many instances, for development and demos."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from .config import SimulatorConfig
from .server import serve_simulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800, help="0 picks a free port")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--folders", type=int, default=20, help="marketing folders per instance")
    parser.add_argument("--programs", type=int, default=200, help="programs per instance")
    parser.add_argument("--calls-per-window", type=int, default=100)
    parser.add_argument("--window-seconds", type=float, default=20.0)
    parser.add_argument("--max-concurrent", type=int, default=10)
    parser.add_argument("--token-ttl", type=float, default=3600.0)
    parser.add_argument("--daily-quota", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every REST call")
    parser.add_argument(
        "--error-rates", type=json.loads, default={}, help='injected error codes, e.g. \'{"604": 0.05, "611": 0.01}\''
    )
    parser.add_argument("--http-502-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument(
        "--drop-after-rate", type=float, default=0.0, help="connections dropped after the call was carried out"
    )


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        instances=args.instances,
        folders=args.folders,
        programs=args.programs,
        calls_per_window=args.calls_per_window,
        window_seconds=args.window_seconds,
        max_concurrent=args.max_concurrent,
        token_ttl=args.token_ttl,
        daily_quota=args.daily_quota,
        seed=args.seed,
        latency=args.latency,
        error_rates=args.error_rates,
        http_502_rate=args.http_502_rate,
        drop_rate=args.drop_rate,
        drop_after_rate=args.drop_after_rate,
    )


def run(args: argparse.Namespace) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_simulator(config_from(args), args.host, args.port))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="marketo-simulator", description=__doc__)
    add_arguments(parser)
    run(parser.parse_args(argv))
