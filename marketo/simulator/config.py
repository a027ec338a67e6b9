"""What a simulated Marketo server looks like: how many instances, their data, limits and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

# Response-level error codes the simulator can inject, all transient per Marketo's docs
# except 603, which exists to prove a client does not retry it.
INJECTABLE_CODES = ("603", "604", "608", "611", "713", "719")
# Calls Marketo answers with these are not counted against the window or the daily quota.
UNCOUNTED_CODES = frozenset({"604", "608", "611"})


@dataclass(frozen=True)
class SimulatorConfig:
    instances: int = 1
    folders: int = 20
    programs: int = 50
    calls_per_window: int = 100
    window_seconds: float = 20.0
    max_concurrent: int = 10
    token_ttl: float = 3600.0
    daily_quota: int = 50_000
    seed: int = 0
    latency: float = 0.0
    error_rates: Mapping[str, float] = field(default_factory=dict)
    http_502_rate: float = 0.0
    drop_rate: float = 0.0
    drop_after_rate: float = 0.0


@dataclass
class InstanceLimitSettings:
    """Mutable at run time, so a test can tighten a limit on a running server."""

    calls_per_window: int
    window_seconds: float
    max_concurrent: int
    daily_quota: int
    token_ttl: float

    @classmethod
    def from_config(cls, config: SimulatorConfig) -> InstanceLimitSettings:
        return cls(
            calls_per_window=config.calls_per_window,
            window_seconds=config.window_seconds,
            max_concurrent=config.max_concurrent,
            daily_quota=config.daily_quota,
            token_ttl=config.token_ttl,
        )


@dataclass
class Faults:
    """Misbehaviour on demand; rates are probabilities per REST call."""

    latency: float = 0.0
    error_rates: dict[str, float] = field(default_factory=dict)
    http_502_rate: float = 0.0
    drop_rate: float = 0.0
    # Dropped after the call was carried out: a change is made, its answer lost.
    drop_after_rate: float = 0.0
    # When set, every REST call waits for it: a test holds an instance "slow" for exactly as
    # long as it needs, without depending on wall-clock timing.
    gate: asyncio.Event | None = None
    # A test's hook, run before a call is answered, with its operation and parameters: it can change
    # the instance between two pages of a listing, as a user working in Marketo meanwhile would.
    before_answer: Callable[[str, dict[str, str]], Awaitable[None]] | None = None

    @classmethod
    def from_config(cls, config: SimulatorConfig) -> Faults:
        unknown = set(config.error_rates) - set(INJECTABLE_CODES)
        if unknown:
            raise ValueError(f"cannot inject error codes {sorted(unknown)}; choose from {INJECTABLE_CODES}")
        return cls(
            latency=config.latency,
            error_rates=dict(config.error_rates),
            http_502_rate=config.http_502_rate,
            drop_rate=config.drop_rate,
            drop_after_rate=config.drop_after_rate,
        )
