"""What it takes to reach one Marketo instance as one LaunchPoint service."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'**********'"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class MarketoCredentials:
    rest_endpoint: str
    identity_endpoint: str
    client_id: str
    client_secret: Secret
    # How metrics name this client's calls (the caller's own id for it, say); a digest of the instance if unset.
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.client_secret, Secret):
            # An untyped caller may pass a bare str: kept so, it would put the secret in every repr of this object.
            object.__setattr__(self, "client_secret", Secret(self.client_secret))  # type: ignore[unreachable]
        object.__setattr__(self, "rest_endpoint", self.rest_endpoint.rstrip("/"))
        object.__setattr__(self, "identity_endpoint", self.identity_endpoint.rstrip("/"))

    @property
    def instance_key(self) -> str:
        """Limits are per instance; the instance is what the REST endpoint points at."""
        parts = urlsplit(self.rest_endpoint)
        return f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix('/rest')}"

    @property
    def observed_as(self) -> str:
        """The label, else a digest of the instance: metrics never carry an instance's address."""
        return self.label or "instance-" + hashlib.sha256(self.instance_key.encode()).hexdigest()[:12]

    @property
    def token_key(self) -> tuple[str, str, str]:
        """Marketo issues one token per custom service, so tokens are shared per client id; the secret's
        fingerprint is part of the key, so a wrong secret is never answered with a token the right one got."""
        fingerprint = hashlib.sha256(self.client_secret.reveal().encode()).hexdigest()[:16]
        return (self.identity_endpoint, self.client_id, fingerprint)
