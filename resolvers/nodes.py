"""`node(id)`: any object of the viewer's account by global id, if the viewer may see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from resolvers import accounts, api_keys, audit, campaigns, integrations, launchers, marketo_assets, sql, sync_runs
from resolvers.context import Subject
from resolvers.errors import BadUserInput
from resolvers.ids import beyond_any_row, decode_id
from resolvers.prefetch import Batch, prefetch

# For each node type: the record of that id, if the viewer sees it (the scope of `node`, which for an
# integration leaves out deleted ones, where a sync run still names its deleted integration).
_VISIBLE: dict[str, Callable[[int, Batch], Awaitable[Any]]] = {
    "Account": accounts.account_node,
    "User": accounts.user_node,
    "PlatformIntegration": integrations.node,
    "SyncRun": sync_runs.node,
    "SyncStatus": integrations.sync_status_node,
    "MarketoFolder": marketo_assets.folder_node,
    "MarketoProgram": marketo_assets.program_node,
    "Launcher": launchers.node,
    "Campaign": campaigns.node,
    "ApiKey": api_keys.node,
    "AuditEvent": audit.node,
}


async def node(info: Any, id: str) -> Any:
    decoded = decode_id(id)
    if decoded is None and beyond_any_row(id):
        return None  # well-formed, but no row can have it: absent, as the contract says
    if decoded is None:
        raise BadUserInput("`id` is not an id this API returned.")
    type_name, pk = decoded
    visible = _VISIBLE.get(type_name)
    if visible is None:
        return None
    found = await visible(pk, Batch(info.context, info.variable_values))
    return await prefetch(info, found) if found is not None else None


async def visibility(context: Any) -> tuple[Any, ...]:
    """What decides which rows the viewer sees: for an admin, the account; for a collaborator, who they are and
    the launchers granted to them now (subscribers of equal visibility share one execution, jeto/live)."""
    viewer = context.viewer
    if viewer.is_admin:
        return ("account", viewer.account_id)
    scope, params = viewer.launcher_scope(include_deleted=True)
    granted = await sql.rows(f"SELECT id FROM launcher WHERE {scope} ORDER BY id", params)
    return ("user", viewer.user_id, tuple(row[0] for row in granted))


async def visible_subjects(context: Any, subjects: list[Subject]) -> list[Subject]:
    """Those of `subjects` the context's viewer sees now, in order: what a subscriber joining others may be
    sent of what they were sent (a collaborator's grants may have changed since)."""
    batch = Batch(context)
    return [subject for subject in subjects if await _VISIBLE[subject.kind](subject.pk, batch) is not None]
