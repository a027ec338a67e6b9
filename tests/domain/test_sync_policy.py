"""When a failed sync is tried again: Marketo's daily quota resets at midnight US Central time."""

from datetime import UTC, datetime, timedelta

from domain import sync_policy


def test_a_used_up_quota_is_tried_again_just_after_midnight_in_chicago():
    # 23:30 in Chicago (CST, UTC-6) on 10 January: the next midnight is 06:00 UTC on the 11th.
    assert sync_policy.quota_resets_at(datetime(2026, 1, 11, 5, 30, tzinfo=UTC)) == datetime(
        2026, 1, 11, 6, 5, tzinfo=UTC
    )
    # 00:30 in Chicago: a whole day to wait.
    assert sync_policy.quota_resets_at(datetime(2026, 1, 11, 6, 30, tzinfo=UTC)) == datetime(
        2026, 1, 12, 6, 5, tzinfo=UTC
    )
    # Summer time (CDT, UTC-5).
    assert sync_policy.quota_resets_at(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(
        2026, 7, 2, 5, 5, tzinfo=UTC
    )
    # The night the clocks go back (1 November 2026): midnight of the 2nd is at 06:00 UTC.
    assert sync_policy.quota_resets_at(datetime(2026, 11, 1, 12, 0, tzinfo=UTC)) == datetime(
        2026, 11, 2, 6, 5, tzinfo=UTC
    )


def test_the_next_attempt_after_a_failure():
    now = datetime(2026, 1, 11, 5, 30, tzinfo=UTC)
    delay = timedelta(seconds=15)
    assert sync_policy.next_attempt_after_failure(2, "611", True, now, delay) == now + delay
    assert sync_policy.next_attempt_after_failure(sync_policy.MAX_SYNC_ATTEMPTS, "611", True, now, delay) is None
    assert sync_policy.next_attempt_after_failure(1, "603", False, now, delay) is None
    # A used-up daily quota waits for its reset, whatever the attempt.
    for attempt in (1, sync_policy.MAX_SYNC_ATTEMPTS, 40):
        assert sync_policy.next_attempt_after_failure(attempt, "607", False, now, delay) == sync_policy.quota_resets_at(
            now
        )
