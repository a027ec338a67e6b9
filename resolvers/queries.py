"""Root query resolvers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from domain import models
from domain.viewer import Viewer
from resolvers.context import Context
from resolvers.errors import BadUserInput
from schema import nodes
from schema.ids import beyond_any_row, decode_id

Info = strawberry.Info[Context, None]


async def viewer(info: Info) -> nodes.User:
    return nodes.User(model=await models.User.get(id=info.context.viewer.user_id))


async def account(info: Info) -> nodes.Account:
    return nodes.Account(model=await models.Account.get(id=info.context.viewer.account_id))


# For each node type: the rows of it the viewer may see, and the type that shows one.
_VISIBLE: dict[str, tuple[Callable[[Viewer], Any], Callable[[Any], nodes.Node]]] = {
    "Account": (lambda v: models.Account.filter(id=v.account_id), lambda m: nodes.Account(model=m)),
    "User": (Viewer.users, lambda m: nodes.User(model=m)),
    "PlatformIntegration": (Viewer.integrations, nodes.PlatformIntegration.wrap),
    "SyncRun": (Viewer.sync_runs, nodes.SyncRun.wrap),
    "SyncStatus": (Viewer.integrations, nodes.SyncStatus.of),
    "MarketoFolder": (Viewer.folders, nodes.MarketoFolder.wrap),
    "MarketoProgram": (Viewer.programs, nodes.MarketoProgram.wrap),
    "Launcher": (lambda v: v.launchers(include_deleted=True), nodes.Launcher.wrap),
    "Campaign": (Viewer.campaigns, nodes.Campaign.wrap),
}


async def node(info: Info, id: strawberry.ID) -> nodes.Node | None:
    decoded = decode_id(id)
    if decoded is None and beyond_any_row(id):
        return None  # well-formed, but no row can have it: absent, as the contract says
    if decoded is None:
        raise BadUserInput("`id` is not an id this API returned.")
    type_name, pk = decoded
    if type_name not in _VISIBLE:
        return None
    visible, wrap = _VISIBLE[type_name]
    row = await visible(info.context.viewer).filter(id=pk).first()
    return wrap(row) if row is not None else None
