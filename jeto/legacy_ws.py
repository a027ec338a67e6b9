"""Legacy `graphql-ws`: a rejected connection_init closes with 4403, as `graphql-transport-ws` does.

Strawberry 0.341's legacy handler answers a rejection with `connection_error` and then closes with
1011 (a server error, which clients retry as an outage). Its handler class is Strawberry's extension
point; this one changes only the close code of a rejected connection_init.
"""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage

SERVER_ERROR = 1011
FORBIDDEN = 4403


class _RejectionIsForbidden:
    """The handler's websocket during connection_init, where its only 1011 close is the rejection's."""

    def __init__(self, websocket: Any) -> None:
        self._websocket = websocket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._websocket, name)

    async def close(self, code: int, reason: str) -> None:
        if code == SERVER_ERROR:
            code, reason = FORBIDDEN, reason or "Forbidden"
        await self._websocket.close(code=code, reason=reason)


class LegacyGraphQLWSHandler(BaseGraphQLWSHandler[Any, Any]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        websocket, self.websocket = self.websocket, _RejectionIsForbidden(self.websocket)  # type: ignore[assignment]
        try:
            await super().handle_connection_init(message)
        finally:
            self.websocket = websocket
