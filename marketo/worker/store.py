"""How Marketo's folders and programs become our rows: one way for a sync's pages and for a job's single answers.

Texts are cut to their columns' widths, read from the models (PostgreSQL refuses a longer value, SQLite would
keep it), and every row written is stamped `seen_at`, which a full sync's removals read. A job's worker injects
its own RowStore through the job's context (tests give one that fails where they need it to).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from tortoise import fields
from tortoise.models import Model

from domain.models import MarketoFolder, MarketoProgram
from marketo.models import Folder, Program
from marketo.worker.upsert import upsert


@functools.cache
def _width(model: type[Model], field: str) -> int:
    column = model._meta.fields_map[field]
    assert isinstance(column, fields.CharField), f"{model.__name__}.{field} has no width"
    return column.max_length


def _cut(model: type[Model], field: str, value: str | None) -> str | None:
    return value[: _width(model, field)] if value else value


def folder_row(integration_id: int, folder: Folder, seen_at: datetime) -> dict[str, Any]:
    cut = functools.partial(_cut, MarketoFolder)
    return {
        "platform_integration_id": integration_id,
        "marketo_id": folder.id,
        "marketo_type": cut("marketo_type", folder.type),
        "name": cut("name", folder.name),
        "path": cut("path", folder.path),
        "parent_marketo_id": folder.parent.id if folder.parent else None,
        "parent_marketo_type": cut("parent_marketo_type", folder.parent.type) if folder.parent else None,
        "folder_type": cut("folder_type", folder.folder_type),
        "is_system": folder.is_system,
        "url": cut("url", folder.url),
        "marketo_updated_at": folder.updated_at,
        "seen_at": seen_at,
    }


def program_row(integration_id: int, program: Program, folder_id: int | None, seen_at: datetime) -> dict[str, Any]:
    cut = functools.partial(_cut, MarketoProgram)
    return {
        "platform_integration_id": integration_id,
        "marketo_id": program.id,
        "name": cut("name", program.name),
        "type": cut("type", program.type),
        "channel": cut("channel", program.channel),
        "status": cut("status", program.status),
        "folder_id": folder_id,
        "url": cut("url", program.url),
        "marketo_updated_at": program.updated_at,
        "seen_at": seen_at,
    }


class RowStore:
    async def upsert_folders(self, integration_id: int, folders: list[Folder], seen_at: datetime) -> None:
        rows = [folder_row(integration_id, folder, seen_at) for folder in folders]
        await upsert(MarketoFolder, rows, conflict=["platform_integration_id", "marketo_id", "marketo_type"])

    async def upsert_programs(
        self,
        integration_id: int,
        programs: list[Program],
        folder_ids: dict[tuple[int, str], int],
        seen_at: datetime,
    ) -> None:
        rows = [
            program_row(integration_id, p, folder_ids.get((p.folder.id, p.folder.type)) if p.folder else None, seen_at)
            for p in programs
        ]
        await upsert(MarketoProgram, rows, conflict=["platform_integration_id", "marketo_id"])

    async def save_program(self, integration_id: int, program: Program) -> MarketoProgram:
        """One program a job got from Marketo, written now (a sync that started before keeps it)."""
        folder_id = None
        if program.folder is not None:
            folder = await MarketoFolder.get_or_none(
                platform_integration_id=integration_id, marketo_id=program.folder.id, marketo_type=program.folder.type
            )
            folder_id = folder.id if folder else None
        row = program_row(integration_id, program, folder_id, datetime.now(UTC))
        if program.folder is None:  # an answer without the folder says nothing about it: keep what we know
            del row["folder_id"]
        saved, _ = await MarketoProgram.update_or_create(
            platform_integration_id=integration_id, marketo_id=program.id, defaults=row
        )
        return saved

    async def save_folder(self, integration_id: int, folder: Folder) -> MarketoFolder:
        """One folder a job got from Marketo (or made there), written now."""
        row = folder_row(integration_id, folder, datetime.now(UTC))
        saved, _ = await MarketoFolder.update_or_create(
            platform_integration_id=integration_id, marketo_id=folder.id, marketo_type=row["marketo_type"], defaults=row
        )
        return saved
