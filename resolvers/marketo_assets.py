"""Marketo folders and programs, as synced into each integration: their records, and how they are read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from domain.names import unstorable
from resolvers import pages, sql
from resolvers.errors import BadUserInput, NotFound
from resolvers.ids import encode_id, pk_argument
from resolvers.integrations import IntegrationRecord
from resolvers.prefetch import BY_ID, Batch, Relation, to_one
from resolvers.records import Record

FOLDER_COLUMNS = "id, platform_integration_id, marketo_id, marketo_type, name, path"
PROGRAM_COLUMNS = "id, platform_integration_id, marketo_id, name, type, channel, url, folder_id"
FOLDER_WIDTH, PROGRAM_WIDTH = 6, 8


@dataclass(slots=True, eq=False)
class FolderRecord(Record):
    TYPE: ClassVar[str] = "MarketoFolder"
    pk: int
    id: str
    platform_integration_id: int
    marketo_id: int
    marketo_type: str
    name: str
    path: str
    loaded: dict = field(default_factory=dict, repr=False)


def folder_of(row: Sequence[Any]) -> FolderRecord:
    return FolderRecord(row[0], encode_id("MarketoFolder", row[0]), row[1], row[2], row[3], row[4], row[5])


@dataclass(slots=True, eq=False)
class ProgramRecord(Record):
    TYPE: ClassVar[str] = "MarketoProgram"
    pk: int
    id: str
    platform_integration_id: int
    marketo_id: int
    name: str
    type: str
    channel: str | None
    url: str | None
    folder_id: int | None
    loaded: dict = field(default_factory=dict, repr=False)


def program_of(row: Sequence[Any]) -> ProgramRecord:
    return ProgramRecord(
        row[0], encode_id("MarketoProgram", row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7]
    )


async def _folders_by_id(ids: list[int], batch: Batch) -> Sequence[FolderRecord | None]:
    return await sql.by_ids("marketo_folder", FOLDER_COLUMNS, folder_of, ids, batch.context.viewer.asset_scope())


async def _programs_by_id(ids: list[int], batch: Batch) -> Sequence[ProgramRecord | None]:
    return await sql.by_ids("marketo_program", PROGRAM_COLUMNS, program_of, ids, batch.context.viewer.asset_scope())


BY_ID[FolderRecord] = _folders_by_id
BY_ID[ProgramRecord] = _programs_by_id


async def folder_node(pk: int, batch: Batch) -> FolderRecord | None:
    [found] = await _folders_by_id([pk], batch)
    return found


async def program_node(pk: int, batch: Batch) -> ProgramRecord | None:
    [found] = await _programs_by_id([pk], batch)
    return found


def _search(value: str | None) -> str | None:
    if not value:
        return None
    problem = unstorable(value)
    if problem:
        raise BadUserInput(f"`search` {problem}.")
    return sql.like(value)


async def _pages_per_integration(
    parents: Sequence[IntegrationRecord],
    table: str,
    columns: str,
    width: int,
    make: Any,
    page: pages.PageRequest,
    conditions: list[tuple[str, list[Any]]],
) -> list[pages.Page]:
    ids = [parent.pk for parent in parents]
    where = [(f"platform_integration_id IN ({sql.marks(ids)})", ids), *conditions]
    condition = " AND ".join(text for text, _ in where)
    params = [value for _, values in where for value in values]
    statement, all_params = pages.statement(
        columns, table, condition, params, page, partition="platform_integration_id"
    )
    found = pages.pages(await sql.rows(statement, all_params), page, width, make, parent_column=1)
    return [found.get(pk) or pages.empty(page) for pk in ids]


async def _folders(parents: Sequence[IntegrationRecord], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
    page = pages.PageRequest.of(
        "PlatformIntegration.folders", arguments["first"], arguments["after"], default=100, newest_first=False
    )
    search = _search(arguments["search"])
    conditions = [("UPPER(name) LIKE UPPER(?) ESCAPE '\\'", [search])] if search else []
    return await _pages_per_integration(
        parents, "marketo_folder", FOLDER_COLUMNS, FOLDER_WIDTH, folder_of, page, conditions
    )


async def _programs(parents: Sequence[IntegrationRecord], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
    page = pages.PageRequest.of(
        "PlatformIntegration.programs", arguments["first"], arguments["after"], default=100, newest_first=False
    )
    search = _search(arguments["search"])
    conditions: list[tuple[str, list[Any]]] = [("UPPER(name) LIKE UPPER(?) ESCAPE '\\'", [search])] if search else []
    listed = list(parents)
    if arguments["folderId"] is not None:
        folder = pk_argument(arguments["folderId"], "MarketoFolder", "folderId")
        scope, params = batch.context.viewer.asset_scope()
        owner = await sql.rows(
            f"SELECT platform_integration_id FROM marketo_folder WHERE id = ? AND {scope}", [folder, *params]
        )
        conditions.append(("folder_id = ?", [folder]))
        listed = [parent for parent in parents if owner and parent.pk == owner[0][0]]
    found = await _pages_per_integration(
        listed, "marketo_program", PROGRAM_COLUMNS, PROGRAM_WIDTH, program_of, page, conditions
    ) if listed else []  # fmt: skip
    by_parent = {parent.pk: value for parent, value in zip(listed, found, strict=True)}
    return [
        by_parent.get(parent.pk) or NotFound("No folder with this id in this platform integration.")
        for parent in parents
    ]


FOLDERS = Relation(IntegrationRecord, "folders", _folders, {"search": None, "first": 100, "after": None})
PROGRAMS = Relation(
    IntegrationRecord, "programs", _programs, {"folderId": None, "search": None, "first": 100, "after": None}
)
FOLDER_INTEGRATION = to_one(FolderRecord, "platformIntegration", IntegrationRecord, "platform_integration_id")
PROGRAM_FOLDER = to_one(ProgramRecord, "folder", FolderRecord, "folder_id")
PROGRAM_INTEGRATION = to_one(ProgramRecord, "platformIntegration", IntegrationRecord, "platform_integration_id")
