"""The `jeto` command: serve, worker, migrate, and the account manager's commands (see RUNTIME.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise import Tortoise

from domain import accounts
from domain.errors import Rejected
from domain.models import Role, User
from jeto import database
from jeto.auth import issue_development_token
from jeto.observability import configure_logging
from jeto.settings import Settings
from marketo.simulator import command as simulator_command
from schema.ids import decode_id, encode_id


class CommandError(Exception):
    """A failure worth one line on stderr."""


def _pk(value: str, type_name: str, what: str) -> int:
    """A global id of that type, or a plain number, as the database's primary key."""
    decoded = decode_id(value)
    if decoded and decoded[0] == type_name:
        return decoded[1]
    if value.isdigit():
        return int(value)
    raise CommandError(f"'{value}' is not {what}.")


def _account_pk(value: str) -> int:
    return _pk(value, "Account", "an account id (as printed by `jeto create-account`)")


async def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await Tortoise.init(config=database.tortoise_config(settings.database_url))
    try:
        return await work()
    except Rejected as rejected:
        raise CommandError(rejected.errors[0].message) from None
    finally:
        await Tortoise.close_connections()


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(database.migrate(settings.database_url))
    print("Migrations applied.")


def _cmd_create_account(settings: Settings, args: argparse.Namespace) -> None:
    async def work() -> int:
        account, _ = await accounts.create_account(
            args.name, args.admin, integrations_limit=args.platform_integrations_limit
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
    account_id = _account_pk(args.account_id)

    async def work() -> None:
        await accounts.set_integrations_limit(account_id, args.platform_integrations)

    asyncio.run(_with_database(settings, work))
    print(f"The plan now includes {args.platform_integrations} platform integration(s).")


def _cmd_token(settings: Settings, args: argparse.Namespace) -> None:
    if args.ttl <= 0:
        raise CommandError("--ttl must be a positive number of seconds.")

    async def work() -> bool:
        return await User.filter(email=args.email.lower()).exists()

    if not asyncio.run(_with_database(settings, work)):
        raise CommandError(f"No user has the email {args.email}; add one with `jeto add-user`.")
    print(issue_development_token(settings, args.email, args.ttl))


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(_serve(settings, args))


async def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import contextlib

    import uvicorn

    from jeto import demo
    from jeto.app import DemoAccess, create_app
    from marketo.simulator import SimulatorConfig, create_simulator, running_simulator

    await database.migrate(settings.database_url)
    async with contextlib.AsyncExitStack() as stack:
        banner = ""
        access = None
        if args.demo:
            simulator = create_simulator(SimulatorConfig(instances=2, folders=12, programs=60))
            base_url = await stack.enter_async_context(running_simulator(simulator))
            seeded = await demo.seed(settings, simulator.endpoints(base_url))
            token = issue_development_token(settings, seeded.admin_email, 12 * 3600)
            access = DemoAccess(token=token, integration_id=encode_id("PlatformIntegration", seeded.integration_id))
            banner = (
                f"\nJeto demo: GraphiQL at http://{args.host}:{args.port}/graphql"
                f"\nMarketo simulator at {base_url}"
                f"\nAdmin token ({seeded.admin_email}, 12 h):\n  Authorization: Bearer {token}"
                f"\nCollaborator: `jeto token {seeded.collaborator_email}`\n"
            )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, demo=access), host=args.host, port=args.port, log_level="info", log_config=None
            )
        )
        if banner:
            asyncio.get_running_loop().call_later(0.5, print, banner)
        await server.serve()


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    if settings.broadcast_url.startswith("memory://"):
        raise CommandError(
            "JETO_BROADCAST_URL is memory://, so the worker's events could not reach any API process: "
            "set it to redis://… or postgres://…"
        )
    asyncio.run(_worker(settings))


async def _worker(settings: Settings) -> None:
    from jeto.services import open_services, run_background_work

    await database.migrate(settings.database_url)
    await Tortoise.init(config=database.tortoise_config(settings.database_url))
    try:
        async with open_services(settings) as services:
            work = asyncio.ensure_future(run_background_work(settings, services))
            # SIGTERM ends the loop cleanly: leases are released now rather than left to lapse.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, work.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await work
    finally:
        await Tortoise.close_connections()


def _cmd_sync(settings: Settings, args: argparse.Namespace) -> None:
    from jeto.sync_command import SyncFailed, sync

    integration_id = _pk(args.platform_integration_id, "PlatformIntegration", "a platform integration id")

    async def work() -> str:
        try:
            return await sync(settings, integration_id, wait=args.wait, timeout=args.timeout)
        except SyncFailed as failure:
            raise CommandError(str(failure)) from None
        except TimeoutError:
            raise CommandError(f"The sync did not end within {args.timeout:.0f} s; is a worker running?") from None

    print(asyncio.run(_with_database(settings, work)))


def _cmd_export_schema(settings: Settings, args: argparse.Namespace) -> None:
    from schema import SDL_PATH, sdl

    target = args.output or SDL_PATH
    with open(target, "w", encoding="utf-8") as out:
        out.write(sdl())
    print(f"Wrote {target}.")


def _cmd_simulator(settings: Settings, args: argparse.Namespace) -> None:
    simulator_command.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jeto", description="Jeto's multi-Marketo GraphQL backend.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="apply migrations and serve the API at /graphql")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="also run the Marketo simulator and seed a demo account")
    serve.set_defaults(run=_cmd_serve)

    commands.add_parser("worker", help="run only the Marketo worker (beside API processes)").set_defaults(
        run=_cmd_worker
    )
    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(run=_cmd_migrate)

    create = commands.add_parser("create-account", help="create an account and its first admin")
    create.add_argument("name")
    create.add_argument("--admin", required=True, metavar="EMAIL")
    create.add_argument("--platform-integrations-limit", type=int, default=1, metavar="N")
    create.set_defaults(run=_cmd_create_account)

    add_user = commands.add_parser("add-user", help="add a user to an account")
    add_user.add_argument("account_id", metavar="ACCOUNT_ID")
    add_user.add_argument("email", metavar="EMAIL")
    add_user.add_argument("--role", required=True, choices=["admin", "collaborator"])
    add_user.add_argument("--name", default=None)
    add_user.add_argument("--subject", default=None, help="the identity provider's subject (SSO)")
    add_user.set_defaults(run=_cmd_add_user)

    limit = commands.add_parser("set-plan-limit", help="change how many integrations the account's plan includes")
    limit.add_argument("account_id", metavar="ACCOUNT_ID")
    limit.add_argument("--platform-integrations", type=int, required=True, metavar="N")
    limit.set_defaults(run=_cmd_set_plan_limit)

    token = commands.add_parser("token", help="print a development bearer token for a user")
    token.add_argument("email", metavar="EMAIL")
    token.add_argument("--ttl", type=int, default=3600, metavar="SECONDS")
    token.set_defaults(run=_cmd_token)

    sync = commands.add_parser("sync", help="queue a sync of a platform integration; --wait follows it live")
    sync.add_argument("platform_integration_id", metavar="PI_ID")
    sync.add_argument("--wait", action="store_true", help="show its progress and end with a summary")
    sync.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS")
    sync.set_defaults(run=_cmd_sync)

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL) to schema.graphql")
    export.add_argument("--output", "-o", default=None, help="another file to write it to")
    export.set_defaults(run=_cmd_export_schema)

    simulator = commands.add_parser("marketo-simulator", help="run the Marketo simulator alone")
    simulator_command.add_arguments(simulator)
    simulator.set_defaults(run=_cmd_simulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("serve", "worker"):
        configure_logging(logging.INFO)  # JSON lines, for the log pipeline
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(demo=getattr(args, "demo", False))
        args.run(settings, args)
    except CommandError as error:
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
