"""What one simulated instance saw, for tests and benchmarks to assert on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InstanceStats:
    calls: int = 0  # REST calls received, whatever their outcome
    identity_calls: int = 0
    tokens_issued: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    rate_limited: int = 0  # 606 returned
    concurrency_limited: int = 0  # 615 returned
    quota_exceeded: int = 0  # 607 returned
    token_errors: Counter[str] = field(default_factory=Counter)  # 600/601/602 returned
    faults: Counter[str] = field(default_factory=Counter)  # injected: codes, "http-502", "drop"
    by_operation: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "identityCalls": self.identity_calls,
            "tokensIssued": self.tokens_issued,
            "inFlight": self.in_flight,
            "maxInFlight": self.max_in_flight,
            "rateLimited606": self.rate_limited,
            "concurrencyLimited615": self.concurrency_limited,
            "quotaExceeded607": self.quota_exceeded,
            "tokenErrors": dict(self.token_errors),
            "faults": dict(self.faults),
            "byOperation": dict(self.by_operation),
        }
