"""`jeto serve --demo`: a simulated Marketo with two instances and a demo account bound to them."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import inspect
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from tortoise import Tortoise

from domain import accounts, campaigns, launchers, platform_integrations
from domain.models import Campaign, Launcher, MarketoFolder, MarketoProgram, PlatformIntegration, Role, User
from domain.viewer import Viewer
from jeto import database, http_server
from jeto.database import close_connections, tortoise_config
from jeto.mailer import Mailer
from jeto.services import Services
from jeto.settings import Settings
from marketo.worker.runner import Worker

ADMIN_EMAIL = "admin@demo.jeto.test"
COLLABORATOR_EMAIL = "collaborator@demo.jeto.test"
INSTANCE_NAMES = ("North America", "EMEA")
# The launcher's campaigns, oldest first, and who submitted each (the collaborator may: the launcher is theirs too).
CAMPAIGNS = (
    ("Spring product webinar", ADMIN_EMAIL),
    ("Partner summit invitations", COLLABORATOR_EMAIL),
    ("Autumn customer roundtable", ADMIN_EMAIL),
)
DEMO_LOCK = 0x4A45_5444  # "JETD": the PostgreSQL advisory lock a demo holds on its database


class DemoRunning(http_server.ServerFailed):
    """Another demo serves from this database; the message says which, and how to run a second one."""


@contextlib.asynccontextmanager
async def only_demo_of_its_database(database_url: str, url: str) -> AsyncIterator[None]:
    """One demo per database, held while it serves: a second would point the first one's integrations at its own
    simulator, and the first one's syncs would then fail. SQLite: an flock on a file beside the database (released
    when the process ends, however it ends); PostgreSQL: an advisory lock on a connection of its own."""
    elsewhere = (
        "stop it first, or give this one a database of its own, e.g. "
        f"JETO_DATABASE_URL=sqlite://demo-2.sqlite3 jeto serve --demo --port {urlsplit(url).port}"
    )
    if urlsplit(database_url).scheme != "sqlite":
        connection = await database.connect_postgres(database_url)
        try:
            if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", DEMO_LOCK):
                raise DemoRunning(
                    f"another `jeto serve --demo` serves from the database at {database.location(database_url)}: "
                    f"{elsewhere}"
                )
            yield
        finally:
            await connection.close()  # releases the lock
        return
    path = database.sqlite_path(database_url)
    if path == ":memory:":  # a database no other process can open
        yield
        return
    with open(f"{path}.demo-lock", "a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise DemoRunning(
                f"another `jeto serve --demo` ({holder}) serves from {database.location(database_url)}: {elsewhere}"
            ) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}, at {url}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class Demo:
    admin_email: str
    collaborator_email: str
    integration_id: int


async def seed(settings: Settings, services: Services, instances: list[dict[str, str]]) -> Demo:
    """Idempotent: a second run reuses the account and points its integrations at this run's simulator.

    Syncs with the process's own Marketo pool, so its calls show in /metrics like any later sync's."""
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        admin = await User.get_or_none(email=ADMIN_EMAIL)
        if admin is None:
            account, admin = await accounts.create_account("Demo Co", ADMIN_EMAIL, integrations_limit=2)
            await accounts.add_user(account.id, COLLABORATOR_EMAIL, Role.COLLABORATOR, name="Casey Collaborator")
        viewer = Viewer(user_id=admin.id, account_id=admin.account_id, role=Role.ADMIN)
        for name, instance in zip(INSTANCE_NAMES, instances, strict=False):
            credentials = platform_integrations.CredentialsInput(
                client_id=instance["clientId"],
                client_secret=instance["clientSecret"],
                rest_endpoint=instance["restEndpoint"],
                identity_endpoint=instance["identityEndpoint"],
            )
            existing = await PlatformIntegration.get_or_none(account_id=admin.account_id, name=name, deleted_at=None)
            common = {
                "credentials": credentials,
                "sealer": services.secret_box,
                "allowed_hosts": settings.marketo_allowed_hosts,
            }
            if existing is None:
                await platform_integrations.create(viewer, name=name, confirm_trial=True, **common)
            else:
                await platform_integrations.update(viewer, existing.id, name=None, **common)
        await _sync_now(services)
        if not await Launcher.filter(account_id=admin.account_id).exists():
            first = await PlatformIntegration.get(account_id=admin.account_id, name=INSTANCE_NAMES[0])
            folder = await MarketoFolder.filter(
                platform_integration_id=first.id, marketo_type="Folder", is_system=False
            ).first()
            template = await MarketoProgram.filter(platform_integration_id=first.id).order_by("id").first()
            launcher = await launchers.create(
                viewer,
                name="Webinar launcher",
                integration_id=first.id,
                choice=launchers.AssetChoice(
                    destination_folder_id=folder.id if folder else None,
                    template_program_id=template.id if template else None,
                ),
            )
            collaborator = await User.get(email=COLLABORATOR_EMAIL)
            await launchers.set_collaborators(viewer, launcher.id, [collaborator.id])
            await _sync_now(services)  # the launcher's "Jeto" assets folder
        if not await Campaign.filter(account_id=admin.account_id).exists():
            await _campaigns(settings, services, admin.account_id)
        default = await PlatformIntegration.get(account_id=admin.account_id, is_default=True, deleted_at=None)
        return Demo(ADMIN_EMAIL, COLLABORATOR_EMAIL, default.id)
    finally:
        await close_connections()


async def _campaigns(settings: Settings, services: Services, account_id: int) -> None:
    """The launcher's campaigns, their programs made in Marketo, and the admins' emails about them sent (logged,
    without JETO_SMTP_URL) before the demo serves: the dashboard shows launchers with their latest campaigns."""
    launcher = await Launcher.filter(account_id=account_id, deleted_at=None).order_by("id").first()
    if launcher is None:
        return
    for name, email in CAMPAIGNS:
        user = await User.get(email=email)
        submitter = Viewer(user_id=user.id, account_id=account_id, role=user.role)
        await campaigns.create(submitter, launcher_id=launcher.id, name=name, email_hold=settings.campaign_email_hold)
    await _sync_now(services)
    await Mailer(settings.smtp_url).send_due()


async def _sync_now(services: Services) -> None:
    """Both instances synced before the server starts, so the demo shows real folders and programs."""

    async def publish(account_id: int, event: object) -> None:
        if inspect.isawaitable(event):
            await event  # the read that would make the event; nobody subscribes before the server starts

    await Worker(pool=services.marketo, credentials=services.credentials, publish=publish).run_until_idle()
