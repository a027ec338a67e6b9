"""What the API shows is made of records: plain values read from rows, whose attributes Strawberry reads as
they are (no resolver, no task per field). A record's relations are loaded for a whole level of the tree at
once (prefetch.py) and kept in its `loaded`, by relation and arguments."""

from __future__ import annotations

from typing import ClassVar


class Record:
    """Subclasses are slotted dataclasses with a `loaded: dict` field. TYPE: the GraphQL object type a record
    is shown as (None for pages, edges and payloads, which match any type condition)."""

    __slots__ = ()
    TYPE: ClassVar[str | None] = None
    loaded: dict
