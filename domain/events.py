"""What is announced on an account's channel after a change is committed: ids only, the rows are re-read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


def account_channel(account_id: int) -> str:
    return f"jeto.account.{account_id}"


@dataclass(frozen=True)
class Event:
    kind: str  # "sync_status" or "campaign"
    id: int  # the integration's or the campaign's primary key

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, message: str) -> Event | None:
        try:
            data = json.loads(message)
            return cls(kind=str(data["kind"]), id=int(data["id"]))
        except (ValueError, KeyError, TypeError):
            return None


def sync_status_changed(integration_id: int) -> Event:
    return Event("sync_status", integration_id)


def campaign_changed(campaign_id: int) -> Event:
    return Event("campaign", campaign_id)
