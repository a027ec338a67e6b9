"""The `jeto` command, run as a user runs it: a process, its output and its exit code."""

import os
import re
import subprocess
import sys

import jwt
import pytest

from jeto.settings import DEV_JWT_SECRET
from tests.conftest import free_port, wait_for_port


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "JETO_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}"}
    env.pop("JETO_JWT_SECRET", None)

    def jeto(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "jeto.cli", *args], env=env, capture_output=True, text=True, timeout=60)

    return jeto


def test_the_account_manager_commands(run):
    assert run("migrate").returncode == 0
    created = run("create-account", "Acme Corp", "--admin", "owner@acme.test")
    assert created.returncode == 0, created.stderr
    account_id = created.stdout.strip()
    assert account_id and " " not in account_id
    user = run("add-user", account_id, "helper@acme.test", "--role", "collaborator")
    assert user.returncode == 0 and user.stdout.strip()
    assert run("set-plan-limit", account_id, "--platform-integrations", "3").returncode == 0
    token = run("token", "owner@acme.test", "--ttl", "120")
    assert token.returncode == 0
    claims = jwt.decode(token.stdout.strip(), DEV_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "owner@acme.test" and claims["exp"] - claims["iat"] == 120


@pytest.mark.parametrize(
    "args",
    [
        ("add-user", "not-an-id", "x@acme.test", "--role", "admin"),
        ("create-account", "", "--admin", "owner@acme.test"),
        ("create-account", "Acme", "--admin", "not-an-email"),
        ("set-plan-limit", "1", "--platform-integrations", "0"),
        ("token", "nobody@acme.test"),
    ],
)
def test_errors_are_one_readable_line_without_a_traceback(run, args):
    assert run("migrate").returncode == 0
    result = run(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jeto: "), result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_account_with_the_same_admin_is_refused(run):
    run("migrate")
    assert run("create-account", "A", "--admin", "same@acme.test").returncode == 0
    again = run("create-account", "B", "--admin", "same@acme.test")
    assert again.returncode == 1 and "exists already" in again.stderr


def test_sync_wait_follows_the_sync_to_its_summary(run, tmp_path):
    """`jeto serve` (with its worker) syncs a simulated instance while `jeto sync --wait` shows it."""
    assert run("migrate").returncode == 0
    port = free_port()
    env = {**os.environ, "JETO_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}"}
    server = subprocess.Popen([sys.executable, "-m", "jeto.cli", "serve", "--demo", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        import sqlite3

        db = sqlite3.connect(tmp_path / "cli.sqlite3")
        pi_id = db.execute("SELECT id FROM platform_integration ORDER BY id LIMIT 1").fetchone()[0]
        result = run("sync", str(pi_id), "--wait", "--timeout", "60")
        assert result.returncode == 0, result.stderr
        assert "COMPLETED" in result.stdout
        summary = result.stdout.strip().splitlines()[-1]
        assert summary.startswith("Synced North America: ") and "programs" in summary
        # The integration's totals, even when this run (incremental after the demo's first) fetched nothing.
        assert re.search(r": [1-9][\d,]* folders and [1-9][\d,]* programs in ", summary), summary
        failed = run("sync", "999999")
        assert failed.returncode == 1 and failed.stderr.startswith("jeto: No platform integration")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_worker_alone_refuses_the_in_memory_bus(run):
    result = run("worker")
    assert result.returncode == 1
    assert result.stderr.startswith("jeto: JETO_BROADCAST_URL is memory://") and len(result.stderr.strip().splitlines()) == 1
