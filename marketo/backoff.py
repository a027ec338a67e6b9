"""How long to wait before trying a failed call again."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Capped exponential backoff with jitter; ``attempt`` counts from 1."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        # Half fixed, half random: spreads retries of many callers without ever retrying at once.
        uniform = rng.uniform if rng is not None else random.uniform
        return ceiling / 2 + uniform(0, ceiling / 2)
