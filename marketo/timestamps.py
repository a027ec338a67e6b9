"""Marketo's asset datetimes look like ``2015-05-21T22:45:13Z+0000``."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_marketo_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    if len(value) == 25 and value.endswith("Z+0000"):
        # The common case, parsed cheaply: a full sync parses two of these per program.
        return datetime.fromisoformat(value[:20])
    text = value.strip()
    # Both a 'Z' and an offset: drop the 'Z', the offset is the authority.
    if "Z+" in text or "Z-" in text:
        text = text.replace("Z", "", 1)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_marketo_datetime(value: datetime) -> str:
    """The form Marketo returns; the simulator writes it."""
    # isoformat, not strftime: a third of the cost, and the simulator writes two per program it lists.
    return _as_utc(value).isoformat(timespec="seconds")[:19] + "Z+0000"


def format_query_datetime(value: datetime) -> str:
    """Plain ISO-8601 in UTC, the form Marketo documents for its filter parameters."""
    return _as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
