"""The `jeto` command, run as a user runs it: a process, its output and its exit code."""

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from jeto.secret_box import SecretBox
from jeto.settings import DEV_JWT_SECRET, Secret
from tests.conftest import free_port
from tests.jeto_process import BANNER_URL, add_integration, running_demo, running_jeto

REPO = Path(__file__).resolve().parent.parent


def runner(database: Path):
    env = {**os.environ, "JETO_DATABASE_URL": f"sqlite://{database}"}
    for name in ("JETO_JWT_SECRET", "JETO_JWT_JWKS_URL", "JETO_SECRET_KEY", "JETO_BROADCAST_URL", "JETO_HEALTH_FILE"):
        env.pop(name, None)

    def jeto(*args: str, timeout: float = 60, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "jeto.cli", *args],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return jeto


@pytest.fixture
def run(tmp_path):
    return runner(tmp_path / "cli.sqlite3")


@pytest.fixture(scope="module")
def acme_database(tmp_path_factory) -> Path:
    """A database the commands migrated and gave the Acme account (owner@acme.test), made once per module: a
    process costs a second or two to start, and the tests below would each start these two."""
    database = tmp_path_factory.mktemp("acme") / "cli.sqlite3"
    jeto = runner(database)
    assert jeto("migrate").returncode == 0
    assert jeto("create-account", "Acme", "--admin", "owner@acme.test").returncode == 0
    return database


@pytest.fixture
def run_on_acme(tmp_path, acme_database):
    """`run` on a copy of `acme_database` of the test's own."""
    database = tmp_path / "cli.sqlite3"
    for made in acme_database.parent.glob(f"{acme_database.name}*"):  # with its -wal and -shm, if any were left
        shutil.copy(made, tmp_path / made.name)
    return runner(database)


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
        ("add-user", "²", "x@acme.test", "--role", "admin"),  # a digit to isdigit(), not to int()
        ("sync", "9" * 30),  # beyond any primary key
        ("create-account", "", "--admin", "owner@acme.test"),
        ("create-account", "Acme", "--admin", "not-an-email"),
        ("set-plan-limit", "1", "--platform-integrations", "0"),
        ("set-plan-limit", "1", "--api-points", "0"),
        ("set-plan-limit", "1"),
        ("token", "nobody@acme.test"),
        # argparse's own errors: one line too, not the usage block
        ("add-user", "1", "x@acme.test", "--role", "owner"),
        ("token", "owner@acme.test", "--ttl", "abc"),
        ("nosuch",),
        (),
        # values the database would refuse are refused first, in words
        ("add-user", "1", "x@acme.test", "--role", "admin", "--name", "n" * 300),
        ("add-user", "1", "x@acme.test", "--role", "admin", "--subject", ""),
        ("add-user", "1", "x@acme.test", "--role", "admin", "--subject", "s" * 300),
        ("add-user", "1", "x" * 250 + "@acme.test", "--role", "admin"),
        # options out of range
        ("sync", "1", "--wait", "--timeout", "0"),
        ("sync", "1", "--wait", "--timeout", "-5"),
        ("marketo-simulator", "--instances", "0"),
        ("marketo-simulator", "--port", "99999"),
    ],
)
def test_errors_are_one_readable_line_without_a_traceback(run_on_acme, args):
    result = run_on_acme(*args, timeout=30)
    assert result.returncode != 0
    assert_one_line(result)


def assert_one_line(result: subprocess.CompletedProcess) -> str:
    """The whole of stderr is `jeto: <words>`: no usage block, no traceback, no bare exception name."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jeto: "), result.stderr
    assert "Traceback" not in result.stderr
    assert not re.match(r"jeto: \w+(Error|Exception): ", lines[0]), lines[0]
    return lines[0]


def test_argument_errors_name_the_command_to_ask_for_help(run):
    wrong = run("add-user", "1", "x@acme.test", "--role", "owner")
    assert wrong.returncode == 2
    assert "'owner'" in wrong.stderr and wrong.stderr.rstrip().endswith("(see jeto add-user --help)")
    assert run().stderr.rstrip().endswith("(see jeto --help)")


def test_refused_values_change_nothing(run, tmp_path):
    run("migrate")
    account_id = run("create-account", "Acme", "--admin", "owner@acme.test").stdout.strip()
    empty = run("add-user", account_id, "a@acme.test", "--role", "admin", "--subject", "")
    assert empty.returncode == 1 and "subject" in empty.stderr
    long_name = run("add-user", account_id, "b@acme.test", "--role", "admin", "--name", "n" * 300)
    assert long_name.returncode == 1 and "200" in long_name.stderr
    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    assert db.execute("SELECT count(*) FROM app_user").fetchone()[0] == 1
    assert run("add-user", account_id, "c@acme.test", "--role", "admin", "--subject", " sub-1 ").returncode == 0
    assert db.execute("SELECT idp_subject FROM app_user WHERE email = 'c@acme.test'").fetchone()[0] == "sub-1"


def test_a_sync_with_a_useless_timeout_queues_nothing(run, tmp_path):
    run("migrate")
    refused = run("sync", "1", "--wait", "--timeout", "0")
    assert refused.returncode == 2 and "--timeout" in refused.stderr
    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    assert db.execute("SELECT count(*) FROM sync_run").fetchone()[0] == 0


def test_no_development_token_under_sso_without_a_key_of_its_own(run):
    run("migrate")
    run("create-account", "Acme", "--admin", "owner@acme.test")
    sso = {"JETO_JWT_JWKS_URL": "https://idp.example.test/.well-known/jwks.json"}
    refused = run("token", "owner@acme.test", **sso)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "JETO_JWT_SECRET" in assert_one_line(refused)
    allowed = run("token", "owner@acme.test", JETO_JWT_SECRET="a-key-of-our-own-long-enough-for-hs256!", **sso)
    assert allowed.returncode == 0
    assert (
        jwt.decode(allowed.stdout.strip(), "a-key-of-our-own-long-enough-for-hs256!", algorithms=["HS256"])["sub"]
        == "owner@acme.test"
    )


@pytest.mark.parametrize("command", [("migrate",), ("serve", "--port", "0"), ("worker", "--port", "0")])
def test_a_database_in_a_missing_folder_fails_at_once(run, tmp_path, command):
    missing = tmp_path / "no-such-folder" / "jeto.sqlite3"
    result = run(
        *command, timeout=30, JETO_DATABASE_URL=f"sqlite://{missing}", JETO_BROADCAST_URL="redis://127.0.0.1:9"
    )
    assert result.returncode == 1
    assert str(missing.parent) in last_line(result) and "does not exist" in last_line(result)


def last_line(result: subprocess.CompletedProcess) -> str:
    """`serve` and `worker` log JSON lines before failing: their error is the last line, and the only `jeto:` one."""
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("jeto: ")] == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr
    return lines[-1]


def test_serve_on_a_port_in_use_fails_before_doing_anything(run, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), timeout=30)
    assert result.returncode == 1
    assert last_line(result) == f"jeto: port {port} of 127.0.0.1 is in use; stop what holds it or choose another --port"
    assert not (tmp_path / "cli.sqlite3").exists()  # noticed before the migrations


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("JETO_BROADCAST_URL", "redis://127.0.0.1:9", "event bus"),
        ("JETO_BROADCAST_URL", "kafka://127.0.0.1:9", "JETO_BROADCAST_URL"),
        ("JETO_SECRET_KEY", ",", "JETO_SECRET_KEY"),
        ("JETO_SYNC_INTERVAL_MINUTES", "often", "JETO_SYNC_INTERVAL_MINUTES"),
        ("JETO_DATABASE_URL", "notaurl", "JETO_DATABASE_URL is not a URL: give sqlite://FILE"),
        ("JETO_DATABASE_URL", "mysql://u:secret@db/jeto", "postgres://USER:PASSWORD@HOST:5432/DATABASE"),
    ],
)
def test_serve_with_a_bad_setting_fails_with_one_line(run, setting, value, words):
    result = run("serve", "--port", "0", timeout=30, **{setting: value})
    assert result.returncode == 1
    assert words in last_line(result)
    assert "secret" not in result.stderr  # a URL's password is never echoed


def test_sso_without_an_audience_refuses_to_serve_in_one_line_before_anything_runs(run, tmp_path):
    result = run("serve", "--port", "0", timeout=30, JETO_JWT_JWKS_URL="https://idp.test/jwks.json")
    assert result.returncode == 1
    assert last_line(result).startswith("jeto: JETO_JWT_JWKS_URL is set without JETO_JWT_AUDIENCE")
    assert not (tmp_path / "cli.sqlite3").exists()  # refused before the migrations


def test_a_second_account_with_the_same_admin_is_refused(run):
    run("migrate")
    assert run("create-account", "A", "--admin", "same@acme.test").returncode == 0
    again = run("create-account", "B", "--admin", "same@acme.test")
    assert again.returncode == 1 and "exists already" in again.stderr


# An incremental run (the demo has synced fully already) fetches only what changed: counts, no bar.
STATE_LINE = re.compile(r"^(QUEUED|SYNCING|COMPLETED) +folders [\d,]+  programs [\d,]+$")
BAR_LINE = re.compile(
    r"^\[([#-]{24})\] +(\d+%) (QUEUED|SYNCING|COMPLETED) +folders [\d,]+/[\d,]+  programs ([\d,]+)/([\d,]+)$"
)
SUMMARY = re.compile(
    r"^Synced North America in [\d.]+ s \(attempt 1\): it now holds (\d+) folders and (\d+) programs\.$"
)


def test_the_demo_is_ready_when_it_says_so_and_sync_wait_follows_a_sync(run, tmp_path):
    """`jeto serve --demo` (its worker, the simulator) syncs while `jeto sync --wait` shows it, twice."""
    with running_demo(tmp_path, env={"JETO_METRICS_TOKEN": "scraper-token"}) as (demo, base_url, token):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url) and not base_url.endswith(":0")
        assert httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200  # the banner came once serving
        page = httpx.get(f"{base_url}/graphql", headers={"accept": "text/html"}, timeout=5)
        assert page.status_code == 200 and "jeto-config" in page.text and token not in page.text
        metrics = httpx.get(f"{base_url}/metrics", headers={"authorization": "Bearer scraper-token"}, timeout=5).text
        assert re.search(r'^jeto_marketo_calls_total\{integration="\d+",outcome="ok"\} [1-9]', metrics, re.MULTILINE)

        database = tmp_path / "demo.sqlite3"
        db = sqlite3.connect(database)
        pi_id = db.execute("SELECT id FROM platform_integration WHERE name = 'North America'").fetchone()[0]
        programs = db.execute(
            "SELECT count(*) FROM marketo_program WHERE platform_integration_id = ?", (pi_id,)
        ).fetchone()[0]
        assert programs >= 60
        for _ in range(2):  # both are incremental: their summaries must still read whole
            result = run("sync", str(pi_id), "--wait", "--timeout", "60", JETO_DATABASE_URL=f"sqlite://{database}")
            assert result.returncode == 0, result.stderr
            assert "\r" not in result.stdout  # not a terminal: no redrawn frames
            *progress, summary = result.stdout.strip().splitlines()
            states = [STATE_LINE.match(line) for line in progress]
            assert all(states), progress
            assert [m.group(1) for m in states] == list(dict.fromkeys(m.group(1) for m in states))  # one line per state
            assert states[-1].group(1) == "COMPLETED"
            found = SUMMARY.match(summary)
            assert found, summary
            assert int(found.group(2)) == programs
        # --full: every program fetched again, so the bar measures the run against what the integration held.
        result = run(
            "sync", str(pi_id), "--wait", "--full", "--timeout", "60", JETO_DATABASE_URL=f"sqlite://{database}"
        )
        assert result.returncode == 0, result.stderr
        *progress, summary = result.stdout.strip().splitlines()
        bars = [BAR_LINE.match(line) for line in progress]
        assert all(bars), progress
        assert bars[-1].group(2) == "100%" and bars[-1].group(3) == "COMPLETED"
        assert int(bars[-1].group(4)) == int(bars[-1].group(5)) == programs  # all it held, fetched again
        assert int(SUMMARY.match(summary).group(2)) == programs
        assert db.execute("SELECT needs_full_sync FROM platform_integration WHERE id = ?", (pi_id,)).fetchone()[0] == 0
        failed = run("sync", "999999", JETO_DATABASE_URL=f"sqlite://{database}")
        assert failed.returncode == 1 and failed.stderr.startswith("jeto: No platform integration")


def test_the_worker_alone_refuses_the_in_memory_bus(run):
    result = run("worker")
    assert result.returncode == 1
    assert (
        result.stderr.startswith("jeto: JETO_BROADCAST_URL is memory://")
        and len(result.stderr.strip().splitlines()) == 1
    )


def test_reseal_secrets_lets_an_old_key_be_dropped(run, tmp_path):
    assert run("migrate").returncode == 0
    database = tmp_path / "cli.sqlite3"
    instance = {
        "clientId": "client",
        "clientSecret": "the-client-secret",
        "restEndpoint": "http://127.0.0.1:9/111-AAA-111/rest",
        "identityEndpoint": "http://127.0.0.1:9/111-AAA-111/identity",
    }
    add_integration(f"sqlite://{database}", instance, "old-key")
    db = sqlite3.connect(database)

    def stored() -> str:
        return db.execute("SELECT client_secret_encrypted FROM platform_integration").fetchone()[0]

    sealed_with_old = stored()
    with pytest.raises(ValueError):
        SecretBox(Secret("new-key")).open(sealed_with_old)
    first = run("reseal-secrets", "--batch-size", "1", JETO_SECRET_KEY="new-key,old-key")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Resealed 1 stored client secret(s)")
    assert SecretBox(Secret("new-key")).open(stored()) == "the-client-secret"  # old-key can go now
    resealed = stored()
    again = run("reseal-secrets", JETO_SECRET_KEY="new-key,old-key")  # a rerun changes nothing
    assert (
        again.returncode == 0 and again.stdout.startswith("Resealed 0 stored client secret(s)") and stored() == resealed
    )
    lost = run("reseal-secrets", JETO_SECRET_KEY="newest-key")  # without the key that sealed it
    assert lost.returncode == 1 and "none of the JETO_SECRET_KEY keys" in assert_one_line(lost)
    assert stored() == resealed


@pytest.mark.parametrize(
    "args",
    [
        ("create-account", "Acme", "--admin", "owner@acme.test"),
        ("add-user", "1", "x@acme.test", "--role", "admin"),
        ("set-plan-limit", "1", "--platform-integrations", "2"),
        ("token", "owner@acme.test"),
        ("sync", "1"),
        ("reseal-secrets",),
    ],
)
def test_a_database_never_migrated_is_named_with_the_command_that_fixes_it(run, tmp_path, args):
    result = run(*args, timeout=30)
    assert result.returncode == 1
    assert "run `jeto migrate` first" in assert_one_line(result)
    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0  # nothing made


async def test_the_plan_limit_the_commands_set_is_the_one_the_api_enforces(world, database_url, run):
    from tests.api import factories
    from tests.api.operations import ACCOUNT, CREATE_PI

    def jeto(*args: str) -> subprocess.CompletedProcess:
        return run(*args, JETO_DATABASE_URL=database_url)

    created = jeto(
        "create-account", "Acme", "--admin", "owner@acme.test", "--admin-name", "Olive Owner",
        "--platform-integrations-limit", "2",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    account_id = created.stdout.strip()
    admin = world.caller("owner@acme.test")
    await factories.integration(admin, "US", "111-AAA-111")
    await factories.integration(admin, "EU", "222-BBB-222")
    trial = await factories.integration(admin, "APAC", "333-CCC-333", confirmTrial=True)
    account = (await admin(ACCOUNT))["account"]
    assert account["plan"]["limits"]["platformIntegrations"] == 2
    assert (await admin("{ viewer { name email role } }"))["viewer"] == {
        "name": "Olive Owner",
        "email": "owner@acme.test",
        "role": "ADMIN",
    }
    assert {pi["name"]: pi["isTrial"] for pi in account["platformIntegrations"]} == {
        "US": False,
        "EU": False,
        "APAC": True,
    }

    raised = jeto("set-plan-limit", account_id, "--platform-integrations", "3")
    assert raised.returncode == 0, raised.stderr
    account = (await admin(ACCOUNT))["account"]
    assert account["plan"]["limits"]["platformIntegrations"] == 3
    assert [pi["isTrial"] for pi in account["platformIntegrations"] if pi["id"] == trial] == [False]  # now in the plan
    over = (await admin(CREATE_PI, {"input": factories.pi_input("LATAM", "444-DDD-444")}))["createPlatformIntegration"]
    assert over["platformIntegration"] is None
    assert (over["trialConfirmation"]["limit"], over["trialConfirmation"]["used"]) == (3, 3)


async def test_the_api_budget_the_command_sets_is_the_one_the_api_charges_and_the_trail_shows(world, database_url, run):
    from resolvers.ids import encode_id
    from tests.api.operations import RATE_LIMIT

    account_id, admin = await world.account()
    result = run(
        "set-plan-limit", encode_id("Account", account_id), "--api-points", "2", JETO_DATABASE_URL=database_url
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Each user and API key of the account may now spend 2 API points per window."
    figures = (await admin(RATE_LIMIT))["rateLimit"]
    assert (figures["limit"], figures["remaining"]) == (2, 1)
    trail = await admin(
        "{ account { auditEvents { edges { node { action actor { kind } changes { field before after } } } } } }"
    )
    assert [edge["node"] for edge in trail["account"]["auditEvents"]["edges"]] == [
        {
            "action": "PLAN_LIMITS_CHANGED",
            "actor": {"kind": "ACCOUNT_MANAGER"},
            "changes": [{"field": "apiPoints", "before": None, "after": "2"}],
        }
    ]


def test_sync_help_gives_the_wait_timeout_default(run):
    help_text = run("sync", "--help").stdout
    assert "--timeout SECONDS" in help_text and "(default: 1800)" in " ".join(help_text.split())


PLATFORM_INTEGRATIONS = "{ account { platformIntegrations { id name credentials { restEndpoint } } } }"


def graphql(base_url: str, token: str, query: str) -> dict:
    response = httpx.post(
        f"{base_url}/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


async def test_a_second_demo_on_the_same_database_is_refused_and_the_first_keeps_working(run, tmp_path, blank_database):
    """Two `jeto serve --demo` in one checkout share its database: the second would re-point the first one's
    integrations at its own simulator. It is refused, in one line that says what to do instead."""
    with running_demo(tmp_path, env={"JETO_DATABASE_URL": blank_database}) as (demo, base_url, token):
        before = graphql(base_url, token, PLATFORM_INTEGRATIONS)
        second = run("serve", "--demo", "--port", "0", "--demo-latency", "0", JETO_DATABASE_URL=blank_database)
        assert second.returncode == 1
        refusal = last_line(second)
        assert refusal.startswith("jeto: another `jeto serve --demo` ") and "JETO_DATABASE_URL=" in refusal
        if blank_database.startswith("sqlite"):
            assert f"pid {demo.process.pid}, at {base_url}" in refusal  # which one, and where to find it
        assert graphql(base_url, token, PLATFORM_INTEGRATIONS) == before  # nothing re-pointed
        integration = before["account"]["platformIntegrations"][0]["id"]
        synced = run("sync", integration, "--wait", "--timeout", "60", JETO_DATABASE_URL=blank_database)
        assert synced.returncode == 0, synced.stderr
    with running_demo(tmp_path, env={"JETO_DATABASE_URL": blank_database}, name="again") as (_, base_url, token):
        assert graphql(base_url, token, PLATFORM_INTEGRATIONS)  # once the first has stopped, a demo starts again


def test_make_serve_takes_a_port_and_its_banner_is_the_last_thing_it_prints(run, tmp_path):
    """What a newcomer sees in their terminal (both streams in one): few lines, then the banner, last; routine
    lines such as each Marketo request are left to `jeto --debug`, even while a sync runs."""
    port, database = free_port(), tmp_path / "make.sqlite3"
    terminal = tmp_path / "terminal.txt"
    with terminal.open("wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-s", "serve", f"PORT={port}"],
            cwd=REPO,
            env={**os.environ, "JETO_DATABASE_URL": f"sqlite://{database}"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and the jeto it starts: stopped together below
        )
    try:
        deadline = time.monotonic() + 120
        while not (found := BANNER_URL.search(text := terminal.read_text())):
            assert make.poll() is None and time.monotonic() < deadline, text[-3000:]
            time.sleep(0.1)
        base_url, token = found.group(1), found.group(2)
        assert base_url == f"http://127.0.0.1:{port}"
        banner_starts = text.index("Jeto demo is ready.")
        assert text[banner_starts:].rstrip().endswith("(--demo-latency).")  # printed whole, and nothing after it
        before = text[:banner_starts].splitlines()
        assert len(before) <= 20, before
        assert sum("Started server process" in line for line in before) == 1
        integration = graphql(base_url, token, PLATFORM_INTEGRATIONS)["account"]["platformIntegrations"][0]["id"]
        synced = run("sync", integration, "--wait", "--timeout", "60", JETO_DATABASE_URL=f"sqlite://{database}")
        assert synced.returncode == 0, synced.stderr
        assert "HTTP Request:" not in terminal.read_text()  # the demo's worker made its Marketo calls quietly
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)


def test_sync_wait_says_why_a_failing_sync_fails(run, tmp_path):
    """An instance that does not answer: `--wait` shows ERROR with the reason and the next attempt, as the API
    does, and the worker logs the failure."""
    assert run("migrate").returncode == 0
    database = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    nowhere = {
        "clientId": "client",
        "clientSecret": "secret",
        "restEndpoint": "http://127.0.0.1:9/111-AAA-111/rest",  # nothing listens on port 9
        "identityEndpoint": "http://127.0.0.1:9/111-AAA-111/identity",
    }
    integration = add_integration(database, nowhere, "key")
    env = {"JETO_DATABASE_URL": database, "JETO_SECRET_KEY": "key", "JETO_MARKETO_ALLOWED_HOSTS": "127.0.0.1"}
    with running_jeto(tmp_path, "serve", "--port", "0", env=env, name="serve") as server:
        with subprocess.Popen(
            [sys.executable, "-m", "jeto.cli", "sync", str(integration), "--wait"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            text=True,
        ) as waiting:
            lines = []
            for line in waiting.stdout:  # one line per state: QUEUED or SYNCING first, then ERROR
                lines.append(line)
                if line.startswith("ERROR"):
                    break
            assert lines and lines[-1].startswith("ERROR"), lines
            waiting.terminate()
        assert "Marketo code" in lines[-1] and "; next attempt at " in lines[-1], lines[-1]
        assert re.search(rf"sync of integration {integration} failed \(next attempt at [^)]+\): ", server.logs())
