"""What the account's plan allows: how many platform integrations, and the free trial past that."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

TRIAL_TITLE = "Unlock new marketing possibilities!"
TRIAL_BODY = (
    "We've granted you a free trial access to a new Jeto feature: integrating with a additional "
    "Marketo instances. To permanently add more integration(s) to your subscription, simply "
    "connect with your account manager."
)
TRIAL_CONFIRM_LABEL = "Proceed"
TRIAL_CANCEL_LABEL = "Cancel"

DEFAULT_PLAN_NAME = "Standard"


@dataclass(frozen=True)
class PlanLimits:
    platform_integrations: int = 1
    users: int | None = None  # reserved: None means unlimited
    api_points: int | None = None  # the API's budget per rate-limit window; None: the server's default

    def to_data(self) -> dict[str, Any]:
        data = {"platform_integrations": self.platform_integrations, "users": self.users}
        return data if self.api_points is None else {**data, "api_points": self.api_points}

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> PlanLimits:
        data = data or {}
        points = data.get("api_points")
        return cls(
            platform_integrations=int(data.get("platform_integrations", 1)),
            users=data.get("users"),
            api_points=int(points) if points is not None else None,
        )


@dataclass(frozen=True)
class TrialConfirmation:
    limit: int
    used: int
    title: str = TRIAL_TITLE
    body: str = TRIAL_BODY
    confirm_label: str = TRIAL_CONFIRM_LABEL
    cancel_label: str = TRIAL_CANCEL_LABEL


class Admission(enum.Enum):
    WITHIN_PLAN = "within plan"
    TRIAL = "trial"
    NEEDS_CONFIRMATION = "needs confirmation"


def admit_integration(limits: PlanLimits, used: int, *, confirm_trial: bool) -> Admission:
    """Whether one more integration may be created when `used` exist already."""
    if used < limits.platform_integrations:
        return Admission.WITHIN_PLAN
    return Admission.TRIAL if confirm_trial else Admission.NEEDS_CONFIRMATION


def trial_confirmation(limits: PlanLimits, used: int) -> TrialConfirmation:
    return TrialConfirmation(limit=limits.platform_integrations, used=used)


def trial_flags_after_limit_change(limit: int, integrations_oldest_first: list[bool]) -> list[bool]:
    """When the plan grows, trial integrations that now fit in it stop being trials (oldest first)."""
    return [is_trial and position >= limit for position, is_trial in enumerate(integrations_oldest_first)]


def limit_error(value: int) -> str | None:
    if value < 1:
        return "A plan includes at least one platform integration."
    if value > 1000:
        return "A plan includes at most 1000 platform integrations."
    return None
