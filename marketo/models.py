"""Typed values for what Marketo returns; parsing only, no I/O."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec

from .records import FolderRecord, ProgramRecord, RefRecord
from .timestamps import parse_marketo_datetime

FolderKind = Literal["Folder", "Program"]
_KINDS: dict[str, str] = {"folder": "Folder", "program": "Program"}


def folder_kind(kind: str) -> str:
    """``Folder`` or ``Program`` however an answer spells it: Adobe's own examples say ``FOLDER`` in some."""
    return _KINDS.get(kind.lower(), kind)


@dataclass(frozen=True, slots=True)
class FolderRef:
    """A folder or a program as Marketo points at one; its kind compares without regard to case."""

    id: int
    type: str = "Folder"

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", folder_kind(self.type))

    @property
    def is_program(self) -> bool:
        return self.type == "Program"

    def to_param(self) -> str:
        """The JSON-string form Marketo expects in ``folder``, ``parent`` and ``root``."""
        return json.dumps({"id": self.id, "type": self.type}, separators=(",", ":"))

    @classmethod
    def from_record(cls, record: RefRecord | None) -> FolderRef | None:
        if record is None:
            return None
        # Programs describe their folder as {type, value, folderName}; folders as {id, type}.
        ident = record.value if record.id is None else record.id
        if ident is None:
            return None
        return _folder_ref(ident, record.type or "Folder")


@functools.lru_cache(maxsize=4096)
def _folder_ref(ident: int | str, kind: str) -> FolderRef:
    # Immutable and shared by the many programs of a folder: a paged listing builds each once.
    return FolderRef(int(ident), str(kind))


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_in: int
    scope: str | None
    obtained_at: float = field(repr=False, compare=False)

    def expires_at(self) -> float:
        return self.obtained_at + self.expires_in

    def is_fresh(self, now: float, margin: float) -> bool:
        return self.expires_at() - margin > now


# Folder and Program are frozen msgspec Structs, not frozen dataclasses: a sync builds one per record of every page,
# and a Struct is built in C, about a tenth of a frozen dataclass's cost (bench/ingest.py, BENCHMARKS.md "Ingest").
# Without gc (they can hold no cycle): the garbage collector has nothing to walk in a listing's pages.
class Folder(msgspec.Struct, frozen=True, gc=False):
    id: int
    type: str
    name: str
    path: str
    parent: FolderRef | None
    url: str | None
    folder_type: str | None
    is_system: bool
    created_at: datetime | None
    updated_at: datetime | None
    description: str | None = None
    workspace: str | None = None

    @property
    def ref(self) -> FolderRef:
        return FolderRef(self.id, self.type)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Folder:
        return cls.from_record(msgspec.convert(data, FolderRecord))

    @classmethod
    def from_record(cls, record: FolderRecord) -> Folder:
        ref = FolderRef.from_record(record.folder_id) or FolderRef(_required_id(record.id))
        return cls(
            id=ref.id,
            type=ref.type,
            name=record.name or "",
            path=record.path or "",
            parent=FolderRef.from_record(record.parent),
            url=record.url,
            folder_type=record.folder_type,
            is_system=bool(record.is_system),
            created_at=parse_marketo_datetime(record.created_at),
            updated_at=parse_marketo_datetime(record.updated_at),
            description=record.description,
            workspace=record.workspace,
        )


class Program(msgspec.Struct, frozen=True, gc=False):
    id: int
    name: str
    type: str
    channel: str
    folder: FolderRef | None
    url: str | None
    status: str
    created_at: datetime | None
    updated_at: datetime | None
    description: str | None
    workspace: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Program:
        return cls.from_record(msgspec.convert(data, ProgramRecord))

    @classmethod
    def from_record(cls, record: ProgramRecord) -> Program:
        folder = record.folder
        return cls(  # positional: this runs for every program of every page
            _required_id(record.id),
            record.name or "",
            record.type or "",
            record.channel or "",
            None if folder is None else FolderRef.from_record(folder),
            record.url,
            record.status or "",
            parse_marketo_datetime(record.created_at),
            parse_marketo_datetime(record.updated_at),
            record.description,
            record.workspace,
        )


def _required_id(ident: Any) -> int:
    if ident is None:
        raise ValueError("Marketo returned an asset without an id")
    return int(ident)
