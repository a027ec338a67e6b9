"""The simulator's folder and program endpoints, called as Adobe documents them (query strings for GETs, form
bodies for POSTs) and as marketorestpython sends them (POST parameters in the query string, lenient JSON)."""

from __future__ import annotations

import json

import httpx
import pytest

from marketo.simulator import Simulator, SimulatorConfig, create_simulator
from tests.marketo.simulator_calls import MID, auth, token_of

ASSET = f"/{MID}/rest/asset/v1"
MARKETING_ACTIVITIES, DEFAULT_WORKSPACE = 14, 15
DESIGN_STUDIO, IMAGES_AND_FILES, EMAILS, LANDING_PAGES = 26, 27, 28, 29


@pytest.fixture
def simulator() -> Simulator:
    return create_simulator(SimulatorConfig(instances=1, folders=8, programs=20))


@pytest.fixture
async def call(simulator: Simulator, http: httpx.AsyncClient):
    """``await call("GET", path, params=…)`` or ``call("POST", path, data=…)``: the answer's JSON."""
    headers = auth(await token_of(http, simulator))

    async def send(method: str, path: str, **request: object) -> dict:
        answer = await http.request(method, f"{ASSET}/{path}", headers=headers, **request)  # type: ignore[arg-type]
        assert answer.status_code == 200, answer.text
        return answer.json()

    return send


def folder_param(ident: int, kind: str = "Folder") -> str:
    return json.dumps({"id": ident, "type": kind})


def error_of(body: dict) -> str:
    assert body["success"] is False, body
    return body["errors"][0]["code"]


# 1. The tree: each area a root, the Default workspace a Zone under it.


async def test_user_folders_sit_in_the_default_workspace_zone_as_in_adobes_examples(simulator, call) -> None:
    tree = (await call("GET", "folders.json", params={"root": folder_param(14), "maxDepth": 5, "maxReturn": 200}))[
        "result"
    ]
    root, zone, *folders = tree
    assert (root["name"], root["folderType"], root["path"], root["parent"]) == (
        "Marketing Activities",
        "Zone",
        "/Marketing Activities",
        None,
    )
    assert (zone["id"], zone["folderType"], zone["path"], zone["isSystem"]) == (
        DEFAULT_WORKSPACE,
        "Zone",
        "/Marketing Activities/Default",
        True,
    )
    assert zone["parent"] == {"id": MARKETING_ACTIVITIES, "type": "Folder"}
    marketing = [f for f in folders if f["folderId"]["type"] == "Folder"]
    assert len(marketing) == 8 and all(f["path"].startswith("/Marketing Activities/Default/") for f in marketing)
    # Each says which workspace it is in, and its path's second segment agrees.
    assert all(f["workspace"] == "Default" == f["path"].split("/")[2] for f in tree[1:])
    emails = (await call("GET", f"folder/{EMAILS}.json", params={"type": "Folder"}))["result"][0]
    assert (emails["path"], emails["folderType"], emails["workspace"]) == (
        "/Design Studio/Default/Emails",
        "Email",
        "Default",
    )


# 2. A new folder holds what its parent holds.


@pytest.mark.parametrize(
    ("parent", "folder_type"),
    [
        (EMAILS, "Email"),
        (IMAGES_AND_FILES, "Image"),
        (LANDING_PAGES, "Landing Page"),
        (DEFAULT_WORKSPACE, "Marketing Folder"),
    ],
)
async def test_a_new_folder_takes_the_kind_of_its_design_studio_parent(call, parent, folder_type) -> None:
    made = (await call("POST", "folders.json", data={"name": "Social Media", "parent": folder_param(parent)}))[
        "result"
    ][0]
    assert made["folderType"] == folder_type
    deeper = (await call("POST", "folders.json", data={"name": "2026", "parent": folder_param(made["id"])}))["result"][
        0
    ]
    assert deeper["folderType"] == folder_type and deeper["path"] == f"{made['path']}/2026"


async def test_a_folder_right_under_a_design_studio_root_is_refused(call) -> None:
    refused = await call("POST", "folders.json", data={"name": "Loose", "parent": folder_param(DESIGN_STUDIO)})
    assert error_of(refused) == "711"


# 3. Tags and costs.


async def test_program_answers_carry_tags_and_costs_where_adobe_shows_them(simulator, call) -> None:
    source = min(simulator.instances[MID].store.programs)
    clone = await call("POST", f"program/{source}/clone.json", data={"name": "Copy", "folder": folder_param(15)})
    assert clone["result"][0]["tags"] is None and clone["result"][0]["costs"] is None  # present, null when empty
    copy = clone["result"][0]["id"]
    updated = (
        await call(
            "POST",
            f"program/{copy}.json",
            data={
                "description": "updated",
                "tags": json.dumps([{"tagType": "Region", "tagValue": "EMEA"}]),
                "costs": json.dumps([{"startDate": "2026-01-01", "cost": 200, "note": "Ads"}]),
            },
        )
    )["result"][0]
    assert updated["tags"] == [{"tagType": "Region", "tagValue": "EMEA"}]
    assert updated["costs"] == [{"startDate": "2026-01-01", "cost": 200, "note": "Ads"}]
    appended = (
        await call("POST", f"program/{copy}.json", data={"costs": json.dumps([{"startDate": "2026-02-01", "cost": 5}])})
    )["result"][0]
    assert [c["cost"] for c in appended["costs"]] == [200, 5]  # appended, as Adobe describes
    cleared = (await call("POST", f"program/{copy}.json", data={"costsDestructiveUpdate": "true"}))["result"][0]
    assert cleared["costs"] is None and cleared["tags"] == [{"tagType": "Region", "tagValue": "EMEA"}]

    by_id = (await call("GET", f"program/{copy}.json"))["result"][0]
    assert "tags" in by_id and "costs" in by_id
    plain = (await call("GET", "program/byName.json", params={"name": "Copy"}))["result"][0]
    assert "tags" not in plain and "costs" not in plain
    asked = (
        await call("GET", "program/byName.json", params={"name": "Copy", "includeTags": "true", "includeCosts": "true"})
    )["result"][0]
    assert asked["tags"] == [{"tagType": "Region", "tagValue": "EMEA"}] and asked["costs"] is None
    browsed = (await call("GET", "programs.json", params={"maxReturn": 200}))["result"]
    assert all("tags" not in p and "costs" not in p for p in browsed)


# 4. Request sizes, methods and `_method=GET`.


async def test_a_uri_over_8_kb_gets_414_and_the_same_query_as_a_post_with_method_get_is_answered(
    simulator, http, call
) -> None:
    headers = auth(await token_of(http, simulator))
    wanted = sorted(simulator.instances[MID].store.programs)[:3]
    # Long filter values, as a client asking for many ids at once sends them.
    values = ",".join([str(ident) for ident in wanted] + [f"{9_000_000 + n}" for n in range(1200)])
    query = {"filterType": "id", "filterValues": values, "maxReturn": "200"}
    too_long = await http.get(f"{ASSET}/programs.json", params=query, headers=headers)
    assert too_long.status_code == 414
    as_post = await http.post(f"{ASSET}/programs.json", params={"_method": "GET"}, data=query, headers=headers)
    assert as_post.status_code == 200
    assert [p["id"] for p in as_post.json()["result"]] == wanted
    assert len(simulator.instances[MID].store.programs) == 20  # answered as the browse, not a create
    in_the_body = await call("POST", "program/byName.json", data={"_method": "GET", "name": "x"})
    assert in_the_body["success"] is True and "result" not in in_the_body


async def test_a_body_over_1_mb_gets_413(simulator, http) -> None:
    headers = auth(await token_of(http, simulator))
    answer = await http.post(
        f"{ASSET}/folders.json",
        data={"name": "Big", "parent": folder_param(15), "description": "x" * (1024 * 1024)},
        headers=headers,
    )
    assert answer.status_code == 413
    assert not any(f.name == "Big" for f in simulator.instances[MID].store.folders.values())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "program/1000/clone.json"),
        ("POST", "folder/15/content.json"),
        ("POST", "program/byName.json"),
        ("DELETE", "program/1000.json"),
        ("PUT", "folders.json"),
    ],
)
async def test_a_method_a_resource_does_not_serve_gets_605_and_is_not_counted(simulator, call, method, path) -> None:
    instance = simulator.instances[MID]
    instance.limits.calls_per_window = 1
    assert error_of(await call(method, path)) == "605"
    assert error_of(await call(method, path)) == "605"  # the window's one call was not spent
    assert (await call("GET", "programs.json"))["success"] is True
    assert error_of(await call("GET", "no/such/resource.json")) in ("606", "610")
    assert instance.limits.calls_per_window == 1 and instance.stats.rate_limited == 1


# 5. The endpoints the product and its users need.


async def test_create_program_as_adobe_documents_it_then_get_it_by_id(simulator, call) -> None:
    created = (
        await call(
            "POST",
            "programs.json",
            data={
                "name": "API Test Program",
                "folder": folder_param(DEFAULT_WORKSPACE),
                "description": "Sample API Program",
                "type": "Default",
                "channel": "Content",
                "costs": json.dumps([{"startDate": "2015-01-01", "cost": 2000}]),
            },
        )
    )["result"][0]
    assert created["type"] == "Default" and created["channel"] == "Content" and created["status"] == ""
    assert created["folder"] == {"type": "Folder", "value": DEFAULT_WORKSPACE, "folderName": "Default"}
    assert created["tags"] is None and created["costs"] == [{"startDate": "2015-01-01", "cost": 2000}]
    assert created["url"].endswith(f"#PG{created['id']}A1")
    by_id = (await call("GET", f"program/{created['id']}.json"))["result"][0]
    assert by_id == created
    refused = [
        ({"name": "API Test Program", "type": "Default", "channel": "Content"}, "709"),  # names are unique
        ({"name": "Wrong channel", "type": "Email", "channel": "Content"}, "709"),  # not an Email program's
        ({"name": "In the studio", "type": "Default", "channel": "Content", "folder": folder_param(EMAILS)}, "711"),
        ({"name": "No folder", "type": "Default", "channel": "Content", "folder": ""}, "701"),
    ]
    for data, code in refused:
        assert error_of(await call("POST", "programs.json", data={"folder": folder_param(15), **data})) == code, data


async def test_update_a_folder_archives_and_renames_it(simulator, call) -> None:
    made = (await call("POST", "folders.json", data={"name": "Old", "parent": folder_param(15)}))["result"][0]
    updated = (
        await call(
            "POST",
            f"folder/{made['id']}.json",
            data={"type": "Folder", "name": "New", "description": "renamed", "isArchive": "true"},
        )
    )["result"][0]
    assert (updated["name"], updated["description"], updated["isArchive"]) == ("New", "renamed", True)
    assert updated["path"] == "/Marketing Activities/Default/New"
    again = (await call("GET", f"folder/{made['id']}.json", params={"type": "Folder"}))["result"][0]
    assert again["isArchive"] is True
    restored = await call("POST", f"folder/{made['id']}.json", data={"type": "Folder", "isArchive": "false"})
    assert restored["result"][0]["isArchive"] is False
    program = min(simulator.instances[MID].store.programs)
    assert error_of(await call("POST", f"folder/{program}.json", data={"type": "Program", "name": "x"})) == "709"
    assert (
        error_of(await call("POST", f"folder/{DEFAULT_WORKSPACE}.json", data={"type": "Folder", "name": "x"})) == "709"
    )
    assert error_of(await call("POST", f"folder/{made['id']}.json", data={"name": "no type"})) == "701"


async def test_delete_a_folder_only_when_empty_and_neither_a_system_folder_nor_a_program(simulator, call) -> None:
    store = simulator.instances[MID].store
    made = (await call("POST", "folders.json", data={"name": "Temporary", "parent": folder_param(15)}))["result"][0]
    inner = (await call("POST", "folders.json", data={"name": "Inner", "parent": folder_param(made["id"])}))["result"][
        0
    ]
    assert error_of(await call("POST", f"folder/{made['id']}/delete.json", data={"type": "Folder"})) == "709"
    assert (await call("POST", f"folder/{inner['id']}/delete.json", data={"type": "Folder"}))["result"] == [
        {"id": inner["id"]}
    ]
    assert (await call("POST", f"folder/{made['id']}/delete.json", data={"type": "Folder"}))["result"] == [
        {"id": made["id"]}
    ]
    assert made["id"] not in store.folders
    assert error_of(await call("POST", f"folder/{EMAILS}/delete.json", data={"type": "Folder"})) == "709"
    program = min(store.programs)
    refused = await call("POST", f"folder/{program}/delete.json", data={"type": "Program"})
    assert error_of(refused) == "709" and "Folder API" in refused["errors"][0]["message"]
    assert program in store.programs


async def test_delete_a_program_then_it_is_found_no_more_and_its_clone_is_refused(simulator, call) -> None:
    store = simulator.instances[MID].store
    program = min(store.programs)
    assert (await call("POST", f"program/{program}/delete.json"))["result"] == [{"id": program}]
    gone = await call("GET", f"program/{program}.json")
    assert gone["success"] is True and "result" not in gone
    assert program not in {p["id"] for p in (await call("GET", "programs.json", params={"maxReturn": 200}))["result"]}
    # A deleted template's clone may be answered 709, not 610: only asking for the program tells why.
    refused = await call("POST", f"program/{program}/clone.json", data={"name": "Copy", "folder": folder_param(15)})
    assert error_of(refused) == "709"
    assert (
        error_of(await call("POST", "program/424242/clone.json", data={"name": "Copy", "folder": folder_param(15)}))
        == "610"
    )


async def test_marketorestpython_shapes_post_parameters_in_the_query_string_with_lenient_json(simulator, http) -> None:
    headers = auth(await token_of(http, simulator))

    async def post(path: str, **params: str) -> dict:
        return (await http.post(f"{ASSET}/{path}", params=params, headers=headers)).json()

    made = (await post("folders.json", name="Lenient", parent="{'id': 15, 'type': Folder}"))["result"][0]
    assert made["path"] == "/Marketing Activities/Default/Lenient"
    renamed = (await post(f"folder/{made['id']}.json", type="Folder", name="Lenient 2", isArchive="False"))["result"][0]
    assert renamed["name"] == "Lenient 2"
    program = (
        await post(
            "programs.json",
            name="Lenient program",
            folder=f"{{'id': {made['id']}, 'type': Folder}}",
            type="Engagement",
            channel="Nurture",
            tags="[{'tagType': 'Region', 'tagValue': 'NA'}]",
        )
    )["result"][0]
    assert program["status"] == "off" and program["tags"] == [{"tagType": "Region", "tagValue": "NA"}]
    assert (await post(f"program/{program['id']}/delete.json"))["result"] == [{"id": program["id"]}]
    assert (await post(f"folder/{made['id']}/delete.json", type="Folder"))["result"] == [{"id": made["id"]}]
