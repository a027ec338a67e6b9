"""The baseline of bench/subscriptions.py: a bare Strawberry subscription fed by broadcaster's memory backend.

    python bench/bare_subscriptions.py PORT

The same `syncStatus(platformIntegrationId:) { state foldersSynced }` as Jeto's, served by Strawberry's own
websocket handlers on uvicorn with its defaults: each subscriber its own broadcaster subscription, generator,
task and execution of every change. `POST /publish` with {"foldersSynced": n} publishes a change, as Jeto's
worker publishes one on its bus. Needs the bench extra (`pip install -e ".[bench]"`: broadcaster).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncGenerator, AsyncIterator

import strawberry
import uvicorn
from broadcaster import Broadcast
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

CHANNEL = "status"
broadcast = Broadcast("memory://")
current = {"state": "COMPLETED", "folders_synced": 0}


@strawberry.type
class SyncStatus:
    state: str
    folders_synced: int


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def sync_status(self, platform_integration_id: strawberry.ID) -> AsyncGenerator[SyncStatus, None]:
        async with broadcast.subscribe(channel=CHANNEL) as subscriber:
            yield SyncStatus(**current)
            async for event in subscriber:
                yield SyncStatus(**json.loads(event.message))


async def publish(request: Request) -> Response:
    change = await request.json()
    current["folders_synced"] = change["foldersSynced"]
    await broadcast.publish(channel=CHANNEL, message=json.dumps(current))
    return Response(status_code=204)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with broadcast:
        yield


graphql = GraphQL(strawberry.Schema(query=Query, subscription=Subscription))
app = Starlette(
    routes=[
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", graphql),
        Route("/publish", publish, methods=["POST"]),
    ],
    lifespan=lifespan,
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", backlog=4096)
