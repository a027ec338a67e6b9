"""DataLoaders: one SQL statement per kind of row per level of a query, however many rows ask."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader
from tortoise import Tortoise
from tortoise.functions import Count
from tortoise.models import Model

from domain.models import (
    Campaign,
    Launcher,
    LauncherCollaborator,
    MarketoFolder,
    MarketoProgram,
    PlatformIntegration,
    User,
)

ModelT = TypeVar("ModelT", bound=Model)


def _by_id(model: type[ModelT]) -> DataLoader[int, ModelT | None]:
    async def load(ids: list[int]) -> Sequence[ModelT | None]:
        rows = {row.pk: row for row in await model.filter(id__in=set(ids))}
        return [rows.get(pk) for pk in ids]

    return DataLoader(load)


CampaignPageKey = tuple[int, int, int | None]  # launcher id, first, after id


async def _campaign_pages(keys: list[CampaignPageKey]) -> Sequence[tuple[list[Campaign], int]]:
    """For each launcher, its newest campaigns (first + 1 of them) and how many it has in all."""
    groups: dict[tuple[int, int | None], set[int]] = defaultdict(set)
    for launcher_id, first, after in keys:
        groups[(first, after)].add(launcher_id)
    pages: dict[CampaignPageKey, list[Campaign]] = {}
    all_launchers = {launcher_id for launcher_id, _, _ in keys}
    connection = Tortoise.get_connection("default")
    for (first, after), launcher_ids in groups.items():
        # Integers only are interpolated: ids and limits come from our own loaders' keys.
        id_list = ",".join(str(int(pk)) for pk in sorted(launcher_ids))
        after_clause = f" AND id < {int(after)}" if after is not None else ""
        rows = await connection.execute_query_dict(
            "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY launcher_id ORDER BY id DESC) AS rn"
            f" FROM campaign WHERE launcher_id IN ({id_list}){after_clause}) ranked WHERE rn <= {int(first) + 1}"
        )
        campaigns = await Campaign.filter(id__in=[row["id"] for row in rows]).order_by("-id") if rows else []
        by_launcher: dict[int, list[Campaign]] = defaultdict(list)
        for campaign in campaigns:
            by_launcher[campaign.launcher_id].append(campaign)
        for launcher_id in launcher_ids:
            pages[(launcher_id, first, after)] = by_launcher[launcher_id]
    counts = {
        row["launcher_id"]: row["n"]
        for row in await Campaign.filter(launcher_id__in=all_launchers)
        .annotate(n=Count("id"))
        .group_by("launcher_id")
        .values("launcher_id", "n")
    }
    return [(pages[key], counts.get(key[0], 0)) for key in keys]


async def _collaborators(launcher_ids: list[int]) -> Sequence[list[User]]:
    grants = (
        await LauncherCollaborator.filter(launcher_id__in=set(launcher_ids))
        .prefetch_related("user")
        .order_by("user_id")
    )
    by_launcher: dict[int, list[User]] = defaultdict(list)
    for grant in grants:
        by_launcher[grant.launcher_id].append(grant.user)
    return [by_launcher[pk] for pk in launcher_ids]


class Loaders:
    """Made anew for every HTTP request and every subscription event, so nothing is served stale."""

    def __init__(self) -> None:
        self.integration: DataLoader[int, PlatformIntegration | None] = _by_id(PlatformIntegration)
        self.folder: DataLoader[int, MarketoFolder | None] = _by_id(MarketoFolder)
        self.program: DataLoader[int, MarketoProgram | None] = _by_id(MarketoProgram)
        self.launcher: DataLoader[int, Launcher | None] = _by_id(Launcher)
        self.user: DataLoader[int, User | None] = _by_id(User)
        self.campaign_page: DataLoader[CampaignPageKey, tuple[list[Campaign], int]] = DataLoader(_campaign_pages)
        self.collaborators: DataLoader[int, list[User]] = DataLoader(_collaborators)
