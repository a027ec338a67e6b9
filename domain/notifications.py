"""The words of the notifications that name an account."""

from __future__ import annotations


def account_label(account_name: str, integration_name: str, integrations_in_account: int) -> str:
    """'ACCOUNT (INTEGRATION)' when the account has several integrations, else the account alone."""
    if integrations_in_account > 1:
        return f"{account_name} ({integration_name})"
    return account_name
