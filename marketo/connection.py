"""Testing a connection: one token request, and what came of it as the integration's connection status.

The one mapping from what Marketo (or our allow-list) answered to a connection status, used by the API's
"test the connection" and by the worker's connection tests and syncs alike.
"""

from __future__ import annotations

from domain.models import ConnectionStatus
from marketo.client import MarketoClient
from marketo.errors import EndpointNotAllowed, InvalidCredentials, MarketoError


def status_of(error: MarketoError | None) -> ConnectionStatus:
    """The connection status a token request's outcome shows: None is a token."""
    if error is None:
        return ConnectionStatus.CONNECTED
    if isinstance(error, InvalidCredentials):
        return ConnectionStatus.INVALID_CREDENTIALS
    if isinstance(error, EndpointNotAllowed):
        return ConnectionStatus.ENDPOINT_NOT_ALLOWED
    return ConnectionStatus.UNREACHABLE  # no answer, a 5xx, or no Identity service at that address


async def test(client: MarketoClient) -> tuple[ConnectionStatus, MarketoError | None]:
    """Asks for a token: the status to record, and the error it failed with (None when it worked)."""
    try:
        await client.get_token()
    except MarketoError as error:
        return status_of(error), error
    return ConnectionStatus.CONNECTED, None
