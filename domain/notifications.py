"""The words of the notifications that name an account."""

from __future__ import annotations

from datetime import UTC, datetime


def account_label(account_name: str, integration_name: str, integrations_in_account: int) -> str:
    """'ACCOUNT (INTEGRATION)' when the account has several integrations, else the account alone."""
    if integrations_in_account > 1:
        return f"{account_name} ({integration_name})"
    return account_name


CAMPAIGN_SUBJECT = "You have a new Jeto Campaign!"


def person(name: str | None, email: str) -> str:
    return f"{name} ({email})" if name else email


def program_created(name: str, url: str | None) -> str:
    """The "Marketo program" line of a campaign whose program was made: its name, and where to open it."""
    return f"{name} ({url})" if url else name


def program_not_created(reason: str) -> str:
    return f"could not be created. {reason}"


def program_being_created(integration_name: str) -> str:
    """The "Marketo program" line of an email sent before the program's outcome is known."""
    return f"being created in {integration_name}"


def campaign_submitted(
    *,
    account: str,
    launcher: str,
    campaign: str,
    submitted_on: datetime,
    submitted_by: str,
    marketo_program: str,
) -> tuple[str, str]:
    """Subject and body of the email the account's admins get about a submitted campaign."""
    lines = [
        f"Account: {account}",
        f"Launcher: {launcher}",
        f"Campaign name: {campaign}",
        f"Submitted on: {submitted_on.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"Submitted by: {submitted_by}",
        f"Marketo program: {marketo_program}",
    ]
    return CAMPAIGN_SUBJECT, "\n".join(lines) + "\n"


def sync_failed(*, account: str, integration: str, error: str, failed_on: datetime) -> tuple[str, str]:
    subject = f"Jeto could not sync {integration}"
    lines = [
        f"Account: {account}",
        f"Platform integration: {integration}",
        f"Failed on: {failed_on.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"Why: {error}",
        "Jeto will not try again on its own: fix the cause, then sync the integration again.",
    ]
    return subject, "\n".join(lines) + "\n"
