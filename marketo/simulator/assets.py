"""One instance's folders and programs, and the asset queries Marketo answers about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .envelopes import AssetError

# Program types as the API spells them, with their UI link prefix, folder kind and the channels valid for them.
PROGRAM_URL_PREFIX = {"Default": "PG", "Event": "ME", "Event with Webinar": "ME", "Engagement": "NP", "Email": "EBP"}
PROGRAM_FOLDER_TYPE = {
    "Default": "Marketing Program",
    "Event": "Marketing Event",
    "Event with Webinar": "Marketing Event",
    "Engagement": "Nurture Program",
    "Email": "Email Batch Program",
}
PROGRAM_CHANNELS = {
    "Default": ["Content", "Online Advertising", "Paid Search", "Social", "Web Content", "Operational"],
    "Email": ["Email Send"],
    "Event": ["Tradeshow", "Roadshow", "Field Event"],
    "Event with Webinar": ["Webinar"],
    "Engagement": ["Nurture"],
}
# Adobe: Default, Event and Event with Webinar programs may hold Email programs; Engagement ones any program.
PROGRAMS_A_PROGRAM_HOLDS = {
    "Default": {"Email"},
    "Event": {"Email"},
    "Event with Webinar": {"Email"},
    "Engagement": set(PROGRAM_URL_PREFIX),
    "Email": set(),
}
MARKETING_ACTIVITIES = "Marketing Activities"  # the area whose folders hold programs; the others hold one asset kind
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
    is_archive: bool = False

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
    tags: list[dict[str, str]] = field(default_factory=list)
    costs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ref(self) -> Ref:
        return (self.id, "Program")


class AssetStore:
    def __init__(self) -> None:
        self.folders: dict[int, FolderRecord] = {}
        self.programs: dict[int, ProgramRecord] = {}
        self.deleted_program_ids: set[int] = set()
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
        """As a user deleting it in Marketo: it goes with what it holds, and is listed, found and cloned no more."""
        program = self.program(program_id)
        for child in self.children(program.ref):
            if child[1] == "Program":
                self.delete_program(child[0])
            else:
                self._delete_folder_tree(child[0])
        del self.programs[program_id]
        self.deleted_program_ids.add(program_id)
        self._programs_in_order = None

    def _delete_folder_tree(self, folder_id: int) -> None:
        for child in self.children((folder_id, "Folder")):
            if child[1] == "Program":
                self.delete_program(child[0])
            else:
                self._delete_folder_tree(child[0])
        del self.folders[folder_id]

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
            node = self.node(current)
            names.append(node.name)
            current = node.parent if isinstance(node, FolderRecord) else node.folder
        return "/" + "/".join(reversed(names))

    def area_of(self, ref: Ref) -> str:
        """The root a folder or program is under: Marketing Activities, Design Studio, Lead Database."""
        return self.path_of(ref).split("/")[1]

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
            if workspace is None or self.node(ref).workspace == workspace:
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
            node = self.node(current)
            current = node.parent if isinstance(node, FolderRecord) else node.folder
        return False

    # Mutations, with Marketo's rules

    def create_folder(self, name: str, parent: Ref, description: str | None, now: datetime) -> FolderRecord:
        if not name:
            raise AssetError("701", "name cannot be blank")
        if not self.exists(parent):
            raise AssetError("710", "Parent Folder Not Found")
        self._check_folder_name(name, parent)
        return self.add_folder(
            FolderRecord(
                id=self.new_folder_id(),
                name=name,
                parent=parent,
                folder_type=self._child_folder_type(parent),
                is_system=False,
                created_at=now,
                updated_at=now,
                description=description,
                workspace=self.node(parent).workspace,
            )
        )

    def _child_folder_type(self, parent: Ref) -> str:
        """What a new folder holds, by where it is made (Adobe: "an Email folder can contain emails and
        subfolders with a folder type of Email or Email Template"; Marketing Activities folders hold anything)."""
        if self.area_of(parent) == MARKETING_ACTIVITIES:
            return "Marketing Folder"
        kind = self.folders[parent[0]].folder_type  # programs live in Marketing Activities only
        if kind == "Zone":
            # A folder right under a Design Studio or Lead Database root would hold no kind of asset.
            raise AssetError("711", "Incompatible Folder Type")
        return kind

    def update_folder(
        self, folder_id: int, name: str | None, description: str | None, is_archive: bool | None, now: datetime
    ) -> FolderRecord:
        folder = self.folder(folder_id)
        if folder.is_system:
            raise AssetError("709", f"System folder '{folder.name}' cannot be changed")
        if name is not None and name != folder.name:
            self._check_folder_name(name, folder.parent)
            folder.name = name
        if description is not None:
            folder.description = description
        if is_archive is not None:
            folder.is_archive = is_archive
        folder.updated_at = now
        return folder

    def delete_folder(self, folder_id: int) -> None:
        folder = self.folder(folder_id)
        if folder.is_system:
            raise AssetError("709", f"System folder '{folder.name}' cannot be deleted")
        if self.children(folder.ref):
            raise AssetError("709", f"Folder '{folder.name}' is not empty")
        del self.folders[folder_id]

    def folder(self, folder_id: int) -> FolderRecord:
        try:
            return self.folders[folder_id]
        except KeyError:
            raise AssetError("702", "No data found for a given search scenario") from None

    def _check_folder_name(self, name: str, parent: Ref | None) -> None:
        if not name:
            raise AssetError("701", "name cannot be blank")
        if any(f.parent == parent and f.name == name for f in self.folders.values()):
            raise AssetError("709", f"Folder with name '{name}' already exists under this parent")

    def create_program(
        self,
        name: str,
        folder: Ref,
        type: str,
        channel: str,
        description: str | None,
        tags: list[dict[str, Any]] | None,
        costs: list[dict[str, Any]] | None,
        now: datetime,
    ) -> ProgramRecord:
        if not type:
            raise AssetError("701", "type cannot be blank")
        if not channel:
            raise AssetError("701", "channel cannot be blank")
        # The codes Marketo gives an unknown type or a channel of another type are not documented.
        if type not in PROGRAM_URL_PREFIX:
            raise AssetError("709", f"Invalid program type '{type}'")
        if channel not in PROGRAM_CHANNELS[type]:
            raise AssetError("709", f"Invalid channel '{channel}' for a program of type '{type}'")
        self._check_program_name(name)
        self._check_program_home(folder, type)
        return self.add_program(
            ProgramRecord(
                id=self.new_program_id(),
                name=name,
                type=type,
                channel=channel,
                folder=folder,
                status=_initial_status(type),
                created_at=now,
                updated_at=now,
                description=description or "",
                workspace=self.node(folder).workspace,
                tags=_merged_tags([], tags or []),
                costs=list(costs or []),
            )
        )

    def clone_program(
        self, source_id: int, name: str, folder: Ref, description: str | None, now: datetime
    ) -> ProgramRecord:
        if source_id in self.deleted_program_ids:
            # What Marketo may answer for a deleted source: not 610, but a business rule, in words that do not
            # say which (so a client must ask whether the program still exists).
            raise AssetError("709", "Program cannot be cloned")
        source = self.program(source_id)
        self._check_program_name(name)
        if folder[1] != "Folder":
            raise AssetError("711", "Incompatible Folder Type")
        self._check_program_home(folder, source.type)
        return self.add_program(
            # Adobe's example of a clone answers "tags": null, "costs": null: nothing is carried over.
            ProgramRecord(
                id=self.new_program_id(),
                name=name,
                type=source.type,
                channel=source.channel,
                folder=folder,
                status=_initial_status(source.type),
                created_at=now,
                updated_at=now,
                description=source.description if description is None else description,
                workspace=self.folders[folder[0]].workspace,
            )
        )

    def _check_program_home(self, folder: Ref, program_type: str) -> None:
        if not self.exists(folder):
            raise AssetError("710", "Parent Folder Not Found")
        if self.area_of(folder) != MARKETING_ACTIVITIES:
            raise AssetError("711", "Incompatible Folder Type")
        if folder[1] == "Program" and program_type not in PROGRAMS_A_PROGRAM_HOLDS[self.programs[folder[0]].type]:
            raise AssetError("711", "Incompatible Folder Type")

    def update_program(
        self,
        program_id: int,
        name: str | None,
        description: str | None,
        now: datetime,
        *,
        tags: list[dict[str, Any]] | None = None,
        costs: list[dict[str, Any]] | None = None,
        costs_destructive: bool = False,
    ) -> ProgramRecord:
        program = self.program(program_id)
        if name is not None and name != program.name:
            self._check_program_name(name)
            program.name = name
        if description is not None:
            program.description = description
        if tags is not None:
            program.tags = _merged_tags(program.tags, tags)
        # Adobe: costs are appended; with costsDestructiveUpdate they replace the old ones (none: all cleared).
        program.costs = list(costs or []) if costs_destructive else program.costs + list(costs or [])
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

    def node(self, ref: Ref) -> FolderRecord | ProgramRecord:
        return self.folders[ref[0]] if ref[1] == "Folder" else self.programs[ref[0]]


def _initial_status(program_type: str) -> str:
    return {"Engagement": "off", "Email": "unlocked"}.get(program_type, "")


def _merged_tags(current: list[dict[str, str]], given: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A program has one value per tag type: a given tag replaces the one of its type."""
    merged = {tag["tagType"]: tag["tagValue"] for tag in current}
    merged.update({str(tag["tagType"]): str(tag["tagValue"]) for tag in given})
    return [{"tagType": kind, "tagValue": value} for kind, value in merged.items()]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
