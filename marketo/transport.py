"""One connection pool per Marketo instance, behind the one shared ``httpx.AsyncClient``."""

from __future__ import annotations

import ssl

import httpx

# Set on each request by the client, so the transport knows which instance it is for even
# when several instances share a host (as they do on the simulator).
INSTANCE_EXTENSION = "marketo.instance"


class PerInstanceTransport(httpx.AsyncBaseTransport):
    """Routes each request to its instance's own pool.

    A single pool for every instance would make one instance's slow calls occupy the
    connections and the bookkeeping of all others (httpcore scans every connection on
    every request, so 20 instances x 10 calls in one pool costs more CPU than the calls).
    """

    def __init__(self, *, keepalive_per_instance: int = 10) -> None:
        self._keepalive = keepalive_per_instance
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}
        # One TLS context for all pools: loading the CA bundle costs ~15 ms of CPU per context.
        self._ssl_context: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.extensions.get(INSTANCE_EXTENSION) or f"{request.url.scheme}://{request.url.netloc.decode()}"
        pool = self._pools.get(key)
        if pool is None:
            # No cap on connections here: the instance limiter already caps calls in flight.
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=self._keepalive)
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            pool = self._pools[key] = httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=limits)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
