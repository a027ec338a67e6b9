"""GraphiQL served by Jeto itself, from assets installed with npm at setup (never from a CDN at page load)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

HERE = Path(__file__).resolve().parent
# Installed by `npm ci` in this folder (the Makefile and the Dockerfile do it); JETO_GRAPHIQL_ASSETS overrides.
NODE_MODULES = Path(os.environ.get("JETO_GRAPHIQL_ASSETS", HERE / "node_modules"))
ASSETS = {
    "graphiql.min.js": NODE_MODULES / "graphiql" / "graphiql.min.js",
    "graphiql.min.css": NODE_MODULES / "graphiql" / "graphiql.min.css",
    "react.production.min.js": NODE_MODULES / "react" / "umd" / "react.production.min.js",
    "react-dom.production.min.js": NODE_MODULES / "react-dom" / "umd" / "react-dom.production.min.js",
    # The Explorer plugin's own UMD build: a partner ticks fields to build a query.
    "plugin-explorer.umd.js": NODE_MODULES / "@graphiql" / "plugin-explorer" / "dist" / "index.umd.js",
    "plugin-explorer.css": NODE_MODULES / "@graphiql" / "plugin-explorer" / "dist" / "style.css",
    # The reference graphql-transport-ws client, as its own UMD build (the global `graphqlWs`): the status page's.
    "graphql-ws.min.js": NODE_MODULES / "graphql-ws" / "umd" / "graphql-ws.min.js",
    "jeto-graphiql.js": HERE / "jeto-graphiql.js",
    "jeto-sync-status.js": HERE / "jeto-sync-status.js",
}

EXAMPLES: list[dict[str, Any]] = [
    {
        "query": """# Your account, its Marketo instances and what they hold.
query Dashboard {
  viewer { email role }
  account {
    name
    syncState
    launcherCreation { allowed reason message }
    platformIntegrations {
      id name isDefault connectionStatus
      syncStatus { state foldersSynced programsSynced lastSucceededAt }
    }
    launchers(first: 10) {
      totalCount
      edges { node { id name platformIntegration { name } templateProgram { name } campaigns(first: 3) { edges { node { name status } } } } }
    }
  }
}""",
    },
    {"query": ""},  # the mutation, filled in by _examples with a real id
    {
        "query": """# Each instance's sync status now, then every change. GraphiQL shows the latest payload only, and
# stops the subscription when you switch tabs: /status shows them all, live.
subscription Watch {
  accountSyncStatus { id platformIntegrationId state foldersSynced programsSynced lastSucceededAt error }
}""",
    },
]


def _examples(default_integration_id: str | None) -> list[dict[str, Any]]:
    examples = [dict(example) for example in EXAMPLES]
    examples[1] = {
        "query": """# Queue a sync of an instance; watch it happen on /status, open beside GraphiQL.
mutation Sync($id: ID!) {
  syncPlatformIntegration(id: $id) {
    syncRun { id state trigger queuedAt }
    userErrors { code field message }
  }
}""",
        "variables": {"id": default_integration_id or "paste a platform integration id here"},
    }
    return examples


def _missing_assets(*names: str) -> HTMLResponse | None:
    if all(ASSETS[name].exists() for name in names):
        return None
    return HTMLResponse(
        "<h1>The page's assets are not installed</h1><p>Run <code>make assets</code> "
        "(<code>npm ci --prefix jeto/graphiql</code>) and reload.</p>",
        status_code=503,
    )


def page(path: str, *, default_integration_id: str | None) -> HTMLResponse:
    """The page carries no credential: a token arrives in the address's fragment (`#token=…`), which
    browsers never send to a server, and the page's script puts it in the Authorization header."""
    missing = _missing_assets("graphiql.min.js", "plugin-explorer.umd.js")
    if missing is not None:
        return missing
    config = {"path": path, "examples": _examples(default_integration_id)}
    # </ cannot close the script element that carries the JSON.
    payload = json.dumps(config).replace("</", "<\\/")
    return HTMLResponse((HERE / "index.html").read_text().replace("__JETO_CONFIG__", payload))


async def status_page(request: Request) -> HTMLResponse:
    """/status: every integration's sync status, live; signed in as GraphiQL is (the token in the fragment)."""
    return _missing_assets("graphql-ws.min.js") or HTMLResponse((HERE / "status.html").read_text())


async def asset(request: Request) -> Response:
    target = ASSETS.get(request.path_params["name"])
    if target is None or not target.exists():
        return PlainTextResponse("Not found", status_code=404)
    return FileResponse(target, headers={"cache-control": "public, max-age=86400"})
