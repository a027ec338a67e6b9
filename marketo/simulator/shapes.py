"""Folders and programs in the JSON shapes Marketo's asset endpoints answer with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..timestamps import format_marketo_datetime
from .assets import PROGRAM_FOLDER_TYPE, PROGRAM_URL_PREFIX, AssetStore, FolderRecord, ProgramRecord, Ref

UI_HOST = "https://app-sim.marketo.com"


def folder_json(store: AssetStore, ref: Ref, *, upper_case_kinds: bool = False) -> dict[str, Any]:
    """A folder or program as the folder endpoints describe it. Some answers spell the kinds "FOLDER" and
    "PROGRAM" (Adobe's examples of create, update and by name do), others "Folder" and "Program"."""
    node: FolderRecord | ProgramRecord
    if ref[1] == "Program":
        node = program = store.programs[ref[0]]
        kind: dict[str, Any] = {"parent": program.folder, "folder_type": PROGRAM_FOLDER_TYPE[program.type]}
        kind.update(is_system=False, is_archive=False, url=_program_url(program))
    else:
        node = folder = store.folders[ref[0]]
        kind = {"parent": folder.parent, "folder_type": folder.folder_type, "is_system": folder.is_system}
        kind.update(is_archive=folder.is_archive, url=None if folder.is_system else f"{UI_HOST}/#MF{folder.id}A1")
    entry = _folder_entry(
        store,
        ref,
        name=node.name,
        created_at=node.created_at,
        updated_at=node.updated_at,
        description=node.description,
        workspace=node.workspace,
        **kind,
    )
    if upper_case_kinds:
        for key in ("folderId", "parent"):
            if entry[key] is not None:
                entry[key]["type"] = entry[key]["type"].upper()
    return entry


def _folder_entry(
    store: AssetStore, ref: Ref, *, parent: Ref | None, created_at: datetime, updated_at: datetime, **fields: Any
) -> dict[str, Any]:
    return {
        "name": fields["name"],
        "description": fields["description"],
        "createdAt": format_marketo_datetime(created_at),
        "updatedAt": format_marketo_datetime(updated_at),
        "url": fields["url"],
        "folderId": {"id": ref[0], "type": ref[1]},
        "folderType": fields["folder_type"],
        "parent": {"id": parent[0], "type": parent[1]} if parent else None,
        "path": store.path_of(ref),
        "isArchive": fields["is_archive"],
        "isSystem": fields["is_system"],
        "accessZoneId": 1,
        "workspace": fields["workspace"],
        "id": ref[0],
    }


def program_json(
    store: AssetStore, program: ProgramRecord, *, tags: bool = False, costs: bool = False
) -> dict[str, Any]:
    """Browse leaves ``tags`` and ``costs`` out; by id, create, clone and update carry both (null when empty);
    by name carries those asked for."""
    body: dict[str, Any] = {
        "id": program.id,
        "name": program.name,
        "description": program.description,
        "createdAt": format_marketo_datetime(program.created_at),
        "updatedAt": format_marketo_datetime(program.updated_at),
        "url": _program_url(program),
        "type": program.type,
        "channel": program.channel,
        # Programs describe their folder as {type, value, folderName}, unlike folders.
        "folder": {
            "type": program.folder[1],
            "value": program.folder[0],
            "folderName": store.node(program.folder).name,
        },
        "status": program.status,
        "workspace": program.workspace,
        "headStart": False,
    }
    if tags:
        body["tags"] = [dict(tag) for tag in program.tags] or None
    if costs:
        body["costs"] = [dict(cost) for cost in program.costs] or None
    return body


def _program_url(program: ProgramRecord) -> str:
    return f"{UI_HOST}/#{PROGRAM_URL_PREFIX[program.type]}{program.id}A1"
