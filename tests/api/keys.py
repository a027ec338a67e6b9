"""API keys made over the API, as an admin makes them, for the tests that sign in with one."""

from __future__ import annotations

from tests.api.operations import CREATE_API_KEY
from tests.conftest import Caller


async def api_key(admin: Caller, scope: str = "READ_WRITE", name: str = "Dashboard", **extra) -> tuple[str, Caller]:
    """A new key of the admin's account: its id, and a caller signed in with it."""
    payload = (await admin(CREATE_API_KEY, {"name": name, "scope": scope, **extra}))["createApiKey"]
    assert payload["userErrors"] == [] and payload["key"], payload
    return payload["apiKey"]["id"], Caller(admin.http, payload["key"])
