"""One error type for everything Marketo can refuse, with a message a user can act on."""

from __future__ import annotations

# Codes Marketo documents as transient: retry with backoff.
TRANSIENT_CODES = frozenset({"502", "604", "608", "611", "614", "713", "719"})
# The instance's shared limits; waited out, then retried.
RATE_LIMIT_CODE = "606"
CONCURRENCY_LIMIT_CODE = "615"
# Errors in Marketo's answer after which even a change can be sent again: "6xx codes always indicate
# the request failed completely and was not executed" (Adobe's error-code page), and 713/719 are
# failed requests (a transient error, a lock wait timeout). Not 502: there the gateway gave up
# waiting, while the work behind it may still finish.
NOT_PROCESSED_CODES = (TRANSIENT_CODES - {"502"}) | {RATE_LIMIT_CODE, CONCURRENCY_LIMIT_CODE}
# The token was refused; refresh it and replay the call once.
TOKEN_CODES = frozenset({"600", "601", "602"})


class MarketoError(Exception):
    """A call to Marketo failed; ``retryable`` says whether trying later may succeed."""

    hint = "See Marketo's error code reference for what this code means."

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(code, message)
        self.code = str(code)
        self.message = message
        self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.message} (Marketo code {self.code}). {self.hint}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, retryable={self.retryable})"


class InvalidCredentials(MarketoError):
    hint = (
        "Check the Client ID and Client Secret of the LaunchPoint custom service "
        "(Marketo Admin > LaunchPoint > View Details) and the Identity endpoint "
        "(Admin > Web Services)."
    )


class AccessDenied(MarketoError):
    hint = (
        "Give the API-only user's role the permission this call needs (for assets: "
        "Read-Write Assets) in Admin > Users & Roles, and check the instance's IP allowlist "
        "in Admin > Web Services."
    )


class DailyQuotaExceeded(MarketoError):
    hint = (
        "The instance has used its daily API quota, shared by all its integrations. "
        "It resets at 12:00 AM US Central time; try again after that, or ask your Marketo "
        "account manager to raise the quota."
    )


class RateLimited(MarketoError):
    hint = (
        "Other integrations on this Marketo instance are using up its shared limits "
        "(100 calls per 20 seconds, 10 at a time). Try again in a few minutes, or reduce "
        "their usage."
    )


class MarketoUnreachable(MarketoError):
    hint = (
        "Marketo did not answer correctly after several tries. Check the REST and Identity "
        "endpoints (Admin > Web Services); if they are right, Marketo may be having an "
        "outage: try again later."
    )


class OutcomeUnknown(MarketoUnreachable):
    """A change (clone, create, rename) failed in a way that Marketo may have made it anyway."""

    hint = (
        "Marketo may have made this change before its answer was lost. Look it up (for example the "
        "program or folder by its name) before trying again: repeating it could fail or do it twice."
    )


class TokenRejected(MarketoError):
    hint = (
        "Marketo refused a freshly issued access token. Check that the custom service is "
        "active and its API user is not locked, in Admin > LaunchPoint and Admin > Users & Roles."
    )


class InvalidRequest(MarketoError):
    hint = "Marketo rejected the request's parameters; check the names, ids and folder chosen."


_BY_CODE: dict[str, type[MarketoError]] = {
    "603": AccessDenied,
    "607": DailyQuotaExceeded,
    RATE_LIMIT_CODE: RateLimited,
    CONCURRENCY_LIMIT_CODE: RateLimited,
    "600": TokenRejected,
    "601": TokenRejected,
    "602": TokenRejected,
}


def error_for(code: str, message: str) -> MarketoError:
    """The typed error for a Marketo response-level error code."""
    code = str(code)
    retryable = code in TRANSIENT_CODES or code in (RATE_LIMIT_CODE, CONCURRENCY_LIMIT_CODE)
    if code in TRANSIENT_CODES:
        cls: type[MarketoError] = MarketoUnreachable
    elif code.startswith("7") or code in ("609", "610", "612"):
        cls = InvalidRequest
    else:
        cls = _BY_CODE.get(code, MarketoError)
    return cls(code, message or "Marketo returned an error", retryable=retryable)


class EndpointNotAllowed(MarketoError):
    """The endpoint's host is not one this service may call; nothing was sent to it."""

    hint = (
        "Correct the integration's REST and Identity endpoints (Marketo Admin > Web Services shows them, "
        "https://<Munchkin ID>.mktorest.com/rest and /identity), or ask the operator to allow this host."
    )

    def __init__(self, message: str) -> None:
        super().__init__("endpoint-not-allowed", message)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}"
