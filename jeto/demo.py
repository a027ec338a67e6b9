"""`jeto serve --demo`: a simulated Marketo with two instances and a demo account bound to them."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import Tortoise

from domain import accounts, launchers, platform_integrations
from domain.models import Launcher, MarketoFolder, MarketoProgram, PlatformIntegration, Role, User
from domain.viewer import Viewer
from jeto.database import close_connections, tortoise_config
from jeto.services import Services
from jeto.settings import Settings
from marketo.worker.runner import Worker

ADMIN_EMAIL = "admin@demo.jeto.test"
COLLABORATOR_EMAIL = "collaborator@demo.jeto.test"
INSTANCE_NAMES = ("North America", "EMEA")


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
        default = await PlatformIntegration.get(account_id=admin.account_id, is_default=True, deleted_at=None)
        return Demo(ADMIN_EMAIL, COLLABORATOR_EMAIL, default.id)
    finally:
        await close_connections()


async def _sync_now(services: Services) -> None:
    """Both instances synced before the server starts, so the demo shows real folders and programs."""

    async def publish(account_id: int, event: object) -> None:
        return None  # nobody subscribes before the server starts

    await Worker(pool=services.marketo, credentials=services.credentials, publish=publish).run_until_idle()
