"""The socket `jeto serve` listens on, as its connections need it."""

import asyncio
import socket

from jeto.http_server import listening_socket


async def test_connections_accepted_from_the_listening_socket_send_without_delay():
    """asyncio sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP; a socket made with protocol 0 left
    Nagle's algorithm on, and every response waited 40 ms for the client's delayed ACK between its headers and
    its body."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    with listening_socket("127.0.0.1", 0) as sock:
        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            assert await asyncio.wait_for(accepted, 5) == 1
            writer.close()
