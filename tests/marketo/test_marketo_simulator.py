"""The simulator answers as Marketo does; driven directly over HTTP (in-process ASGI)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import httpx
import pytest

from marketo import MarketoCredentials
from marketo.simulator import Simulator, SimulatorConfig, create_simulator
from marketo.simulator.app import munchkin_id
from tests.marketo.simulator_calls import MID, auth, token_of

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\+0000$")


@pytest.fixture
def simulator() -> Simulator:
    return create_simulator(SimulatorConfig(instances=2, folders=12, programs=30, calls_per_window=5))


def test_munchkin_ids_are_deterministic_and_shaped_like_marketos() -> None:
    assert [munchkin_id(i) for i in (0, 1, 26)] == ["100-AAA-001", "100-AAB-002", "100-ABA-027"]
    assert all(re.fullmatch(r"\d{3}-\w{3}-\d{3}", munchkin_id(i)) for i in range(100))


def test_endpoints_give_each_instance_its_own_prefix_and_credentials(simulator: Simulator) -> None:
    endpoints = simulator.endpoints("http://127.0.0.1:9000/")
    assert [e["restEndpoint"] for e in endpoints] == [
        "http://127.0.0.1:9000/100-AAA-001/rest",
        "http://127.0.0.1:9000/100-AAB-002/rest",
    ]
    assert endpoints[0]["identityEndpoint"] == "http://127.0.0.1:9000/100-AAA-001/identity"
    assert endpoints[0]["clientId"] != endpoints[1]["clientId"]


async def test_identity_returns_the_same_token_with_a_falling_lifetime(simulator, http) -> None:
    instance = simulator.instances[MID]
    now = [500.0]
    instance.clock = lambda: now[0]
    params = {
        "grant_type": "client_credentials",
        "client_id": instance.client_id,
        "client_secret": instance.client_secret,
    }
    first = await http.get(f"/{MID}/identity/oauth/token", params=params)  # query parameters
    now[0] += 75.5
    second = await http.post(f"/{MID}/identity/oauth/token", data=params)  # form body
    assert first.headers["cache-control"] == "no-store" and first.headers["pragma"] == "no-cache"
    assert first.json()["expires_in"] == 3600 and second.json()["expires_in"] == 3524
    assert first.json()["access_token"] == second.json()["access_token"]
    assert first.json()["token_type"] == "bearer"
    now[0] += 3600
    third = await http.post(f"/{MID}/identity/oauth/token", data=params)
    assert third.json()["access_token"] != first.json()["access_token"]
    assert instance.stats.identity_calls == 3 and instance.stats.tokens_issued == 2
    assert instance.stats.calls == 0  # identity calls are not API calls


async def test_identity_answers_bad_credentials_with_marketos_401_bodies(simulator, http) -> None:
    instance = simulator.instances[MID]
    bad_secret = await http.post(
        f"/{MID}/identity/oauth/token",
        data={"grant_type": "client_credentials", "client_id": instance.client_id, "client_secret": "wrong"},
    )
    unknown = await http.post(
        f"/{MID}/identity/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "wrong"},
    )
    assert bad_secret.status_code == 401
    assert bad_secret.json() == {"error": "invalid_client", "error_description": "Bad client credentials"}
    assert unknown.status_code == 401
    assert unknown.json() == {"error": "unauthorized", "error_description": "No client with requested id: nobody"}


async def test_credentials_of_one_instance_do_not_open_another(simulator, http) -> None:
    other = simulator.instances["100-AAB-002"]
    answer = await http.post(
        f"/{MID}/identity/oauth/token",
        data={"grant_type": "client_credentials", "client_id": other.client_id, "client_secret": other.client_secret},
    )
    assert answer.status_code == 401
    token = await token_of(http, simulator, "100-AAB-002")
    rejected = await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))
    assert rejected.json()["errors"][0]["code"] == "601"


async def test_token_errors_missing_unknown_expired(simulator, http) -> None:
    token = await token_of(http, simulator)
    missing = await http.get(f"/{MID}/rest/asset/v1/programs.json", params={"access_token": token})
    unknown = await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth("nope:sim"))
    simulator.instances[MID].expire_tokens()
    expired = await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))
    assert [r.json()["errors"][0] for r in (missing, unknown, expired)] == [
        {"code": "600", "message": "Empty access token"},
        {"code": "601", "message": "Access token invalid"},
        {"code": "602", "message": "Access token expired"},
    ]
    assert all(r.status_code == 200 and r.json()["success"] is False for r in (missing, unknown, expired))


async def test_program_pages_use_marketos_envelope_and_end_with_the_warning(simulator, http) -> None:
    token = await token_of(http, simulator)
    page = (await http.get(f"/{MID}/rest/asset/v1/programs.json", params={"maxReturn": 20}, headers=auth(token))).json()
    assert page["success"] is True and page["errors"] == [] and page["warnings"] == []
    assert re.fullmatch(r"[0-9a-f]+#[0-9a-f]+", page["requestId"])
    assert len(page["result"]) == 20
    program = page["result"][0]
    assert DATETIME.match(program["createdAt"]) and DATETIME.match(program["updatedAt"])
    assert set(program["folder"]) == {"type", "value", "folderName"}
    assert re.fullmatch(r"https://.+/#(PG|ME|NP|EBP)\d+A1", program["url"])
    end = (await http.get(f"/{MID}/rest/asset/v1/programs.json", params={"offset": 40}, headers=auth(token))).json()
    assert end == {
        "success": True,
        "errors": [],
        "requestId": end["requestId"],
        "warnings": ["No assets found for the given search criteria."],
    }
    too_many = (
        await http.get(f"/{MID}/rest/asset/v1/programs.json", params={"maxReturn": 201}, headers=auth(token))
    ).json()
    assert too_many["success"] is False


async def test_updated_at_filter_matches_created_or_updated_in_range(simulator, http) -> None:
    token = await token_of(http, simulator)
    everything = (
        await http.get(f"/{MID}/rest/asset/v1/programs.json", params={"maxReturn": 200}, headers=auth(token))
    ).json()["result"]
    pivot = sorted(p["updatedAt"] for p in everything)[15]
    recent = (
        await http.get(
            f"/{MID}/rest/asset/v1/programs.json",
            params={"maxReturn": 200, "earliestUpdatedAt": pivot.replace("Z+0000", "Z")},
            headers=auth(token),
        )
    ).json()["result"]
    assert 0 < len(recent) < len(everything)
    assert all(p["updatedAt"] >= pivot or p["createdAt"] >= pivot for p in recent)


async def test_the_sliding_window_answers_606_and_does_not_count_identity(simulator, http) -> None:
    token = await token_of(http, simulator)
    answers = [await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token)) for _ in range(6)]
    await token_of(http, simulator)
    assert [a.json()["success"] for a in answers] == [True] * 5 + [False]
    assert answers[5].json()["errors"] == [{"code": "606", "message": "Max rate limit '5' exceeded with in '20' secs"}]
    assert simulator.instances[MID].stats.rate_limited == 1
    other = simulator.instances["100-AAB-002"]
    assert other.stats.calls == 0  # the other instance's window is untouched
    other_token = await token_of(http, simulator, "100-AAB-002")
    assert (await http.get("/100-AAB-002/rest/asset/v1/programs.json", headers=auth(other_token))).json()["success"]


async def test_daily_quota_answers_607(simulator, http) -> None:
    simulator.instances[MID].limits.daily_quota = 2
    token = await token_of(http, simulator)
    codes = [
        (await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))).json().get("errors")
        for _ in range(3)
    ]
    assert codes == [[], [], [{"code": "607", "message": "Daily quota reached"}]]


@pytest.mark.parametrize(
    ("before", "utc_midnight", "chicago_midnight"),
    [
        # Winter: Chicago is UTC-6; summer: UTC-5.
        ("2026-01-14T23:59:00+00:00", "2026-01-15T00:00:30+00:00", "2026-01-15T06:00:30+00:00"),
        ("2026-07-14T23:59:00+00:00", "2026-07-15T00:00:30+00:00", "2026-07-15T05:00:30+00:00"),
    ],
    ids=["CST", "CDT"],
)
async def test_the_daily_quota_resets_at_midnight_in_chicago_not_utc(
    simulator, http, before: str, utc_midnight: str, chicago_midnight: str
) -> None:
    instance = simulator.instances[MID]
    instance.limits.daily_quota = 2
    instance.limits.calls_per_window = 100
    now = [datetime.fromisoformat(before)]
    instance.wall_clock = lambda: now[0]
    token = await token_of(http, simulator)

    async def code() -> str | None:
        errors = (await http.get(f"/{MID}/rest/asset/v1/program/byName.json?name=x", headers=auth(token))).json()[
            "errors"
        ]
        return errors[0]["code"] if errors else None

    assert [await code(), await code(), await code()] == [None, None, "607"]
    now[0] = datetime.fromisoformat(utc_midnight)
    assert await code() == "607"  # a new day in UTC, still the same one in Chicago
    now[0] = datetime.fromisoformat(chicago_midnight)
    assert [await code(), await code(), await code()] == [None, None, "607"]


@pytest.mark.parametrize("code", ["604", "608", "611"])
async def test_errors_marketo_does_not_count_spend_neither_the_window_nor_the_quota(simulator, http, code) -> None:
    instance = simulator.instances[MID]
    instance.limits.daily_quota = 5  # and 5 calls per window (the fixture's)
    token = await token_of(http, simulator)

    async def codes(calls: int) -> list[str | None]:
        answers = [await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token)) for _ in range(calls)]
        return [(a.json()["errors"] or [{"code": None}])[0]["code"] for a in answers]

    instance.faults.error_rates = {code: 1.0}
    assert await codes(8) == [code] * 8
    instance.faults.error_rates = {}
    assert await codes(6) == [None] * 5 + ["606"]


async def test_calls_beyond_the_concurrency_cap_get_615(simulator, http) -> None:
    instance = simulator.instances[MID]
    instance.limits.max_concurrent = 2
    instance.faults.gate = asyncio.Event()
    token = await token_of(http, simulator)
    held = [
        asyncio.ensure_future(http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))) for _ in range(2)
    ]
    while instance.stats.in_flight < 2:
        await asyncio.sleep(0.001)
    refused = await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))
    assert refused.json()["errors"] == [{"code": "615", "message": "Concurrent access limit '2' reached"}]
    instance.faults.gate.set()
    assert all(r.json()["success"] for r in await asyncio.gather(*held))
    assert instance.stats.max_in_flight == 3 and instance.stats.concurrency_limited == 1


@pytest.mark.parametrize("root", ['{"id":14,"type":"Folder"}', "{'id': 14, 'type': Folder}", "14"])
async def test_folder_browse_accepts_json_lenient_json_and_bare_ids(simulator, http, root: str) -> None:
    token = await token_of(http, simulator)
    page = (
        await http.get(
            f"/{MID}/rest/asset/v1/folders.json",
            params={"root": root, "maxDepth": 1, "maxReturn": 200},
            headers=auth(token),
        )
    ).json()
    folders = page["result"]
    assert folders[0]["name"] == "Marketing Activities" and folders[0]["folderType"] == "Zone"
    assert folders[0]["isSystem"] is True and folders[0]["parent"] is None and folders[0]["url"] is None
    assert all(f["parent"] == {"id": 14, "type": "Folder"} for f in folders[1:])
    # One level down, the Default workspace's zone, as in Adobe's example of this very call.
    assert [(f["id"], f["name"], f["folderType"], f["path"]) for f in folders[1:]] == [
        (15, "Default", "Zone", "/Marketing Activities/Default")
    ]
    assert {f["folderId"]["type"] for f in folders} <= {"Folder", "Program"}
    assert "type" not in folders[0]


async def test_create_folder_and_clone_program_from_form_bodies(simulator, http) -> None:
    token = await token_of(http, simulator)
    created = (
        await http.post(
            f"/{MID}/rest/asset/v1/folders.json",
            headers=auth(token),
            data={"name": "Launch", "parent": '{"id":15,"type":"Folder"}'},
        )
    ).json()["result"][0]
    assert created["path"] == "/Marketing Activities/Default/Launch" and created["folderType"] == "Marketing Folder"
    again = (
        await http.post(
            f"/{MID}/rest/asset/v1/folders.json",
            headers=auth(token),
            data={"name": "Launch", "parent": '{"id":15,"type":"Folder"}'},
        )
    ).json()
    assert again["success"] is False and again["errors"][0]["code"] == "709"
    missing_parent = (
        await http.post(
            f"/{MID}/rest/asset/v1/folders.json",
            headers=auth(token),
            data={"name": "X", "parent": '{"id":99999,"type":"Folder"}'},
        )
    ).json()
    assert missing_parent["errors"][0]["code"] == "710"
    source = next(iter(simulator.instances[MID].store.programs.values()))
    clone = (
        await http.post(
            f"/{MID}/rest/asset/v1/program/{source.id}/clone.json",
            headers=auth(token),
            data={"name": "Launch copy", "folder": f'{{"id":{created["id"]},"type":"Folder"}}'},
        )
    ).json()
    assert clone["result"][0]["folder"]["value"] == created["id"]
    assert clone["result"][0]["type"] == source.type and clone["result"][0]["channel"] == source.channel
    by_name = (
        await http.get(f"/{MID}/rest/asset/v1/program/byName.json", params={"name": "Launch copy"}, headers=auth(token))
    ).json()
    assert by_name["result"][0]["id"] == clone["result"][0]["id"]


def test_seeded_data_is_deterministic_and_realistic() -> None:
    one = create_simulator(SimulatorConfig(folders=15, programs=200, seed=7)).instances[MID].store
    two = create_simulator(SimulatorConfig(folders=15, programs=200, seed=7)).instances[MID].store
    other = create_simulator(SimulatorConfig(folders=15, programs=200, seed=8)).instances[MID].store
    names = [p.name for p in one.programs.values()]
    assert names == [p.name for p in two.programs.values()]
    assert names != [p.name for p in other.programs.values()]
    assert len(set(names)) == 200
    assert {p.type for p in one.programs.values()} == {"Default", "Email", "Event", "Event with Webinar", "Engagement"}
    roots = {f.name for f in one.folders.values() if f.parent is None}
    assert roots == {"Marketing Activities", "Design Studio", "Lead Database"}
    # Adobe's tree: each area's root, the Default workspace a Zone under it, the user's folders under that.
    zones = {one.path_of(f.ref): f for f in one.folders.values() if f.folder_type == "Zone"}
    assert set(zones) == {f"/{root}{workspace}" for root in roots for workspace in ("", "/Default")}
    assert all(zone.is_system and zone.workspace == "Default" for zone in zones.values())
    marketing = [f for f in one.folders.values() if one.path_of(f.ref).startswith("/Marketing Activities/Default/")]
    assert len(marketing) == 15 and {f.folder_type for f in marketing} == {"Marketing Folder"}
    assert max(one.path_of(f.ref).count("/") for f in marketing) >= 4  # nested, not flat
    assert all(one.path_of(p.folder).startswith("/Marketing Activities/Default/") for p in one.programs.values())
    assert one.path_of((27, "Folder")) == "/Design Studio/Default/Images and Files"


async def test_admin_endpoints_report_stats_and_change_faults(simulator, http) -> None:
    token = await token_of(http, simulator)
    await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))
    stats = (await http.get("/_admin/stats")).json()
    assert stats[MID]["calls"] == 1 and stats[MID]["identityCalls"] == 1
    assert stats[MID]["byOperation"] == {"browse_programs": 1}
    assert stats["100-AAB-002"]["calls"] == 0
    changed = await http.post(f"/_admin/instances/{MID}", json={"errorRates": {"611": 1.0}, "callsPerWindow": 50})
    assert changed.status_code == 200
    faulty = (await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))).json()
    assert faulty["errors"] == [{"code": "611", "message": "System error"}]
    assert simulator.instances[MID].limits.calls_per_window == 50
    assert (await http.post(f"/_admin/instances/{MID}", json={"errorRates": {"999": 1}})).status_code == 400
    endpoints = (await http.get("/_admin/endpoints")).json()
    assert endpoints[0]["restEndpoint"] == f"http://sim/{MID}/rest"


@pytest.mark.parametrize("fault", ["drop_rate", "drop_after_rate"])
async def test_in_process_a_dropped_connection_reaches_the_client_as_httpx_s_error(simulator, http, fault) -> None:
    token = await token_of(http, simulator)
    setattr(simulator.instances[MID].faults, fault, 1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(f"/{MID}/rest/asset/v1/programs.json", headers=auth(token))


async def test_the_client_retries_in_process_drops_like_real_ones(simulator, make_pool) -> None:
    simulator.instances[MID].limits.calls_per_window = 100
    simulator.instances[MID].faults.drop_rate = 0.3
    pool = make_pool(transport=httpx.ASGITransport(app=simulator.app), page_size=5)
    endpoint = simulator.endpoints("http://sim")[0]
    client = pool.client(
        MarketoCredentials(
            endpoint["restEndpoint"], endpoint["identityEndpoint"], endpoint["clientId"], endpoint["clientSecret"]
        )
    )
    programs = await client.list_programs()
    assert sorted(p.id for p in programs) == sorted(simulator.instances[MID].store.programs)
    assert simulator.instances[MID].stats.faults["drop"] > 0
