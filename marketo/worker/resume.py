"""Taking a sync up where an interrupted attempt of the same run left its listings, when that is still safe.

A sync lists the folders under each area's root (Marketing Activities, then Design Studio), then the programs,
page by page. With its counts, about once a second and under the lease, an attempt records in its SyncRun a
cursor: which listing it is in, the offset its written pages reach, the record just before that offset, and what
the listings depend on (the run, the instance and API user, the attempt's `moment` that stamps every row it
lists, whether the run is full, and the programs' earliest update). A page's rows are written before the cursor
that counts them, so a cursor never claims a page that is not committed; pages written after the last cursor are
listed again, and upserted again. Once a second rather than with every page: a transaction under the lease per
page cost 1.2 ms of CPU on PostgreSQL, 3 to 5% of what a page costs the worker (bench/ingest.py), to save a
takeover at most a second of pages.

The run's next attempt (a takeover after its worker died, or after a stopping worker handed it back) resumes at
the cursor if all of these hold, and otherwise starts over, as every attempt did before:

- the cursor is readable and its run's, for the same instance and API user, and the run is still the same kind
  (full or not, programs listed from the same update) when decided at the cursor's moment;
- no program was created or updated in Marketo since that moment: one call, programs.json with
  earliestUpdatedAt and maxReturn 1 (folders.json cannot be asked what changed);
- the record just before the offset is still the one the attempt wrote last: one call with maxReturn 1. Offset
  paging reads the same place only while nothing before it went or came; a deletion there, which no updatedAt
  filter shows, would move a record never listed behind the offset, and a full sync would then remove its row.

Resumed, the attempt stamps rows with the cursor's moment (so a full sync removes only what neither attempt saw,
and the next incremental one asks for what changed since the first attempt began), skips the listings that were
done, starts the current one at the offset (under the root the cursor names), and continues the counts. A resume
costs those two calls, and saves the calls of every page before the offset.

Limits:
- Marketo dates changes with its own clock, to the second: one made in the first second or so after the moment
  may be dated before it, and go unseen by the first check (the second still sees a deletion that moved records).
- Folders are checked by position only: a folder created or deleted before the offset moves the record there,
  and the attempt starts over; one renamed before the offset keeps its old name until the next sync lists it,
  as it would had the rename come after an uninterrupted listing passed it. A creation and a deletion both
  before the offset leave the record in place: the new folder waits for the next sync, nothing is skipped.
- The listings are assumed to keep their order (programs by id, folders depth-first), as Marketo's and the
  simulator's do: a record moved from after the offset to before it (a folder moved elsewhere) is not seen.
- Any program change counts, a campaign Jeto itself made meanwhile too: a busy instance starts over more often.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from domain import sync_policy, syncs
from domain.models import PlatformIntegration, SyncRun
from marketo.client import BROWSED_AREAS, MarketoClient
from marketo.models import Folder, FolderRef, Program
from marketo.worker.queue import Lease

log = logging.getLogger("jeto.worker")

FORMAT = 1  # of the stored cursor: another one is unreadable, and the attempt starts over
FOLDERS, PROGRAMS = "folders", "programs"

T = TypeVar("T")


@dataclass(frozen=True)
class Listings:
    """What every listing of an attempt depends on: a cursor is taken up only by an attempt that would list the same."""

    run: int
    instance: str  # the REST endpoint's instance and the API user: what Marketo shows depends on both
    moment: datetime  # the attempt's start, stamped on every row it lists
    full: bool
    since: datetime | None  # programs listed from this update; None: all of them


@dataclass(frozen=True)
class Position:
    """Every record of the listings before this one, and of this one before `offset`, is written."""

    listing: str  # FOLDERS or PROGRAMS
    area: str | None  # the folders': which of BROWSED_AREAS
    root: FolderRef | None  # the folders': that area's root
    offset: int
    last: FolderRef  # the record at offset - 1 (a program as a ref of type Program)


@dataclass(frozen=True)
class Cursor:
    """Where an attempt starts (position None: at the beginning) or has got to, with its counts."""

    listings: Listings
    position: Position | None = None
    folders: int = 0
    programs: int = 0

    def at(self, position: Position, *, folders: int, programs: int) -> Cursor:
        return replace(self, position=position, folders=folders, programs=programs)

    def to_json(self) -> dict[str, Any]:
        assert self.position is not None, "only a position reached is recorded"
        listings, at = self.listings, self.position
        return {
            "format": FORMAT,
            "run": listings.run,
            "instance": listings.instance,
            "moment": listings.moment.isoformat(),
            "full": listings.full,
            "since": listings.since.isoformat() if listings.since else None,
            "listing": at.listing,
            "area": at.area,
            "root": [at.root.id, at.root.type] if at.root else None,
            "offset": at.offset,
            "last": [at.last.id, at.last.type],
            "folders": self.folders,
            "programs": self.programs,
        }

    @classmethod
    def from_json(cls, value: object) -> Cursor | None:
        """The cursor a run recorded; None when there is none, or it cannot be read."""
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            return None
        try:
            listings = Listings(
                run=_int(value["run"]),
                instance=_str(value["instance"]),
                moment=_moment(value["moment"]),
                full=_bool(value["full"]),
                since=None if value["since"] is None else _moment(value["since"]),
            )
            listing, area = value["listing"], value["area"]
            folders = listing == FOLDERS and area in BROWSED_AREAS
            if not (folders or (listing == PROGRAMS and area is None)):
                raise ValueError(f"no listing {listing!r} of {area!r}")
            position = Position(
                listing=listing,
                area=area,
                root=_ref(value["root"]) if folders else None,
                offset=_int(value["offset"], least=1),
                last=_ref(value["last"]),
            )
            return cls(listings, position, folders=_int(value["folders"]), programs=_int(value["programs"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Step(Generic[T]):
    """A page's new records, and the position the listings reach once they are written."""

    items: list[T]
    position: Position


def _now() -> datetime:
    return datetime.now(UTC)


def _listings(
    run: SyncRun, integration: PlatformIntegration, client: MarketoClient, moment: datetime, full_sync_every: timedelta
) -> Listings:
    full = syncs.run_is_full(integration, moment, full_sync_every)
    since = sync_policy.programs_updated_since(full=full, last_succeeded_at=integration.last_succeeded_at)
    instance = f"{client.credentials.instance_key} as {client.credentials.client_id}"
    return Listings(run=run.id, instance=instance, moment=moment, full=full, since=since)


async def starting_point(
    lease: Lease,
    integration: PlatformIntegration,
    run: SyncRun,
    client: MarketoClient,
    *,
    full_sync_every: timedelta,
    max_depth: int,
    resume: bool = True,
) -> Cursor:
    """Where this attempt starts: at the run's cursor if it is still consistent (see the module), else at the
    beginning, with a new moment (and the stale cursor cleared). Raises what a Marketo call raises."""
    stored = Cursor.from_json(run.listing_cursor) if resume else None
    if stored is not None:
        reason = await _why_not(stored, integration, run, client, full_sync_every, max_depth)
        if reason is None:
            assert stored.position is not None
            log.info(
                "sync of integration %s resumes run %s at %s offset %s",
                integration.id, run.id, stored.position.area or PROGRAMS, stored.position.offset,
            )  # fmt: skip
            return stored
        log.info("sync of integration %s starts run %s over: %s", integration.id, run.id, reason)
    elif run.listing_cursor is not None and resume:
        log.warning("sync of integration %s starts run %s over: its cursor is unreadable", integration.id, run.id)
    if run.listing_cursor is not None:  # starting over: neither the cursor nor its counts hold any more
        async with lease.held():
            await SyncRun.filter(id=run.id).update(listing_cursor=None, folders_synced=0, programs_synced=0)
    return Cursor(_listings(run, integration, client, _now(), full_sync_every))


async def _why_not(
    stored: Cursor,
    integration: PlatformIntegration,
    run: SyncRun,
    client: MarketoClient,
    full_sync_every: timedelta,
    max_depth: int,
) -> str | None:
    """Why the attempt cannot take the listings up at `stored`; None when it can."""
    then, now = stored.listings, _listings(run, integration, client, stored.listings.moment, full_sync_every)
    if then.run != now.run:
        return f"its cursor is run {then.run}'s"
    if then.instance != now.instance:
        return "its credentials changed"
    if (then.full, then.since) != (now.full, now.since):
        return "it would now list other programs"
    if await client.program_at(0, earliest_updated_at=then.moment) is not None:
        return "programs changed in Marketo since it began"
    at = stored.position
    assert at is not None
    before: FolderRef | None
    if at.listing == FOLDERS:
        assert at.root is not None
        folder = await client.folder_at(at.root, at.offset - 1, max_depth)
        before = FolderRef(folder.id, folder.type) if folder else None
    else:
        program = await client.program_at(at.offset - 1, earliest_updated_at=then.since)
        before = _program_ref(program) if program else None
    if before != at.last:
        return f"the {at.listing} before its offset moved"
    return None


async def folder_pages(client: MarketoClient, cursor: Cursor, *, max_depth: int) -> AsyncGenerator[Step[Folder], None]:
    """The folder listings from the cursor on: under each area's root in turn, none once the cursor is past them."""
    at = cursor.position
    if at is not None and at.listing != FOLDERS:
        return
    first = BROWSED_AREAS.index(at.area) if at is not None and at.area is not None else 0
    for area in BROWSED_AREAS[first:]:
        if at is not None and at.area == area and at.root is not None:
            root, offset = at.root, at.offset
        else:
            root, offset = (await client.area_root(area)).ref, 0
        async with contextlib.aclosing(client.folder_listing(root, max_depth, start=offset)) as pages:
            async for page in pages:
                if page.last is not None:  # an empty page ends the listing: nothing to write or record
                    last = FolderRef(page.last.id, page.last.type)
                    yield Step(page.items, Position(FOLDERS, area, root, page.end, last))


async def program_pages(client: MarketoClient, cursor: Cursor) -> AsyncGenerator[Step[Program], None]:
    """The program listing from the cursor on (from its offset, when the cursor is in it)."""
    at = cursor.position
    offset = at.offset if at is not None and at.listing == PROGRAMS else 0
    listing = client.program_listing(cursor.listings.since, start=offset)
    async with contextlib.aclosing(listing) as pages:
        async for page in pages:
            if page.last is not None:
                yield Step(page.items, Position(PROGRAMS, None, None, page.end, _program_ref(page.last)))


def _program_ref(program: Program) -> FolderRef:
    return FolderRef(program.id, "Program")


def _int(value: object, *, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(value)
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(value)
    return value


def _moment(value: object) -> datetime:
    moment = datetime.fromisoformat(_str(value))
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def _ref(value: object) -> FolderRef:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(value)
    return FolderRef(_int(value[0]), _str(value[1]))
