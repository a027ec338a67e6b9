"""The asset operations the product needs, for one platform integration."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Hashable
from contextlib import aclosing
from datetime import datetime
from typing import Any, TypeVar

from .credentials import MarketoCredentials
from .errors import MarketoError
from .limits import Priority
from .models import AccessToken, Folder, FolderRef, Program
from .paging import ListedPage, iter_pages, page_items
from .records import Envelope, FolderRecord, ProgramRecord, R, RefRecord
from .rest import RestCaller
from .timestamps import format_query_datetime
from .tokens import TokenCache

T = TypeVar("T")

ASSET = "asset/v1"
MAX_PAGE_SIZE = 200  # Marketo's ceiling for maxReturn on asset browse endpoints
# Adobe: "use the Marketing Activities, Design Studio, or Lead Database root", found by name. The product's
# folders (campaign destinations, images and files) are in the first two.
BROWSED_AREAS = ("Marketing Activities", "Design Studio")


class MarketoClient:
    """Made by ``MarketoPool.client``; cheap, and shares tokens and limits with its siblings."""

    def __init__(
        self,
        credentials: MarketoCredentials,
        caller: RestCaller,
        tokens: TokenCache,
        *,
        page_size: int = MAX_PAGE_SIZE,
        page_concurrency: int = 5,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self.credentials = credentials
        self._caller = caller
        self._tokens = tokens
        self._page_size = page_size
        self._page_concurrency = page_concurrency

    def __repr__(self) -> str:
        return (
            f"MarketoClient(rest_endpoint={self.credentials.rest_endpoint!r}, client_id={self.credentials.client_id!r}, "
            f"priority={self.priority.name})"
        )

    @property
    def priority(self) -> Priority:
        """Whether this client's calls go first (INTERACTIVE) or after them, leaving them a reserve (BULK)."""
        return self._caller.priority

    async def get_token(self) -> AccessToken:
        """A valid token; asking for one is how a connection is tested."""
        return await self._tokens.get()

    # Folders

    def iter_folder_pages(
        self, root: FolderRef | None = None, max_depth: int | None = None
    ) -> AsyncGenerator[list[Folder], None]:
        """Pages of folders under ``root`` (itself included); without one, under each root Adobe says to browse
        from (Marketing Activities, then Design Studio). ``max_depth`` None means Marketo's default, 2."""
        if root is None:
            return self._area_folder_pages(max_depth)
        return self._folder_pages(root, max_depth)

    async def browse_folders(self, root: FolderRef | None = None, max_depth: int | None = None) -> list[Folder]:
        return [folder async for page in self.iter_folder_pages(root, max_depth) for folder in page]

    async def area_root(self, area: str) -> Folder:
        """The root folder of an app area ("Marketing Activities", "Design Studio", "Lead Database"), found by
        name as Adobe says to; the root is the one without a parent (a user's folder may bear the name too)."""
        for folder in await self._folders_named(area, type="Folder"):
            if folder.parent is None and folder.name == area:
                return folder
        raise MarketoError("no-root-folder", f"Marketo did not return its {area} root folder", retryable=True)

    def _folder_pages(self, root: FolderRef, max_depth: int | None) -> AsyncGenerator[list[Folder], None]:
        return self._distinct_pages(
            "folders.json", _browse(root, max_depth), FolderRecord, Folder.from_record, _folder_key
        )

    def folder_listing(
        self, root: FolderRef, max_depth: int | None = None, *, start: int = 0
    ) -> AsyncGenerator[ListedPage[Folder], None]:
        """The pages of folders under ``root`` from offset ``start`` on, each with where it stands in the listing."""
        params = _browse(root, max_depth)
        return self._listing("folders.json", params, FolderRecord, Folder.from_record, _folder_key, start)

    async def folder_at(self, root: FolderRef, offset: int, max_depth: int | None = None) -> Folder | None:
        """The folder at ``offset`` in the listing under ``root`` (None past its end), in one call."""
        found = await self._record_at("folders.json", _browse(root, max_depth), FolderRecord, offset)
        return Folder.from_record(found) if found else None

    async def _area_folder_pages(self, max_depth: int | None) -> AsyncGenerator[list[Folder], None]:
        for area in BROWSED_AREAS:
            root = await self.area_root(area)
            async with aclosing(self._folder_pages(root.ref, max_depth)) as pages:
                async for page in pages:
                    yield page

    async def get_folder(self, ref: FolderRef) -> Folder | None:
        envelope = await self._caller.call(
            "GET", f"{ASSET}/folder/{int(ref.id)}.json", params={"type": ref.type}, records=FolderRecord
        )
        found = _first(envelope)
        return Folder.from_record(found) if found else None

    async def get_folder_by_name(
        self, name: str, root: FolderRef | None = None, type: str = "Folder", workspace: str | None = None
    ) -> Folder | None:
        """Marketo cannot search names containing commas: such a name is never found."""
        folders = await self._folders_named(name, root, type, workspace)
        return next((folder for folder in folders if folder.name == name), folders[0] if folders else None)

    async def _folders_named(
        self, name: str, root: FolderRef | None = None, type: str = "Folder", workspace: str | None = None
    ) -> list[Folder]:
        params: dict[str, Any] = {"name": name, "type": type, "workSpace": workspace}
        if root is not None:
            params["root"] = root.to_param()
        envelope = await self._caller.call("GET", f"{ASSET}/folder/byName.json", params=params, records=FolderRecord)
        return [Folder.from_record(item) for item in page_items(envelope)]

    async def folder_content(self, ref: FolderRef) -> list[FolderRef]:
        """The folders and programs directly in a folder (found even when their names hold commas)."""
        path, params = f"folder/{int(ref.id)}/content.json", {"type": ref.type}
        pages = self._distinct_pages(path, params, RefRecord, FolderRef.from_record, lambda child: child)
        async with aclosing(pages):
            return [child async for page in pages for child in page if child is not None]

    async def create_folder(self, name: str, parent: FolderRef, description: str | None = None) -> Folder:
        form = {"name": name, "parent": parent.to_param(), "description": description}
        envelope = await self._caller.call("POST", f"{ASSET}/folders.json", form=form, records=FolderRecord)
        return Folder.from_record(_single(envelope, "create folder"))

    # Programs

    def iter_program_pages(
        self, earliest_updated_at: datetime | None = None, latest_updated_at: datetime | None = None
    ) -> AsyncGenerator[list[Program], None]:
        """Pages of programs, optionally only those created or updated in a time range."""
        params = _updated_between(earliest_updated_at, latest_updated_at)
        return self._distinct_pages("programs.json", params, ProgramRecord, Program.from_record, _program_key)

    def program_listing(
        self, earliest_updated_at: datetime | None = None, *, start: int = 0
    ) -> AsyncGenerator[ListedPage[Program], None]:
        """The pages of programs (created or updated since ``earliest_updated_at``, if given) from offset ``start``
        on, each with where it stands in the listing."""
        params = _updated_between(earliest_updated_at, None)
        return self._listing("programs.json", params, ProgramRecord, Program.from_record, _program_key, start)

    async def program_at(self, offset: int, earliest_updated_at: datetime | None = None) -> Program | None:
        """The program at ``offset`` in the listing (None past its end), in one call: at offset 0 with
        ``earliest_updated_at``, whether any program was created or updated since."""
        params = _updated_between(earliest_updated_at, None)
        found = await self._record_at("programs.json", params, ProgramRecord, offset)
        return Program.from_record(found) if found else None

    async def list_programs(
        self, earliest_updated_at: datetime | None = None, latest_updated_at: datetime | None = None
    ) -> list[Program]:
        return [
            program
            async for page in self.iter_program_pages(earliest_updated_at, latest_updated_at)
            for program in page
        ]

    async def get_program(self, program_id: int) -> Program | None:
        envelope = await self._caller.call("GET", f"{ASSET}/program/{int(program_id)}.json", records=ProgramRecord)
        found = _first(envelope)
        return Program.from_record(found) if found else None

    async def get_program_by_name(self, name: str) -> Program | None:
        """Marketo cannot search names containing commas: such a name is never found."""
        envelope = await self._caller.call(
            "GET", f"{ASSET}/program/byName.json", params={"name": name}, records=ProgramRecord
        )
        found = _first(envelope)
        return Program.from_record(found) if found else None

    async def clone_program(
        self, program_id: int, name: str, folder: FolderRef, description: str | None = None
    ) -> Program:
        form = {"name": name, "folder": folder.to_param(), "description": description}
        envelope = await self._caller.call(
            "POST", f"{ASSET}/program/{int(program_id)}/clone.json", form=form, records=ProgramRecord
        )
        return Program.from_record(_single(envelope, "clone program"))

    async def rename_program(self, program_id: int, name: str) -> Program:
        envelope = await self._caller.call(
            "POST", f"{ASSET}/program/{int(program_id)}.json", form={"name": name}, records=ProgramRecord
        )
        return Program.from_record(_single(envelope, "rename program"))

    async def _pages(
        self, path: str, params: dict[str, Any], records: type = dict, start: int = 0
    ) -> AsyncGenerator[list[Any], None]:
        async def fetch(offset: int) -> Envelope[Any]:
            page_params = {**params, "maxReturn": self._page_size, "offset": offset}
            return await self._caller.call("GET", f"{ASSET}/{path}", params=page_params, records=records)

        pages = iter_pages(fetch, page_size=self._page_size, concurrency=self._page_concurrency, start=start)
        async with aclosing(pages):
            async for page in pages:
                yield page

    async def _record_at(self, path: str, params: dict[str, Any], records: type, offset: int) -> Any:
        envelope = await self._caller.call(
            "GET", f"{ASSET}/{path}", params={**params, "maxReturn": 1, "offset": offset}, records=records
        )
        return _first(envelope)

    async def _listing(
        self,
        path: str,
        params: dict[str, Any],
        records: type,
        convert: Callable[[Any], T],
        key: Callable[[T], Hashable],
        start: int = 0,
    ) -> AsyncGenerator[ListedPage[T], None]:
        """Pages of converted items, each item once: pages are computed per request, so one can show up on two."""
        seen: set[Hashable] = set()
        offset = start
        async with aclosing(self._pages(path, params, records, start)) as pages:
            async for page in pages:
                converted = list(map(convert, page))
                fresh = []
                for item in converted:
                    identity = key(item)
                    if identity not in seen:
                        seen.add(identity)
                        fresh.append(item)
                yield ListedPage(fresh, offset, offset + len(page), converted[-1] if converted else None)
                offset += self._page_size  # iter_pages yields one page per offset, in order

    async def _distinct_pages(
        self,
        path: str,
        params: dict[str, Any],
        records: type,
        convert: Callable[[Any], T],
        key: Callable[[T], Hashable],
    ) -> AsyncGenerator[list[T], None]:
        async with aclosing(self._listing(path, params, records, convert, key)) as pages:
            async for page in pages:
                yield page.items


def _browse(root: FolderRef, max_depth: int | None) -> dict[str, Any]:
    return {"root": root.to_param(), "maxDepth": max_depth}


def _updated_between(earliest: datetime | None, latest: datetime | None) -> dict[str, Any]:
    return {
        "earliestUpdatedAt": earliest and format_query_datetime(earliest),
        "latestUpdatedAt": latest and format_query_datetime(latest),
    }


def _folder_key(folder: Folder) -> tuple[int, str]:
    return folder.id, folder.type


def _program_key(program: Program) -> int:
    return program.id


def _first(envelope: Envelope[R]) -> R | None:
    items = page_items(envelope)
    return items[0] if items else None


def _single(envelope: Envelope[R], operation: str) -> R:
    found = _first(envelope)
    if found is None:
        warnings = "; ".join(str(w) for w in envelope.warnings or []) or "no result"
        raise MarketoError("no-result", f"Marketo did not return the result of {operation}: {warnings}")
    return found
