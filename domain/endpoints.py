"""Which Marketo endpoints an integration may point at, so no one aims the server at an internal address."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from domain.errors import UserError, UserErrorCode

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Endpoints:
    rest: str
    identity: str


def _invalid(message: str, field: tuple[str, ...]) -> UserError:
    return UserError(UserErrorCode.INVALID_INPUT, message, field)


def normalize_endpoint(value: str, suffix: str, field: tuple[str, ...]) -> str | UserError:
    """A clean endpoint URL ending in `suffix` (/rest or /identity), or why the value is not one."""
    value = value.strip()
    if len(value) > 500:
        return _invalid("The endpoint is too long.", field)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return _invalid("The endpoint is not a valid URL.", field)
    if parts.scheme not in ("https", "http") or not host:
        return _invalid(f"The endpoint must be a URL such as https://123-ABC-456.mktorest.com{suffix}.", field)
    if parts.username or parts.password or parts.query or parts.fragment:
        return _invalid("The endpoint cannot carry credentials, a query or a fragment.", field)
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return _invalid("The endpoint must use https.", field)
    path = parts.path.rstrip("/")
    if not path.endswith(suffix):
        return _invalid(f"The endpoint must end with {suffix}.", field)
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, "", ""))


def default_identity_endpoint(rest_endpoint: str) -> str:
    return rest_endpoint[: -len("/rest")] + "/identity"


def host_allowed(url: str, patterns: Sequence[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(fnmatch.fnmatchcase(host, pattern.strip().lower()) for pattern in patterns if pattern.strip())


def resolve_endpoints(
    rest: str, identity: str | None, allowed_hosts: Sequence[str], field: tuple[str, ...]
) -> Endpoints | list[UserError]:
    """Validated endpoints, the identity one derived from the REST one when omitted."""
    errors: list[UserError] = []
    rest_url = normalize_endpoint(rest, "/rest", (*field, "restEndpoint"))
    if isinstance(rest_url, UserError):
        errors.append(rest_url)
    identity_url: str | UserError | None = None
    if identity is not None and identity.strip():
        identity_url = normalize_endpoint(identity, "/identity", (*field, "identityEndpoint"))
        if isinstance(identity_url, UserError):
            errors.append(identity_url)
    if errors:
        return errors
    assert isinstance(rest_url, str)
    identity_final = identity_url if isinstance(identity_url, str) else default_identity_endpoint(rest_url)
    checked = [(rest_url, "restEndpoint")]
    if isinstance(identity_url, str):  # a derived identity endpoint shares the REST endpoint's host
        checked.append((identity_url, "identityEndpoint"))
    for url, name in checked:
        if not host_allowed(url, allowed_hosts):
            errors.append(
                UserError(
                    UserErrorCode.ENDPOINT_NOT_ALLOWED,
                    f"{urlsplit(url).hostname} is not an allowed Marketo host (allowed: {', '.join(allowed_hosts)}).",
                    (*field, name),
                )
            )
    if errors:
        return errors
    return Endpoints(rest=rest_url, identity=identity_final)
