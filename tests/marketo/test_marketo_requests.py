"""The exact requests the client sends, and how it reads answers, checked with respx."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import aclosing
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from marketo import (
    AccessDenied,
    DailyQuotaExceeded,
    FolderRef,
    InvalidCredentials,
    MarketoCredentials,
    MarketoPool,
    MarketoUnreachable,
    OutcomeUnknown,
    TokenRejected,
)

HOST = "https://123-ABC-456.mktorest.com"
ASSET = f"{HOST}/rest/asset/v1"
SECRET = "the-client-secret"
CREDENTIALS = MarketoCredentials(f"{HOST}/rest", f"{HOST}/identity", "client-1", SECRET)  # type: ignore[arg-type]


def token_body(value: str = "tok-1:int", expires_in: int = 3599) -> dict:
    return {"access_token": value, "token_type": "bearer", "expires_in": expires_in, "scope": "api@acme.com"}


def ok(result: list[dict] | None) -> dict:
    if not result:
        return {
            "success": True,
            "errors": [],
            "requestId": "1#2",
            "warnings": ["No assets found for the given search criteria."],
        }
    return {"success": True, "errors": [], "requestId": "1#2", "warnings": [], "result": result}


def fail(code: str, message: str = "error") -> dict:
    return {"requestId": "1#2", "success": False, "errors": [{"code": code, "message": message}]}


def program(id: int) -> dict:
    return {
        "id": id,
        "name": f"P{id}",
        "type": "Default",
        "channel": "Content",
        "folder": {"type": "Folder", "value": 20, "folderName": "F"},
        "status": "",
        "createdAt": "2024-01-01T00:00:00Z+0000",
        "updatedAt": "2024-01-02T00:00:00Z+0000",
    }


def folder(id: int, kind: str = "Folder") -> dict:
    return {
        "id": id,
        "name": f"F{id}",
        "folderId": {"id": id, "type": kind},
        "folderType": "Marketing Folder",
        "parent": {"id": 14, "type": "Folder"},
        "path": f"/Marketing Activities/F{id}",
        "isSystem": False,
        "createdAt": "2024-01-01T00:00:00Z+0000",
        "updatedAt": "2024-01-01T00:00:00Z+0000",
        "url": None,
    }


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
async def mock() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{HOST}/identity/oauth/token").respond(json=token_body())
        yield router


@pytest.fixture
async def client(make_pool: Callable[..., MarketoPool]):
    return make_pool(page_size=2).client(CREDENTIALS)


async def test_identity_is_asked_as_adobe_documents_it_and_the_secret_reaches_no_log(mock, client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    token = await client.get_token()
    request = mock.calls.last.request
    # GET /identity/oauth/token?grant_type=client_credentials&client_id=…&client_secret=…
    assert request.method == "GET" and request.content == b""
    assert dict(request.url.params) == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": SECRET,
    }
    assert token.expires_in == 3599 and token.scope == "api@acme.com"
    assert "tok-1" not in repr(token)
    assert "oauth/token" in caplog.text  # httpx logged the call...
    assert SECRET not in caplog.text  # ...without the secret in its URL


async def test_the_token_travels_only_in_the_authorization_header(mock, client) -> None:
    route = mock.get(f"{ASSET}/program/byName.json").respond(json=ok([program(5)]))
    found = await client.get_program_by_name("Spring Launch")
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok-1:int"
    assert "access_token" not in str(request.url)
    assert request.url.params["name"] == "Spring Launch"
    assert found is not None and found.id == 5


async def test_program_paging_sends_offset_max_return_and_the_updated_since_filter(mock, client) -> None:
    pages = {0: [program(1), program(2)], 2: [program(3), program(4)], 4: [program(5)]}
    route = mock.get(f"{ASSET}/programs.json").mock(
        side_effect=lambda request: httpx.Response(200, json=ok(pages.get(int(request.url.params["offset"]))))
    )
    since = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    programs = await client.list_programs(earliest_updated_at=since)
    assert [p.id for p in programs] == [1, 2, 3, 4, 5]
    first = route.calls[0].request.url.params
    assert first["earliestUpdatedAt"] == "2025-01-02T03:04:05Z"
    assert first["maxReturn"] == "2" and first["offset"] == "0"
    assert "latestUpdatedAt" not in first
    offsets = sorted(int(call.request.url.params["offset"]) for call in route.calls)
    assert offsets[:3] == [0, 2, 4]


async def test_paging_stops_on_the_no_assets_warning_even_after_a_full_page(mock, client) -> None:
    pages = {0: [program(1), program(2)], 2: [program(3), program(4)]}
    route = mock.get(f"{ASSET}/programs.json").mock(
        side_effect=lambda request: httpx.Response(200, json=ok(pages.get(int(request.url.params["offset"]))))
    )
    programs = await client.list_programs()
    assert [p.id for p in programs] == [1, 2, 3, 4]
    # Look-ahead is bounded by the in-flight cap (5): pages past the end cost at most that.
    assert len(route.calls) <= 1 + 5 + 1


async def test_a_short_first_page_is_the_only_call(mock, client) -> None:
    route = mock.get(f"{ASSET}/programs.json").respond(json=ok([program(1)]))
    assert [p.id for p in await client.list_programs()] == [1]
    assert len(route.calls) == 1


async def test_browsing_folders_sends_root_as_json_and_dedupes_by_id_and_type(mock, client) -> None:
    pages = {0: [folder(14), folder(20)], 2: [folder(20), folder(20, "Program")], 4: [folder(21)]}
    route = mock.get(f"{ASSET}/folders.json").mock(
        side_effect=lambda request: httpx.Response(200, json=ok(pages.get(int(request.url.params["offset"]))))
    )
    folders = await client.browse_folders(root=FolderRef(14, "Folder"), max_depth=5)
    assert [(f.id, f.type) for f in folders] == [(14, "Folder"), (20, "Folder"), (20, "Program"), (21, "Folder")]
    params = route.calls[0].request.url.params
    assert json.loads(params["root"]) == {"id": 14, "type": "Folder"}
    assert params["maxDepth"] == "5"


async def test_a_listing_taken_up_at_an_offset_asks_from_there_and_says_where_each_page_ends(mock, client) -> None:
    pages = {4: [program(5), program(6)], 6: [program(6), program(8)], 8: [program(9)]}
    route = mock.get(f"{ASSET}/programs.json").mock(
        side_effect=lambda request: httpx.Response(200, json=ok(pages.get(int(request.url.params["offset"]))))
    )
    since = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with aclosing(client.program_listing(since, start=4)) as listing:
        listed = [page async for page in listing]
    assert [([p.id for p in page.items], page.offset, page.end) for page in listed] == [
        ([5, 6], 4, 6),
        ([8], 6, 8),  # 6 was on the page before: listed once
        ([9], 8, 9),
    ]
    assert [page.last.id for page in listed if page.last] == [6, 8, 9]  # the record at end - 1, even a repeat
    assert min(int(call.request.url.params["offset"]) for call in route.calls) == 4
    assert route.calls[0].request.url.params["earliestUpdatedAt"] == "2025-01-02T03:04:05Z"


async def test_the_record_at_an_offset_is_one_call_asking_for_one(mock, client) -> None:
    programs = mock.get(f"{ASSET}/programs.json").mock(
        side_effect=lambda request: httpx.Response(
            200, json=ok([program(7)] if request.url.params["offset"] == "3" else None)
        )
    )
    folders = mock.get(f"{ASSET}/folders.json").respond(json=ok([folder(21)]))
    assert (await client.program_at(3)).id == 7
    assert await client.program_at(9, earliest_updated_at=datetime(2025, 1, 2, tzinfo=UTC)) is None
    assert [dict(call.request.url.params)["maxReturn"] for call in programs.calls] == ["1", "1"]
    assert programs.calls[1].request.url.params["earliestUpdatedAt"] == "2025-01-02T00:00:00Z"
    found = await client.folder_at(FolderRef(14, "Folder"), 40, max_depth=20)
    assert found is not None and (found.id, found.type) == (21, "Folder")
    params = folders.calls.last.request.url.params
    assert (json.loads(params["root"]), params["maxDepth"], params["maxReturn"], params["offset"]) == (
        {"id": 14, "type": "Folder"},
        "20",
        "1",
        "40",
    )


async def test_without_a_root_folders_are_browsed_from_the_roots_adobe_documents(mock, client) -> None:
    def root(ident: int, name: str) -> dict:
        return {**folder(ident), "name": name, "parent": None, "path": f"/{name}", "folderType": "Zone"}

    # A user's folder may bear an area's name: the root is the one without a parent.
    namesake = {**folder(77), "name": "Design Studio"}
    roots = {
        "Marketing Activities": [root(14, "Marketing Activities")],
        "Design Studio": [namesake, root(26, "Design Studio")],
    }
    by_name = mock.get(f"{ASSET}/folder/byName.json").mock(
        side_effect=lambda request: httpx.Response(200, json=ok(roots[request.url.params["name"]]))
    )
    trees = {
        14: [root(14, "Marketing Activities"), folder(15), folder(16)],
        26: [root(26, "Design Studio"), folder(27)],
    }

    def page(request: httpx.Request) -> httpx.Response:
        offset, tree = int(request.url.params["offset"]), trees[json.loads(request.url.params["root"])["id"]]
        return httpx.Response(200, json=ok(tree[offset : offset + 2]))

    browse = mock.get(f"{ASSET}/folders.json").mock(side_effect=page)
    folders = await client.browse_folders(max_depth=20)
    assert [f.id for f in folders] == [14, 15, 16, 26, 27]
    assert sorted(call.request.url.params["name"] for call in by_name.calls) == [
        "Design Studio",
        "Marketing Activities",
    ]
    assert all(call.request.url.params["type"] == "Folder" for call in by_name.calls) and len(by_name.calls) == 2
    assert all(call.request.url.params["maxDepth"] == "20" for call in browse.calls)
    first_pages = [
        json.loads(c.request.url.params["root"])["id"] for c in browse.calls if c.request.url.params["offset"] == "0"
    ]
    assert first_pages == [14, 26]  # each tree from its root, Marketing Activities first


async def test_create_folder_posts_a_form_with_parent_as_json(mock, client) -> None:
    route = mock.post(f"{ASSET}/folders.json").respond(json=ok([folder(30)]))
    created = await client.create_folder("Q3 Webinars", FolderRef(14, "Folder"), description="why")
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    body = form_of(request)
    assert body["name"] == "Q3 Webinars" and body["description"] == "why"
    assert json.loads(body["parent"]) == {"id": 14, "type": "Folder"}
    assert created.id == 30


async def test_clone_and_rename_post_to_the_program_paths(mock, client) -> None:
    clone = mock.post(f"{ASSET}/program/1107/clone.json").respond(json=ok([program(1200)]))
    rename = mock.post(f"{ASSET}/program/1200.json").respond(json=ok([program(1200)]))
    await client.clone_program(1107, "Copy", FolderRef(40, "Folder"))
    await client.rename_program(1200, "Renamed")
    body = form_of(clone.calls.last.request)
    assert body["name"] == "Copy" and json.loads(body["folder"]) == {"id": 40, "type": "Folder"}
    assert "description" not in body
    assert form_of(rename.calls.last.request) == {"name": "Renamed"}


async def test_not_found_lookups_return_none(mock, client) -> None:
    mock.get(f"{ASSET}/program/byName.json").respond(json=ok(None))
    mock.get(f"{ASSET}/folder/byName.json").respond(json=ok(None))
    assert await client.get_program_by_name("missing") is None
    assert await client.get_folder_by_name("missing") is None


async def test_a_refused_token_is_refreshed_and_the_call_replayed_once(mock, client) -> None:
    identity = mock.get(f"{HOST}/identity/oauth/token").mock(
        side_effect=[httpx.Response(200, json=token_body("old")), httpx.Response(200, json=token_body("new"))]
    )
    route = mock.get(f"{ASSET}/program/byName.json").mock(
        side_effect=[
            httpx.Response(200, json=fail("602", "Access token expired")),
            httpx.Response(200, json=ok([program(1)])),
        ]
    )
    assert (await client.get_program_by_name("x")) is not None
    assert len(identity.calls) == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == ["Bearer old", "Bearer new"]


async def test_a_token_refused_twice_surfaces_as_an_error(mock, client) -> None:
    route = mock.get(f"{ASSET}/program/byName.json").respond(json=fail("601", "Access token invalid"))
    with pytest.raises(TokenRejected) as caught:
        await client.get_program_by_name("x")
    assert len(route.calls) == 2
    assert "tok-1" not in str(caught.value)


async def test_a_dying_token_from_identity_is_not_used(mock, make_pool) -> None:
    identity = mock.get(f"{HOST}/identity/oauth/token").mock(
        side_effect=[
            httpx.Response(200, json=token_body("dying", 0)),
            httpx.Response(200, json=token_body("fresh", 3600)),
        ]
    )
    route = mock.get(f"{ASSET}/program/byName.json").respond(json=ok(None))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    await make_pool(sleep=sleep).client(CREDENTIALS).get_program_by_name("x")
    assert len(identity.calls) == 2
    assert slept and slept[0] >= 1  # Identity is asked again only once the dying token has ended
    assert route.calls.last.request.headers["Authorization"] == "Bearer fresh"


@pytest.mark.parametrize(("code", "error"), [("607", DailyQuotaExceeded), ("603", AccessDenied)])
async def test_quota_and_permission_errors_are_not_retried(mock, client, code, error) -> None:
    route = mock.get(f"{ASSET}/program/byName.json").respond(json=fail(code, "nope"))
    with pytest.raises(error) as caught:
        await client.get_program_by_name("x")
    assert len(route.calls) == 1
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "invalid_client", "error_description": "Bad client credentials"}),
        (401, {"error": "unauthorized", "error_description": "No client with requested id: client-1"}),
    ],
)
async def test_bad_credentials_are_a_typed_error_without_the_secret(mock, client, status, body) -> None:
    identity = mock.get(f"{HOST}/identity/oauth/token").respond(status, json=body)
    with pytest.raises(InvalidCredentials) as caught:
        await client.get_token()
    assert len(identity.calls) == 1
    assert body["error_description"] in str(caught.value)
    assert "Client Secret" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)


TRANSIENT_FAILURES = {
    # Marketo reports its own failures as 611 with HTTP 200: an HTTP 500 comes from the edge in front.
    "http-500": httpx.Response(500, text="<html>Internal Server Error</html>"),
    "http-502": httpx.Response(502, text="<html>Bad Gateway</html>"),
    "http-503": httpx.Response(503, text="<html>Service Unavailable</html>"),
    "604": httpx.Response(200, json=fail("604", "Request timed out")),
    "608": httpx.Response(200, json=fail("608", "API Temporarily Unavailable")),
    "611": httpx.Response(200, json=fail("611", "System error")),
    "614": httpx.Response(200, json=fail("614", "Invalid Subscription")),
    "615": httpx.Response(200, json=fail("615", "Concurrent access limit '10' reached")),
    "713": httpx.Response(200, json=fail("713", "Transient Error")),
    "719": httpx.Response(200, json=fail("719", "Lock wait timeout exception")),
    "connect-error": httpx.ConnectError("refused"),
    "connect-timeout": httpx.ConnectTimeout("no answer to SYN"),
    "pool-timeout": httpx.PoolTimeout("no free connection"),
    "read-timeout": httpx.ReadTimeout("slow"),
    "dropped": httpx.RemoteProtocolError("Server disconnected without sending a response."),
    "read-error": httpx.ReadError("connection reset"),
}
# A change is repeated only after failures where Marketo surely did not make it: an error in its
# answer (6xx: "not executed"; 713, 719: failed), or no connection made.
NOT_PROCESSED = ["604", "608", "611", "614", "615", "713", "719", "connect-error", "connect-timeout", "pool-timeout"]
MAYBE_PROCESSED = sorted(set(TRANSIENT_FAILURES) - set(NOT_PROCESSED))


@pytest.mark.parametrize("failure", sorted(TRANSIENT_FAILURES))
async def test_transient_failures_of_a_read_are_retried(mock, client, failure) -> None:
    route = mock.get(f"{ASSET}/program/byName.json").mock(
        side_effect=[TRANSIENT_FAILURES[failure], httpx.Response(200, json=ok([program(1)]))]
    )
    found = await client.get_program_by_name("n")
    assert found is not None and found.id == 1
    assert len(route.calls) == 2


@pytest.mark.parametrize("failure", NOT_PROCESSED)
async def test_a_change_is_repeated_after_a_failure_that_surely_did_not_make_it(mock, client, failure) -> None:
    route = mock.post(f"{ASSET}/program/1.json").mock(
        side_effect=[TRANSIENT_FAILURES[failure], httpx.Response(200, json=ok([program(1)]))]
    )
    renamed = await client.rename_program(1, "n")
    assert renamed.id == 1
    assert len(route.calls) == 2


@pytest.mark.parametrize("failure", MAYBE_PROCESSED)
async def test_a_change_that_may_have_been_made_is_not_repeated_but_reported_as_unknown(mock, client, failure) -> None:
    route = mock.post(f"{ASSET}/program/1107/clone.json").mock(
        side_effect=[TRANSIENT_FAILURES[failure], httpx.Response(200, json=ok([program(1200)]))]
    )
    with pytest.raises(OutcomeUnknown) as caught:
        await client.clone_program(1107, "Copy", FolderRef(40, "Folder"))
    assert len(route.calls) == 1
    assert caught.value.retryable is True
    assert "may have" in str(caught.value)


async def test_reads_and_changes_wait_as_long_as_marketo_may_take_identity_does_not(mock, make_pool) -> None:
    # Adobe: "Asset APIs have a timeout of 300s". A read cut at 60 s was cut again on each of its retries.
    client = make_pool().client(CREDENTIALS)
    read = mock.get(f"{ASSET}/program/byName.json").respond(json=ok(None))
    write = mock.post(f"{ASSET}/program/1107/clone.json").respond(json=ok([program(1200)]))
    await client.get_program_by_name("x")
    await client.clone_program(1107, "Copy", FolderRef(40, "Folder"))
    assert read.calls.last.request.extensions["timeout"]["read"] > 300
    assert write.calls.last.request.extensions["timeout"]["read"] > 300
    identity = mock.calls[0].request
    assert identity.url.path.endswith("/oauth/token") and identity.extensions["timeout"]["read"] == 60


async def test_within_a_deadline_a_call_waits_only_what_is_left_and_is_not_retried_past_it(mock, make_pool) -> None:
    from marketo import RetryPolicy, deadline

    pool = make_pool(retry=RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=4.0))
    client = pool.client(CREDENTIALS)
    await client.get_token()
    route = mock.get(f"{ASSET}/program/byName.json").mock(
        side_effect=[httpx.Response(200, json=fail("604", "Request timed out")), httpx.Response(200, json=ok(None))]
    )
    with deadline(0.5):
        with pytest.raises(MarketoUnreachable) as caught:
            await client.get_program_by_name("x")
    # The only retry would have slept past the deadline (backoff of at least 1 s): it was not made.
    assert len(route.calls) == 1 and caught.value.code == "604" and caught.value.retryable
    assert route.calls[0].request.extensions["timeout"]["read"] <= 0.5
    with deadline(30):
        with deadline(0.5):  # the earlier of two deadlines holds
            mock.get(f"{ASSET}/program/1.json").respond(json=ok([program(1)]))
            await client.get_program(1)
    assert mock.calls.last.request.extensions["timeout"]["read"] <= 0.5


async def test_retries_give_up_with_a_retryable_typed_error(mock, make_pool) -> None:
    from marketo import RetryPolicy

    pool = make_pool(retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002))
    route = mock.get(f"{ASSET}/program/byName.json").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(MarketoUnreachable) as caught:
        await pool.client(CREDENTIALS).get_program_by_name("x")
    assert len(route.calls) == 3
    assert caught.value.retryable is True
    assert "try again later" in str(caught.value)


async def test_a_606_holds_the_instance_for_a_window_before_retrying(mock, make_pool) -> None:
    import time

    from marketo import InstanceLimits

    sent: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(time.monotonic())
        if len(sent) == 1:
            return httpx.Response(200, json=fail("606", "Max rate limit '100' exceeded with in '20' secs"))
        return httpx.Response(200, json=ok([program(1)]))

    mock.get(f"{ASSET}/program/byName.json").mock(side_effect=answer)
    pool = make_pool(limits=InstanceLimits(calls_per_window=50, window_seconds=0.2, max_in_flight=5))
    assert await pool.client(CREDENTIALS).get_program_by_name("x") is not None
    assert len(sent) == 2
    assert sent[1] - sent[0] >= 0.2 - 0.005


async def test_a_call_queued_past_its_token_s_expiry_takes_a_new_token_once_it_may_go(make_pool) -> None:
    from marketo import InstanceLimits

    now = [0.0]
    first_call_held = asyncio.Event()
    release_first_call = asyncio.Event()
    identity_calls = 0
    sent_tokens: list[str] = []

    async def marketo(request: httpx.Request) -> httpx.Response:
        nonlocal identity_calls
        if request.url.path.endswith("/oauth/token"):
            identity_calls += 1
            return httpx.Response(200, json=token_body("old", 100) if identity_calls == 1 else token_body("new", 3600))
        token = request.headers["Authorization"].removeprefix("Bearer ")
        sent_tokens.append(token)
        expired = token == "old" and now[0] >= 100  # checked on arrival
        if len(sent_tokens) == 1:
            first_call_held.set()
            await release_first_call.wait()
        return httpx.Response(200, json=fail("602", "Access token expired") if expired else ok(None))

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pool = make_pool(
        transport=httpx.MockTransport(marketo),
        clock=lambda: now[0],
        sleep=sleep,
        limits=InstanceLimits(calls_per_window=50, window_seconds=20, max_in_flight=1),
    )
    client = pool.client(CREDENTIALS)
    first = asyncio.ensure_future(client.get_program_by_name("a"))
    await first_call_held.wait()
    queued = asyncio.ensure_future(client.get_program_by_name("b"))  # waits for the one place in flight
    for _ in range(5):
        await asyncio.sleep(0)
    now[0] = 102.0  # it waited there past the end of the token it would have taken
    release_first_call.set()
    assert await first is None and await queued is None
    assert sent_tokens == ["old", "new"]  # no 602 and replay: the token is taken once the call may be sent
    assert identity_calls == 2


@pytest.mark.parametrize("code", ["606", "615"])
async def test_an_instance_others_keep_saturating_gives_up_with_rate_limited(mock, make_pool, code) -> None:
    from marketo import InstanceLimits, RateLimited, RetryPolicy

    pool = make_pool(
        retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002),
        limits=InstanceLimits(calls_per_window=50, window_seconds=0.01, max_in_flight=5),
    )
    route = mock.get(f"{ASSET}/program/byName.json").respond(json=fail(code, "limit"))
    with pytest.raises(RateLimited) as caught:
        await pool.client(CREDENTIALS).get_program_by_name("x")
    assert len(route.calls) == 3
    assert caught.value.code == code and caught.value.retryable
    assert "other integrations" in str(caught.value).lower()


async def test_pages_are_read_as_leniently_as_marketo_writes_them(mock, client) -> None:
    """Decoded straight from bytes into records: nulls, string ids, unknown fields and both folder shapes."""
    odd = {
        "id": "7",
        "name": None,
        "type": None,
        "channel": "Webinar",
        "folder": {},
        "status": None,
        "createdAt": "2024-01-01T00:00:00Z+0000",
        "updatedAt": None,
        "headStart": False,
        "tags": [{"tagType": "Region", "tagValue": "EMEA"}],
    }
    in_folder = {**program(8), "folder": {"id": 30, "type": "Program"}}  # the folders' shape
    mock.get(f"{ASSET}/programs.json").mock(
        side_effect=lambda request: httpx.Response(
            200, json=ok({0: [odd, in_folder]}.get(int(request.url.params["offset"])))
        )
    )
    seven, eight = await client.list_programs()
    assert (seven.id, seven.name, seven.type, seven.channel, seven.status) == (7, "", "", "Webinar", "")
    assert seven.folder is None and seven.updated_at is None
    assert seven.created_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert eight.folder == FolderRef(30, "Program") and eight.name == "P8"
    mock.get(f"{ASSET}/folders.json").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=ok({0: [{**folder(9), "folderId": None, "isSystem": None}]}.get(int(request.url.params["offset"]))),
        )
    )
    (nine,) = await client.browse_folders(root=FolderRef(9))
    assert (nine.id, nine.type, nine.is_system, nine.parent) == (9, "Folder", False, FolderRef(14, "Folder"))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<html>Service Unavailable</html>", "not JSON"),
        (b'{"success": true, "result": [1, 2]}', "unexpected body"),  # records that are not objects
        (b'{"success": true, "result": {"id": 1}}', "unexpected body"),
        (b"[]", "unexpected body"),
    ],
)
async def test_a_body_that_is_not_an_envelope_is_retried_then_reported(mock, make_pool, body, words) -> None:
    from marketo import RetryPolicy

    pool = make_pool(retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002))
    route = mock.get(f"{ASSET}/program/byName.json").respond(200, content=body)
    with pytest.raises(MarketoUnreachable) as caught:
        await pool.client(CREDENTIALS).get_program_by_name("x")
    assert len(route.calls) == 2
    assert caught.value.code == "invalid-json" and words in str(caught.value)


async def test_folder_kinds_compare_without_regard_to_case(mock, client) -> None:
    """Adobe's examples answer "FOLDER" in some calls (by name, create, update) and "Folder" in others."""
    shouted = {**folder(30), "folderId": {"id": 30, "type": "FOLDER"}, "parent": {"id": 15, "type": "FOLDER"}}
    mock.get(f"{ASSET}/folder/byName.json").respond(json=ok([shouted]))
    mock.get(f"{ASSET}/folder/30/content.json").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=ok(
                {0: [{"id": 31, "type": "PROGRAM"}, {"id": 32, "type": "folder"}]}.get(
                    int(request.url.params["offset"])
                )
            ),
        )
    )
    pages = {0: [folder(30), shouted], 2: [{**folder(33), "parent": {"id": 30, "type": "FOLDER"}}]}
    mock.get(f"{ASSET}/folders.json").mock(
        side_effect=lambda request: httpx.Response(200, json=ok(pages.get(int(request.url.params["offset"]))))
    )
    found = await client.get_folder_by_name("F30")
    assert found is not None and found.type == "Folder" and found.ref == FolderRef(30, "Folder")
    assert found.parent == FolderRef(15, "Folder")
    content = await client.folder_content(found.ref)
    assert content == [FolderRef(31, "Program"), FolderRef(32, "Folder")] and content[0].is_program
    # One folder, however its kind is spelled: listed once, and its child's parent is that folder.
    listed = await client.browse_folders(root=FolderRef(30), max_depth=1)
    assert [(f.id, f.type) for f in listed] == [(30, "Folder"), (33, "Folder")]
    assert listed[1].parent == listed[0].ref
