"""The program endpoints: browse, by name, by id, create, update, clone and delete."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from .assets import ProgramRecord, utc_now
from .envelopes import success
from .instance import SimulatedInstance
from .params import bool_param, datetime_param, folder_ref_param, json_list_param, page, path_id, searched_name
from .shapes import program_json

TAG_FIELDS = ("tagType", "tagValue")
COST_FIELDS = ("startDate", "cost")


async def browse(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    earliest = datetime_param(params, "earliestUpdatedAt")
    latest = datetime_param(params, "latestUpdatedAt")
    programs = instance.store.programs_in_order()
    if earliest or latest:
        # Marketo matches programs created or updated within the range.
        def in_range(moment: datetime) -> bool:
            return (earliest is None or moment >= earliest) and (latest is None or moment <= latest)

        programs = [p for p in programs if in_range(p.updated_at) or in_range(p.created_at)]
    if params.get("status"):
        programs = [p for p in programs if p.status == params["status"]]
    filter_type, values = params.get("filterType"), params.get("filterValues")
    if filter_type and values:
        wanted = {int(v) for v in values.split(",") if v.strip().isdigit()}
        if filter_type in ("id", "programId"):
            programs = [p for p in programs if p.id in wanted]
        elif filter_type == "folderId":
            programs = [p for p in programs if p.folder[0] in wanted]
    return success([program_json(instance.store, p) for p in page(programs, params)])


async def by_name(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    name = searched_name(params)
    if name is None:
        return success([])
    tags, costs = bool(bool_param(params, "includeTags")), bool(bool_param(params, "includeCosts"))
    found = [p for p in instance.store.programs.values() if p.name == name]
    return success([program_json(instance.store, p, tags=tags, costs=costs) for p in found])


def _whole(instance: SimulatedInstance, program: ProgramRecord) -> Response:
    return success([program_json(instance.store, program, tags=True, costs=True)])


async def by_id(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    program = instance.store.programs.get(path_id(request))
    return _whole(instance, program) if program else success([])


async def create(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    folder = folder_ref_param(params, "folder", required=True)
    assert folder is not None
    program = instance.store.create_program(
        params.get("name", ""),
        folder,
        params.get("type", ""),
        params.get("channel", ""),
        params.get("description"),
        json_list_param(params, "tags", TAG_FIELDS),
        json_list_param(params, "costs", COST_FIELDS),
        utc_now(),
    )
    return _whole(instance, program)


async def update(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    program = instance.store.update_program(
        path_id(request),
        params.get("name"),
        params.get("description"),
        utc_now(),
        tags=json_list_param(params, "tags", TAG_FIELDS),
        costs=json_list_param(params, "costs", COST_FIELDS),
        costs_destructive=bool(bool_param(params, "costsDestructiveUpdate")),
    )
    return _whole(instance, program)


async def clone(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    folder = folder_ref_param(params, "folder", required=True)
    assert folder is not None
    program = instance.store.clone_program(
        path_id(request), params.get("name", ""), folder, params.get("description"), utc_now()
    )
    return _whole(instance, program)


async def delete(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    program_id = path_id(request)
    instance.store.delete_program(program_id)
    return success([{"id": program_id}])
