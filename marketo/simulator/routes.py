"""Which handler answers a request, as Marketo's edge and its router decide.

The edge refuses a URI over 8 KB (414) and a body over 1 MB (413) before the API sees them; a client
whose query outgrew the URI sends it again as a POST with ``_method=GET``, which the API answers as
the GET. A known resource asked with a method it does not serve answers 605; an unknown one, 610.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from .envelopes import AssetError

if TYPE_CHECKING:
    from .instance import SimulatedInstance

# Adobe: "Standard API calls have a maximum URI length of 8 KB and a maximum body size of 1 MB."
MAX_URI_BYTES = 8 * 1024
MAX_BODY_BYTES = 1024 * 1024
# Every method reaches the router, which answers those a resource does not serve with 605.
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

Handler = Callable[["SimulatedInstance", Request, dict[str, str]], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    name: str  # as counted in the instance's statistics
    handler: Handler


async def edge_refusal(request: Request) -> Response | None:
    """The HTTP-level error Marketo's edge answers a request too large with, or None."""
    uri = request.scope.get("raw_path", b"") + b"?" + request.scope.get("query_string", b"")
    if len(uri) > MAX_URI_BYTES:
        return _edge_page(414, "Request-URI Too Large")
    declared = request.headers.get("content-length", "")
    if (declared.isdigit() and int(declared) > MAX_BODY_BYTES) or len(await request.body()) > MAX_BODY_BYTES:
        return _edge_page(413, "Request Entity Too Large")
    return None


def chosen(operations: Mapping[str, Operation], request: Request, params: dict[str, str]) -> Operation | None:
    """The operation the request asks for; None when the resource does not serve its method (605)."""
    method = request.method
    if method == "POST" and params.get("_method", "").upper() == "GET":
        method = "GET"  # in the URL (as Adobe says to send it) or in the body
    return operations.get(method)


def unsupported_method() -> AssetError:
    return AssetError("605", "HTTP Method not supported")


def _edge_page(status: int, reason: str) -> Response:
    body = f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    return Response(body, status, media_type="text/html")
