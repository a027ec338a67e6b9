"""Every kind of process can be probed: `jeto worker` serves /healthz, /readyz and /metrics (its Marketo
metrics exist nowhere else), and `jeto healthcheck` (the Docker health check) finds whichever process runs."""

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jeto import database
from tests.jeto_process import add_integration, running_jeto, running_simulator_process


def healthcheck(health_file: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JETO_HEALTH_FILE": str(health_file)}
    return subprocess.run(
        [sys.executable, "-m", "jeto.cli", "healthcheck", *args], env=env, capture_output=True, text=True, timeout=30
    )


def wait_for_file(path: Path, process, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        assert process.process.poll() is None, process.logs()[-3000:]
        time.sleep(0.1)
    raise TimeoutError(f"{path} was never written")


def test_the_worker_serves_its_probes_and_its_marketo_metrics(tmp_path, bus_url):
    database_url = f"sqlite://{tmp_path / 'jeto.sqlite3'}"
    asyncio.run(database.migrate(database_url))
    health_file = tmp_path / "health"
    with running_simulator_process(tmp_path, "--instances", "1", "--folders", "3", "--programs", "5") as instances:
        add_integration(database_url, instances[0], "worker-test-key")  # its first sync is queued
        env = {
            "JETO_DATABASE_URL": database_url,
            "JETO_BROADCAST_URL": bus_url,
            "JETO_SECRET_KEY": "worker-test-key",
            "JETO_MARKETO_ALLOWED_HOSTS": "127.0.0.1",
            "JETO_HEALTH_FILE": str(health_file),
        }
        with running_jeto(tmp_path, "worker", "--port", "0", env=env, name="worker") as worker:
            health_url = wait_for_file(health_file, worker)
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/healthz", health_url) and not health_url.endswith(
                ":0/healthz"
            )
            base_url = health_url.removesuffix("/healthz")
            checked = healthcheck(health_file)
            assert checked.returncode == 0 and checked.stdout.strip() == f"ok: {health_url}"
            assert httpx.get(f"{base_url}/readyz", timeout=5).json() == {
                "ready": True,
                "database": "ok",
                "broadcast": "ok",
            }
            deadline = time.monotonic() + 60
            while not re.search(
                r'^jeto_marketo_calls_total\{integration="\d+",outcome="ok"\} [1-9]',
                metrics := httpx.get(f"{base_url}/metrics", timeout=5).text,
                re.MULTILINE,
            ):
                assert time.monotonic() < deadline, metrics
                time.sleep(0.2)
            assert 'jeto_jobs{kind="SYNC",state="DONE"} 1.0' in metrics
        assert worker.process.returncode == 0  # SIGTERM: leases released, a clean exit
    gone = healthcheck(health_file)  # the worker took its address with it
    assert gone.returncode == 1 and gone.stderr.startswith("jeto: ") and len(gone.stderr.strip().splitlines()) == 1


def test_the_worker_refuses_a_port_in_use(tmp_path, bus_url):
    env = {**os.environ, "JETO_DATABASE_URL": f"sqlite://{tmp_path / 'jeto.sqlite3'}", "JETO_BROADCAST_URL": bus_url}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env["JETO_WORKER_METRICS_PORT"] = str(port)
        result = subprocess.run(
            [sys.executable, "-m", "jeto.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"jeto: port {port} of 127.0.0.1 is in use; stop what holds it or choose another --port"
    )


def test_healthcheck_follows_serve_on_any_port(tmp_path):
    health_file = tmp_path / "health"
    env = {"JETO_DATABASE_URL": f"sqlite://{tmp_path / 'jeto.sqlite3'}", "JETO_HEALTH_FILE": str(health_file)}
    with running_jeto(tmp_path, "serve", "--port", "0", env=env, name="serve") as serve:
        health_url = wait_for_file(health_file, serve)
        checked = healthcheck(health_file)
        assert checked.returncode == 0 and checked.stdout.strip() == f"ok: {health_url}"
    refused = healthcheck(health_file, "--url", health_url)  # the server is gone
    assert refused.returncode == 1 and "does not answer" in refused.stderr


def test_serve_puts_its_metrics_on_the_port_the_operator_chose(tmp_path):
    from tests.conftest import free_port

    health_file, metrics_port = tmp_path / "health", free_port()
    env = {
        "JETO_DATABASE_URL": f"sqlite://{tmp_path / 'jeto.sqlite3'}",
        "JETO_HEALTH_FILE": str(health_file),
        "JETO_METRICS_PORT": str(metrics_port),
    }
    with running_jeto(tmp_path, "serve", "--port", "0", env=env, name="serve") as serve:
        api_url = wait_for_file(health_file, serve).removesuffix("/healthz")
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert metrics.status_code == 200 and "jeto_graphql_requests_total" in metrics.text
        assert "jeto_document_cache_bytes" in metrics.text  # the API's own figures, not only the process's
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=5).json()["ready"] is True
        assert httpx.get(f"{api_url}/metrics", timeout=5).status_code == 404  # not on the API's port
