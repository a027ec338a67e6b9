"""Settings read from the environment (see RUNTIME.md), with development defaults that warn."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from marketo.credentials import Secret

log = logging.getLogger("jeto.settings")

DEV_JWT_SECRET = "jeto-development-jwt-secret-change-me"
DEV_SECRET_KEY = "jeto-development-secret-key-change-me"
DEFAULT_ALLOWED_HOSTS = ("*.mktorest.com",)
LOOPBACK_PATTERNS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://jeto.sqlite3"
    broadcast_url: str = "memory://"
    worker: bool = True
    jwt_secret: Secret = field(default_factory=lambda: Secret(DEV_JWT_SECRET))
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    secret_key: Secret = field(default_factory=lambda: Secret(DEV_SECRET_KEY))
    marketo_allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    smtp_url: Secret | None = None
    allowed_origins: tuple[str, ...] = ()
    sync_interval_minutes: float = 60.0
    full_sync_hours: float = 24.0
    worker_lease_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
        env = os.environ if env is None else env
        hosts = tuple(h.strip() for h in env.get("JETO_MARKETO_ALLOWED_HOSTS", "").split(",") if h.strip())
        if not hosts:
            hosts = DEFAULT_ALLOWED_HOSTS + (LOOPBACK_PATTERNS if demo else ())
        return cls(
            database_url=env.get("JETO_DATABASE_URL", "sqlite://jeto.sqlite3"),
            broadcast_url=env.get("JETO_BROADCAST_URL", "memory://"),
            worker=env.get("JETO_WORKER", "on").lower() not in ("off", "0", "false", "no"),
            jwt_secret=Secret(env.get("JETO_JWT_SECRET") or DEV_JWT_SECRET),
            jwks_url=env.get("JETO_JWT_JWKS_URL") or None,
            jwt_audience=env.get("JETO_JWT_AUDIENCE") or None,
            jwt_issuer=env.get("JETO_JWT_ISSUER") or None,
            secret_key=Secret(env.get("JETO_SECRET_KEY") or DEV_SECRET_KEY),
            marketo_allowed_hosts=hosts,
            smtp_url=Secret(env["JETO_SMTP_URL"]) if env.get("JETO_SMTP_URL") else None,
            allowed_origins=tuple(o.strip() for o in env.get("JETO_ALLOWED_ORIGINS", "").split(",") if o.strip()),
            sync_interval_minutes=float(env.get("JETO_SYNC_INTERVAL_MINUTES", "60")),
            full_sync_hours=float(env.get("JETO_FULL_SYNC_HOURS", "24")),
            worker_lease_seconds=float(env.get("JETO_WORKER_LEASE_SECONDS", "30")),
        )

    def warn_about_development_keys(self) -> None:
        if self.jwt_secret.reveal() == DEV_JWT_SECRET:
            log.warning("JETO_JWT_SECRET is not set: using the development key; never do this in production")
        if self.secret_key.reveal() == DEV_SECRET_KEY:
            log.warning("JETO_SECRET_KEY is not set: using the development key; never do this in production")
