"""Which folders and programs a sync removes: those it did not see, and only if they are gone from Marketo.

A sync stamps every row it lists with the time it started (`seen_at`), and the worker stamps the rows
it writes itself (a campaign's program, a launcher's folder) with the time it writes them; so the rows
a run did not see are those stamped before it started, whatever their number, in one statement.

A listing pages by offset, so an asset deleted in Marketo while it pages shifts the next page and one
that still exists is missed. A missed row nothing refers to comes back with the next listing; but the
rows something refers to (a launcher's template and folders, a campaign's program, a program's folder)
are asked for by id first, and those still in Marketo are updated in place: they keep their primary
key, and what refers to them keeps them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet, ValuesQuery

from domain.models import Campaign, Launcher, MarketoFolder, MarketoProgram
from marketo.client import MarketoClient
from marketo.models import Folder, FolderRef, Program

log = logging.getLogger("jeto.worker")

Row = TypeVar("Row", MarketoFolder, MarketoProgram)
Referrers = list[ValuesQuery[Any]]  # subqueries of the ids something refers to

CONFIRM_LIMIT = 100  # rows asked for by id per run; any more wait for a later run (a mass deletion, not a shift)


@dataclass
class Confirmed:
    """What Marketo said, by id, of the unseen rows something refers to."""

    folders: list[Folder] = field(default_factory=list)  # still there
    programs: list[Program] = field(default_factory=list)
    gone_folders: list[int] = field(default_factory=list)  # row ids
    gone_programs: list[int] = field(default_factory=list)


def unseen(model: type[Row], integration_id: int, since: datetime) -> QuerySet[Row]:
    """The integration's rows no sync or write stamped since `since`."""
    return model.filter(platform_integration_id=integration_id).filter(Q(seen_at__lt=since) | Q(seen_at=None))


def _launchers(integration_id: int) -> QuerySet[Launcher]:
    return Launcher.filter(platform_integration_id=integration_id, deleted_at=None)


def _programs_referred_to(integration_id: int) -> Referrers:
    return [
        _launchers(integration_id).filter(template_program_id__not_isnull=True).values("template_program_id"),
        Campaign.filter(marketo_program_id__not_isnull=True).values("marketo_program_id"),
    ]


def _folders_referred_to(integration_id: int, since: datetime, *, full: bool) -> Referrers:
    """Launchers' folders, and the folders of the programs this run keeps (on a full sync, those it saw
    or something refers to; otherwise all of them, since an incremental run removes no program)."""
    programs = MarketoProgram.filter(platform_integration_id=integration_id, folder_id__not_isnull=True)
    if full:
        kept = Q(seen_at__gte=since)
        for referred in _programs_referred_to(integration_id):
            kept |= Q(id__in=Subquery(referred))
        programs = programs.filter(kept)
    return [
        _launchers(integration_id).filter(destination_folder_id__not_isnull=True).values("destination_folder_id"),
        _launchers(integration_id).filter(assets_folder_id__not_isnull=True).values("assets_folder_id"),
        programs.values("folder_id"),
    ]


def _referred(query: QuerySet[Row], referrers: Referrers) -> QuerySet[Row]:
    condition = Q()
    for referrer in referrers:
        condition |= Q(id__in=Subquery(referrer))
    return query.filter(condition)


def _unreferred(query: QuerySet[Row], referrers: Referrers) -> QuerySet[Row]:
    for referrer in referrers:
        query = query.exclude(id__in=Subquery(referrer))
    return query


async def confirm(client: MarketoClient, integration_id: int, since: datetime, *, full: bool) -> Confirmed:
    """Asks Marketo for the unseen rows something refers to; programs only on a full sync."""
    confirmed = Confirmed()
    budget = CONFIRM_LIMIT
    if full:
        programs = await _referred(
            unseen(MarketoProgram, integration_id, since), _programs_referred_to(integration_id)
        ).order_by("id")
        for program_row in programs[:budget]:
            program = await client.get_program(program_row.marketo_id)
            if program is None:
                confirmed.gone_programs.append(program_row.id)
            else:
                confirmed.programs.append(program)
        budget -= min(budget, len(programs))
    referrers = _folders_referred_to(integration_id, since, full=full)
    folders = await _referred(unseen(MarketoFolder, integration_id, since), referrers).order_by("id")
    for folder_row in folders[:budget]:
        folder = await client.get_folder(FolderRef(folder_row.marketo_id, folder_row.marketo_type))
        if folder is None:
            confirmed.gone_folders.append(folder_row.id)
        else:
            confirmed.folders.append(folder)
    return confirmed


async def remove_unseen(integration_id: int, since: datetime, confirmed: Confirmed, *, full: bool) -> None:
    """Removes what the run did not see: rows nothing refers to, and those Marketo confirmed gone.

    Call it in the transaction that records the run, after saving `confirmed`'s assets.
    """
    if full:
        await _unreferred(unseen(MarketoProgram, integration_id, since), _programs_referred_to(integration_id)).delete()
        if confirmed.gone_programs:
            await MarketoProgram.filter(id__in=confirmed.gone_programs).delete()
    referrers = _folders_referred_to(integration_id, since, full=full)
    await _unreferred(unseen(MarketoFolder, integration_id, since), referrers).delete()
    if confirmed.gone_folders:
        await MarketoFolder.filter(id__in=confirmed.gone_folders).delete()
