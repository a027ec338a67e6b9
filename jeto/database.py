"""The Tortoise configuration and the migrations that build the schema."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as run_migrations

MODELS = ["domain.models"]


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {"models": {"models": MODELS, "default_connection": "default", "migrations": "migrations"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(database_url: str) -> None:
    """Apply pending migrations, then close the connections this opened."""
    try:
        await run_migrations(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()
