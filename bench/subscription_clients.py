"""Websocket subscribers for bench/subscriptions.py, run as processes of their own so the server is measured.

    python bench/subscription_clients.py URL TOKEN INTEGRATION_ID COUNT

Opens COUNT graphql-transport-ws sockets (a few hundred handshakes at a time), each subscribed to the
integration's `syncStatus`; prints "ready" once every one has its first payload (the current state). From
then on each socket records every `foldersSynced` it is sent with the moment it arrived (time.monotonic(),
which every process of the machine shares). On "stop" (a line on stdin) it prints the records as one JSON
line, a list per socket of [foldersSynced, seconds] pairs, and exits. The same code subscribes to either
server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import websockets

QUERY = "subscription($id: ID!) { syncStatus(platformIntegrationId: $id) { state foldersSynced } }"
OPENING_AT_ONCE = 200


class Subscribers:
    def __init__(self, url: str, token: str, integration_id: str, count: int) -> None:
        self.url, self.token, self.integration_id, self.count = url, token, integration_id, count
        self.records: list[list[list[float]]] = [[] for _ in range(count)]
        self.subscribed = 0
        self.all_subscribed = asyncio.Event()
        self._opening = asyncio.Semaphore(OPENING_AT_ONCE)

    async def run_one(self, n: int) -> None:
        async with self._opening:
            ws = await websockets.connect(
                self.url,
                subprotocols=["graphql-transport-ws"],
                compression=None,
                max_queue=None,
                ping_interval=None,
                open_timeout=120,
            )
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
            await ws.recv()
            payload = {"query": QUERY, "variables": {"id": self.integration_id}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await ws.recv()  # the current state
        self.subscribed += 1
        if self.subscribed == self.count:
            self.all_subscribed.set()
        records = self.records[n]
        try:
            async for message in ws:
                records.append(
                    [json.loads(message)["payload"]["data"]["syncStatus"]["foldersSynced"], time.monotonic()]
                )
        except websockets.ConnectionClosed:
            pass


async def main(url: str, token: str, integration_id: str, count: int) -> None:
    subscribers = Subscribers(url, token, integration_id, count)
    sockets = [asyncio.create_task(subscribers.run_one(n)) for n in range(count)]
    await subscribers.all_subscribed.wait()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in sockets:
        task.cancel()
    print(json.dumps(subscribers.records), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
