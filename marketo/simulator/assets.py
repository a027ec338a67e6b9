"""One instance's folders and programs, and the asset queries Marketo answers about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..timestamps import format_marketo_datetime
from .envelopes import AssetError

# Program types as the API spells them, with their UI link prefix and folder kind.
PROGRAM_URL_PREFIX = {"Default": "PG", "Event": "ME", "Event with Webinar": "ME", "Engagement": "NP", "Email": "EBP"}
PROGRAM_FOLDER_TYPE = {
    "Default": "Marketing Program",
    "Event": "Marketing Event",
    "Event with Webinar": "Marketing Event",
    "Engagement": "Nurture Program",
    "Email": "Email Batch Program",
}
UI_HOST = "https://app-sim.marketo.com"
MAX_NAME_LENGTH = 255

Ref = tuple[int, str]


@dataclass(slots=True)
class FolderRecord:
    id: int
    name: str
    parent: Ref | None
    folder_type: str
    is_system: bool
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    workspace: str = "Default"

    @property
    def ref(self) -> Ref:
        return (self.id, "Folder")


@dataclass(slots=True)
class ProgramRecord:
    id: int
    name: str
    type: str
    channel: str
    folder: Ref
    status: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    workspace: str = "Default"

    @property
    def ref(self) -> Ref:
        return (self.id, "Program")


class AssetStore:
    def __init__(self) -> None:
        self.folders: dict[int, FolderRecord] = {}
        self.programs: dict[int, ProgramRecord] = {}
        self._next_folder_id = 1000
        self._next_program_id = 1000
        self._programs_in_order: list[ProgramRecord] | None = None

    # Building

    def add_folder(self, record: FolderRecord) -> FolderRecord:
        self.folders[record.id] = record
        self._next_folder_id = max(self._next_folder_id, record.id + 1)
        return record

    def new_folder_id(self) -> int:
        return self._next_folder_id

    def add_program(self, record: ProgramRecord) -> ProgramRecord:
        self.programs[record.id] = record
        self._programs_in_order = None
        self._next_program_id = max(self._next_program_id, record.id + 1)
        return record

    def delete_program(self, program_id: int) -> None:
        """As a user deleting it in Marketo: it is listed, found and cloned no more."""
        del self.programs[program_id]
        self._programs_in_order = None

    def new_program_id(self) -> int:
        return self._next_program_id

    def programs_in_order(self) -> list[ProgramRecord]:
        """By id, as browse pages them; kept between calls since paging asks for it per page."""
        if self._programs_in_order is None:
            self._programs_in_order = sorted(self.programs.values(), key=lambda p: p.id)
        return self._programs_in_order

    # Tree

    def path_of(self, ref: Ref) -> str:
        names = []
        current: Ref | None = ref
        while current is not None:
            node = self._node(current)
            names.append(node.name)
            current = node.parent if isinstance(node, FolderRecord) else node.folder
        return "/" + "/".join(reversed(names))

    def children(self, ref: Ref) -> list[Ref]:
        # Rebuilt per call: the tree changes as folders and programs are created.
        kids = [f.ref for f in self.folders.values() if f.parent == ref]
        kids += [p.ref for p in self.programs.values() if p.folder == ref]
        return sorted(kids, key=lambda r: (r[1] != "Folder", r[0]))

    def exists(self, ref: Ref) -> bool:
        return (ref[1] == "Folder" and ref[0] in self.folders) or (ref[1] == "Program" and ref[0] in self.programs)

    def browse(self, root: Ref | None, max_depth: int, workspace: str | None) -> list[Ref]:
        """Depth-first, the root itself included at depth 0."""
        if root is not None and not self.exists(root):
            raise AssetError("710", "Parent Folder Not Found")
        roots = [root] if root else [f.ref for f in self.folders.values() if f.parent is None]
        found: list[Ref] = []
        stack = [(ref, 0) for ref in reversed(roots)]
        children_of = self._children_index()
        while stack:
            ref, depth = stack.pop()
            if workspace is None or self._node(ref).workspace == workspace:
                found.append(ref)
            if depth < max_depth:
                stack.extend((child, depth + 1) for child in reversed(children_of.get(ref, [])))
        return found

    def _children_index(self) -> dict[Ref, list[Ref]]:
        index: dict[Ref, list[Ref]] = {}
        for folder in sorted(self.folders.values(), key=lambda f: f.id):
            if folder.parent is not None:
                index.setdefault(folder.parent, []).append(folder.ref)
        for program in sorted(self.programs.values(), key=lambda p: p.id):
            index.setdefault(program.folder, []).append(program.ref)
        return index

    def is_under(self, ref: Ref, root: Ref) -> bool:
        current: Ref | None = ref
        while current is not None:
            if current == root:
                return True
            node = self._node(current)
            current = node.parent if isinstance(node, FolderRecord) else node.folder
        return False

    # Mutations, with Marketo's rules

    def create_folder(self, name: str, parent: Ref, description: str | None, now: datetime) -> FolderRecord:
        if not name:
            raise AssetError("701", "name cannot be blank")
        if not self.exists(parent):
            raise AssetError("710", "Parent Folder Not Found")
        if any(f.parent == parent and f.name == name for f in self.folders.values()):
            raise AssetError("709", f"Folder with name '{name}' already exists under this parent")
        parent_node = self._node(parent)
        folder_type = "Marketing Folder" if self.path_of(parent).startswith("/Marketing Activities") else "Folder"
        return self.add_folder(
            FolderRecord(
                id=self.new_folder_id(),
                name=name,
                parent=parent,
                folder_type=folder_type,
                is_system=False,
                created_at=now,
                updated_at=now,
                description=description,
                workspace=parent_node.workspace,
            )
        )

    def clone_program(
        self, source_id: int, name: str, folder: Ref, description: str | None, now: datetime
    ) -> ProgramRecord:
        source = self.program(source_id)
        self._check_program_name(name)
        if folder[1] != "Folder":
            raise AssetError("711", "Incompatible Folder Type")
        if folder[0] not in self.folders:
            raise AssetError("710", "Parent Folder Not Found")
        status = {"Engagement": "off", "Email": "unlocked"}.get(source.type, "")
        return self.add_program(
            ProgramRecord(
                id=self.new_program_id(),
                name=name,
                type=source.type,
                channel=source.channel,
                folder=folder,
                status=status,
                created_at=now,
                updated_at=now,
                description=source.description if description is None else description,
                workspace=self.folders[folder[0]].workspace,
            )
        )

    def update_program(
        self, program_id: int, name: str | None, description: str | None, now: datetime
    ) -> ProgramRecord:
        program = self.program(program_id)
        if name is not None and name != program.name:
            self._check_program_name(name)
            program.name = name
        if description is not None:
            program.description = description
        program.updated_at = now
        return program

    def program(self, program_id: int) -> ProgramRecord:
        try:
            return self.programs[program_id]
        except KeyError:
            raise AssetError("610", "Requested resource not found") from None

    def _check_program_name(self, name: str) -> None:
        if not name:
            raise AssetError("701", "name cannot be blank")
        if len(name) > MAX_NAME_LENGTH:
            raise AssetError("701", f"name cannot be longer than {MAX_NAME_LENGTH} characters")
        if any(p.name == name for p in self.programs.values()):
            raise AssetError("709", f"Program name '{name}' is already in use")

    def _node(self, ref: Ref) -> FolderRecord | ProgramRecord:
        return self.folders[ref[0]] if ref[1] == "Folder" else self.programs[ref[0]]

    # Rendering, in Marketo's shapes

    def folder_json(self, ref: Ref) -> dict[str, Any]:
        if ref[1] == "Program":
            program = self.programs[ref[0]]
            return self._folder_entry(
                ref,
                name=program.name,
                parent=program.folder,
                folder_type=PROGRAM_FOLDER_TYPE[program.type],
                is_system=False,
                created_at=program.created_at,
                updated_at=program.updated_at,
                description=program.description,
                workspace=program.workspace,
                url=f"{UI_HOST}/#{PROGRAM_URL_PREFIX[program.type]}{program.id}A1",
            )
        folder = self.folders[ref[0]]
        return self._folder_entry(
            ref,
            name=folder.name,
            parent=folder.parent,
            folder_type=folder.folder_type,
            is_system=folder.is_system,
            created_at=folder.created_at,
            updated_at=folder.updated_at,
            description=folder.description,
            workspace=folder.workspace,
            url=None if folder.is_system else f"{UI_HOST}/#MF{folder.id}A1",
        )

    def _folder_entry(
        self, ref: Ref, *, parent: Ref | None, created_at: datetime, updated_at: datetime, **fields: Any
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
            "path": self.path_of(ref),
            "isArchive": False,
            "isSystem": fields["is_system"],
            "accessZoneId": 1,
            "workspace": fields["workspace"],
            "id": ref[0],
        }

    def program_json(self, program: ProgramRecord, *, with_tags: bool = False) -> dict[str, Any]:
        folder = self._node(program.folder)
        body: dict[str, Any] = {
            "id": program.id,
            "name": program.name,
            "description": program.description,
            "createdAt": format_marketo_datetime(program.created_at),
            "updatedAt": format_marketo_datetime(program.updated_at),
            "url": f"{UI_HOST}/#{PROGRAM_URL_PREFIX[program.type]}{program.id}A1",
            "type": program.type,
            "channel": program.channel,
            # Programs describe their folder as {type, value, folderName}, unlike folders.
            "folder": {"type": program.folder[1], "value": program.folder[0], "folderName": folder.name},
            "status": program.status,
            "workspace": program.workspace,
            "headStart": False,
        }
        if with_tags:
            body["tags"] = []
            body["costs"] = None
        return body


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
