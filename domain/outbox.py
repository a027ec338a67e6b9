"""Emails to an account's admins, written in the transaction of the change they tell of."""

from __future__ import annotations

from datetime import UTC, datetime

from domain import notifications
from domain.models import Account, Notification, PlatformIntegration, Role, User
from domain.queries import column


async def account_label(account: Account, integration: PlatformIntegration) -> str:
    count = await PlatformIntegration.filter(account_id=account.id, deleted_at=None).count()
    return notifications.account_label(account.name, integration.name, count)


async def notify_admins(
    account_id: int, subject: str, body: str, *, campaign_id: int | None = None, send_after: datetime | None = None
) -> Notification | None:
    """Queues an email to the account's admins, due at `send_after` (now by default); None if it has none."""
    admins = await column(User.filter(account_id=account_id, role=Role.ADMIN).order_by("id"), "email")
    if not admins:
        return None
    return await Notification.create(
        account_id=account_id,
        campaign_id=campaign_id,
        recipients=list(admins),
        subject=subject,
        body=body,
        send_after=send_after or datetime.now(UTC),
    )
