"""Marketo's answers as they arrive, decoded straight from the response's bytes.

A page of 200 programs decoded into dicts cost about 600 objects that the garbage collector
tracks (and walks while a listing grows); these records are neither dicts nor tracked
(``gc=False``: they hold no references back, so they can never be part of a cycle).
Fields are ``Any`` so that decoding accepts whatever Marketo sends, as reading dicts did;
the typed values in models.py say what each field means.
"""

from __future__ import annotations

import functools
from typing import Any, Generic, TypeVar

import msgspec

R = TypeVar("R")


class Envelope(msgspec.Struct, Generic[R], gc=False):
    """Every asset answer: ``success``, ``errors``, ``warnings`` and, on hits only, ``result``."""

    success: Any = None
    errors: Any = None
    warnings: Any = None
    result: list[R] | None = None


class RefRecord(msgspec.Struct, gc=False):
    """A folder as programs describe it ({type, value}) or as folders do ({id, type})."""

    id: Any = None
    value: Any = None
    type: Any = None


class ProgramRecord(msgspec.Struct, gc=False, rename="camel"):
    id: Any = None
    name: Any = None
    type: Any = None
    channel: Any = None
    folder: RefRecord | None = None
    url: Any = None
    status: Any = None
    created_at: Any = None
    updated_at: Any = None
    description: Any = None
    workspace: Any = None


class FolderRecord(msgspec.Struct, gc=False, rename="camel"):
    id: Any = None
    folder_id: RefRecord | None = None
    name: Any = None
    path: Any = None
    parent: RefRecord | None = None
    url: Any = None
    folder_type: Any = None
    is_system: Any = None
    created_at: Any = None
    updated_at: Any = None
    description: Any = None
    workspace: Any = None


@functools.cache
def envelope_decoder(record: type) -> msgspec.json.Decoder[Envelope[Any]]:
    """Decodes an envelope whose ``result`` holds ``record`` values (``dict`` for plain JSON objects)."""
    return msgspec.json.Decoder(Envelope[record])  # type: ignore[valid-type]
