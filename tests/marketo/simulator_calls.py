"""Calling the simulator over HTTP as a Marketo client would: a token from Identity, then asset calls."""

from __future__ import annotations

import httpx

from marketo.simulator import Simulator

MID = "100-AAA-001"


async def token_of(http: httpx.AsyncClient, simulator: Simulator, mid: str = MID) -> str:
    """A token asked for as Adobe documents it: the three parameters in the query string."""
    instance = simulator.instances[mid]
    answer = await http.get(
        f"/{mid}/identity/oauth/token",
        params={
            "grant_type": "client_credentials",
            "client_id": instance.client_id,
            "client_secret": instance.client_secret,
        },
    )
    return answer.json()["access_token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
