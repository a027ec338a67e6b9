"""The rate limit as a client paces itself by it (docs/partners.md)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import rate_limits as resolve
from schema.nodes import Info


@strawberry.type(
    description="The viewer's budget, after this operation was charged; the same figures are in the response's "
    "X-RateLimit-* headers and `extensions.rateLimit`."
)
class RateLimit:
    limit: int = strawberry.field(description="Points per window, for each user and each API key.")
    cost: int = strawberry.field(description="What this operation cost: 1, plus 1 per 100 nodes it may return.")
    remaining: int = strawberry.field(description="Points left in this window.")
    reset_at: datetime = strawberry.field(description="When the window ends and the budget is whole again.")


@strawberry.type
class RateLimitQueries:
    @strawberry.field(description="Null when this server runs without a rate limit.")
    def rate_limit(self, info: Info) -> RateLimit | None:
        return resolve.rate_limit(info)  # type: ignore[return-value]  # Spent: the same fields
