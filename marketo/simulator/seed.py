"""Deterministic, realistic-looking data for one instance: a folder tree and programs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .assets import AssetStore, FolderRecord, ProgramRecord

EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
LATEST = datetime(2026, 6, 30, tzinfo=UTC)

MARKETING_ACTIVITIES = 14
DESIGN_STUDIO = 26
LEAD_DATABASE = 12

TOP_FOLDERS = ["Campaigns", "Webinars", "Events", "Nurture", "Newsletters", "Operational", "Templates", "Archive"]
REGIONS = ["EMEA", "NA", "APAC", "LATAM", "Global", "DACH", "Nordics", "UK&I"]
THEMES = ["Product Launch", "Customer Stories", "Partner", "Trial", "Renewal", "Onboarding", "Brand", "Analyst Day"]
PERIODS = ["2024", "2025", "2026", "Q1", "Q2", "Q3", "Q4", "H1", "H2"]

# (API type, weight, channels valid for it)
PROGRAM_KINDS = [
    ("Default", 45, ["Content", "Online Advertising", "Paid Search", "Social", "Web Content", "Operational"]),
    ("Email", 25, ["Email Send"]),
    ("Event", 12, ["Tradeshow", "Roadshow", "Field Event"]),
    ("Event with Webinar", 8, ["Webinar"]),
    ("Engagement", 10, ["Nurture"]),
]
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
    def system(id: int, name: str, parent: int | None, kind: str) -> None:
        store.add_folder(FolderRecord(id, name, (parent, "Folder") if parent else None, kind, True, EPOCH, EPOCH))

    system(LEAD_DATABASE, "Lead Database", None, "Zone")
    system(13, "Group Lists", LEAD_DATABASE, "List")
    system(MARKETING_ACTIVITIES, "Marketing Activities", None, "Zone")
    system(DESIGN_STUDIO, "Design Studio", None, "Zone")
    system(27, "Images and Files", DESIGN_STUDIO, "Image")
    system(28, "Emails", DESIGN_STUDIO, "Email")
    system(29, "Landing Pages", DESIGN_STUDIO, "Landing Page")


def _marketing_folders(store: AssetStore, rng: random.Random, count: int) -> list[FolderRecord]:
    made: list[tuple[FolderRecord, int]] = []
    for index in range(count):
        if index < len(TOP_FOLDERS):
            parent, depth, name = None, 1, TOP_FOLDERS[index]
        else:
            parent, depth = rng.choice([(f, d) for f, d in made if d < 4] or made)
            name = f"{rng.choice(REGIONS)} {rng.choice(THEMES)} {rng.choice(PERIODS)}"
        parent_ref = parent.ref if parent else (MARKETING_ACTIVITIES, "Folder")
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
    homes = folders or [store.folders[MARKETING_ACTIVITIES]]
    kinds = [k for k, _, _ in PROGRAM_KINDS]
    weights = [w for _, w, _ in PROGRAM_KINDS]
    channels = {k: c for k, _, c in PROGRAM_KINDS}
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
                channel=rng.choice(channels[kind]),
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
