"""Serving an ASGI app with uvicorn on a socket bound beforehand, so a taken port fails before any work."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn
from starlette.types import ASGIApp

ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class ServerFailed(Exception):
    """The HTTP server could not bind or start; the message is one line for the operator."""


@contextlib.contextmanager
def listening_socket(host: str, port: int) -> Iterator[socket.socket]:
    """Bound and listening at once (port 0 picks a free one); closed on the way out."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ServerFailed(f"cannot listen on {host}: {error.strerror}") from None
    family, _, proto, _, address = infos[0]
    # With its protocol named (IPPROTO_TCP), asyncio sets TCP_NODELAY on every connection accepted from it; left
    # at 0, Nagle's algorithm held each response's body behind its headers until the client's delayed ACK: 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ServerFailed(
                f"port {port} of {host} is in use; stop what holds it or choose another --port"
            ) from None
        if error.errno == errno.EACCES:
            raise ServerFailed(f"this user may not listen on port {port} of {host}; choose a port above 1023") from None
        raise ServerFailed(f"cannot listen on port {port} of {host}: {error.strerror}") from None
    sock.set_inheritable(True)
    try:
        yield sock
    finally:
        sock.close()


def local_url(sock: socket.socket) -> str:
    """An address a browser or probe on this machine can use: 0.0.0.0 is where one listens, not where one goes."""
    host, port = sock.getsockname()[:2]
    host = ANY_ADDRESS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _CommandSignals(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to the command, which stops it with `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WithoutQueryStrings(logging.Filter):
    """uvicorn logs each request's path with its query string, and a GET's query string can hold a whole
    GraphQL document with its variables (client secrets among them): its lines keep the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_path_only(arg) for arg in record.args)
        return True


def _path_only(arg: object) -> object:
    return arg.partition("?")[0] if isinstance(arg, str) and arg.startswith("/") else arg


def _keep_query_strings_out_of_logs() -> None:
    """On uvicorn's access log and on its error log, where it writes websocket handshakes."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithoutQueryStrings) for f in logger.filters):
            logger.addFilter(WithoutQueryStrings())


def make_server(
    app: ASGIApp, *, own_signals: bool = True, lifespan: str = "on", ws_max_size: int = 16 * 1024 * 1024
) -> uvicorn.Server:
    """`own_signals=False`: the command handles SIGINT/SIGTERM and stops the server with `should_exit`.
    `ws_max_size`: a larger websocket message closes its socket with 1009 before the app reads it."""
    _keep_query_strings_out_of_logs()
    # No per-message deflate: it costs a socket about 40 KiB of zlib state for statuses of a few hundred bytes.
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="info",
        lifespan=lifespan,
        ws_max_size=ws_max_size,
        ws_per_message_deflate=False,
    )
    return uvicorn.Server(config) if own_signals else _CommandSignals(config)


async def serve(server: uvicorn.Server, sock: socket.socket, *, on_started: Callable[[], None] | None = None) -> None:
    """Serves until a signal or `server.should_exit`; `on_started` runs once requests are answered.

    Raises ServerFailed when the app's start-up failed (where uvicorn alone would exit the process with 3).
    """

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.02)
        if on_started is not None:
            on_started()

    watcher = asyncio.ensure_future(announce())
    try:
        await server.serve(sockets=[sock])
    except SystemExit:  # uvicorn's way to say the lifespan failed; caught here, before it can leave the loop
        raise ServerFailed("the application failed to start; the log above says why") from None
    finally:
        watcher.cancel()
    if not server.started:
        raise ServerFailed("the server stopped before it started to serve; the log above says why")
