"""The `jeto` command: its arguments, the account manager's commands, and one-line errors (see RUNTIME.md).

The two long-running commands, `serve` and `worker`, live in `jeto.processes`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from tortoise import Tortoise

from domain import accounts, rate_limits
from domain.errors import Rejected
from domain.models import Role, User
from jeto import database, healthcheck, http_server
from jeto.auth import issue_development_token
from jeto.bus import EventBusUnavailable
from jeto.observability import configure_logging
from jeto.settings import InvalidSetting, Settings
from marketo.simulator import command as simulator_command
from resolvers.ids import decode_id, encode_id, parse_digits


class CommandError(Exception):
    """A failure worth one line on stderr."""


# Failures whose message is already the one line an operator needs.
ONE_LINE_ERRORS = (
    CommandError,
    InvalidSetting,
    database.DatabaseUnavailable,
    database.NotMigrated,
    EventBusUnavailable,
    http_server.ServerFailed,
    healthcheck.Unhealthy,
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line that says where the help is, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"jeto: {message} (see {self.prog} --help)\n")


def _number(kind: type, *, least: float, most: float | None = None) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` within [least, most], or argparse's one-line error."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not {'a whole number' if kind is int else 'a number'}"
            ) from None
        if value < least or (most is not None and value > most):
            bounds = f"from {least:g} to {most:g}" if most is not None else f"at least {least:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range ({bounds})")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


PORT = _number(int, least=0, most=65535)
# How long the demo's simulated Marketo takes to answer each call: a sync lasts a few seconds, long enough to watch.
DEMO_LATENCY = 1.0
# The simulator's options (marketo/simulator/command.py declares them), with the ranges it can run with.
SIMULATOR_RANGES: dict[str, tuple[float, float | None]] = {
    "port": (0, 65535),
    "instances": (1, 100),
    "folders": (0, None),
    "programs": (0, None),
    "calls_per_window": (1, None),
    "window_seconds": (0.001, None),
    "max_concurrent": (1, None),
    "token_ttl": (1, None),
    "daily_quota": (1, None),
    "latency": (0, None),
    "http_502_rate": (0, 1),
    "drop_rate": (0, 1),
}


def _pk(value: str, type_name: str, what: str) -> int:
    """A global id of that type, or a plain number, as the database's primary key."""
    decoded = decode_id(value)
    if decoded and decoded[0] == type_name:
        return decoded[1]
    number = parse_digits(value)
    if number is not None:
        return number
    raise CommandError(f"'{value}' is not {what}.")


def _account_pk(value: str) -> int:
    return _pk(value, "Account", "an account id (as printed by `jeto create-account`)")


async def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await database.check_reachable(settings.database_url)
    await Tortoise.init(config=database.tortoise_config(settings.database_url))
    try:
        await database.check_migrated(settings.database_url)
        return await work()
    except Rejected as rejected:
        raise CommandError(rejected.errors[0].message) from None
    finally:
        await database.close_connections()


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(database.migrate(settings.database_url))
    print("Migrations applied.")


def _cmd_create_account(settings: Settings, args: argparse.Namespace) -> None:
    async def work() -> int:
        account, _ = await accounts.create_account(
            args.name, args.admin, integrations_limit=args.platform_integrations_limit, admin_name=args.admin_name
        )
        return account.id

    print(encode_id("Account", asyncio.run(_with_database(settings, work))))


def _cmd_add_user(settings: Settings, args: argparse.Namespace) -> None:
    account_id = _account_pk(args.account_id)

    async def work() -> int:
        user = await accounts.add_user(
            account_id, args.email, Role(args.role.upper()), name=args.name, subject=args.subject
        )
        return user.id

    print(encode_id("User", asyncio.run(_with_database(settings, work))))


def _cmd_set_plan_limit(settings: Settings, args: argparse.Namespace) -> None:
    if args.platform_integrations is None and args.api_points is None:
        raise CommandError("give --platform-integrations N, --api-points N, or both")
    account_id = _account_pk(args.account_id)

    async def work() -> None:
        if args.platform_integrations is not None:
            await accounts.set_integrations_limit(account_id, args.platform_integrations)
        if args.api_points is not None:
            await rate_limits.set_budget(account_id, args.api_points)

    asyncio.run(_with_database(settings, work))
    if args.platform_integrations is not None:
        print(f"The plan now includes {args.platform_integrations} platform integration(s).")
    if args.api_points is not None:
        print(f"Each user and API key of the account may now spend {args.api_points} API points per window.")


def _cmd_token(settings: Settings, args: argparse.Namespace) -> None:
    if not settings.accepts_development_tokens:
        raise CommandError(
            "JETO_JWT_JWKS_URL is set and JETO_JWT_SECRET is not, so the server accepts no development token: "
            "sign in through the identity provider, or set JETO_JWT_SECRET for both"
        )

    async def work() -> bool:
        return await User.filter(email=args.email.lower()).exists()

    if not asyncio.run(_with_database(settings, work)):
        raise CommandError(f"No user has the email {args.email}; add one with `jeto add-user`.")
    print(issue_development_token(settings, args.email, args.ttl))


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    settings.check_serving()  # before the port, the database or the migrations
    from jeto import processes  # the app and the worker: only the two long-running commands load them

    processes.run(processes.serve(settings, args.host, args.port, demo=args.demo, demo_latency=args.demo_latency))


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    if settings.broadcast_url.startswith("memory://"):
        raise CommandError(
            "JETO_BROADCAST_URL is memory://, so the worker's events could not reach any API process: "
            "set it to redis://… or postgres://…"
        )
    from jeto import processes

    processes.run(processes.work(settings, args.host, args.port))


def _cmd_healthcheck(settings: Settings, args: argparse.Namespace) -> None:
    print(f"ok: {healthcheck.check(settings.health_file, args.url)}")


def _cmd_reseal_secrets(settings: Settings, args: argparse.Namespace) -> None:
    from jeto.reseal_secrets import reseal_secrets
    from jeto.secret_box import SecretBox

    box = SecretBox(settings.secret_key)

    async def work() -> Any:
        return await reseal_secrets(box, batch_size=args.batch_size)

    outcome = asyncio.run(_with_database(settings, work))
    if outcome.unreadable:
        ids = ", ".join(str(pk) for pk in outcome.unreadable[:10]) + (", …" if len(outcome.unreadable) > 10 else "")
        raise CommandError(
            f"{len(outcome.unreadable)} stored client secret(s) open with none of the JETO_SECRET_KEY keys "
            f"(platform integrations {ids}); keep the key that sealed them in the list. "
            f"{outcome.resealed} other(s) were resealed."
        )
    print(
        f"Resealed {outcome.resealed} stored client secret(s) with the first JETO_SECRET_KEY key; "
        f"{outcome.already_current} already were. The other keys can now be removed."
    )


def _cmd_sync(settings: Settings, args: argparse.Namespace) -> None:
    from jeto.sync_command import SyncFailed, sync

    integration_id = _pk(args.platform_integration_id, "PlatformIntegration", "a platform integration id")

    async def work() -> str:
        try:
            return await sync(settings, integration_id, wait=args.wait, timeout=args.timeout, full=args.full)
        except SyncFailed as failure:
            raise CommandError(str(failure)) from None
        except TimeoutError:
            raise CommandError(f"The sync did not end within {args.timeout:g} s; is a worker running?") from None

    print(asyncio.run(_with_database(settings, work)))


def _cmd_export_schema(settings: Settings, args: argparse.Namespace) -> None:
    from jeto.strawberry_overrides import sdl
    from schema import SDL_PATH

    target = args.output or SDL_PATH
    with open(target, "w", encoding="utf-8") as out:
        out.write(sdl())
    print(f"Wrote {target}.")


def _cmd_simulator(settings: Settings, args: argparse.Namespace) -> None:
    simulator_command.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jeto", description="Jeto's multi-Marketo GraphQL backend.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="apply migrations and serve the API at /graphql")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=PORT, default=8000, help="0 picks a free port")
    serve.add_argument("--demo", action="store_true", help="also run the Marketo simulator and seed a demo account")
    serve.add_argument(
        "--demo-latency",
        type=_number(float, least=0, most=30),
        default=DEMO_LATENCY,
        metavar="SECONDS",
        help="with --demo: how long the simulated Marketo takes to answer each call once serving, so a sync lasts "
        "long enough to watch (default: %(default)g)",
    )
    serve.set_defaults(run=_cmd_serve)

    worker = commands.add_parser("worker", help="run only the Marketo worker (beside API processes)")
    worker.add_argument("--host", default="127.0.0.1", help="where /healthz, /readyz and /metrics listen")
    worker.add_argument("--port", type=PORT, default=None, help="default: JETO_WORKER_METRICS_PORT (8001)")
    worker.set_defaults(run=_cmd_worker)

    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(run=_cmd_migrate)

    create = commands.add_parser("create-account", help="create an account and its first admin")
    create.add_argument("name")
    create.add_argument("--admin", required=True, metavar="EMAIL")
    create.add_argument("--admin-name", default=None, metavar="NAME", help="shown in emails as who submitted")
    create.add_argument("--platform-integrations-limit", type=int, default=1, metavar="N")
    create.set_defaults(run=_cmd_create_account)

    add_user = commands.add_parser("add-user", help="add a user to an account")
    add_user.add_argument("account_id", metavar="ACCOUNT_ID")
    add_user.add_argument("email", metavar="EMAIL")
    add_user.add_argument("--role", required=True, choices=["admin", "collaborator"])
    add_user.add_argument("--name", default=None)
    add_user.add_argument("--subject", default=None, help="the identity provider's subject (SSO)")
    add_user.set_defaults(run=_cmd_add_user)

    limit = commands.add_parser(
        "set-plan-limit", help="change how many integrations the account's plan includes, or its API budget"
    )
    limit.add_argument("account_id", metavar="ACCOUNT_ID")
    limit.add_argument("--platform-integrations", type=int, default=None, metavar="N")
    limit.add_argument(
        "--api-points",
        type=int,
        default=None,
        metavar="N",
        help="points each of its users and API keys may spend per rate-limit window (JETO_RATE_LIMIT_POINTS otherwise)",
    )
    limit.set_defaults(run=_cmd_set_plan_limit)

    token = commands.add_parser("token", help="print a development bearer token for a user")
    token.add_argument("email", metavar="EMAIL")
    token.add_argument("--ttl", type=_number(int, least=1), default=3600, metavar="SECONDS")
    token.set_defaults(run=_cmd_token)

    sync = commands.add_parser("sync", help="queue a sync of a platform integration; --wait follows it live")
    sync.add_argument("platform_integration_id", metavar="PI_ID")
    sync.add_argument("--wait", action="store_true", help="show its progress and end with a summary")
    sync.add_argument(
        "--full", action="store_true", help="fetch every program again, removing those deleted in Marketo"
    )
    sync.add_argument(
        "--timeout",
        type=_number(float, least=0.001),
        default=1800.0,
        metavar="SECONDS",
        help="how long --wait follows the sync before giving up (default: %(default)g)",
    )
    sync.set_defaults(run=_cmd_sync)

    health = commands.add_parser("healthcheck", help="exit 0 if this machine's jeto process (API or worker) answers")
    health.add_argument("--url", default=None, help="default: the address in JETO_HEALTH_FILE, else port 8000")
    health.set_defaults(run=_cmd_healthcheck)

    reseal = commands.add_parser(
        "reseal-secrets", help="seal every stored client secret with the first JETO_SECRET_KEY, so old keys can go"
    )
    reseal.add_argument("--batch-size", type=_number(int, least=1, most=10_000), default=200, metavar="N")
    reseal.set_defaults(run=_cmd_reseal_secrets)

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL) to schema.graphql")
    export.add_argument("--output", "-o", default=None, help="another file to write it to")
    export.set_defaults(run=_cmd_export_schema)

    simulator = commands.add_parser("marketo-simulator", help="run the Marketo simulator alone")
    simulator_command.add_arguments(simulator)
    for action in simulator._actions:
        if action.dest in SIMULATOR_RANGES and action.type in (int, float):
            least, most = SIMULATOR_RANGES[action.dest]
            action.type = _number(action.type, least=least, most=most)
    simulator.set_defaults(run=_cmd_simulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("serve", "worker"):
        configure_logging(logging.DEBUG if args.debug else logging.INFO)  # JSON lines, for the log pipeline
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(demo=getattr(args, "demo", False))
        args.run(settings, args)
    except ONE_LINE_ERRORS as error:
        if args.debug:
            raise
        print(f"jeto: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"jeto: {type(error).__name__}: {_first_line(error)}", file=sys.stderr)
        return 1
    return 0


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else "unexpected error (run with --debug for details)"


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
