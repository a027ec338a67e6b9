"""Deterministic, realistic-looking data for one instance: a folder tree and programs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .assets import PROGRAM_CHANNELS, AssetStore, FolderRecord, ProgramRecord

EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
LATEST = datetime(2026, 6, 30, tzinfo=UTC)

# Each area's root, and the zone of the Default workspace under it (ids as in Adobe's examples where they show).
LEAD_DATABASE = 12
LEAD_DATABASE_DEFAULT = 16
MARKETING_ACTIVITIES = 14
MARKETING_ACTIVITIES_DEFAULT = 15
DESIGN_STUDIO = 26
DESIGN_STUDIO_DEFAULT = 30

TOP_FOLDERS = ["Campaigns", "Webinars", "Events", "Nurture", "Newsletters", "Operational", "Templates", "Archive"]
REGIONS = ["EMEA", "NA", "APAC", "LATAM", "Global", "DACH", "Nordics", "UK&I"]
THEMES = ["Product Launch", "Customer Stories", "Partner", "Trial", "Renewal", "Onboarding", "Brand", "Analyst Day"]
PERIODS = ["2024", "2025", "2026", "Q1", "Q2", "Q3", "Q4", "H1", "H2"]

# How often each program type is seeded, in percent.
PROGRAM_WEIGHTS = {"Default": 45, "Email": 25, "Event": 12, "Event with Webinar": 8, "Engagement": 10}
KIND_NOUN = {
    "Default": "Campaign",
    "Email": "Email",
    "Event": "Event",
    "Event with Webinar": "Webinar",
    "Engagement": "Nurture",
}


def seed_store(store: AssetStore, *, seed: str, folders: int, programs: int) -> None:
    rng = random.Random(seed)
    _system_roots(store)
    marketing = _marketing_folders(store, rng, folders)
    _programs(store, rng, programs, marketing)


def _system_roots(store: AssetStore) -> None:
    """Each area a root (a Zone), the Default workspace a Zone under it, as Adobe's folder examples show them:
    `/Marketing Activities/Default/…`, `/Design Studio/Default/Emails/…`, `/Lead Database/Default/Group Lists`."""

    def system(id: int, name: str, parent: int | None, kind: str, description: str | None = None) -> None:
        parent_ref = (parent, "Folder") if parent else None
        store.add_folder(FolderRecord(id, name, parent_ref, kind, True, EPOCH, EPOCH, description))

    for root, zone, name in (
        (LEAD_DATABASE, LEAD_DATABASE_DEFAULT, "Lead Database"),
        (MARKETING_ACTIVITIES, MARKETING_ACTIVITIES_DEFAULT, "Marketing Activities"),
        (DESIGN_STUDIO, DESIGN_STUDIO_DEFAULT, "Design Studio"),
    ):
        system(root, name, None, "Zone", f"Root node for the {name} app area")
        system(zone, "Default", root, "Zone", f"Root node of the {name} Default")
    system(13, "Group Lists", LEAD_DATABASE_DEFAULT, "List")
    system(27, "Images and Files", DESIGN_STUDIO_DEFAULT, "Image")
    system(28, "Emails", DESIGN_STUDIO_DEFAULT, "Email")
    system(29, "Landing Pages", DESIGN_STUDIO_DEFAULT, "Landing Page")


def _marketing_folders(store: AssetStore, rng: random.Random, count: int) -> list[FolderRecord]:
    made: list[tuple[FolderRecord, int]] = []
    for index in range(count):
        if index < len(TOP_FOLDERS):
            parent, depth, name = None, 1, TOP_FOLDERS[index]
        else:
            parent, depth = rng.choice([(f, d) for f, d in made if d < 4] or made)
            name = f"{rng.choice(REGIONS)} {rng.choice(THEMES)} {rng.choice(PERIODS)}"
        parent_ref = parent.ref if parent else (MARKETING_ACTIVITIES_DEFAULT, "Folder")
        siblings = {f.name for f, _ in made if f.parent == parent_ref}
        unique, n = name, 2
        while unique in siblings:
            unique, n = f"{name} ({n})", n + 1
        created = _moment(rng)
        record = store.add_folder(
            FolderRecord(store.new_folder_id(), unique, parent_ref, "Marketing Folder", False, created, created)
        )
        made.append((record, depth + (0 if parent is None else 1)))
    return [f for f, _ in made]


def _programs(store: AssetStore, rng: random.Random, count: int, folders: list[FolderRecord]) -> None:
    homes = folders or [store.folders[MARKETING_ACTIVITIES_DEFAULT]]
    kinds, weights = list(PROGRAM_WEIGHTS), list(PROGRAM_WEIGHTS.values())
    names: set[str] = set()
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        created = _moment(rng)
        updated = min(created + timedelta(seconds=rng.randrange(0, 200 * 86400)), LATEST)
        name = f"{created:%Y-%m} {rng.choice(REGIONS)} {rng.choice(THEMES)} {KIND_NOUN[kind]}"
        unique, n = name, 2
        while unique in names:
            unique, n = f"{name} {n}", n + 1
        names.add(unique)
        status = {"Engagement": rng.choice(["on", "off"]), "Email": rng.choice(["locked", "unlocked"])}.get(kind, "")
        store.add_program(
            ProgramRecord(
                id=store.new_program_id(),
                name=unique,
                type=kind,
                channel=rng.choice(PROGRAM_CHANNELS[kind]),
                folder=rng.choice(homes).ref,
                status=status,
                created_at=created,
                updated_at=updated,
                description=f"{KIND_NOUN[kind]} for {rng.choice(REGIONS)}",
            )
        )


def _moment(rng: random.Random) -> datetime:
    span = int((LATEST - EPOCH).total_seconds()) - 200 * 86400
    return EPOCH + timedelta(seconds=rng.randrange(0, span))
