"""The event bus behind GraphQL subscriptions: a `broadcaster.Broadcast` whose backend the URL picks.

broadcaster 0.3.1's own Redis backend receives nothing with redis-py 8 and neither it nor its
PostgreSQL backend reconnects (notes/stack.md §3), so those two schemes use our backends.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from broadcaster import Broadcast

SUPPORTED_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")


class EventBusUnavailable(ConnectionError):
    """The bus's server cannot be reached right now; the event was not published."""


def open_broadcast(url: str) -> Broadcast:
    """A not yet connected Broadcast for `url`; use it as `async with open_broadcast(url) as broadcast:`."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return Broadcast("memory://")
    if scheme in ("redis", "rediss"):
        from jeto.bus_redis import RedisPubSubBackend

        return Broadcast(backend=RedisPubSubBackend(url))
    if scheme in ("postgres", "postgresql"):
        from jeto.bus_postgres import PostgresNotifyBackend

        return Broadcast(backend=PostgresNotifyBackend(url))
    raise ValueError(f"unsupported event bus scheme {scheme!r}: use one of {', '.join(SUPPORTED_SCHEMES)}")


def bus_healthy(broadcast: Broadcast) -> bool:
    """For a readiness probe: the listener runs and the backend's reader is connected (memory: always)."""
    listener = getattr(broadcast, "_listener_task", None)  # broadcaster has no public accessor
    if listener is None or listener.done():
        return False
    return bool(getattr(broadcast._backend, "healthy", True))


def public_location(url: str) -> str:
    """`scheme://host:port` of a URL, for logs and errors: never the user name or password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"
