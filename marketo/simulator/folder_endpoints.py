"""The folder endpoints: browse, by name, by id, content, create, update and delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .assets import FolderRecord, ProgramRecord, utc_now
from .envelopes import AssetError, success
from .instance import SimulatedInstance
from .params import KINDS, bool_param, folder_ref_param, int_param, kind_param, page, path_id, searched_name
from .shapes import folder_json


def _workspace(params: dict[str, str]) -> str | None:
    # Adobe's swagger spells it workSpace, its folder guide workspace.
    return params.get("workSpace") or params.get("workspace")


async def browse(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    store = instance.store
    root = folder_ref_param(params, "root")
    max_depth = int_param(params, "maxDepth", 2, low=0, high=100)
    refs = store.browse(root, max_depth, _workspace(params))
    return success([folder_json(store, ref) for ref in page(refs, params)])


async def by_name(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    store = instance.store
    name = searched_name(params)
    if name is None:
        return success([])
    kind = KINDS.get((params.get("type") or "").lower())
    root = folder_ref_param(params, "root")
    workspace = _workspace(params)
    found: list[FolderRecord | ProgramRecord] = [f for f in store.folders.values() if f.name == name]
    found += [p for p in store.programs.values() if p.name == name]
    refs = [
        f.ref
        for f in found
        if (kind is None or f.ref[1] == kind)
        and (root is None or store.is_under(f.ref, root))
        and (workspace is None or f.workspace == workspace)
    ]
    return success([folder_json(store, ref, upper_case_kinds=True) for ref in sorted(refs)])


async def by_id(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    ref = path_id(request), kind_param(params)
    return success([folder_json(instance.store, ref)] if instance.store.exists(ref) else [])


async def content(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    ref = path_id(request), kind_param(params)
    children = instance.store.children(ref) if instance.store.exists(ref) else []
    return success([{"id": child[0], "type": child[1]} for child in page(children, params)])


async def create(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    parent = folder_ref_param(params, "parent", required=True)
    assert parent is not None
    record = instance.store.create_folder(params.get("name", ""), parent, params.get("description"), utc_now())
    return success([folder_json(instance.store, record.ref, upper_case_kinds=True)])


def _folder_only(params: dict[str, str], doing: str) -> None:
    if kind_param(params) == "Program":
        # The wording Marketo uses for a delete (seen by raszi/mrkt); programs have their own endpoints.
        raise AssetError("709", f"Program Programs cant be {doing} with Folder API")


async def update(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    _folder_only(params, "updated")
    record = instance.store.update_folder(
        path_id(request), params.get("name"), params.get("description"), bool_param(params, "isArchive"), utc_now()
    )
    return success([folder_json(instance.store, record.ref, upper_case_kinds=True)])


async def delete(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    _folder_only(params, "deleted")
    folder_id = path_id(request)
    instance.store.delete_folder(folder_id)
    return success([{"id": folder_id}])
