"""How Marketo's folders and programs become our rows: one way for a sync's pages and for a job's single answers.

Texts are cut to their columns' widths, read from the models (PostgreSQL refuses a longer value, SQLite would
keep it), and every row written is stamped `seen_at`, which a full sync's removals read. A job's worker injects
its own RowStore through the job's context (tests give one that fails where they need it to).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import fields
from tortoise.models import Model

from domain.models import MarketoFolder, MarketoProgram
from marketo.models import Folder, Program
from marketo.worker import upsert
from marketo.worker.upsert import FolderValues, ProgramValues


def _width(model: type[Model], field: str) -> int:
    column = model._meta.fields_map[field]
    assert isinstance(column, fields.CharField), f"{model.__name__}.{field} has no width"
    return column.max_length


def _cut(value: str | None, width: int) -> str | None:
    return value[:width] if value and len(value) > width else value


_FOLDER_WIDTHS = tuple(
    _width(MarketoFolder, f) for f in ("marketo_type", "name", "path", "parent_marketo_type", "folder_type", "url")
)
_PROGRAM_WIDTHS = tuple(_width(MarketoProgram, f) for f in ("name", "type", "channel", "status", "url"))


def folder_values(integration_id: int, folder: Folder, seen_at: datetime) -> FolderValues:
    """A folder as a row (upsert.FOLDER_COLUMNS), its texts cut to their columns' widths."""
    kind, name, path, parent_kind, folder_type, url = _FOLDER_WIDTHS
    parent = folder.parent
    return (
        integration_id, folder.id, _cut(folder.type, kind), _cut(folder.name, name), _cut(folder.path, path),
        parent.id if parent else None, _cut(parent.type, parent_kind) if parent else None,
        _cut(folder.folder_type, folder_type), folder.is_system, _cut(folder.url, url), folder.updated_at, seen_at,
    )  # fmt: skip


def program_values(integration_id: int, program: Program, seen_at: datetime) -> ProgramValues:
    """A program as a row (upsert.PROGRAM_COLUMNS): its folder as Marketo names it, looked up when written."""
    name, kind, channel, status, url = _PROGRAM_WIDTHS
    folder = program.folder
    return (
        integration_id, program.id, _cut(program.name, name), _cut(program.type, kind),
        _cut(program.channel, channel), _cut(program.status, status), _cut(program.url, url), program.updated_at,
        seen_at, folder.id if folder else None, folder.type if folder else None,
    )  # fmt: skip


class RowStore:
    async def upsert_folders(self, integration_id: int, folders: list[Folder], seen_at: datetime) -> None:
        await upsert.write_folders([folder_values(integration_id, folder, seen_at) for folder in folders])

    async def upsert_programs(self, integration_id: int, programs: list[Program], seen_at: datetime) -> None:
        await upsert.write_programs([program_values(integration_id, program, seen_at) for program in programs])

    async def save_program(self, integration_id: int, program: Program) -> MarketoProgram:
        """One program a job got from Marketo, written now (a sync that started before keeps it)."""
        values = program_values(integration_id, program, datetime.now(UTC))
        row = dict(zip(upsert.PROGRAM_COLUMNS[:-2], values, strict=False))
        if program.folder is not None:  # an answer without the folder says nothing about it: keep what we know
            folder = await MarketoFolder.get_or_none(
                platform_integration_id=integration_id, marketo_id=program.folder.id, marketo_type=program.folder.type
            )
            row["folder_id"] = folder.id if folder else None
        saved, _ = await MarketoProgram.update_or_create(
            platform_integration_id=integration_id, marketo_id=program.id, defaults=row
        )
        return saved

    async def save_folder(self, integration_id: int, folder: Folder) -> MarketoFolder:
        """One folder a job got from Marketo (or made there), written now."""
        row = dict(zip(upsert.FOLDER_COLUMNS, folder_values(integration_id, folder, datetime.now(UTC)), strict=True))
        saved, _ = await MarketoFolder.update_or_create(
            platform_integration_id=integration_id, marketo_id=folder.id, marketo_type=row["marketo_type"], defaults=row
        )
        return saved
