"""K Marketo instances paged in parallel through one MarketoPool, against the simulator.

    python bench/marketo_parallel.py [--instances 1 5 20] [--programs 16000] [--latency 0.2]
                                     [--token-ttl 3600] [--token-margin 5] [--priority interactive]

The simulator runs as its own process on 127.0.0.1 (a real uvicorn server on a free
port), so the client's wall time is not inflated by the server's CPU; statistics come
from its GET /_admin/stats. Limits are Marketo's (100 calls / 20 s, 10 concurrent) on
the server and the client's defaults (50 / 20 s, 5 in flight) on our side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from marketo import InstanceLimits, MarketoCredentials, MarketoPool, Priority  # noqa: E402
from marketo.tokens import DEFAULT_MARGIN  # noqa: E402


def start_simulator(
    instances: int, programs: int, latency: float, token_ttl: float
) -> tuple[subprocess.Popen, list[dict], str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [
        sys.executable,
        "-m",
        "marketo.simulator",
        "--port",
        "0",
        "--instances",
        str(instances),
        "--programs",
        str(programs),
        "--folders",
        "30",
        "--latency",
        str(latency),
        "--calls-per-window",
        "100",
        "--window-seconds",
        "20",
        "--max-concurrent",
        "10",
        "--token-ttl",
        str(token_ttl),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    endpoints, admin = [], ""
    assert process.stdout is not None
    for line in process.stdout:
        record = json.loads(line)
        if "adminStats" in record:
            admin = record["adminStats"]
            break
        endpoints.append(record)
    if not admin:
        raise RuntimeError("the simulator did not start")
    return process, endpoints, admin


def process_cpu(pid: int) -> float | None:
    """CPU seconds a process has used so far (Linux only): the simulator shares this machine's cores."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float | None:
    """CPU seconds all processes have used so far (Linux only), to tell how much other work took."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def lower_bound(calls: int, limits: InstanceLimits, latency: float, priority: Priority = Priority.INTERACTIVE) -> float:
    """The least wall time the client's limits (as they apply to ``priority``) and the latency allow
    for ``calls`` needed calls."""
    per_window, in_flight = limits.calls_for(priority), limits.in_flight_for(priority)
    windows = (calls - 1) // per_window
    in_last_window = calls - windows * per_window
    # The first page goes alone (it tells whether there are more); the rest go in_flight at a time.
    return windows * limits.window_seconds + latency + math.ceil((in_last_window - 1) / in_flight) * latency


async def run(
    k: int,
    programs: int,
    latency: float,
    token_ttl: float,
    token_margin: float = DEFAULT_MARGIN,
    priority: Priority = Priority.INTERACTIVE,
) -> dict:
    process, endpoints, admin = start_simulator(k, programs, latency, token_ttl)
    limits = InstanceLimits()
    try:
        async with MarketoPool(limits=limits, token_margin=token_margin) as pool:
            clients = [
                pool.client(
                    MarketoCredentials(e["restEndpoint"], e["identityEndpoint"], e["clientId"], e["clientSecret"]),
                    priority=priority,
                )
                for e in endpoints
            ]
            server_cpu_started, machine_cpu_started = process_cpu(process.pid), machine_cpu()
            started, cpu_started = time.perf_counter(), time.process_time()
            listings = await asyncio.gather(*(client.list_programs() for client in clients))
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            server_cpu_ended, machine_cpu_ended = process_cpu(process.pid), machine_cpu()
        async with httpx.AsyncClient() as http:
            stats = (await http.get(admin)).json()
    finally:
        process.terminate()
        process.wait(10)
    assert all(len(listing) == programs for listing in listings), "a listing is incomplete"
    per_instance = list(stats.values())
    calls = max(s["calls"] for s in per_instance)
    needed = programs // 200 + 1  # full pages, then the one that says there are no more
    server_cpu = None if server_cpu_ended is None else server_cpu_ended - (server_cpu_started or 0.0)
    machine = None if machine_cpu_ended is None else machine_cpu_ended - (machine_cpu_started or 0.0)
    return {
        "k": k,
        "wall": wall,
        "cpu": cpu,
        "server_cpu": server_cpu,
        # What the machine's other work took meanwhile: on shared cores it is CPU this run did not get.
        "other_cpu": None if machine is None or server_cpu is None else max(0.0, machine - cpu - server_cpu),
        "bound": lower_bound(needed, limits, latency, priority),
        "calls": calls,
        "identity": sorted({s["identityCalls"] for s in per_instance}),
        "tokens": sorted({s["tokensIssued"] for s in per_instance}),
        # One Identity call per token lifetime the run spans (the first token is new), and once the
        # run outlives a token, at most one more at a renewal's edge.
        "identity_bound": math.ceil(wall / token_ttl) + (1 if wall > token_ttl else 0),
        "rate_limited": sum(s["rateLimited606"] for s in per_instance),
        "concurrency_limited": sum(s["concurrencyLimited615"] for s in per_instance),
        "max_in_flight": max(s["maxInFlight"] for s in per_instance),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--programs", type=int, default=16_000, help="programs per instance (200 per page)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the simulator adds to each call")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime on the simulator")
    parser.add_argument(
        "--token-margin", type=float, default=DEFAULT_MARGIN, help="least life a token is handed out with"
    )
    parser.add_argument(
        "--priority",
        choices=[p.value for p in Priority],
        default=Priority.INTERACTIVE.value,
        help="bulk lists as a sync does: leaving the reserve of the window and one place in flight unused",
    )
    args = parser.parse_args()
    priority = Priority(args.priority)

    limits = InstanceLimits()
    print(
        f"each instance: {args.programs} programs, {args.latency:.2f} s latency per call; server limits "
        f"100 calls/20 s, 10 concurrent; client limits {limits.calls_per_window} calls/"
        f"{limits.window_seconds:.0f} s, {limits.max_in_flight} in flight ({priority.value} calls: "
        f"{limits.calls_for(priority)} and {limits.in_flight_for(priority)}); token lifetime {args.token_ttl:.0f} s, "
        f"margin {args.token_margin:g} s; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'K':>3} {'wall s':>7} {'bound s':>8} {'wall/bound':>10} {'client CPU s':>12} {'sim CPU s':>9} "
        f"{'other CPU s':>11} "
        f"{'calls/inst':>10} {'identity/inst':>13} {'tokens/inst':>11} {'identity bound':>14} {'606':>4} {'615':>4} "
        f"{'max in flight':>13}"
    )
    results = []
    for k in args.instances:
        result = asyncio.run(run(k, args.programs, args.latency, args.token_ttl, args.token_margin, priority))
        results.append(result)
        identity = "/".join(map(str, result["identity"]))
        tokens = "/".join(map(str, result["tokens"]))
        server_cpu = "n/a" if result["server_cpu"] is None else f"{result['server_cpu']:.2f}"
        other_cpu = "n/a" if result["other_cpu"] is None else f"{result['other_cpu']:.2f}"
        print(
            f"{k:>3} {result['wall']:>7.2f} {result['bound']:>8.2f} {result['wall'] / result['bound']:>10.2f} "
            f"{result['cpu']:>12.2f} {server_cpu:>9} {other_cpu:>11} {result['calls']:>10} {identity:>13} {tokens:>11} "
            f"{result['identity_bound']:>14} {result['rate_limited']:>4} {result['concurrency_limited']:>4} "
            f"{result['max_in_flight']:>13}",
            flush=True,
        )
    first, last = results[0], results[-1]
    ratio = last["wall"] / first["wall"]
    print(f"wall time K={last['k']} / K={first['k']}: {ratio:.2f}x; load average now {os.getloadavg()[0]:.2f}")
    ok = (
        ratio <= 1.3
        and all(r["rate_limited"] == 0 and r["concurrency_limited"] == 0 for r in results)
        and all(max(r["identity"]) <= r["identity_bound"] for r in results)
    )
    print("OK: within 1.3x, no 606/615, one identity call per instance per token lifetime" if ok else "NOT OK")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
