"""A redis-server of a test's own, on its own port, that the test can stop and start again."""

from __future__ import annotations

import asyncio
import subprocess

from redis import asyncio as aioredis


async def redis_answers(url: str) -> None:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await client.ping()
    finally:
        await client.aclose()


class RedisServer:
    """A throwaway redis-server on a fixed port that can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    async def answering(self) -> None:
        url = f"redis://127.0.0.1:{self.port}"
        async with asyncio.timeout(5):
            while True:
                try:
                    await redis_answers(url)
                    return
                except Exception:
                    await asyncio.sleep(0.05)
