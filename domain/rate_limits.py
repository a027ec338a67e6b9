"""The API's rate limit: what an operation costs, the budget each principal (a user, an API key) spends per window,
and the account manager's use case that changes an account's budget.

Cost, as GitHub's GraphQL API counts it: 1, plus 1 for every 100 nodes the operation may return (the node count
the request limits already measure, schema/documents.py). A query of plain fields costs 1; the dashboard of 50
launchers with 2 campaigns each (150 nodes) costs 2; the largest operation allowed (10,000 nodes) costs 101.

Windows are fixed and aligned to the epoch (an hour by default: 00:00-01:00, 01:00-02:00 UTC…), so every API
process agrees on when a window resets without talking to the others, and `resetAt` is one instant for everyone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain import audit, entitlements
from domain.audit import ACCOUNT_MANAGER, Actor, AuditAction, change
from domain.errors import Rejected, UserError, UserErrorCode
from domain.models import Account

NODES_PER_POINT = 100
MAX_POINTS = 10_000_000


def cost(nodes: int) -> int:
    return 1 + max(0, nodes) // NODES_PER_POINT


@dataclass(frozen=True)
class Window:
    start: int  # epoch seconds
    seconds: int

    @property
    def end(self) -> int:
        return self.start + self.seconds

    @property
    def reset_at(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)


def window_at(now: float, seconds: int) -> Window:
    """The window `now` (epoch seconds) falls in."""
    return Window(int(now // seconds) * seconds, seconds)


@dataclass(frozen=True)
class Spent:
    """One operation's charge as the caller sees it: in the `rateLimit` field, the headers and `extensions`."""

    limit: int
    cost: int
    remaining: int
    reset_at: datetime
    accepted: bool
    retry_after: int  # seconds until the window resets (at least 1); what a refused caller waits

    @classmethod
    def of(cls, *, limit: int, cost: int, used: int, accepted: bool, window: Window, now: float) -> Spent:
        return cls(limit, cost, max(0, limit - used), window.reset_at, accepted, max(1, math.ceil(window.end - now)))

    def refusal(self) -> str:
        if self.cost > self.limit:
            return (
                f"This operation costs {self.cost} points, more than the whole budget of {self.limit} per window: "
                "ask for smaller pages (`first`) and page through with `after`."
            )
        return (
            f"The rate limit is spent: this operation costs {self.cost} point(s) and {self.remaining} of "
            f"{self.limit} remain until {self.reset_at.isoformat()}; try again in {self.retry_after} s."
        )


def budget(plan_limits: dict[str, Any] | None, default: int) -> int:
    """The account's points per window: its plan's, else the server's default."""
    points = entitlements.PlanLimits.from_data(plan_limits).api_points
    return points if points is not None else default


def points_error(points: int) -> str | None:
    if not 1 <= points <= MAX_POINTS:
        return f"The API's budget must be from 1 to {MAX_POINTS:,} points per window."
    return None


async def set_budget(account_id: int, points: int, *, actor: Actor = ACCOUNT_MANAGER) -> Account:
    """The account manager's: how many points each of the account's users and keys may spend per window."""
    problem = points_error(points)
    if problem:
        raise Rejected([UserError(UserErrorCode.INVALID_INPUT, problem, ("apiPoints",))])
    async with in_transaction():
        account = await Account.filter(id=account_id).select_for_update(no_key=True).first()
        if account is None:
            raise Rejected([UserError(UserErrorCode.NOT_FOUND, "No account with this id.", ("accountId",))])
        limits = entitlements.PlanLimits.from_data(account.plan_limits)
        account.plan_limits = dataclasses.replace(limits, api_points=points).to_data()
        await account.save(update_fields=["plan_limits"])
        if points != limits.api_points:
            await audit.record(
                actor,
                account.id,
                AuditAction.PLAN_LIMITS_CHANGED,
                changes=[change("apiPoints", limits.api_points, points)],
            )
    return account
