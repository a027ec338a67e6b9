"""The dashboard every Jeto screen and partner runs, and its result held in memory for a bare engine to serve.

The front end's main screen and partner dashboards run one kind of query: the account, its integrations, its
launchers with their integration, folder and template, and their latest campaigns. `result(...)` is what
Jeto answers for the data `bench/dashboard.py` seeds, as plain dicts: graphql-core's default resolvers read
them, so executing DASHBOARD over it is the engine alone, the bound any server of this schema is held to.
"""

from __future__ import annotations

from typing import Any

DASHBOARD = """query Dashboard {
  account {
    id name syncState
    platformIntegrations { id name vendor isDefault connectionStatus
      syncStatus { state foldersSynced programsSynced lastSucceededAt } }
    launchers(first: 50) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id name createdAt
        platformIntegration { id name }
        destinationFolder { id name path }
        templateProgram { id name }
        assetsFolder { id name }
        campaigns(first: 2) { totalCount edges { node { id name status submittedAt } } }
      } }
    }
  }
}"""


def _integration(n: int) -> dict[str, Any]:
    return {
        "id": f"PI{n}",
        "name": f"Instance {n}",
        "vendor": "MARKETO",
        "isDefault": n == 0,
        "connectionStatus": "CONNECTED",
        "syncStatus": {
            "state": "COMPLETED",
            "foldersSynced": 12,
            "programsSynced": 60,
            "lastSucceededAt": "2026-12-01T10:00:00+00:00",
        },
    }


def result(integrations: int = 3, launchers: int = 50, campaigns: int = 2) -> dict[str, Any]:
    """The dashboard's answer for `launchers` launchers spread over `integrations`, with `campaigns` each."""
    pis = [_integration(n) for n in range(integrations)]
    edges = []
    for n in range(launchers):
        pi = pis[n % integrations]
        edges.append(
            {
                "node": {
                    "id": f"L{n}",
                    "name": f"Launcher {n}",
                    "createdAt": "2026-12-01T10:00:00+00:00",
                    "platformIntegration": {"id": pi["id"], "name": pi["name"]},
                    "destinationFolder": {
                        "id": f"F{n}",
                        "name": "Campaigns",
                        "path": "/Marketing Activities/Campaigns",
                    },
                    "templateProgram": {"id": f"P{n}", "name": "Webinar template"},
                    "assetsFolder": {"id": f"A{n}", "name": "Jeto"},
                    "campaigns": {
                        "totalCount": campaigns,
                        "edges": [
                            {
                                "node": {
                                    "id": f"C{n}-{c}",
                                    "name": f"Campaign {c}",
                                    "status": "READY",
                                    "submittedAt": "2026-12-01T10:00:00+00:00",
                                }
                            }
                            for c in range(campaigns)
                        ],
                    },
                }
            }
        )
    return {
        "account": {
            "id": "A1",
            "name": "Bench Co",
            "syncState": "COMPLETED",
            "platformIntegrations": pis,
            "launchers": {
                "totalCount": launchers,
                "pageInfo": {"hasNextPage": False, "endCursor": f"L{launchers - 1}"},
                "edges": edges,
            },
        }
    }
