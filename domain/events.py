"""What is announced on an account's channel after a change is committed: a snapshot of the changed status.

Each event carries the row's `status_version` (raised by the database in the UPDATE that changed the
status) and the status columns as of that version, so a subscriber shows every change it receives
once, in order, and never an older state after a newer one; it needs no read of its own. A snapshot
too large for the bus is sent without its fields: subscribers then read the row.

    {"kind": "sync_status", "id": 12, "version": 7,
     "fields": {"sync_state": "SYNCING", "sync_started_at": "2026-01-02T03:04:05+00:00", ...}}
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.models import Campaign, PlatformIntegration

SYNC_STATUS = "sync_status"
CAMPAIGN = "campaign"
API_KEY_REVOKED = "api_key_revoked"  # the websockets signed in with that key close (its id; version 0)
MAX_ENCODED_BYTES = 7000  # under PostgreSQL NOTIFY's 8000-byte payload limit

# What a status subscriber shows of each kind of row (the columns the version trigger watches).
SYNC_STATUS_FIELDS = (
    "sync_state", "sync_started_at", "sync_finished_at", "last_succeeded_at", "folders_synced",
    "programs_synced", "sync_error", "next_sync_attempt_at", "deleted_at",
)  # fmt: skip
CAMPAIGN_FIELDS = ("name", "status", "error", "marketo_program_id")


WORK_CHANNEL = "jeto.work"  # told, with no message, that jobs were queued: workers look at once


def account_channel(account_id: int) -> str:
    return f"jeto.account.{account_id}"


@dataclass(frozen=True)
class Event:
    kind: str  # SYNC_STATUS, CAMPAIGN or API_KEY_REVOKED
    id: int  # the integration's or the campaign's primary key
    version: int  # the row's status_version this snapshot is of
    fields: dict[str, Any] | None = field(default=None, compare=False)  # JSON values; None: read the row
    message: str | None = field(default=None, compare=False, repr=False)  # the text it was decoded from

    def encode(self) -> str:
        data: dict[str, Any] = {"kind": self.kind, "id": self.id, "version": self.version, "fields": self.fields}
        text = json.dumps(data, separators=(",", ":"))
        if len(text.encode()) > MAX_ENCODED_BYTES:
            text = json.dumps({**data, "fields": None}, separators=(",", ":"))
        return text

    @classmethod
    def decode(cls, message: str) -> Event | None:
        try:
            data = json.loads(message)
            fields = data.get("fields")
            return cls(
                kind=str(data["kind"]),
                id=int(data["id"]),
                version=int(data["version"]),
                fields=fields if isinstance(fields, dict) else None,
                message=message,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def _json(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def sync_status(integration: PlatformIntegration) -> Event:
    """The integration's sync status as it is in `integration` (read in the transaction that changed it)."""
    fields = {name: _json(getattr(integration, name)) for name in SYNC_STATUS_FIELDS}
    return Event(SYNC_STATUS, integration.id, integration.status_version, fields)


def campaign(row: Campaign) -> Event:
    fields = {name: _json(getattr(row, name)) for name in CAMPAIGN_FIELDS}
    return Event(CAMPAIGN, row.id, row.status_version, fields)


def api_key_revoked(key_id: int) -> Event:
    return Event(API_KEY_REVOKED, key_id, 0)


def integration_as_of(event: Event) -> PlatformIntegration:
    """An unsaved integration holding the event's snapshot, for what renders a sync status."""
    assert event.kind == SYNC_STATUS and event.fields is not None
    return PlatformIntegration(id=event.id, status_version=event.version, **event.fields)


def campaign_as_of(event: Event, row: Campaign) -> Campaign:
    """`row` (read now, for what never changes) with the status columns of the event's snapshot."""
    assert event.kind == CAMPAIGN and event.fields is not None
    snapshot = Campaign(id=row.id, status_version=event.version, **event.fields)
    for name in (*CAMPAIGN_FIELDS, "status_version"):
        setattr(row, name, getattr(snapshot, name))
    return row


async def sync_status_changed(integration_id: int) -> Event:
    """The integration's status read after a change was committed. Read later than the change, it may be
    a newer one's (never an older one's): subscribers then skip the change in between, never reorder."""
    return sync_status(await PlatformIntegration.get(id=integration_id))


async def campaign_changed(campaign_id: int) -> Event:
    """The campaign's status read after a change was committed (see sync_status_changed)."""
    return campaign(await Campaign.get(id=campaign_id))
