"""The partner guide (docs/partners.md) and the README's tour, run: every example against a served demo, as a
partner would run it (GraphQL over HTTP and websockets, curl, node with npm's graphql-ws, Python with gql),
and every number the guide gives read back from the code and the schema. (Its embedding example runs in a
browser, in test_graphiql_browser.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from graphql import build_schema, get_named_type
from websockets.asyncio.client import connect

from tests.guide import REPO, Block, blocks, with_variables
from tests.jeto_process import running_demo

GUIDE = "docs/partners.md"
GUIDE_TEXT = (REPO / GUIDE).read_text()
DEMO_URL = "http://127.0.0.1:8000"  # where the examples say the demo is; the test's demo is elsewhere
EXAMPLES = [*with_variables(GUIDE), *with_variables("README.md")]
NODE_MODULES = REPO / "jeto" / "graphiql" / "node_modules"


def only(language: str) -> Block:
    found = [block for block in blocks(GUIDE) if block.language == language]
    assert len(found) == 1, [block.name for block in found]
    return found[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple[str, str]]:
    with running_demo(tmp_path_factory.mktemp("guide")) as (_, base_url, token):
        yield base_url, token


def _user_error_codes(data: object) -> list[str]:
    if isinstance(data, dict):
        found = [error["code"] for error in data.get("userErrors") or []]
        return found + [code for value in data.values() for code in _user_error_codes(value)]
    if isinstance(data, list):
        return [code for value in data for code in _user_error_codes(value)]
    return []


async def _subscribe(ws_url: str, token: str, document: str) -> dict:
    """The first payload of a subscription, over graphql-transport-ws."""
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert message["type"] == "next", message
        return message["payload"]


@pytest.mark.parametrize(("block", "variables"), EXAMPLES, ids=[block.name for block, _ in EXAMPLES])
def test_every_graphql_example_runs_as_written(demo, block, variables):
    base_url, token = demo
    if re.match(r"\s*subscription\b", block.code):
        result = asyncio.run(_subscribe(f"{base_url.replace('http', 'ws', 1)}/graphql", token, block.code))
    else:
        response = httpx.post(
            f"{base_url}/graphql",
            json={"query": block.code, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
            timeout=20,
        )
        result = response.json()
    expected_error = block.options.get("expect-error")
    if expected_error:
        assert [error["extensions"]["code"] for error in result.get("errors", [])] == [expected_error], result
        return
    assert "errors" not in result and result["data"], result
    assert _user_error_codes(result["data"]) == [c for c in [block.options.get("expect-user-error")] if c], result
    assert all(value is not None for value in result["data"].values()), result  # ids of a fresh demo find rows


def _curl(base_url: str, option: str | None, **env: str) -> str:
    """What the guide's curl command prints: the one marked `option`, or (None) the one marked with nothing."""
    (command,) = [
        block.code
        for block in blocks(GUIDE)
        if block.language == "sh" and (option in block.options if option else not block.options)
    ]
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command.replace(DEMO_URL, base_url)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_curl_example_runs_as_written(demo):
    base_url, token = demo
    answer = json.loads(_curl(base_url, None, JETO_TOKEN=token))
    assert answer["data"]["viewer"] == {"email": "admin@demo.jeto.test", "role": "ADMIN"}, answer


def test_the_api_key_curl_example_runs_as_written_and_shows_the_budget(demo):
    base_url, token = demo
    made = httpx.post(
        f"{base_url}/graphql",
        json={"query": 'mutation { createApiKey(name: "Guide", scope: READ_ONLY) { key } }'},
        headers={"authorization": f"Bearer {token}"},
        timeout=20,
    )
    key = made.json()["data"]["createApiKey"]["key"]
    head, _, body = _curl(base_url, "api-key", JETO_API_KEY=key).replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 200"), head
    headers = dict(line.lower().split(": ", 1) for line in head.splitlines()[1:])
    answer = json.loads(body)
    figures = answer["data"]["rateLimit"]
    assert answer["data"]["account"]["name"] and figures["cost"] == 1, answer
    assert headers["x-ratelimit-remaining"] == str(figures["remaining"]) == str(figures["limit"] - 1)
    assert answer["extensions"]["rateLimit"] == figures


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen]:
    with subprocess.Popen(
        command, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            yield process
        finally:
            process.terminate()


def first_statuses(process: subprocess.Popen, count: int) -> list[dict]:
    """The first `count` lines a subscription example printed, each a SyncStatus as JSON."""
    statuses = []
    for line in process.stdout:
        statuses.append(json.loads(line))
        if len(statuses) == count:
            return statuses
    raise AssertionError(f"the example ended with {process.wait()}: {process.stderr.read()}")


def assert_current_statuses(statuses: list[dict]) -> None:
    """What accountSyncStatus sends first: each of the demo's two integrations, synced, with its own status id."""
    assert len({status["platformIntegrationId"] for status in statuses}) == 2, statuses
    assert all(status["state"] == "COMPLETED" and status["programsSynced"] > 0 for status in statuses), statuses
    assert all(status["id"] != status["platformIntegrationId"] for status in statuses), statuses


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_example_runs_with_npm_s_graphql_ws(demo, tmp_path):
    base_url, token = demo
    script = tmp_path / "statuses.mjs"
    script.write_text(only("js").code)
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)  # graphql-ws, as `make` installs it for /status
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    flags = ["--experimental-websocket"] if int(version.lstrip("v").split(".")[0]) < 22 else []  # as the guide says
    env = {"JETO_URL": f"{base_url.replace('http', 'ws', 1)}/graphql", "JETO_TOKEN": token}
    with running(["node", *flags, str(script)], env, tmp_path) as example:
        assert_current_statuses(first_statuses(example, 2))


def test_the_python_example_runs_with_gql(demo, tmp_path):
    base_url, token = demo
    script = tmp_path / "statuses.py"
    script.write_text(only("python").code)
    env = {"JETO_URL": f"{base_url.replace('http', 'ws', 1)}/graphql", "JETO_TOKEN": token}
    with running([sys.executable, str(script)], env, tmp_path) as example:
        assert_current_statuses(first_statuses(example, 2))


# A number of the guide followed by the value it is, e.g. `12 <!-- jeto.strawberry_overrides.LIMITS.depth -->`.
NAMED_NUMBER = re.compile(r"\*{0,2}([\d,]+)\*{0,2} <!-- ([\w.]+) -->")
# Where the limits of a request are set: each MAX_… number in them must be in the guide.
LIMIT_MODULES = ("resolvers.pages", "jeto.graphql_http")


def _value(path: str) -> object:
    """The value a dotted path names: the longest module it starts with, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise AssertionError(f"{path} names nothing")


def test_the_limits_in_the_guide_are_the_code_s():
    import dataclasses

    from jeto.settings import Settings
    from schema.documents import DocumentLimits

    named = NAMED_NUMBER.findall(GUIDE_TEXT)
    assert named
    for number, path in named:
        assert int(number.replace(",", "")) == _value(path), path
    documented = {path for _, path in named}
    limits = [f"jeto.strawberry_overrides.LIMITS.{f.name}" for f in dataclasses.fields(DocumentLimits)]
    limits += [f"jeto.settings.Settings.{f.name}" for f in dataclasses.fields(Settings) if f.name.startswith("max_")]
    for module in LIMIT_MODULES:
        source = inspect.getsource(importlib.import_module(module))
        limits += [f"{module}.{c}" for c in re.findall(r"^(MAX_\w+)(?:: \w+)? = ", source, re.MULTILINE)]
    server_side = {"jeto.strawberry_overrides.LIMITS.cache_entries", "jeto.strawberry_overrides.LIMITS.cache_bytes"}
    for path in limits:
        assert path in documented or path in server_side, f"{path} is a limit the guide does not give"


def test_the_page_sizes_in_the_guide_are_the_schema_s():
    from jeto.strawberry_overrides import sdl

    schema = build_schema(sdl())
    defaults = {}
    for type_name, named_type in schema.type_map.items():
        for field_name, field in getattr(get_named_type(named_type), "fields", {}).items():
            if "first" in getattr(field, "args", {}):
                defaults[f"{type_name}.{field_name}"] = int(field.args["first"].ast_node.default_value.value)
    table = re.findall(r"^\| `(\w+\.\w+)` \| (\d+) \|$", GUIDE_TEXT, re.MULTILINE)
    assert {name: int(number) for name, number in table} == defaults


def _codes_in_table(header: str) -> set[str]:
    table = GUIDE_TEXT.split(f"| {header} | when |", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))


def test_the_guide_lists_every_error_code():
    from domain.errors import UserErrorCode
    from resolvers import errors

    assert _codes_in_table("`UserError.code`") == {code.value for code in UserErrorCode}
    extensions = {value for name, value in vars(errors).items() if name.isupper() and isinstance(value, str)}
    assert _codes_in_table("`extensions.code`") == extensions
