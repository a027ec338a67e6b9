"""How a sync's pages become rows (marketo/worker/store.py, upsert.py), on the database the suite runs on: every
value read back as Marketo sent it, whatever its text holds, and a page written again updates the same rows."""

from datetime import UTC, datetime, timedelta, timezone

from domain.models import MarketoFolder, MarketoProgram
from marketo.models import Folder, Program
from marketo.worker.store import RowStore
from tests.api import factories

# What JSON, SQL or a driver could mistake for syntax: quotes, backslashes, braces, escapes, NUL-free control
# characters, and characters outside the BMP.
AWKWARD = 'Q4 "launch" \\ {a,b} \\u0041 it\'s\n\ttab 日本語 🚀 %s $1 ?'
SEEN = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)


def folder(marketo_id: int, name: str, parent: int | None = None, **extra) -> Folder:
    return Folder.from_json(
        {
            "id": marketo_id,
            "folderId": {"id": marketo_id, "type": "Folder"},
            "name": name,
            "path": f"/Marketing Activities/Default/{name}",
            "parent": {"id": parent, "type": "Folder"} if parent else None,
            "folderType": "Marketing Folder",
            "isSystem": False,
            "url": f"https://app-sj01.marketo.com/#MF{marketo_id}A1",
            "updatedAt": "2026-11-30T22:45:13Z+0000",
            **extra,
        }
    )


def program(marketo_id: int, name: str, folder_id: int | None, **extra) -> Program:
    return Program.from_json(
        {
            "id": marketo_id,
            "name": name,
            "type": "Default",
            "channel": "Webinar",
            "status": "",
            "folder": {"type": "Folder", "value": folder_id, "folderName": "x"} if folder_id else None,
            "url": f"https://app-sj01.marketo.com/#PG{marketo_id}A1",
            "updatedAt": "2026-11-30T22:45:13Z+0000",
            **extra,
        }
    )


async def test_a_page_of_awkward_texts_is_written_and_read_back_unchanged(world):
    _, admin = await world.account()
    pk = factories.pk(await factories.integration(admin, "Rows", "111-AAA-111"))
    store = RowStore()

    await store.upsert_folders(pk, [folder(10, AWKWARD), folder(11, "Child", parent=10, isSystem=True)], SEEN)
    await store.upsert_programs(pk, [program(20, AWKWARD, 11), program(21, "Loose", None, channel=None)], SEEN)

    awkward = await MarketoFolder.get(platform_integration_id=pk, marketo_id=10)
    assert (awkward.name, awkward.path) == (AWKWARD, f"/Marketing Activities/Default/{AWKWARD}")
    assert awkward.parent_marketo_id is None and awkward.is_system is False
    assert awkward.marketo_updated_at == datetime(2026, 11, 30, 22, 45, 13, tzinfo=UTC)
    assert awkward.seen_at == SEEN  # to the microsecond
    child = await MarketoFolder.get(platform_integration_id=pk, marketo_id=11)
    assert (child.parent_marketo_id, child.parent_marketo_type, child.is_system) == (10, "Folder", True)

    first = await MarketoProgram.get(platform_integration_id=pk, marketo_id=20)
    assert (first.name, first.channel, first.status, first.folder_id) == (AWKWARD, "Webinar", "", child.id)
    loose = await MarketoProgram.get(platform_integration_id=pk, marketo_id=21)
    assert (loose.folder_id, loose.channel) == (None, "")


async def test_a_page_written_again_updates_the_same_rows_and_cuts_texts_to_their_columns(world):
    _, admin = await world.account()
    pk = factories.pk(await factories.integration(admin, "Rows", "111-AAA-111"))
    store = RowStore()
    await store.upsert_folders(pk, [folder(10, "Before"), folder(12, "Other")], SEEN)
    await store.upsert_programs(pk, [program(20, "Before", 10)], SEEN)
    ids = (
        (await MarketoFolder.get(marketo_id=10, platform_integration_id=pk)).id,
        (await MarketoProgram.get(marketo_id=20, platform_integration_id=pk)).id,
    )

    later = datetime(2026, 12, 8, 9, 0, tzinfo=timezone(timedelta(hours=-6)))  # any offset: stored as the instant
    # The same folder twice in a page (Marketo's pages are computed per request): the last one is written.
    await store.upsert_folders(pk, [folder(10, "Twice"), folder(10, "After" + "x" * 300)], later)
    await store.upsert_programs(pk, [program(20, "After", 12)], later)

    after = await MarketoFolder.get(platform_integration_id=pk, marketo_id=10)
    assert after.id == ids[0] and after.name == ("After" + "x" * 300)[:255] and after.seen_at == later
    moved = await MarketoProgram.get(platform_integration_id=pk, marketo_id=20)
    other = await MarketoFolder.get(platform_integration_id=pk, marketo_id=12)
    assert (moved.id, moved.name, moved.folder_id, moved.seen_at) == (ids[1], "After", other.id, later)
    assert await MarketoFolder.filter(platform_integration_id=pk).count() == 2
