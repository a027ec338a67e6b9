"""The product's rules, tested as plain functions: no database, no web."""

import pytest

from domain import defaults, entitlements, launcher_rules
from domain.endpoints import Endpoints, host_allowed, resolve_endpoints
from domain.errors import UserError, UserErrorCode
from domain.names import name_error
from domain.notifications import account_label
from domain.sync_state import SyncState, account_sync_state, launcher_creation
from resolvers.ids import decode_id, encode_id

S = SyncState


# entitlements


def test_within_the_plan_an_integration_is_admitted_without_trial():
    assert (
        entitlements.admit_integration(entitlements.PlanLimits(2), 1, confirm_trial=False)
        is entitlements.Admission.WITHIN_PLAN
    )


@pytest.mark.parametrize("used", [1, 2, 7])
def test_at_or_over_the_limit_the_trial_must_be_confirmed(used):
    limits = entitlements.PlanLimits(1)
    assert (
        entitlements.admit_integration(limits, used, confirm_trial=False) is entitlements.Admission.NEEDS_CONFIRMATION
    )
    assert entitlements.admit_integration(limits, used, confirm_trial=True) is entitlements.Admission.TRIAL


def test_confirm_trial_within_the_plan_is_not_a_trial():
    assert (
        entitlements.admit_integration(entitlements.PlanLimits(3), 0, confirm_trial=True)
        is entitlements.Admission.WITHIN_PLAN
    )


def test_trial_confirmation_carries_the_product_copy_word_for_word():
    confirmation = entitlements.trial_confirmation(entitlements.PlanLimits(1), 1)
    assert confirmation.title == "Unlock new marketing possibilities!"
    assert confirmation.confirm_label == "Proceed" and confirmation.cancel_label == "Cancel"
    assert confirmation.body == (
        "We've granted you a free trial access to a new Jeto feature: integrating with a additional Marketo "
        "instances. To permanently add more integration(s) to your subscription, simply connect with your "
        "account manager."
    )
    assert (confirmation.limit, confirmation.used) == (1, 1)


def test_plan_limits_default_to_one_integration_and_unlimited_users():
    assert entitlements.PlanLimits.from_data({}) == entitlements.PlanLimits(1, None)
    assert entitlements.PlanLimits.from_data({"platform_integrations": 4, "users": 10}).to_data() == {
        "platform_integrations": 4,
        "users": 10,
    }


def test_raising_the_limit_turns_the_oldest_trials_into_plan_integrations():
    assert entitlements.trial_flags_after_limit_change(2, [False, True, True]) == [False, False, True]
    assert entitlements.trial_flags_after_limit_change(1, [False, False]) == [False, False]


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_a_limit_out_of_range_is_refused(limit):
    assert entitlements.limit_error(limit)


# default integration


def test_only_the_first_integration_becomes_default():
    assert defaults.default_for_new_integration(0) is True
    assert defaults.default_for_new_integration(1) is False


def test_the_oldest_remaining_integration_succeeds_a_deleted_default():
    ranks = [defaults.IntegrationRank(7, False, 7), defaults.IntegrationRank(3, False, 3)]
    assert defaults.successor_default(ranks) == 3
    assert defaults.successor_default([]) is None


def test_switching_the_default_leaves_exactly_one():
    ranks = [defaults.IntegrationRank(i, i == 1, i) for i in (1, 2, 3)]
    flags = defaults.defaults_after_switch(ranks, 3)
    assert flags == {1: False, 2: False, 3: True}
    with pytest.raises(ValueError):
        defaults.defaults_after_switch(ranks, 9)


# launchers


def test_the_only_integration_is_used_when_none_is_named():
    assert launcher_rules.launcher_integration(None, [5]) == 5


def test_an_integration_must_be_named_when_there_are_several():
    result = launcher_rules.launcher_integration(None, [5, 6])
    assert isinstance(result, UserError) and result.code is UserErrorCode.PLATFORM_INTEGRATION_REQUIRED


def test_a_named_integration_of_another_account_is_not_found():
    result = launcher_rules.launcher_integration(9, [5, 6])
    assert isinstance(result, UserError) and result.code is UserErrorCode.NOT_FOUND


def test_a_launcher_integration_cannot_change():
    assert launcher_rules.integration_change_error(5, None) is None
    assert launcher_rules.integration_change_error(5, 5) is None
    assert launcher_rules.integration_change_error(5, 6).code is UserErrorCode.PLATFORM_INTEGRATION_IMMUTABLE


def test_folders_and_programs_must_come_from_the_launcher_integration():
    chosen = [launcher_rules.ChosenAsset("destinationFolderId", 5), launcher_rules.ChosenAsset("templateProgramId", 6)]
    errors = launcher_rules.ownership_errors(5, chosen)
    assert [(e.code, e.field) for e in errors] == [
        (UserErrorCode.WRONG_PLATFORM_INTEGRATION, ("input", "templateProgramId"))
    ]


def test_an_integration_in_use_cannot_be_deleted():
    assert launcher_rules.deletion_error(0) is None
    assert launcher_rules.deletion_error(2).code is UserErrorCode.PLATFORM_INTEGRATION_IN_USE


# sync state


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], S.NEVER_SYNCED),
        ([S.NEVER_SYNCED, S.COMPLETED], S.NEVER_SYNCED),
        ([S.COMPLETED, S.COMPLETED], S.COMPLETED),
        ([S.COMPLETED, S.QUEUED], S.SYNCING),
        ([S.SYNCING, S.NEVER_SYNCED], S.SYNCING),
        ([S.SYNCING, S.ERROR], S.ERROR),
        ([S.COMPLETED, S.ERROR], S.ERROR),
    ],
)
def test_account_sync_state_aggregates_as_the_contract_says(states, expected):
    assert account_sync_state(states) is expected


def test_launcher_creation_is_refused_while_any_integration_is_queued_or_syncing():
    assert launcher_creation([("A", S.COMPLETED), ("B", S.ERROR)]).allowed
    verdict = launcher_creation([("A", S.COMPLETED), ("B", S.QUEUED)])
    assert not verdict.allowed and verdict.reason is UserErrorCode.SYNC_IN_PROGRESS and "'B'" in verdict.message


def test_launcher_creation_needs_an_integration_first():
    verdict = launcher_creation([])
    assert not verdict.allowed and verdict.reason is UserErrorCode.PLATFORM_INTEGRATION_REQUIRED
    assert verdict.message == launcher_rules.launcher_integration(None, []).message


# endpoints


def test_identity_endpoint_is_derived_from_the_rest_endpoint():
    result = resolve_endpoints("https://123-ABC-456.mktorest.com/rest/", None, ["*.mktorest.com"], ("c",))
    assert result == Endpoints("https://123-abc-456.mktorest.com/rest", "https://123-abc-456.mktorest.com/identity")


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "ftp://123-ABC-456.mktorest.com/rest",
        "https://123-ABC-456.mktorest.com/api",
        "https://user:pw@123-ABC-456.mktorest.com/rest",
        "https://123-ABC-456.mktorest.com/rest?x=1",
        "http://123-ABC-456.mktorest.com/rest",
        "https://123-ABC-456.mktorest.com:99999/rest",
    ],
)
def test_malformed_endpoints_are_invalid_input(url):
    result = resolve_endpoints(url, None, ["*"], ("c",))
    assert isinstance(result, list) and result[0].code is UserErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    "url", ["https://169.254.169.254/rest", "https://internal.corp/rest", "https://mktorest.com.evil.test/rest"]
)
def test_hosts_outside_the_allowed_patterns_are_refused(url):
    result = resolve_endpoints(url, None, ["*.mktorest.com"], ("c",))
    assert isinstance(result, list) and result[0].code is UserErrorCode.ENDPOINT_NOT_ALLOWED


def test_an_identity_endpoint_on_another_host_is_checked_too():
    result = resolve_endpoints(
        "https://1-A-1.mktorest.com/rest", "https://10.0.0.1/identity", ["*.mktorest.com"], ("c",)
    )
    assert isinstance(result, list) and result[0].field == ("c", "identityEndpoint")


def test_host_patterns_match_the_host_only():
    assert host_allowed("https://123-ABC-456.mktorest.com/rest", ["*.mktorest.com"])
    assert not host_allowed("https://evil.test/x.mktorest.com/rest", ["*.mktorest.com"])
    assert host_allowed("http://127.0.0.1:8800/100-AAA-001/rest", ["127.0.0.1"])


# names


@pytest.mark.parametrize("name", ["", "   ", "x" * 300, "bad\x00name", "lone \ud800", "c1 \x85 control", "tab\there"])
def test_bad_names_are_invalid_input(name):
    assert name_error(name, ("input", "name")).code is UserErrorCode.INVALID_INPUT


def test_a_normal_name_is_accepted():
    assert name_error("  Spring   launch ", ("input", "name")) is None
    assert name_error("Été 🚀 東京", ("input", "name")) is None


def test_text_that_cannot_be_stored_is_named():
    from domain.names import unstorable

    assert unstorable("fine – ünïcode 🚀") is None
    assert "control" in unstorable("a\x00b") and "Unicode" in unstorable("a\udfffb")


# notifications


def test_the_account_label_names_the_integration_only_when_there_are_several():
    assert account_label("Acme", "EMEA", 1) == "Acme"
    assert account_label("Acme", "EMEA", 2) == "Acme (EMEA)"


# ids


def test_global_ids_round_trip_and_reject_garbage():
    assert decode_id(encode_id("Launcher", 42)) == ("Launcher", 42)
    for garbage in ["", "!!!", encode_id("Launcher", 1)[:-2] + "@@", "TGF1bmNoZXI6eA"]:
        assert decode_id(garbage) is None


# sync policy

from datetime import UTC, datetime, timedelta  # noqa: E402

from domain import sync_policy  # noqa: E402


def test_retries_back_off_and_stop():
    delays = [sync_policy.retry_delay(a).total_seconds() for a in range(1, 7)]
    assert delays == [5, 15, 45, 135, 300, 300]
    assert sync_policy.should_retry(1, True) and not sync_policy.should_retry(5, True)
    assert not sync_policy.should_retry(1, False)


def test_a_sync_is_full_after_new_credentials_or_once_a_day():
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert sync_policy.sync_is_full(needs_full_sync=True, last_full_sync_at=now, now=now)
    assert sync_policy.sync_is_full(needs_full_sync=False, last_full_sync_at=None, now=now)
    assert not sync_policy.sync_is_full(needs_full_sync=False, last_full_sync_at=now - timedelta(hours=2), now=now)
    assert sync_policy.sync_is_full(needs_full_sync=False, last_full_sync_at=now - timedelta(hours=25), now=now)


def test_recurring_sync_cadence():
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert sync_policy.recurring_sync_cutoff(now, timedelta(minutes=60)) == datetime(2026, 11, 24, 23, tzinfo=UTC)
