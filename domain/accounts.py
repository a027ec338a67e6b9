"""Use cases of the account manager: accounts, users and plan limits (the CLI's commands)."""

from __future__ import annotations

import dataclasses

from domain import audit, entitlements
from domain.audit import ACCOUNT_MANAGER, Actor, AuditAction, change
from domain.changes import changing
from domain.errors import Rejected, UserError, UserErrorCode
from domain.models import Account, PlatformIntegration, Role, User
from domain.names import clean_name, name_error

EMAIL_MAX = 254
USER_NAME_MAX = 200
SUBJECT_MAX = 255


def email_error(email: str) -> UserError | None:
    local, at, domain = email.partition("@")
    if len(email) > EMAIL_MAX:
        return UserError(
            UserErrorCode.INVALID_INPUT,
            f"The email is {len(email)} characters long; at most {EMAIL_MAX} are allowed.",
            ("email",),
        )
    if not at or not local or "." not in domain or not email.isprintable() or any(c.isspace() for c in email):
        return UserError(UserErrorCode.INVALID_INPUT, f"'{email}' is not an email address.", ("email",))
    return None


def subject_error(subject: str) -> UserError | None:
    """The identity provider's subject: what its tokens carry in `sub`, so never empty."""
    field = ("subject",)
    if not subject.strip():
        return UserError(UserErrorCode.INVALID_INPUT, "The identity provider's subject cannot be empty.", field)
    if len(subject.strip()) > SUBJECT_MAX:
        return UserError(
            UserErrorCode.INVALID_INPUT,
            f"The subject is {len(subject.strip())} characters long; at most {SUBJECT_MAX} are allowed.",
            field,
        )
    if not subject.isprintable():
        return UserError(UserErrorCode.INVALID_INPUT, "The subject cannot contain control characters.", field)
    return None


async def lock_account(account_id: int) -> Account:
    """Serialises the use cases that count, re-flag or bind to an account's integrations (on PostgreSQL;
    SQLite's single connection serialises transactions anyway).

    FOR NO KEY UPDATE, like every lock that neither deletes the row nor changes its key: a row inserted meanwhile
    with a key on it (a worker's notification) needs only a KEY SHARE, which FOR UPDATE would refuse, and the
    worker holds its integration's row then, which the use case waits for next: a deadlock.
    """
    return await Account.filter(id=account_id).select_for_update(no_key=True).get()


def user_errors(email: str, name: str | None, subject: str | None) -> list[UserError]:
    errors = [email_error(email)]
    if name is not None:
        errors.append(name_error(name, ("name",), max_length=USER_NAME_MAX))
    if subject is not None:
        errors.append(subject_error(subject))
    return [error for error in errors if error]


async def _add_user(account: Account, email: str, role: Role, name: str | None, subject: str | None) -> User:
    errors = user_errors(email, name, subject)
    if errors:
        raise Rejected(errors)
    name = clean_name(name) if name is not None else None
    subject = subject.strip() if subject is not None else None
    if await User.filter(email__iexact=email).exists():
        raise Rejected(
            [UserError(UserErrorCode.INVALID_INPUT, f"A user with the email {email} exists already.", ("email",))]
        )
    if subject and await User.filter(idp_subject=subject).exists():
        raise Rejected(
            [UserError(UserErrorCode.INVALID_INPUT, "A user with this subject exists already.", ("subject",))]
        )
    return await User.create(account=account, email=email.lower(), role=role, name=name, idp_subject=subject)


async def create_account(
    name: str, admin_email: str, *, integrations_limit: int = 1, admin_name: str | None = None
) -> tuple[Account, User]:
    error = name_error(name, ("name",), max_length=200)
    limit_problem = entitlements.limit_error(integrations_limit)
    if error:
        raise Rejected([error])
    if limit_problem:
        raise Rejected([UserError(UserErrorCode.INVALID_INPUT, limit_problem, ("platformIntegrationsLimit",))])
    async with changing():
        account = await Account.create(
            name=name.strip(), plan_limits=entitlements.PlanLimits(platform_integrations=integrations_limit).to_data()
        )
        admin = await _add_user(account, admin_email, Role.ADMIN, admin_name, None)
    return account, admin


async def add_user(
    account_id: int, email: str, role: Role, *, name: str | None = None, subject: str | None = None
) -> User:
    account = await Account.get_or_none(id=account_id)
    if account is None:
        raise Rejected([UserError(UserErrorCode.NOT_FOUND, "No account with this id.", ("accountId",))])
    async with changing():
        return await _add_user(account, email, role, name, subject)


async def update_trial_flags(integrations: list[PlatformIntegration], limit: int, *, actor: Actor) -> None:
    """The account's live integrations (oldest first) flagged as the plan's `limit` now says: those that fit
    stop being trials. Call it under the account lock, once the limit or the integrations changed."""
    flags = entitlements.trial_flags_after_limit_change(limit, [pi.is_trial for pi in integrations])
    for integration, is_trial in zip(integrations, flags, strict=True):
        if integration.is_trial != is_trial:
            await PlatformIntegration.filter(id=integration.id).update(is_trial=is_trial)
            await audit.record(
                actor,
                integration.account_id,
                AuditAction.INTEGRATION_TRIAL_ENDED,
                platform_integration_id=integration.id,
                changes=[change("isTrial", integration.is_trial, is_trial)],
            )


async def set_integrations_limit(account_id: int, limit: int, *, actor: Actor = ACCOUNT_MANAGER) -> Account:
    problem = entitlements.limit_error(limit)
    if problem:
        raise Rejected([UserError(UserErrorCode.INVALID_INPUT, problem, ("platformIntegrations",))])
    async with changing():
        account = await Account.filter(id=account_id).select_for_update(no_key=True).first()
        if account is None:
            raise Rejected([UserError(UserErrorCode.NOT_FOUND, "No account with this id.", ("accountId",))])
        limits = entitlements.PlanLimits.from_data(account.plan_limits)
        account.plan_limits = dataclasses.replace(limits, platform_integrations=limit).to_data()
        await account.save(update_fields=["plan_limits"])
        if limit != limits.platform_integrations:
            await audit.record(
                actor,
                account_id,
                AuditAction.PLAN_LIMITS_CHANGED,
                changes=[change("platformIntegrations", limits.platform_integrations, limit)],
            )
        await update_trial_flags(
            await PlatformIntegration.filter(account_id=account_id, deleted_at=None).order_by("id"), limit, actor=actor
        )
    return account
