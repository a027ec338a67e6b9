"""`jeto reseal-secrets`: every stored client secret sealed again with the first JETO_SECRET_KEY, so older
keys can then be dropped from the list."""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from domain.models import PlatformIntegration
from jeto.secret_box import SecretBox

BATCH_SIZE = 200


@dataclass
class Resealed:
    resealed: int = 0
    already_current: int = 0
    unreadable: list[int] = field(default_factory=list)  # integration ids whose secret no key opens


async def reseal_secrets(box: SecretBox, batch_size: int = BATCH_SIZE) -> Resealed:
    """In batches by id, deleted integrations included; safe to rerun, and to run beside serving processes."""
    outcome = Resealed()
    last_id = 0
    while True:
        rows = await (
            PlatformIntegration.filter(id__gt=last_id)
            .order_by("id")
            .limit(batch_size)
            .values_list("id", "client_secret_encrypted")
        )
        if not rows:
            return outcome
        async with in_transaction():
            for pk, sealed in rows:
                try:
                    fresh = box.reseal(sealed)
                except ValueError:
                    outcome.unreadable.append(pk)
                    continue
                if fresh is None:
                    outcome.already_current += 1
                    continue
                # Only if unchanged since read: a secret saved meanwhile is sealed with the first key already.
                outcome.resealed += await PlatformIntegration.filter(id=pk, client_secret_encrypted=sealed).update(
                    client_secret_encrypted=fresh
                )
        last_id = rows[-1][0]
