"""The `rateLimit` field: what this operation cost and what remains of the viewer's budget (charged before it ran,
by the request checks; jeto/rate_limits.py)."""

from __future__ import annotations

from typing import Any

from domain.rate_limits import Spent


def rate_limit(info: Any) -> Spent | None:
    return info.context.rate_limit
