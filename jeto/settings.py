"""Settings read from the environment (see RUNTIME.md), with development defaults that warn."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from jeto.bus import SUPPORTED_SCHEMES as BROADCAST_SCHEMES
from marketo.credentials import Secret
from schema.documents import DocumentLimits

log = logging.getLogger("jeto.settings")

DEV_JWT_SECRET = "jeto-development-jwt-secret-change-me"
DEV_SECRET_KEY = "jeto-development-secret-key-change-me"
DEFAULT_ALLOWED_HOSTS = ("*.mktorest.com",)
LOOPBACK_PATTERNS = ("127.0.0.1", "localhost", "::1")
DEFAULT_WORKER_METRICS_PORT = 8001
MIB = 1024 * 1024
# The request limits' variables, and the DocumentLimits field each sets.
DOCUMENT_LIMITS = {
    "JETO_MAX_DOCUMENT_LENGTH": "length",
    "JETO_MAX_TOKENS": "tokens",
    "JETO_MAX_DEPTH": "depth",
    "JETO_MAX_ALIASES": "aliases",
    "JETO_MAX_NODES": "nodes",
    "JETO_DOCUMENT_CACHE_ENTRIES": "cache_entries",
    "JETO_DOCUMENT_CACHE_BYTES": "cache_bytes",
}
DEFAULT_DATABASE_URL = "sqlite://jeto.sqlite3"
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql")
RATE_LIMIT_STORES = ("memory", "database", "off")  # or a redis:// (rediss://) URL


class InvalidSetting(ValueError):
    """A setting the process cannot run with; the message names the variable."""


def _number(env: Mapping[str, str], name: str, default: str, kind: type, least: float, most: float) -> float:
    text = env.get(name, default)
    try:
        value = kind(text)
    except ValueError:
        raise InvalidSetting(f"{name} must be a number, not {text!r}") from None
    if not least <= value <= most:
        raise InvalidSetting(f"{name} must be from {least:g} to {most:g}, not {text}")
    return value


def _document_limits(env: Mapping[str, str]) -> DocumentLimits:
    defaults = DocumentLimits()
    return DocumentLimits(
        **{
            name: int(_number(env, variable, str(getattr(defaults, name)), int, 1, 1 << 40))
            for variable, name in DOCUMENT_LIMITS.items()
        }
    )


def _database_url(env: Mapping[str, str]) -> str:
    """A URL Jeto can open; a wrong one is named with the forms it takes (never echoed: it may hold a password)."""
    url = env.get("JETO_DATABASE_URL", DEFAULT_DATABASE_URL)
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        found = f"a {scheme}:// URL" if scheme else "not a URL"
        raise InvalidSetting(
            f"JETO_DATABASE_URL is {found}: give sqlite://FILE (e.g. sqlite://jeto.sqlite3, or sqlite:///var/jeto.db "
            "for an absolute path) or postgres://USER:PASSWORD@HOST:5432/DATABASE"
        )
    return url


def _rate_limit_store(env: Mapping[str, str], broadcast_url: str) -> str:
    """Where the rate limit's counts are kept: by default where the event bus is (its Redis, or the database when
    the bus is PostgreSQL), so that API processes that share a bus share one budget; memory for one process."""
    store = env.get("JETO_RATE_LIMIT_STORE", "").strip()
    if not store:
        scheme = urlsplit(broadcast_url).scheme
        if scheme in ("redis", "rediss"):
            return broadcast_url
        return "memory" if scheme == "memory" else "database"
    if store not in RATE_LIMIT_STORES and urlsplit(store).scheme not in ("redis", "rediss"):
        raise InvalidSetting("JETO_RATE_LIMIT_STORE must be memory, database, off, or a redis:// URL")
    return store


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
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
    # How often a worker looks for work on its own: a safety net, since work queued by any process wakes it.
    worker_poll_seconds: float = 5.0
    worker_metrics_port: int = DEFAULT_WORKER_METRICS_PORT
    # How long the admins' email about a new campaign waits for its program's outcome before going as submitted.
    campaign_email_hold_seconds: float = 120.0
    # Where a serving process writes the address of its /healthz, for `jeto healthcheck` (the Dockerfile sets it).
    health_file: str | None = None
    # What one request may send: an HTTP body (a GET's query string too), a websocket message, a document.
    max_body_bytes: int = MIB
    max_websocket_message_bytes: int = MIB
    # A websocket reader that falls behind: what is held for it (then only the latest status of each thing), and
    # how long it may take no message at all before it is closed with 1013.
    websocket_backlog_bytes: int = 64 * 1024
    websocket_stuck_seconds: float = 30.0
    document_limits: DocumentLimits = field(default_factory=DocumentLimits)
    # Who may read /metrics: a scraper sending this bearer token; without it, only on JETO_METRICS_PORT (serve) or
    # JETO_WORKER_METRICS_PORT (worker), never on the API's own port.
    metrics_token: Secret | None = None
    metrics_port: int | None = None
    # The API's rate limit (docs/partners.md): the points each user or API key may spend per window unless their
    # account's plan says otherwise, the window, and where every API process counts them (see _rate_limit_store).
    rate_limit_points: int = 5000
    rate_limit_window_seconds: int = 3600
    rate_limit_store: str = "memory"
    rate_limit_key_prefix: str = "jeto:rate:"  # of the counters' keys in Redis, when several apps share one

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
        env = os.environ if env is None else env
        hosts = tuple(h.strip() for h in env.get("JETO_MARKETO_ALLOWED_HOSTS", "").split(",") if h.strip())
        if not hosts:
            hosts = DEFAULT_ALLOWED_HOSTS + (LOOPBACK_PATTERNS if demo else ())
        broadcast_url = env.get("JETO_BROADCAST_URL", "memory://")
        if urlsplit(broadcast_url).scheme not in BROADCAST_SCHEMES:
            raise InvalidSetting(
                f"JETO_BROADCAST_URL must start with one of {', '.join(s + '://' for s in BROADCAST_SCHEMES)}"
            )
        secret_key = env.get("JETO_SECRET_KEY") or DEV_SECRET_KEY
        if not any(part.strip() for part in secret_key.split(",")):
            raise InvalidSetting(
                "JETO_SECRET_KEY holds no key: give one, or several separated by commas (the first encrypts)"
            )
        return cls(
            database_url=_database_url(env),
            broadcast_url=broadcast_url,
            worker=env.get("JETO_WORKER", "on").lower() not in ("off", "0", "false", "no"),
            jwt_secret=Secret(env.get("JETO_JWT_SECRET") or DEV_JWT_SECRET),
            jwks_url=env.get("JETO_JWT_JWKS_URL") or None,
            jwt_audience=env.get("JETO_JWT_AUDIENCE") or None,
            jwt_issuer=env.get("JETO_JWT_ISSUER") or None,
            secret_key=Secret(secret_key),
            marketo_allowed_hosts=hosts,
            smtp_url=Secret(env["JETO_SMTP_URL"]) if env.get("JETO_SMTP_URL") else None,
            allowed_origins=tuple(o.strip() for o in env.get("JETO_ALLOWED_ORIGINS", "").split(",") if o.strip()),
            sync_interval_minutes=_number(env, "JETO_SYNC_INTERVAL_MINUTES", "60", float, 0.01, 1e6),
            full_sync_hours=_number(env, "JETO_FULL_SYNC_HOURS", "24", float, 0.01, 1e6),
            worker_lease_seconds=_number(env, "JETO_WORKER_LEASE_SECONDS", "30", float, 0.5, 1e6),
            worker_poll_seconds=_number(env, "JETO_WORKER_POLL_SECONDS", "5", float, 0.05, 3600),
            worker_metrics_port=int(
                _number(env, "JETO_WORKER_METRICS_PORT", str(DEFAULT_WORKER_METRICS_PORT), int, 0, 65535)
            ),
            health_file=env.get("JETO_HEALTH_FILE") or None,
            campaign_email_hold_seconds=_number(env, "JETO_CAMPAIGN_EMAIL_HOLD_SECONDS", "120", float, 0, 86400),
            max_body_bytes=int(_number(env, "JETO_MAX_BODY_BYTES", str(MIB), int, 1024, 1024 * MIB)),
            max_websocket_message_bytes=int(
                _number(env, "JETO_MAX_WEBSOCKET_MESSAGE_BYTES", str(MIB), int, 1024, 1024 * MIB)
            ),
            websocket_backlog_bytes=int(
                _number(env, "JETO_WEBSOCKET_BACKLOG_BYTES", str(64 * 1024), int, 1024, 1024 * MIB)
            ),
            websocket_stuck_seconds=_number(env, "JETO_WEBSOCKET_STUCK_SECONDS", "30", float, 0.1, 86400),
            document_limits=_document_limits(env),
            metrics_token=Secret(env["JETO_METRICS_TOKEN"]) if env.get("JETO_METRICS_TOKEN") else None,
            metrics_port=(
                int(_number(env, "JETO_METRICS_PORT", "0", int, 0, 65535)) if env.get("JETO_METRICS_PORT") else None
            ),
            rate_limit_points=int(_number(env, "JETO_RATE_LIMIT_POINTS", "5000", int, 1, 10_000_000)),
            rate_limit_window_seconds=int(_number(env, "JETO_RATE_LIMIT_WINDOW_SECONDS", "3600", int, 1, 86400)),
            rate_limit_store=_rate_limit_store(env, broadcast_url),
            rate_limit_key_prefix=env.get("JETO_RATE_LIMIT_KEY_PREFIX") or "jeto:rate:",
        )

    def check_serving(self) -> None:
        """Refuses what the API must not serve with; checked by `jeto serve` before anything runs, and by the app.

        Not by from_env: the worker and the account commands authenticate nobody, so they run with these.
        """
        if self.jwks_url and not self.jwt_audience:
            raise InvalidSetting(
                "JETO_JWT_JWKS_URL is set without JETO_JWT_AUDIENCE: set it to this API's audience, "
                "or any token the identity provider signs for any of its clients would be accepted."
            )

    @property
    def full_sync_every(self) -> timedelta:
        return timedelta(hours=self.full_sync_hours)

    @property
    def campaign_email_hold(self) -> timedelta:
        return timedelta(seconds=self.campaign_email_hold_seconds)

    @property
    def accepts_development_tokens(self) -> bool:
        """Under SSO the public development key must sign nothing: HS256 needs a JETO_JWT_SECRET of its own then."""
        return not (self.jwks_url and self.jwt_secret.reveal() == DEV_JWT_SECRET)

    def warn_about_development_keys(self) -> None:
        if self.jwt_secret.reveal() == DEV_JWT_SECRET:
            log.warning("JETO_JWT_SECRET is not set: using the development key; never do this in production")
        if self.secret_key.reveal() == DEV_SECRET_KEY:
            log.warning("JETO_SECRET_KEY is not set: using the development key; never do this in production")
