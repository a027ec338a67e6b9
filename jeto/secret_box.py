"""Encrypts Marketo client secrets at rest with a key derived from JETO_SECRET_KEY."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jeto.settings import InvalidSetting, Secret


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"jeto client secrets").derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    """Seals with the first key; opens with any, so keys can be rotated (comma-separated, newest first)."""

    def __init__(self, key: Secret) -> None:
        keys = [part.strip() for part in key.reveal().split(",") if part.strip()]
        if not keys:
            raise InvalidSetting(
                "JETO_SECRET_KEY holds no key: give one, or several separated by commas (the first encrypts)"
            )
        self._first = _fernet(keys[0])
        self._fernet = MultiFernet([_fernet(k) for k in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise ValueError("the stored client secret cannot be decrypted with JETO_SECRET_KEY") from None

    def reseal(self, ciphertext: str) -> str | None:
        """The secret sealed with the first key, or None when it already is (so a second pass changes nothing)."""
        try:
            self._first.decrypt(ciphertext.encode())
            return None
        except InvalidToken:
            pass
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise ValueError("the stored client secret cannot be decrypted with JETO_SECRET_KEY") from None

    def __repr__(self) -> str:
        return "SecretBox(**********)"
