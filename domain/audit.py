"""The audit trail: who changed what of an account's integrations, launchers' integration and collaborators, plan
limits, trials and API keys, when, and from which request.

A use case writes its entries with `record`, inside its own transaction: an entry commits with its change or
not at all, so no change lands without its entry, nor an entry without its change. A secret is never written:
its change reads "changed".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.models import ActorKind, AuditEvent, Launcher, PlatformIntegration

SECRET_CHANGED = "changed"


class AuditAction(enum.Enum):
    INTEGRATION_CREATED = "INTEGRATION_CREATED"
    INTEGRATION_RENAMED = "INTEGRATION_RENAMED"
    INTEGRATION_CREDENTIALS_CHANGED = "INTEGRATION_CREDENTIALS_CHANGED"
    INTEGRATION_DEFAULT_CHANGED = "INTEGRATION_DEFAULT_CHANGED"
    INTEGRATION_TRIAL_ENDED = "INTEGRATION_TRIAL_ENDED"
    INTEGRATION_DELETED = "INTEGRATION_DELETED"
    LAUNCHER_CREATED = "LAUNCHER_CREATED"
    LAUNCHER_COLLABORATORS_CHANGED = "LAUNCHER_COLLABORATORS_CHANGED"
    PLAN_LIMITS_CHANGED = "PLAN_LIMITS_CHANGED"
    API_KEY_CREATED = "API_KEY_CREATED"
    API_KEY_REVOKED = "API_KEY_REVOKED"


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, an API key, or the account manager (the CLI's account commands); and the
    request it came with, as a value (the composition root reads it, the domain only carries it)."""

    kind: ActorKind
    user_id: int | None = None
    api_key_id: int | None = None
    request_id: str | None = None


ACCOUNT_MANAGER = Actor(ActorKind.ACCOUNT_MANAGER)


@dataclass(frozen=True)
class Change:
    field: str  # as the API names it: name, clientId, restEndpoint, isDefault…
    before: str | None = None
    after: str | None = None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def change(field: str, before: object, after: object) -> Change:
    return Change(field, _text(before), _text(after))


def secret_change(field: str) -> Change:
    """A secret's change: that it changed, never a value."""
    return Change(field, None, SECRET_CHANGED)


async def record(
    actor: Actor,
    account_id: int,
    action: AuditAction,
    *,
    platform_integration_id: int | None = None,
    launcher_id: int | None = None,
    api_key_id: int | None = None,
    changes: Iterable[Change] = (),
) -> None:
    """Writes one entry; call it inside the use case's transaction, after the change it records."""
    await AuditEvent.create(
        account_id=account_id,
        created_at=datetime.now(UTC),
        action=action.value,
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        request_id=actor.request_id,
        platform_integration_id=platform_integration_id,
        launcher_id=launcher_id,
        api_key_id=api_key_id,
        changes=[{"field": c.field, "before": c.before, "after": c.after} for c in changes],
    )


# How the trail describes each audited change of an integration; the use cases call these in their transaction.

_CREDENTIAL_FIELDS = {"client_id": "clientId", "rest_endpoint": "restEndpoint", "identity_endpoint": "identityEndpoint"}
_SECRET_COLUMN = "client_secret_encrypted"


async def integration_created(actor: Actor, integration: PlatformIntegration) -> None:
    await record(
        actor,
        integration.account_id,
        AuditAction.INTEGRATION_CREATED,
        platform_integration_id=integration.id,
        changes=[
            change("name", None, integration.name),
            *(change(field, None, getattr(integration, column)) for column, field in _CREDENTIAL_FIELDS.items()),
            secret_change("clientSecret"),
            change("isDefault", None, integration.is_default),
            change("isTrial", None, integration.is_trial),
        ],
    )


async def integration_updated(actor: Actor, before: PlatformIntegration, columns: Mapping[str, object]) -> None:
    """`before`: the integration as it was; `columns`: the columns the update wrote."""
    if "name" in columns and columns["name"] != before.name:
        await record(
            actor,
            before.account_id,
            AuditAction.INTEGRATION_RENAMED,
            platform_integration_id=before.id,
            changes=[change("name", before.name, columns["name"])],
        )
    credentials = [
        change(field, getattr(before, column), columns[column])
        for column, field in _CREDENTIAL_FIELDS.items()
        if column in columns
    ]
    if _SECRET_COLUMN in columns:
        credentials.append(secret_change("clientSecret"))
    if credentials:
        await record(
            actor,
            before.account_id,
            AuditAction.INTEGRATION_CREDENTIALS_CHANGED,
            platform_integration_id=before.id,
            changes=credentials,
        )


async def integration_deleted(actor: Actor, integration: PlatformIntegration) -> None:
    await record(actor, integration.account_id, AuditAction.INTEGRATION_DELETED, platform_integration_id=integration.id)


async def defaults_changed(
    actor: Actor, account_id: int, before: Mapping[int, bool], after: Mapping[int, bool]
) -> None:
    """An entry for each integration whose default flag `after` differs from `before` (ids to flags)."""
    for pk, is_default in after.items():
        if before.get(pk, False) != is_default:
            await record(
                actor,
                account_id,
                AuditAction.INTEGRATION_DEFAULT_CHANGED,
                platform_integration_id=pk,
                changes=[change("isDefault", before.get(pk, False), is_default)],
            )


async def launcher_created(actor: Actor, launcher: Launcher) -> None:
    """A launcher's integration is chosen once, at its creation (it never changes after)."""
    await record(
        actor,
        launcher.account_id,
        AuditAction.LAUNCHER_CREATED,
        platform_integration_id=launcher.platform_integration_id,
        launcher_id=launcher.id,
        changes=[
            change("name", None, launcher.name),
            change("platformIntegration", None, launcher.platform_integration_id),
        ],
    )


async def collaborators_changed(actor: Actor, launcher: Launcher, before: Iterable[str], after: Iterable[str]) -> None:
    """The collaborators granted the launcher, by email, before and after; nothing when they are the same."""
    was, now = sorted(set(before)), sorted(set(after))
    if was != now:
        await record(
            actor,
            launcher.account_id,
            AuditAction.LAUNCHER_COLLABORATORS_CHANGED,
            platform_integration_id=launcher.platform_integration_id,
            launcher_id=launcher.id,
            changes=[change("collaborators", ", ".join(was) or None, ", ".join(now) or None)],
        )
