"""How the sync states of an account's integrations add up, and what they allow."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from domain.errors import UserErrorCode
from domain.launcher_rules import NO_INTEGRATION


class SyncState(enum.Enum):
    NEVER_SYNCED = "NEVER_SYNCED"
    QUEUED = "QUEUED"
    SYNCING = "SYNCING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"


BUSY = frozenset({SyncState.QUEUED, SyncState.SYNCING})


def account_sync_state(states: Iterable[SyncState]) -> SyncState:
    """ERROR if any is in ERROR; else SYNCING if any is busy; else COMPLETED if all are; else NEVER_SYNCED."""
    states = list(states)
    if SyncState.ERROR in states:
        return SyncState.ERROR
    if any(state in BUSY for state in states):
        return SyncState.SYNCING
    if states and all(state is SyncState.COMPLETED for state in states):
        return SyncState.COMPLETED
    return SyncState.NEVER_SYNCED


@dataclass(frozen=True)
class LauncherCreation:
    allowed: bool
    reason: UserErrorCode | None = None
    message: str | None = None


def launcher_creation(named_states: Iterable[tuple[str, SyncState]]) -> LauncherCreation:
    """Whether a launcher may be created now, given the account's integrations and their states."""
    named_states = list(named_states)
    if not named_states:
        return LauncherCreation(
            allowed=False, reason=UserErrorCode.PLATFORM_INTEGRATION_REQUIRED, message=NO_INTEGRATION
        )
    busy = [name for name, state in named_states if state in BUSY]
    if not busy:
        return LauncherCreation(allowed=True)
    listed = ", ".join(f"'{name}'" for name in busy)
    return LauncherCreation(
        allowed=False,
        reason=UserErrorCode.SYNC_IN_PROGRESS,
        message=f"Launchers cannot be created while a Marketo sync is in progress ({listed}). Try again when it ends.",
    )
