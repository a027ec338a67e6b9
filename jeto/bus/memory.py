"""memory://: the bus of one process (the demo, the tests, a single `jeto serve`)."""

from __future__ import annotations

import asyncio

from jeto.bus import Event


class MemoryBackend:
    healthy = True

    def __init__(self) -> None:
        self._published: asyncio.Queue[Event] = asyncio.Queue()
        self._channels: set[str] = set()

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, message: str) -> None:
        self._published.put_nowait(Event(channel, message))

    async def next_published(self) -> Event:
        while True:  # nobody listens to a channel nobody subscribed: its events go nowhere
            event = await self._published.get()
            if event.channel in self._channels:
                return event
