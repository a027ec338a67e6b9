"""When a failed sync is tried again, and when an integration is due for its recurring sync."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_SYNC_ATTEMPTS = 5
FULL_SYNC_EVERY = timedelta(hours=24)  # incremental syncs cannot see deletions: reconcile fully once a day
DAILY_QUOTA_CODE = "607"
QUOTA_TIMEZONE = ZoneInfo("America/Chicago")  # Marketo resets daily quotas at midnight US Central time
QUOTA_RESET_MARGIN = timedelta(minutes=5)
INCREMENTAL_OVERLAP = timedelta(minutes=5)  # clocks differ: ask again for the minutes before the last success


def retry_delay(attempt: int, *, base: float = 5.0, cap: float = 300.0) -> timedelta:
    """Seconds before attempt `attempt + 1`: 5 s, 15 s, 45 s, 135 s, then 5 minutes at most."""
    return timedelta(seconds=min(cap, base * 3 ** max(0, attempt - 1)))


def should_retry(attempt: int, retryable: bool) -> bool:
    return retryable and attempt < MAX_SYNC_ATTEMPTS


def sync_is_full(
    *, needs_full_sync: bool, last_full_sync_at: datetime | None, now: datetime, every: timedelta = FULL_SYNC_EVERY
) -> bool:
    return needs_full_sync or last_full_sync_at is None or now - last_full_sync_at >= every


def fetches_every_program(*, full: bool, last_succeeded_at: datetime | None) -> bool:
    """A run lists every program when it is full, or when no run succeeded before it (it has no "since")."""
    return programs_updated_since(full=full, last_succeeded_at=last_succeeded_at) is None


def programs_updated_since(*, full: bool, last_succeeded_at: datetime | None) -> datetime | None:
    """The earliest update a run lists programs from; None: it lists every program."""
    if full or last_succeeded_at is None:
        return None
    return last_succeeded_at - INCREMENTAL_OVERLAP


def recurring_sync_cutoff(now: datetime, cadence: timedelta) -> datetime:
    """An integration whose last sync was queued at or before this (or that never had one) is due for another."""
    return now - cadence


def quota_resets_at(now: datetime) -> datetime:
    """When a daily quota used up at `now` is available again: the next midnight in Chicago, plus a margin."""
    local = now.astimezone(QUOTA_TIMEZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=QUOTA_TIMEZONE)
    return midnight.astimezone(now.tzinfo) + QUOTA_RESET_MARGIN


def next_attempt_after_failure(
    attempt: int, code: str, retryable: bool, now: datetime, delay: timedelta
) -> datetime | None:
    """When a failed sync is tried again, or None when it ends in ERROR: a used-up daily quota waits for its reset."""
    if code == DAILY_QUOTA_CODE:
        return quota_resets_at(now)
    return now + delay if should_retry(attempt, retryable) else None
