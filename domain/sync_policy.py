"""When a failed sync is tried again, and when an integration is due for its recurring sync."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_SYNC_ATTEMPTS = 5
FULL_SYNC_EVERY = timedelta(hours=24)  # incremental syncs cannot see deletions: reconcile fully once a day
INCREMENTAL_OVERLAP = timedelta(minutes=5)  # clocks differ: ask again for the minutes before the last success


def retry_delay(attempt: int, *, base: float = 5.0, cap: float = 300.0) -> timedelta:
    """Seconds before attempt `attempt + 1`: 5 s, 15 s, 45 s, 135 s, then 5 minutes at most."""
    return timedelta(seconds=min(cap, base * 3 ** max(0, attempt - 1)))


def should_retry(attempt: int, retryable: bool) -> bool:
    return retryable and attempt < MAX_SYNC_ATTEMPTS


def sync_is_full(*, needs_full_sync: bool, last_full_sync_at: datetime | None, now: datetime) -> bool:
    return needs_full_sync or last_full_sync_at is None or now - last_full_sync_at >= FULL_SYNC_EVERY


def incremental_since(last_succeeded_at: datetime) -> datetime:
    return last_succeeded_at - INCREMENTAL_OVERLAP


def due_for_recurring_sync(last_queued_at: datetime | None, now: datetime, cadence: timedelta) -> bool:
    return last_queued_at is None or now - last_queued_at >= cadence
