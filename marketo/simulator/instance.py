"""One simulated Marketo subscription: credentials, tokens, limits, faults, data and statistics."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .assets import AssetStore
from .config import UNCOUNTED_CODES, Faults, InstanceLimitSettings
from .envelopes import AssetError
from .stats import InstanceStats

# Marketo's daily quota resets at midnight US Central time.
QUOTA_ZONE = ZoneInfo("America/Chicago")


@dataclass
class IssuedToken:
    value: str
    expires_at: float


class Drop(Exception):
    """Abort the connection without an answer."""


class Http502(Exception):
    """Answer with the gateway error Marketo's edge returns when a backend times out."""


class SimulatedInstance:
    def __init__(
        self,
        munchkin_id: str,
        *,
        client_id: str,
        client_secret: str,
        limits: InstanceLimitSettings,
        faults: Faults,
        store: AssetStore,
        seed: str,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.munchkin_id = munchkin_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = f"api-user@{munchkin_id.lower()}.example.com"
        self.limits = limits
        self.faults = faults
        self.store = store
        self.stats = InstanceStats()
        self.clock = clock
        self.wall_clock = wall_clock  # the date, for the daily quota
        self._rng = random.Random(f"{seed}:faults")
        self._token_rng = random.Random(f"{seed}:tokens")
        self._token: IssuedToken | None = None
        self._issued: dict[str, IssuedToken] = {}
        self._arrivals: deque[float] = deque()
        self._quota_day: str = ""
        self._quota_used = 0

    # Identity

    def issue_token(self) -> tuple[str, int]:
        """The current token while it lives, with what is left of its life; a new one after."""
        now = self.clock()
        if self._token is None or self._token.expires_at <= now:
            value = f"{uuid.UUID(int=self._token_rng.getrandbits(128), version=4)}:sim"
            self._token = IssuedToken(value, now + self.limits.token_ttl)
            self._issued[value] = self._token
            self.stats.tokens_issued += 1
        return self._token.value, max(0, int(self._token.expires_at - now))

    def expire_tokens(self) -> None:
        """End every issued token now, as if its hour had run out."""
        now = self.clock()
        for token in self._issued.values():
            token.expires_at = min(token.expires_at, now)

    # REST gatekeeping, in the order Marketo's edge applies it (as far as it is known)

    def admit(self, authorization: str | None, *, refusal: AssetError | None = None) -> None:
        """Raise the AssetError Marketo would answer with, or count the call as accepted.

        Errors Marketo does not count (token errors, `refusal` such as a 605, injected 604/608/611) are
        answered first.
        """
        if self.stats.in_flight > self.limits.max_concurrent:
            self.stats.concurrency_limited += 1
            raise AssetError("615", f"Concurrent access limit '{self.limits.max_concurrent}' reached")
        self._check_token(authorization)
        if refusal is not None:
            raise refusal
        self._inject_errors(uncounted=True)
        now = self.clock()
        window = self.limits.window_seconds
        while self._arrivals and self._arrivals[0] <= now - window:
            self._arrivals.popleft()
        if len(self._arrivals) >= self.limits.calls_per_window:
            self.stats.rate_limited += 1
            raise AssetError(
                "606", f"Max rate limit '{self.limits.calls_per_window}' exceeded with in '{_seconds(window)}' secs"
            )
        self._arrivals.append(now)
        day = self.wall_clock().astimezone(QUOTA_ZONE).date().isoformat()
        if day != self._quota_day:
            self._quota_day, self._quota_used = day, 0
        if self._quota_used >= self.limits.daily_quota:
            self.stats.quota_exceeded += 1
            raise AssetError("607", "Daily quota reached")
        self._quota_used += 1

    def _check_token(self, authorization: str | None) -> None:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            self.stats.token_errors["600"] += 1
            raise AssetError("600", "Empty access token")
        token = self._issued.get(value.strip())
        if token is None:
            self.stats.token_errors["601"] += 1
            raise AssetError("601", "Access token invalid")
        if token.expires_at <= self.clock():
            self.stats.token_errors["602"] += 1
            raise AssetError("602", "Access token expired")

    async def misbehave(self) -> None:
        """Apply the configured faults to an admitted call."""
        faults = self.faults
        if faults.gate is not None:
            await faults.gate.wait()
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.drop_rate and self._rng.random() < faults.drop_rate:
            self.stats.faults["drop"] += 1
            raise Drop()
        if faults.http_502_rate and self._rng.random() < faults.http_502_rate:
            self.stats.faults["http-502"] += 1
            raise Http502()
        self._inject_errors(uncounted=False)

    def _inject_errors(self, *, uncounted: bool) -> None:
        for code, rate in self.faults.error_rates.items():
            if (code in UNCOUNTED_CODES) == uncounted and rate and self._rng.random() < rate:
                self.stats.faults[code] += 1
                raise AssetError(code, _FAULT_MESSAGES.get(code, "Transient Error"))

    def loses_answer(self) -> bool:
        """Whether to drop the connection after the call was carried out."""
        if self.faults.drop_after_rate and self._rng.random() < self.faults.drop_after_rate:
            self.stats.faults["drop-after"] += 1
            return True
        return False


_FAULT_MESSAGES = {
    "603": "Access denied",
    "604": "Request timed out",
    "608": "API Temporarily Unavailable",
    "611": "System error",
    "713": "Transient Error",
    "719": "Lock wait timeout exception",
}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
