"""Use cases of platform integrations, each inside one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from tortoise.exceptions import IntegrityError

from domain import audit, changes, defaults, entitlements, syncs
from domain.accounts import lock_account, update_trial_flags
from domain.changes import changing
from domain.endpoints import Endpoints, resolve_endpoints
from domain.errors import Rejected, UserError, UserErrorCode, forbidden, not_found, reject_if_any
from domain.launcher_rules import deletion_error
from domain.models import ConnectionStatus, Job, JobState, Launcher, PlatformIntegration, SyncRun, SyncTrigger
from domain.names import clean_name, name_error, unstorable
from domain.sync_state import BUSY, SyncState
from domain.viewer import Viewer


class SecretSealer(Protocol):
    def seal(self, plaintext: str) -> str: ...


def secret_hint(secret: str) -> str:
    """What the API shows of a secret: its last four characters, when it is long enough to spare them."""
    return "…" + (secret[-4:] if len(secret) >= 12 else "****")


@dataclass(frozen=True)
class CredentialsInput:
    client_id: str | None
    client_secret: str | None
    rest_endpoint: str | None
    identity_endpoint: str | None


@dataclass(frozen=True)
class Created:
    integration: PlatformIntegration | None
    trial_confirmation: entitlements.TrialConfirmation | None = None


def _text_error(value: str | None, field: tuple[str, ...], label: str, max_length: int) -> UserError | None:
    if value is None:
        return None
    problem = unstorable(value)
    if problem:
        return UserError(UserErrorCode.INVALID_INPUT, f"The {label} {problem}.", field)
    if not value.strip():
        return UserError(UserErrorCode.INVALID_INPUT, f"The {label} cannot be empty.", field)
    if len(value) > max_length:
        return UserError(UserErrorCode.INVALID_INPUT, f"The {label} is longer than {max_length} characters.", field)
    return None


def _endpoint_text_error(value: str | None, field: tuple[str, ...]) -> UserError | None:
    """Only what the URL checks cannot see; they judge the rest."""
    problem = unstorable(value) if value is not None else None
    return UserError(UserErrorCode.INVALID_INPUT, f"The endpoint {problem}.", field) if problem else None


def _credentials_errors(creds: CredentialsInput, field: tuple[str, ...]) -> list[UserError | None]:
    return [
        _text_error(creds.client_id, (*field, "clientId"), "client id", 200),
        _text_error(creds.client_secret, (*field, "clientSecret"), "client secret", 500),
        _endpoint_text_error(creds.rest_endpoint, (*field, "restEndpoint")),
        _endpoint_text_error(creds.identity_endpoint, (*field, "identityEndpoint")),
    ]


def _endpoints(rest: str, identity: str | None, allowed_hosts: Sequence[str], field: tuple[str, ...]) -> Endpoints:
    resolved = resolve_endpoints(rest, identity, allowed_hosts, field)
    if isinstance(resolved, list):
        raise Rejected(resolved)
    return resolved


async def _name_taken(account_id: int, name: str, *, except_id: int | None = None) -> bool:
    query = PlatformIntegration.filter(account_id=account_id, deleted_at=None, name__iexact=name)
    if except_id is not None:
        query = query.exclude(id=except_id)
    return await query.exists()


def _name_taken_error(field: tuple[str, ...]) -> UserError:
    return UserError(UserErrorCode.INVALID_INPUT, "Another platform integration of this account has this name.", field)


async def create(
    viewer: Viewer,
    *,
    name: str,
    credentials: CredentialsInput,
    confirm_trial: bool,
    sealer: SecretSealer,
    allowed_hosts: Sequence[str],
) -> Created:
    if not viewer.is_admin:
        raise forbidden()
    field = ("input", "credentials")
    reject_if_any([name_error(name, ("input", "name")), *_credentials_errors(credentials, field)])
    assert credentials.client_id is not None and credentials.client_secret is not None
    endpoints = _endpoints(credentials.rest_endpoint or "", credentials.identity_endpoint, allowed_hosts, field)
    name = clean_name(name)
    try:
        async with changing():
            account = await lock_account(viewer.account_id)
            used = await PlatformIntegration.filter(account_id=account.id, deleted_at=None).count()
            limits = entitlements.PlanLimits.from_data(account.plan_limits)
            admission = entitlements.admit_integration(limits, used, confirm_trial=confirm_trial)
            if admission is entitlements.Admission.NEEDS_CONFIRMATION:
                return Created(None, entitlements.trial_confirmation(limits, used))
            if await _name_taken(account.id, name):
                raise Rejected([_name_taken_error(("input", "name"))])
            integration = await PlatformIntegration.create(
                account_id=account.id,
                name=name,
                client_id=credentials.client_id.strip(),
                client_secret_encrypted=sealer.seal(credentials.client_secret),
                client_secret_hint=secret_hint(credentials.client_secret),
                rest_endpoint=endpoints.rest,
                identity_endpoint=endpoints.identity,
                is_default=defaults.default_for_new_integration(used),
                is_trial=admission is entitlements.Admission.TRIAL,
            )
            await audit.integration_created(viewer.actor, integration)
            # The first sync also tests the connection; queued in this transaction, so it cannot be lost.
            await syncs.queue_sync(integration.id, SyncTrigger.CREDENTIALS_CHANGED)
    except IntegrityError:
        # Only the unique-name index can fire here: a concurrent request took the name first.
        raise Rejected([_name_taken_error(("input", "name"))]) from None
    return Created(integration)


async def get_for_admin(viewer: Viewer, integration_id: int, field: tuple[str, ...]) -> PlatformIntegration:
    if not viewer.is_admin:
        raise forbidden()
    integration = await PlatformIntegration.get_or_none(
        id=integration_id, account_id=viewer.account_id, deleted_at=None
    )
    if integration is None:
        raise Rejected([not_found("platform integration", field)])
    return integration


CREDENTIAL_COLUMNS = frozenset({"rest_endpoint", "identity_endpoint", "client_id", "client_secret_encrypted"})


def _changes(
    integration: PlatformIntegration,
    name: str | None,
    credentials: CredentialsInput | None,
    sealer: SecretSealer,
    allowed_hosts: Sequence[str],
) -> dict[str, object]:
    """The columns that change; new credentials also mark the connection untested and the next sync full."""
    field = ("input", "credentials")
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = clean_name(name)
    if credentials is not None:
        rest = credentials.rest_endpoint or integration.rest_endpoint
        # A new REST endpoint without an identity one derives it again, as on creation.
        identity = credentials.identity_endpoint
        if identity is None and credentials.rest_endpoint is None:
            identity = integration.identity_endpoint
        endpoints = _endpoints(rest, identity, allowed_hosts, field)
        candidate = {"rest_endpoint": endpoints.rest, "identity_endpoint": endpoints.identity}
        if credentials.client_id is not None:
            candidate["client_id"] = credentials.client_id.strip()
        if credentials.client_secret is not None:
            candidate["client_secret_encrypted"] = sealer.seal(credentials.client_secret)
            candidate["client_secret_hint"] = secret_hint(credentials.client_secret)
        changes.update({k: v for k, v in candidate.items() if getattr(integration, k) != v})
    if CREDENTIAL_COLUMNS & changes.keys():
        changes.update(connection_status=ConnectionStatus.UNTESTED, needs_full_sync=True)
    return changes


async def update(
    viewer: Viewer,
    integration_id: int,
    *,
    name: str | None,
    credentials: CredentialsInput | None,
    sealer: SecretSealer,
    allowed_hosts: Sequence[str],
) -> PlatformIntegration:
    await get_for_admin(viewer, integration_id, ("input", "id"))
    errors: list[UserError | None] = [name_error(name, ("input", "name")) if name is not None else None]
    if credentials is not None:
        errors += _credentials_errors(credentials, ("input", "credentials"))
    reject_if_any(errors)
    try:
        async with changing():
            # Under the account lock a concurrent delete has either committed (and we see it) or waits for us.
            await lock_account(viewer.account_id)
            integration = await _still_there(viewer, integration_id, ("input", "id"))
            changes = _changes(integration, name, credentials, sealer, allowed_hosts)
            if "name" in changes and await _name_taken(
                viewer.account_id, str(changes["name"]), except_id=integration.id
            ):
                raise Rejected([_name_taken_error(("input", "name"))])
            if changes:
                await PlatformIntegration.filter(id=integration.id).update(**changes)
                await audit.integration_updated(viewer.actor, integration, changes)
            if CREDENTIAL_COLUMNS & changes.keys():
                await syncs.queue_sync(integration.id, SyncTrigger.CREDENTIALS_CHANGED)
    except IntegrityError:
        raise Rejected([_name_taken_error(("input", "name"))]) from None
    await integration.refresh_from_db()
    return integration


async def _still_there(viewer: Viewer, integration_id: int, field: tuple[str, ...] = ("id",)) -> PlatformIntegration:
    """Read again under the account lock: a concurrent request may have deleted it or moved the default."""
    integration = await PlatformIntegration.get_or_none(
        id=integration_id, account_id=viewer.account_id, deleted_at=None
    )
    if integration is None:
        raise Rejected([not_found("platform integration", field)])
    return integration


async def set_default(viewer: Viewer, integration_id: int) -> PlatformIntegration:
    integration = await get_for_admin(viewer, integration_id, ("id",))
    async with changing():
        await lock_account(viewer.account_id)
        integration = await _still_there(viewer, integration.id)
        live = await PlatformIntegration.filter(account_id=viewer.account_id, deleted_at=None)
        flags = defaults.defaults_after_switch(
            [defaults.IntegrationRank(pi.id, pi.is_default, pi.id) for pi in live], integration.id
        )
        # Unset first: the partial unique index allows at most one default at any instant.
        unset = [pk for pk, is_default in flags.items() if not is_default]
        await PlatformIntegration.filter(id__in=unset, is_default=True).update(is_default=False)
        await PlatformIntegration.filter(id=integration.id).update(is_default=True)
        await audit.defaults_changed(viewer.actor, viewer.account_id, {pi.id: pi.is_default for pi in live}, flags)
    await integration.refresh_from_db()
    return integration


async def delete(viewer: Viewer, integration_id: int) -> int:
    integration = await get_for_admin(viewer, integration_id, ("id",))
    async with changing():
        account = await lock_account(viewer.account_id)
        integration = await _still_there(viewer, integration.id)
        in_use = await Launcher.filter(platform_integration_id=integration.id, deleted_at=None).count()
        reject_if_any([deletion_error(in_use)])
        now = datetime.now(UTC)
        await PlatformIntegration.filter(id=integration.id).update(deleted_at=now, is_default=False)
        changes.sync_status_changed(integration.id)  # its subscribers learn it is gone
        await audit.integration_deleted(viewer.actor, integration)
        # Nothing is left waiting for an integration no worker will claim again.
        await Job.filter(platform_integration_id=integration.id, state=JobState.PENDING).update(
            state=JobState.FAILED, last_error="The integration was deleted.", finished_at=now
        )
        await SyncRun.filter(platform_integration_id=integration.id, state__in=[s.value for s in BUSY]).update(
            state=SyncState.ERROR, error="The integration was deleted.", finished_at=now, next_attempt_at=None
        )
        remaining = await PlatformIntegration.filter(account_id=viewer.account_id, deleted_at=None).order_by("id")
        if integration.is_default:
            successor = defaults.successor_default(
                [defaults.IntegrationRank(pi.id, pi.is_default, pi.id) for pi in remaining]
            )
            if successor is not None:
                await PlatformIntegration.filter(id=successor).update(is_default=True)
                await audit.defaults_changed(viewer.actor, viewer.account_id, {}, {successor: True})
        # A deleted integration frees its place in the plan, as a raised limit does: the oldest trials move in.
        await update_trial_flags(
            remaining, entitlements.PlanLimits.from_data(account.plan_limits).platform_integrations, actor=viewer.actor
        )
    return integration.id


async def test_connection(
    viewer: Viewer, integration_id: int, tester: Callable[[PlatformIntegration], Awaitable[ConnectionStatus]]
) -> PlatformIntegration:
    """Admins: the connection is tested now (by `tester`, outside any transaction: a slow instance holds no lock)
    and its status recorded; returns the integration as it is then."""
    integration = await get_for_admin(viewer, integration_id, ("id",))
    status = await tester(integration)
    async with changing():
        await record_connection(integration.id, status)
    await integration.refresh_from_db()
    return integration


async def record_connection(integration_id: int, status: ConnectionStatus) -> None:
    await PlatformIntegration.filter(id=integration_id).update(
        connection_status=status, connection_checked_at=datetime.now(UTC)
    )


CONNECTION_MESSAGES = {
    ConnectionStatus.INVALID_CREDENTIALS: "Marketo refused the Client ID and Client Secret: enter the LaunchPoint "
    "service's current ones (Marketo Admin > LaunchPoint > View Details).",
    ConnectionStatus.UNREACHABLE: "Marketo did not answer at these endpoints: check the REST and Identity endpoints "
    "(Marketo Admin > Web Services), then test the connection again.",
    ConnectionStatus.ENDPOINT_NOT_ALLOWED: "This integration's endpoints point at a host this Jeto may not call: "
    "correct them to the instance's https://<Munchkin ID>.mktorest.com endpoints (Marketo Admin > Web Services).",
}


def connection_message(status: ConnectionStatus) -> str | None:
    """What an admin should do about the connection's status; None when there is nothing to do."""
    return CONNECTION_MESSAGES.get(status)
