"""The client against the simulator on a real local server: limits, token expiry, faults, isolation."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from marketo import (
    AccessDenied,
    DailyQuotaExceeded,
    FolderRef,
    InstanceLimits,
    InvalidCredentials,
    InvalidRequest,
    MarketoCredentials,
    MarketoUnreachable,
    OutcomeUnknown,
    RetryPolicy,
)
from tests.waiting import wait_until

MID = "100-AAA-001"
OTHER = "100-AAB-002"


def credentials_of(simulator, base_url: str, index: int = 0) -> MarketoCredentials:
    endpoint = simulator.endpoints(base_url)[index]
    return MarketoCredentials(
        endpoint["restEndpoint"], endpoint["identityEndpoint"], endpoint["clientId"], endpoint["clientSecret"]
    )


async def test_a_hundred_concurrent_calls_share_one_identity_request(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=20, window_seconds=0.2)
    pool = make_pool(limits=InstanceLimits(calls_per_window=50, window_seconds=0.2, max_in_flight=10))
    client = pool.client(credentials_of(simulator, base))
    names = [p.name for p in simulator.instances[MID].store.programs.values()]
    found = await asyncio.gather(*(client.get_program_by_name(names[i % 20]) for i in range(100)))
    assert [p.name for p in found] == [names[i % 20] for i in range(100)]
    stats = simulator.instances[MID].stats
    assert stats.identity_calls == 1
    assert stats.calls == 100


async def test_clients_of_the_same_service_share_a_token(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=5)
    pool = make_pool()
    first, second = pool.client(credentials_of(simulator, base)), pool.client(credentials_of(simulator, base))
    assert (await first.get_token()).value == (await second.get_token()).value
    assert simulator.instances[MID].stats.identity_calls == 1


async def test_alone_on_an_instance_the_client_never_gets_606_or_615(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(
        programs=300, calls_per_window=10, window_seconds=0.5, max_concurrent=3, latency=0.005
    )
    pool = make_pool(limits=InstanceLimits(calls_per_window=8, window_seconds=0.5, max_in_flight=3), page_size=20)
    programs = await pool.client(credentials_of(simulator, base)).list_programs()
    stats = simulator.instances[MID].stats
    assert sorted(p.id for p in programs) == sorted(simulator.instances[MID].store.programs)
    assert stats.calls > 10  # more calls than one window allows, so the window was really used
    assert stats.rate_limited == 0 and stats.concurrency_limited == 0
    assert stats.max_in_flight <= 3


async def test_time_waited_for_the_limits_is_a_metric_of_the_client(start_simulator, make_pool) -> None:
    from jeto.observability import REGISTRY, MarketoMetrics

    def waited() -> float:
        return sum(
            sample.value
            for metric in REGISTRY.collect()
            if metric.name == "jeto_marketo_throttle_wait_seconds"
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels["integration"] == credentials.observed_as
        )

    simulator, base = await start_simulator(programs=100)
    credentials = credentials_of(simulator, base)
    pool = make_pool(
        limits=InstanceLimits(calls_per_window=2, window_seconds=0.3, max_in_flight=2),
        page_size=20,
        observer=MarketoMetrics(),
    )
    before = waited()
    programs = await pool.client(credentials).list_programs()
    assert len(programs) == 100
    calls = simulator.instances[MID].stats.calls
    assert calls >= 6
    # 2 calls a window: the later calls each waited for a window to pass, and every wait was counted.
    assert waited() - before >= 0.3 * (calls // 2 - 1)


async def test_a_listing_ending_just_past_a_window_makes_only_the_calls_it_needs(start_simulator, make_pool) -> None:
    # 49 full pages and the "No assets found" page: exactly the window's 50 calls. The look-ahead pages
    # queued behind the spent window are cancelled when the end is seen and must never be sent.
    simulator, base = await start_simulator(programs=98, window_seconds=3)
    pool = make_pool(limits=InstanceLimits(calls_per_window=50, window_seconds=3, max_in_flight=5), page_size=2)
    programs = await pool.client(credentials_of(simulator, base)).list_programs()
    assert len(programs) == 98
    assert simulator.instances[MID].stats.calls == 50


async def test_other_integrations_spending_the_window_cause_606_which_is_waited_out(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=200, calls_per_window=10, window_seconds=0.3)
    limits = InstanceLimits(calls_per_window=8, window_seconds=0.3, max_in_flight=3)
    # Two processes, each believing it has 8 of the instance's 10 calls per window.
    ours, theirs = make_pool(limits=limits, page_size=20), make_pool(limits=limits, page_size=20)
    credentials = credentials_of(simulator, base)
    mine, others = await asyncio.gather(
        ours.client(credentials).list_programs(), theirs.client(credentials).list_programs()
    )
    assert len(mine) == len(others) == 200
    assert simulator.instances[MID].stats.rate_limited > 0


async def test_other_integrations_in_flight_cause_615_which_is_backed_off(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=200, max_concurrent=2, latency=0.01)
    pool = make_pool(limits=InstanceLimits(max_in_flight=5), page_size=20)
    programs = await pool.client(credentials_of(simulator, base)).list_programs()
    assert len(programs) == 200
    assert simulator.instances[MID].stats.concurrency_limited > 0


async def test_a_token_expiring_in_the_middle_of_paging_is_renewed_once(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=100)
    instance = simulator.instances[MID]
    client = make_pool(page_size=10).client(credentials_of(simulator, base))
    pages = []
    async with aclosing(client.iter_program_pages()) as stream:
        async for page in stream:
            pages.append(page)
            if len(pages) == 1:
                instance.expire_tokens()
    ids = [p.id for page in pages for p in page]
    assert sorted(ids) == sorted(instance.store.programs) and len(ids) == len(set(ids))
    assert instance.stats.token_errors["602"] >= 1
    assert instance.stats.identity_calls == 2
    assert instance.stats.tokens_issued == 2


async def test_with_short_lived_tokens_identity_is_asked_once_per_token(start_simulator, make_pool) -> None:
    # Identity answers with the same token until it has expired: asking before then is wasted.
    simulator, base = await start_simulator(programs=5, token_ttl=1)
    instance = simulator.instances[MID]
    client = make_pool(token_margin=0.3).client(credentials_of(simulator, base))
    while instance.stats.tokens_issued < 3:
        assert await client.get_program_by_name("nothing by this name") is None
        await asyncio.sleep(0.1)
    assert instance.stats.token_errors["602"] == 0
    # The one extra allowed: asked a moment before the old token ended, Identity answers it with 0 s left.
    assert instance.stats.identity_calls <= instance.stats.tokens_issued + 1


@pytest.mark.parametrize(
    "fault",
    [
        {"error_rates": {"604": 0.3}},
        {"error_rates": {"608": 0.3}},
        {"error_rates": {"611": 0.3}},
        {"error_rates": {"713": 0.3}},
        {"error_rates": {"719": 0.3}},
        {"http_502_rate": 0.3},
        {"drop_rate": 0.3},
    ],
    ids=["604", "608", "611", "713", "719", "http-502", "drop"],
)
async def test_transient_faults_are_retried_until_the_listing_is_complete(start_simulator, make_pool, fault) -> None:
    simulator, base = await start_simulator(programs=150, **fault)
    pool = make_pool(page_size=10, retry=RetryPolicy(max_attempts=12, base_delay=0.002, max_delay=0.01))
    programs = await pool.client(credentials_of(simulator, base)).list_programs()
    instance = simulator.instances[MID]
    assert sorted(p.id for p in programs) == sorted(instance.store.programs)
    assert sum(instance.stats.faults.values()) > 0


async def test_a_change_whose_answer_is_lost_is_reported_as_unknown_not_repeated(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(folders=5, programs=10)
    instance = simulator.instances[MID]
    client = make_pool().client(credentials_of(simulator, base))
    root = await client.get_folder_by_name("Marketing Activities")
    assert root is not None
    folder = await client.create_folder("Jeto Launches", root.ref)
    source = (await client.list_programs())[0]
    instance.faults.drop_after_rate = 1.0  # Marketo clones, then the connection drops before the answer
    with pytest.raises(OutcomeUnknown) as caught:
        await client.clone_program(source.id, "Spring Launch", folder.ref)
    assert caught.value.retryable
    # Repeating it would have failed with 709 "name already in use"; the caller reconciles instead.
    assert instance.stats.by_operation["clone_program"] == 1
    assert instance.stats.faults["drop-after"] == 1
    instance.faults.drop_after_rate = 0.0
    made = await client.get_program_by_name("Spring Launch")
    assert made is not None and made.folder == folder.ref


async def test_timeouts_are_retried_then_reported_as_unreachable(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=5, latency=0.25)
    pool = make_pool(timeout=0.05, retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002))
    with pytest.raises(MarketoUnreachable) as caught:
        await pool.client(credentials_of(simulator, base)).get_program_by_name("x")
    assert caught.value.code == "timeout" and caught.value.retryable
    await wait_until(lambda: simulator.instances[MID].stats.calls == 2)


async def test_access_denied_is_not_retried(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=5, error_rates={"603": 1.0})
    with pytest.raises(AccessDenied) as caught:
        await make_pool().client(credentials_of(simulator, base)).list_programs()
    assert simulator.instances[MID].stats.calls == 1
    assert "Users & Roles" in str(caught.value)


async def test_daily_quota_is_not_retried(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=5, daily_quota=2)
    client = make_pool().client(credentials_of(simulator, base))
    await client.get_program_by_name("a")
    await client.get_program_by_name("b")
    with pytest.raises(DailyQuotaExceeded) as caught:
        await client.get_program_by_name("c")
    assert caught.value.retryable is False
    assert simulator.instances[MID].stats.calls == 3


async def test_wrong_secret_is_reported_once_without_the_secret(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=5)
    good = credentials_of(simulator, base)
    bad = MarketoCredentials(good.rest_endpoint, good.identity_endpoint, good.client_id, "not-the-secret")  # type: ignore[arg-type]
    with pytest.raises(InvalidCredentials) as caught:
        await make_pool().client(bad).get_token()
    assert simulator.instances[MID].stats.identity_calls == 1
    assert "not-the-secret" not in str(caught.value) and "Bad client credentials" in str(caught.value)


async def test_a_blocked_instance_does_not_delay_another(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(instances=2, programs=120)
    blocked = simulator.instances[MID]
    blocked.faults.gate = asyncio.Event()
    pool = make_pool(page_size=20, limits=InstanceLimits(max_in_flight=10))
    stuck = pool.client(credentials_of(simulator, base, 0))
    slow = asyncio.ensure_future(
        asyncio.gather(stuck.list_programs(), *(stuck.get_program_by_name(f"p{i}") for i in range(12)))
    )
    try:
        await wait_until(lambda: blocked.stats.in_flight == 10)
        # Instance A now holds its full 10 calls open indefinitely; instance B must finish regardless.
        free = await asyncio.wait_for(pool.client(credentials_of(simulator, base, 1)).list_programs(), 5)
        assert len(free) == 120
        assert not slow.done()
        assert simulator.instances[OTHER].stats.by_operation["browse_programs"] >= 6
        assert blocked.stats.calls == blocked.stats.in_flight == 10  # none of A's calls finished
    finally:
        blocked.faults.gate.set()
    listing, *_ = await asyncio.wait_for(slow, 10)
    assert len(listing) == 120


async def test_a_throttled_instance_does_not_delay_another(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(instances=2, programs=100)
    pool = make_pool(page_size=20, limits=InstanceLimits(calls_per_window=2, window_seconds=60, max_in_flight=2))
    throttled = asyncio.ensure_future(pool.client(credentials_of(simulator, base, 0)).list_programs())
    await wait_until(lambda: simulator.instances[MID].stats.calls == 2)
    # A has spent its 2 calls for the next minute; B has its own budget of 2.
    other = pool.client(credentials_of(simulator, base, 1))
    assert await asyncio.wait_for(other.get_program_by_name("x"), 5) is None
    assert await asyncio.wait_for(other.get_folder_by_name("Marketing Activities"), 5) is not None
    assert not throttled.done()
    assert simulator.instances[MID].stats.calls == 2
    assert simulator.instances[OTHER].stats.by_operation == {"program_by_name": 1, "folder_by_name": 1}
    throttled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await throttled


async def test_cancelled_calls_free_their_place_and_a_queued_one_is_never_sent(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=5)
    instance = simulator.instances[MID]
    instance.faults.gate = asyncio.Event()
    pool = make_pool(limits=InstanceLimits(calls_per_window=50, window_seconds=20, max_in_flight=1))
    client = pool.client(credentials_of(simulator, base))
    in_flight = asyncio.ensure_future(client.get_program_by_name("a"))
    await wait_until(lambda: instance.stats.in_flight == 1)
    queued = asyncio.ensure_future(client.get_program_by_name("b"))  # behind the one place in flight
    for _ in range(10):
        await asyncio.sleep(0)
    in_flight.cancel()
    queued.cancel()
    outcomes = await asyncio.gather(in_flight, queued, return_exceptions=True)
    assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes)
    instance.faults.gate.set()
    # The one place is free again (a leaked one would hang this call)...
    assert await asyncio.wait_for(client.get_program_by_name("c"), 5) is None
    # ...and the call cancelled while queued was never sent: only "a" and "c" reached Marketo.
    assert instance.stats.by_operation == {"program_by_name": 2}


async def test_folders_and_program_lifecycle_against_the_simulator(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(folders=25, programs=60)
    client = make_pool(page_size=25).client(credentials_of(simulator, base))
    root = await client.get_folder_by_name("Marketing Activities")
    assert root is not None and root.folder_type == "Zone" and root.is_system
    workspace = await client.get_folder_by_name("Default", root=root.ref)
    assert workspace is not None and workspace.folder_type == "Zone" and workspace.parent == root.ref
    tree = await client.browse_folders(root=root.ref, max_depth=10)
    keys = [(f.id, f.type) for f in tree]
    assert len(keys) == len(set(keys)) == 2 + 25 + 60  # the root, its Default workspace, folders, programs
    assert {f.type for f in tree} == {"Folder", "Program"}
    assert all(f.path.startswith("/Marketing Activities") for f in tree)
    assert await client.get_folder_by_name("No such folder") is None

    folder = await client.create_folder("Jeto Launches", workspace.ref, description="made by a test")
    assert folder.parent == workspace.ref and folder.path == "/Marketing Activities/Default/Jeto Launches"
    source = (await client.list_programs())[0]
    clone = await client.clone_program(source.id, "Jeto clone", folder.ref)
    assert clone.folder == folder.ref and clone.type == source.type and clone.channel == source.channel
    renamed = await client.rename_program(clone.id, "Jeto clone renamed")
    assert renamed.id == clone.id and renamed.name == "Jeto clone renamed"
    assert (await client.get_program_by_name("Jeto clone renamed")).id == clone.id  # type: ignore[union-attr]
    with pytest.raises(InvalidRequest) as caught:
        await client.clone_program(source.id, "Jeto clone renamed", folder.ref)
    assert caught.value.code == "709" and not caught.value.retryable
    with pytest.raises(InvalidRequest):
        await client.create_folder("Orphan", FolderRef(424242, "Folder"))


async def test_a_rotated_secret_is_used_at_the_next_refresh(start_simulator, make_pool) -> None:
    simulator, base = await start_simulator(programs=5)
    pool = make_pool()
    good = credentials_of(simulator, base)
    stale = MarketoCredentials(good.rest_endpoint, good.identity_endpoint, good.client_id, "old-secret")  # type: ignore[arg-type]
    with pytest.raises(InvalidCredentials):
        await pool.client(stale).get_token()
    assert (await pool.client(good).get_token()).expires_in > 0
    assert simulator.instances[MID].stats.identity_calls == 2


async def test_a_slow_read_is_waited_for_and_a_callers_deadline_cuts_it_without_retries(
    start_simulator, make_pool
) -> None:
    import time

    from marketo import deadline

    simulator, base = await start_simulator(programs=5, latency=0.4)
    instance = simulator.instances[MID]
    client = make_pool().client(credentials_of(simulator, base))
    assert await client.get_program_by_name("x") is None  # slower than before, but answered: no timeout of ours
    started = time.monotonic()
    with deadline(0.15), pytest.raises(MarketoUnreachable) as caught:
        await client.get_program_by_name("y")
    assert caught.value.code == "timeout" and time.monotonic() - started < 0.35
    await wait_until(lambda: instance.stats.in_flight == 0)
    assert instance.stats.by_operation["program_by_name"] == 2  # the cut call was not tried again
    source = min(instance.store.programs)
    with deadline(0.15), pytest.raises(OutcomeUnknown):  # a change cut midway may have been made
        await client.clone_program(source, "Late copy", FolderRef(*instance.store.programs[source].folder))
    assert instance.stats.by_operation["clone_program"] == 1


async def test_a_call_still_waiting_for_its_turn_at_the_deadline_is_never_sent(start_simulator, make_pool) -> None:
    from marketo import deadline

    simulator, base = await start_simulator(programs=5)
    instance = simulator.instances[MID]
    instance.faults.gate = asyncio.Event()
    pool = make_pool(limits=InstanceLimits(calls_per_window=50, window_seconds=20, max_in_flight=1))
    client = pool.client(credentials_of(simulator, base))
    held = asyncio.ensure_future(client.get_program_by_name("a"))
    try:
        await wait_until(lambda: instance.stats.in_flight == 1)
        with deadline(0.1), pytest.raises(MarketoUnreachable) as caught:
            await asyncio.wait_for(client.clone_program(min(instance.store.programs), "Never sent", FolderRef(15)), 5)
        assert caught.value.code == "timeout" and not isinstance(caught.value, OutcomeUnknown)  # surely not made
    finally:
        instance.faults.gate.set()
    assert await held is None
    assert instance.stats.by_operation == {"program_by_name": 1}
