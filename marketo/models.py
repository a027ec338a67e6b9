"""Typed values for what Marketo returns; parsing only, no I/O."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .timestamps import parse_marketo_datetime

FolderKind = Literal["Folder", "Program"]


@dataclass(frozen=True, slots=True)
class FolderRef:
    id: int
    type: str = "Folder"

    def to_param(self) -> str:
        """The JSON-string form Marketo expects in ``folder``, ``parent`` and ``root``."""
        return json.dumps({"id": self.id, "type": self.type}, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> FolderRef | None:
        if not data:
            return None
        # Programs describe their folder as {type, value, folderName}; folders as {id, type}.
        ident = data.get("id", data.get("value"))
        if ident is None:
            return None
        return _folder_ref(ident, data.get("type") or "Folder")


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


@dataclass(frozen=True, slots=True)
class Folder:
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
        ref = FolderRef.from_json(data.get("folderId")) or FolderRef(int(data["id"]))
        return cls(
            id=ref.id,
            type=ref.type,
            name=data.get("name") or "",
            path=data.get("path") or "",
            parent=FolderRef.from_json(data.get("parent")),
            url=data.get("url"),
            folder_type=data.get("folderType"),
            is_system=bool(data.get("isSystem")),
            created_at=parse_marketo_datetime(data.get("createdAt")),
            updated_at=parse_marketo_datetime(data.get("updatedAt")),
            description=data.get("description"),
            workspace=data.get("workspace"),
        )


@dataclass(frozen=True, slots=True)
class Program:
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
        get = data.get  # positional and one lookup of get: this runs for every program of every page
        return cls(
            int(data["id"]),
            get("name") or "",
            get("type") or "",
            get("channel") or "",
            FolderRef.from_json(get("folder")),
            get("url"),
            get("status") or "",
            parse_marketo_datetime(get("createdAt")),
            parse_marketo_datetime(get("updatedAt")),
            get("description"),
            get("workspace"),
        )
