"""`jeto serve` and `jeto worker` run as real processes: started, waited for until they serve, and stopped."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

BANNER_URL = re.compile(r"^\s+(http://\S+)/graphql#token=(\S+)$", re.MULTILINE)


@dataclass
class JetoProcess:
    process: subprocess.Popen
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()

    def logs(self) -> str:
        return self.stderr.read_text()

    def wait_for_output(self, pattern: re.Pattern[str], timeout: float = 90) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.output())
            if found:
                return found
            assert self.process.poll() is None, f"jeto ended with {self.process.returncode}: {self.logs()[-3000:]}"
            time.sleep(0.1)
        raise TimeoutError(f"jeto printed nothing like {pattern.pattern}: {self.output()[-2000:]}")

    def wait_until_healthy(self, base_url: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    return
            assert self.process.poll() is None, f"jeto ended with {self.process.returncode}: {self.logs()[-3000:]}"
            time.sleep(0.1)
        raise TimeoutError(f"{base_url}/healthz never answered")


@contextlib.contextmanager
def running_jeto(tmp_path: Path, *args: str, env: dict[str, str], name: str = "jeto") -> Iterator[JetoProcess]:
    stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "jeto.cli", *args], env={**os.environ, **env}, stdout=out, stderr=err
        )
        try:
            yield JetoProcess(process, stdout, stderr)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def running_demo(
    tmp_path: Path, *extra: str, env: dict[str, str] | None = None, latency: float = 0, name: str = "demo"
) -> Iterator[tuple[JetoProcess, str, str]]:
    """`jeto serve --demo --port 0`; yields the process, the base URL and the admin token its banner printed.

    Its simulated Marketo answers at once unless the test asks for `latency` (a sync then lasts a while)."""
    settings = {"JETO_DATABASE_URL": f"sqlite://{tmp_path / 'demo.sqlite3'}", **(env or {})}
    args = ("serve", "--demo", "--port", "0", "--demo-latency", str(latency), *extra)
    with running_jeto(tmp_path, *args, env=settings, name=name) as demo:
        found = demo.wait_for_output(BANNER_URL)
        base_url, token = found.group(1), found.group(2)
        demo.wait_until_healthy(base_url)
        yield demo, base_url, token


def add_integration(database_url: str, instance: dict[str, str], secret_key: str, name: str = "US") -> int:
    """An account with one integration bound to a (simulated) instance, its secret sealed with `secret_key`;
    creating it queues its first sync, as the API does."""
    import asyncio

    from tortoise import Tortoise

    from domain import accounts, platform_integrations
    from domain.models import Role
    from domain.viewer import Viewer
    from jeto.database import close_connections, tortoise_config
    from jeto.secret_box import SecretBox
    from jeto.settings import Secret

    async def create() -> int:
        await Tortoise.init(config=tortoise_config(database_url))
        try:
            account, admin = await accounts.create_account(f"{name} Co", f"admin@{name.lower()}.test")
            viewer = Viewer(user_id=admin.id, account_id=account.id, role=Role.ADMIN)
            created = await platform_integrations.create(
                viewer,
                name=name,
                confirm_trial=False,
                credentials=platform_integrations.CredentialsInput(
                    client_id=instance["clientId"],
                    client_secret=instance["clientSecret"],
                    rest_endpoint=instance["restEndpoint"],
                    identity_endpoint=instance["identityEndpoint"],
                ),
                sealer=SecretBox(Secret(secret_key)),
                allowed_hosts=["127.0.0.1"],
            )
            return created.integration.id
        finally:
            await close_connections()

    return asyncio.run(create())


@contextlib.contextmanager
def running_simulator_process(tmp_path: Path, *args: str) -> Iterator[list[dict[str, str]]]:
    """`jeto marketo-simulator --port 0`; yields each instance's endpoints and credentials."""
    import json

    with running_jeto(tmp_path, "marketo-simulator", "--port", "0", *args, env={}, name="simulator") as simulator:
        simulator.wait_for_output(re.compile(r"adminStats"))
        lines = [json.loads(line) for line in simulator.output().splitlines() if line.strip()]
        yield [line for line in lines if "clientId" in line]
