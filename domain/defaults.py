"""Exactly one platform integration of an account is its default, at every moment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class IntegrationRank:
    id: int
    is_default: bool
    created_order: int  # smaller is older


def default_for_new_integration(existing: int) -> bool:
    """The first integration of an account becomes its default."""
    return existing == 0


def successor_default(remaining: Sequence[IntegrationRank]) -> int | None:
    """After the default is deleted, the oldest remaining integration takes over."""
    if not remaining:
        return None
    return min(remaining, key=lambda item: item.created_order).id


def defaults_after_switch(integrations: Sequence[IntegrationRank], new_default: int) -> dict[int, bool]:
    """The default flag of every integration once `new_default` is chosen."""
    if new_default not in {item.id for item in integrations}:
        raise ValueError("the new default must be one of the account's integrations")
    return {item.id: item.id == new_default for item in integrations}
