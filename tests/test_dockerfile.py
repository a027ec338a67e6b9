"""The Dockerfile, read without a Docker engine: it builds the wheel from what pyproject.toml packages, and its
entry point, command and health check are commands the CLI has."""

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from jeto import graphiql
from jeto.cli import _parser
from jeto.settings import DEFAULT_WORKER_METRICS_PORT
from tests.conftest import REPO


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def stages(steps: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    named: dict[str, list[tuple[str, str]]] = {}
    current = None
    for instruction, arguments in steps:
        if instruction == "FROM":
            current = arguments.split(" AS ")[-1].strip() if " AS " in arguments else "final"
            named[current] = []
        else:
            named[current].append((instruction, arguments))
    return named


def exec_form(arguments: str) -> list[str]:
    assert arguments.startswith("["), f"use the exec form (a JSON array): {arguments}"
    return json.loads(arguments)


DOCKERFILE = stages(instructions((REPO / "Dockerfile").read_text()))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
BUILD_COPIES = [shlex.split(arguments) for instruction, arguments in DOCKERFILE["build"] if instruction == "COPY"]
BUILD_SOURCES = {Path(source).as_posix() for *sources, _ in BUILD_COPIES for source in sources}
FINAL = DOCKERFILE["final"]


def one(instruction: str) -> str:
    found = [arguments for name, arguments in FINAL if name == instruction]
    assert len(found) == 1, f"one {instruction} expected in the final stage"
    return found[0]


@pytest.mark.parametrize(
    "package", [p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]
)
def test_the_build_copies_every_package_the_wheel_includes(package):
    assert package in BUILD_SOURCES
    assert (REPO / package / "__init__.py").exists()  # else packages.find would leave it out of the wheel


def test_the_build_copies_only_what_the_wheel_is_built_from():
    packages = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages | {"pyproject.toml"} >= BUILD_SOURCES, BUILD_SOURCES - packages
    assert all((REPO / source).exists() for source in BUILD_SOURCES)


def test_package_data_and_migrations_are_in_what_is_copied():
    for package, files in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for name in files:
            path = Path(*package.split("."), name)
            assert (REPO / path).exists() and path.parts[0] in BUILD_SOURCES, path
    assert list((REPO / "migrations").glob("0001_*.py")) and "migrations" in BUILD_SOURCES


def test_graphiql_assets_come_from_the_assets_stage_where_the_app_looks_for_them():
    dependencies = json.loads((REPO / "jeto" / "graphiql" / "package.json").read_text())["dependencies"]
    node_modules = graphiql.NODE_MODULES
    for asset in graphiql.ASSETS.values():
        if node_modules in asset.parents:
            parts = asset.relative_to(node_modules).parts
            package = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]  # @scope/name
            assert package in dependencies
    assert "COPY --from=assets /assets/node_modules /opt/graphiql/node_modules" in [
        f"COPY {a}" for n, a in FINAL if n == "COPY"
    ]
    assert "JETO_GRAPHIQL_ASSETS=/opt/graphiql/node_modules" in one("ENV")


def test_the_entry_point_is_the_installed_command_and_its_command_and_health_check_are_the_cli_s():
    assert exec_form(one("ENTRYPOINT")) == list(PYPROJECT["project"]["scripts"]) == ["jeto"]
    command = _parser().parse_args(exec_form(one("CMD")))
    assert command.command == "serve" and command.host == "0.0.0.0"
    health = one("HEALTHCHECK")
    check = exec_form(health.split(" CMD ", 1)[1])
    assert check[0] == "jeto" and _parser().parse_args(check[1:]).command == "healthcheck"
    assert "JETO_HEALTH_FILE=" in one("ENV")  # where `serve` and `worker` write the address the check asks
    assert {str(command.port), str(DEFAULT_WORKER_METRICS_PORT)} <= set(one("EXPOSE").split())


def test_the_image_runs_as_a_user_and_the_context_leaves_local_installs_out():
    user = one("USER")
    assert user not in ("root", "0")
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert {".venv", "**/node_modules", "*.sqlite3*"} <= set(ignored)
