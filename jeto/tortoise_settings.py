"""Entry point for Tortoise's own migration CLI (`tortoise makemigrations`)."""

import os

from jeto.database import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("JETO_DATABASE_URL", "sqlite://jeto.sqlite3"))
