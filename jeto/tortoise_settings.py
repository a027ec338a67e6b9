"""Entry point for Tortoise's own migration CLI (`tortoise makemigrations`)."""

import os

from jeto.database import tortoise_config
from jeto.settings import DEFAULT_DATABASE_URL

TORTOISE_ORM = tortoise_config(os.environ.get("JETO_DATABASE_URL", DEFAULT_DATABASE_URL))
