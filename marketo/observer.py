"""What the client reports about its calls, for metrics; the default reports nothing."""

from __future__ import annotations

from typing import Protocol


class CallObserver(Protocol):
    """`instance` is how the credentials name the instance (MarketoCredentials.observed_as)."""

    def call_finished(self, instance: str, outcome: str) -> None:
        """One HTTP exchange with an instance ended: "ok", or the Marketo error code."""

    def throttled(self, instance: str, seconds: float) -> None:
        """A call waited this long for the instance's limits before it was sent."""

    def token_requested(self, instance: str) -> None:
        """An Identity call was made for a token."""


class NoObserver:
    def call_finished(self, instance: str, outcome: str) -> None:
        pass

    def throttled(self, instance: str, seconds: float) -> None:
        pass

    def token_requested(self, instance: str) -> None:
        pass
