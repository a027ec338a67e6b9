"""Marketo folders and programs, as synced from an integration's instance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import marketo_assets as resolve
from resolvers.marketo_assets import FolderRecord, ProgramRecord
from schema.nodes import Node, related, shown_as

if TYPE_CHECKING:
    from schema.integrations import PlatformIntegration

PlatformIntegrationType = Annotated["PlatformIntegration", strawberry.lazy("schema.integrations")]


@strawberry.type
class MarketoFolder(Node):
    marketo_id: int
    marketo_type: str = strawberry.field(description="Folder or Program, as Marketo types the container.")
    name: str
    path: str
    platform_integration: PlatformIntegrationType = related(resolve.FOLDER_INTEGRATION)

    is_type_of = shown_as(FolderRecord)


@strawberry.type
class MarketoProgram(Node):
    marketo_id: int
    name: str
    type: str
    channel: str | None
    folder: MarketoFolder | None = related(resolve.PROGRAM_FOLDER)
    url: str | None
    platform_integration: PlatformIntegrationType = related(resolve.PROGRAM_INTEGRATION)

    is_type_of = shown_as(ProgramRecord)
