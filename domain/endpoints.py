"""Which Marketo endpoints an integration may point at, so no one aims the server at an internal address."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from domain.errors import UserError, UserErrorCode

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_DNS_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


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


def _address_like(host: str) -> bool:
    """An IP literal, or a name a resolver reads as an address (127.1, 0x7f.1, 2130706433): no DNS name ends
    in a label of digits."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        last = host.rsplit(".", 1)[-1]
        return ":" in host or last.isdigit() or last.startswith("0x")


def host_allowed(url: str, patterns: Sequence[str]) -> bool:
    """Whether the URL's host matches a pattern. An address matches only a pattern that names it exactly (a
    wildcard is for names); anything that is neither an address nor a DNS name (a zone id, an underscore, a
    percent sign) matches nothing, whatever `https://[::1%25.mktorest.com]` would make of `*.mktorest.com`."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    wanted = [pattern.strip().lower() for pattern in patterns if pattern.strip()]
    if _address_like(host):
        return host in wanted
    return bool(_DNS_NAME.fullmatch(host)) and any(fnmatch.fnmatchcase(host, pattern) for pattern in wanted)


def endpoint_not_allowed(url: str, patterns: Sequence[str]) -> str:
    """What to tell an admin whose endpoint's host is not (or no longer) allowed."""
    return f"{urlsplit(url).hostname} is not an allowed Marketo host (allowed: {', '.join(patterns)})."


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
                UserError(UserErrorCode.ENDPOINT_NOT_ALLOWED, endpoint_not_allowed(url, allowed_hosts), (*field, name))
            )
    if errors:
        return errors
    return Endpoints(rest=rest_url, identity=identity_final)
