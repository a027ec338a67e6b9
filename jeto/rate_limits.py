"""The rate limit's counters, shared by every API process: in Redis, in the database, or in memory (one process).

A charge is one atomic step in each store: the points are added only if they fit in the principal's budget for
the window, so a refused operation spends nothing and two processes charging at once never both squeeze in.
Counters are keyed by principal and window start, and expire with their window. The cost and the windows are
the domain's (domain/rate_limits.py); JETO_RATE_LIMIT_STORE picks the store (jeto/settings.py).

If Redis cannot be reached, operations run unlimited (and without figures) rather than fail: the limit protects
the API processes, and must not take them down with it. Each such failure is logged.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from graphql import GraphQLError
from redis import asyncio as aioredis
from redis import exceptions as redis_errors

from domain.rate_limits import Spent, budget, cost, window_at
from domain.viewer import Viewer
from jeto.auth import SignedIn
from jeto.bus import public_location
from jeto.settings import Settings
from resolvers import sql
from resolvers.errors import RATE_LIMITED

log = logging.getLogger("jeto.rate_limits")

CONNECT_TIMEOUT = 1.0


class Store(Protocol):
    async def charge(self, key: str, cost: int, limit: int, expires_at: int) -> tuple[bool, int]:
        """Adds `cost` to the counter `key` if the sum stays within `limit`; (accepted, the counter after)."""
        ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """One process's counters: charges never interleave (no await between the read and the write)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._used: dict[str, tuple[int, int]] = {}  # key: (points, expiry)
        self._clock = clock
        self._next_purge = 0.0

    async def charge(self, key: str, cost: int, limit: int, expires_at: int) -> tuple[bool, int]:
        now = self._clock()
        if now >= self._next_purge:  # once a window: forget the counters of past windows
            self._used = {k: v for k, v in self._used.items() if v[1] > now}
            self._next_purge = expires_at
        used = self._used.get(key, (0, expires_at))[0]
        if used + cost > limit:
            return False, used
        self._used[key] = (used + cost, expires_at)
        return True, used + cost

    async def aclose(self) -> None:
        pass


_REDIS_CHARGE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return {1, used}
"""


class RedisStore:
    """Counters in Redis, charged by a Lua script (atomic on the server), expiring with their window."""

    def __init__(self, url: str, prefix: str) -> None:
        self._where = public_location(url)
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
        )
        self._script = self._redis.register_script(_REDIS_CHARGE)
        self._prefix = prefix

    async def charge(self, key: str, cost: int, limit: int, expires_at: int) -> tuple[bool, int]:
        accepted, used = await self._script(keys=[self._prefix + key], args=[cost, limit, expires_at])
        return bool(accepted), int(used)

    async def aclose(self) -> None:
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisStore({self._where})"


_DATABASE_CHARGE = (
    'INSERT INTO rate_limit_counter ("key", used, expires_at) VALUES (?, ?, ?)'
    ' ON CONFLICT ("key") DO UPDATE SET used = rate_limit_counter.used + excluded.used'
    " WHERE rate_limit_counter.used + excluded.used <= ? RETURNING used"
)
_DATABASE_USED = 'SELECT used FROM rate_limit_counter WHERE "key" = ?'
_DATABASE_PURGE = "DELETE FROM rate_limit_counter WHERE expires_at < ?"


class DatabaseStore:
    """Counters in the application's database (SQLite or PostgreSQL): one upsert a charge, whose condition
    refuses what would not fit; past windows' rows are deleted once a window by each process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._next_purge = 0.0

    async def charge(self, key: str, cost: int, limit: int, expires_at: int) -> tuple[bool, int]:
        expiry = _stored_time(datetime.fromtimestamp(expires_at, UTC))
        if self._clock() >= self._next_purge:
            self._next_purge = expires_at
            await sql.rows(_DATABASE_PURGE, [_stored_time(datetime.now(UTC))])
        if cost <= limit:  # an insert is never refused by the condition: a cost beyond any budget must not go in
            found = await sql.returning(_DATABASE_CHARGE, [key, cost, expiry, limit])
            if found:
                return True, int(found[0][0])
        used = await sql.rows(_DATABASE_USED, [key])
        return False, int(used[0][0]) if used else 0

    async def aclose(self) -> None:
        pass


def _stored_time(moment: datetime) -> Any:
    """As the dialect takes a timestamp parameter: a datetime for PostgreSQL, ISO text for SQLite."""
    return moment if sql.dialect() == "postgres" else moment.isoformat()


def budget_of(settings: Settings, signed_in: SignedIn) -> int:
    """The signed-in account's points per window: its plan's, else the server's (read with the viewer)."""
    return budget(sql.document(signed_in.account_row[3]), settings.rate_limit_points)


def principal(viewer: Viewer) -> str:
    """Whose budget an operation spends: each user's own, and each API key's own."""
    return f"key:{viewer.api_key_id}" if viewer.api_key_id is not None else f"user:{viewer.user_id}"


class RateLimiter:
    def __init__(self, store: Store, window_seconds: int, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._window_seconds = window_seconds
        self._clock = clock

    async def charge(self, viewer: Viewer, cost: int, limit: int) -> Spent | None:
        """The operation's charge, accepted or not; None when the store cannot be reached (nothing is limited)."""
        now = self._clock()
        window = window_at(now, self._window_seconds)
        try:
            accepted, used = await self.store.charge(f"{principal(viewer)}:{window.start}", cost, limit, window.end)
        except (redis_errors.RedisError, OSError) as error:
            log.warning(
                "the rate limit's store %r is unavailable, nothing is limited: %s", self.store, type(error).__name__
            )
            return None
        return Spent.of(limit=limit, cost=cost, used=used, accepted=accepted, window=window, now=now)


async def charged(context: Any, nodes: int) -> Spent | None:
    """The operation's charge to its viewer's budget (`domain.rate_limits.cost` of the nodes it may return);
    None when nothing is limited (no limiter, no budget, or its store unreachable)."""
    limiter = context.services.rate_limiter
    if limiter is None or context.budget is None or context.viewer_or_none is None:
        return None
    spent: Spent | None = await limiter.charge(context.viewer_or_none, cost(nodes), context.budget)
    return spent


def refused(spent: Spent) -> GraphQLError:
    """The error of an operation its budget cannot pay for: nothing ran."""
    return GraphQLError(spent.refusal(), extensions={"code": RATE_LIMITED, "retryAfter": spent.retry_after})


def headers(spent: Spent) -> dict[str, str]:
    """The figures as GitHub sends them: X-RateLimit-Reset in epoch seconds; Retry-After once refused."""
    found = {
        "X-RateLimit-Limit": str(spent.limit),
        "X-RateLimit-Remaining": str(spent.remaining),
        "X-RateLimit-Cost": str(spent.cost),
        "X-RateLimit-Reset": str(int(spent.reset_at.timestamp())),
    }
    if not spent.accepted:
        found["Retry-After"] = str(spent.retry_after)
    return found


def extension(spent: Spent) -> dict[str, Any]:
    """The figures in a response's `extensions.rateLimit`, as the `rateLimit` field gives them."""
    return {
        "limit": spent.limit,
        "cost": spent.cost,
        "remaining": spent.remaining,
        "resetAt": spent.reset_at.isoformat(),
    }


@contextlib.asynccontextmanager
async def open_rate_limiter(settings: Settings) -> AsyncIterator[RateLimiter | None]:
    """The limiter JETO_RATE_LIMIT_STORE asks for (None: off), closed at the end."""
    store: Store
    if settings.rate_limit_store == "off":
        yield None
        return
    if settings.rate_limit_store == "memory":
        store = MemoryStore()
    elif settings.rate_limit_store == "database":
        store = DatabaseStore()
    else:
        store = RedisStore(settings.rate_limit_store, settings.rate_limit_key_prefix)
    try:
        yield RateLimiter(store, settings.rate_limit_window_seconds)
    finally:
        await store.aclose()
