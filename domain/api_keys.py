"""API keys: what a partner's server signs in with for its account, read-only or read-write.

A key reads `jeto_` followed by 40 random base62 characters (238 bits) and a 6-character base62 CRC32 of them,
e.g. `jeto_3kQ9…x7Rq2b`: the fixed prefix and length let secret scanners find a leaked key, and the checksum lets
them (and the server, before any lookup) tell a key from a random string. Keys are random enough that a fast hash
is safe: only the key's SHA-256 is stored, and looked up by equality; the key itself is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from domain import audit, changes
from domain.audit import AuditAction, change
from domain.changes import changing
from domain.errors import Rejected, UserError, UserErrorCode, forbidden, not_found, reject_if_any
from domain.models import ApiKey, ApiKeyScope
from domain.names import clean_name, name_error
from domain.viewer import Viewer

PREFIX = "jeto_"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
RANDOM_LENGTH = 40
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
HINT_LENGTH = 4
# Last use is recorded at most once a minute per key: a dashboard polling every second does not write every second.
LAST_USE_PRECISION = timedelta(minutes=1)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(random_part: str) -> str:
    return _base62(zlib.crc32(random_part.encode()), CHECKSUM_LENGTH)


def new_key() -> str:
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return PREFIX + random_part + _checksum(random_part)


def looks_like_key(token: str) -> bool:
    """Whether a bearer token is meant as an API key (a JWT never starts with the prefix)."""
    return token.startswith(PREFIX)


def well_formed(key: str) -> bool:
    """The prefix, the length, the alphabet and a checksum that matches: a typo or a truncated key fails here."""
    body = key[len(PREFIX) :]
    if not looks_like_key(key) or len(key) != KEY_LENGTH or not all(c in ALPHABET for c in body):
        return False
    return secrets.compare_digest(_checksum(body[:RANDOM_LENGTH]), body[RANDOM_LENGTH:])


def secret_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hint(key: str) -> str:
    """What the API shows of a key after its creation: its last characters, which belong to its checksum."""
    return key[-HINT_LENGTH:]


def refusal(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str | None:
    """Why a stored key may not sign in now, or None."""
    if revoked_at is not None:
        return "The API key was revoked."
    if expires_at is not None and expires_at <= now:
        return "The API key has expired."
    return None


def use_worth_recording(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USE_PRECISION


async def record_use(key_id: int, now: datetime) -> None:
    await ApiKey.filter(id=key_id).update(last_used_at=now)


@dataclass(frozen=True)
class Created:
    api_key: ApiKey
    key: str  # the key itself: returned this once, stored nowhere


def _managing(viewer: Viewer) -> None:
    """Keys are made and revoked by an admin signed in as themselves: a leaked key cannot make itself a successor,
    nor revoke the keys of others."""
    if not viewer.is_admin or viewer.api_key_id is not None:
        raise forbidden("Only an admin, signed in as themselves (not with an API key), can manage API keys.")


def _expiry_error(expires_at: datetime | None, now: datetime) -> UserError | None:
    if expires_at is not None and expires_at <= now:
        return UserError(UserErrorCode.INVALID_INPUT, "The expiry must be in the future.", ("expiresAt",))
    return None


def _aware(moment: datetime | None) -> datetime | None:
    """A time given without a zone is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


async def create(viewer: Viewer, *, name: str, scope: ApiKeyScope, expires_at: datetime | None) -> Created:
    _managing(viewer)
    expires_at = _aware(expires_at)
    reject_if_any([name_error(name, ("name",)), _expiry_error(expires_at, datetime.now(UTC))])
    key = new_key()
    async with in_transaction():
        row = await ApiKey.create(
            account_id=viewer.account_id,
            created_by_id=viewer.user_id,
            name=clean_name(name),
            scope=scope,
            secret_hash=secret_hash(key),
            hint=hint(key),
            expires_at=expires_at,
        )
        await audit.record(
            viewer.actor,
            viewer.account_id,
            AuditAction.API_KEY_CREATED,
            api_key_id=row.id,
            changes=[
                change("name", None, row.name),
                change("scope", None, scope),
                change("expiresAt", None, expires_at),
            ],
        )
    return Created(row, key)


async def revoke(viewer: Viewer, key_id: int) -> ApiKey:
    """Revokes at once; revoking a revoked key changes nothing (and records nothing)."""
    _managing(viewer)
    async with changing():
        row = await viewer.api_keys().filter(id=key_id).select_for_update(no_key=True).first()
        if row is None:
            raise Rejected([not_found("API key", ("id",))])
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            await row.save(update_fields=["revoked_at"])
            changes.api_key_revoked(row.account_id, row.id)
            await audit.record(
                viewer.actor,
                viewer.account_id,
                AuditAction.API_KEY_REVOKED,
                api_key_id=row.id,
                changes=[change("revokedAt", None, row.revoked_at)],
            )
    return row
