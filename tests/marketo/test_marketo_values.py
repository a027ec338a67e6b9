"""Pure values: secrets, datetimes, parsing, errors, backoff, limit settings."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from marketo import (
    AccessDenied,
    DailyQuotaExceeded,
    Folder,
    FolderRef,
    InstanceLimits,
    MarketoCredentials,
    MarketoUnreachable,
    Program,
    RetryPolicy,
    Secret,
)
from marketo.errors import InvalidRequest, error_for
from marketo.timestamps import format_marketo_datetime, format_query_datetime, parse_marketo_datetime


def test_secret_prints_as_stars_everywhere() -> None:
    secret = Secret("s3cr3t-value")
    credentials = MarketoCredentials("https://x/rest", "https://x/identity", "client", secret)
    for text in (repr(secret), str(secret), repr(credentials), str(credentials), f"{credentials}"):
        assert "s3cr3t-value" not in text
    assert repr(secret) == "'**********'"
    assert secret.reveal() == "s3cr3t-value"


def test_credentials_wrap_a_plain_string_secret_and_key_by_instance_and_service() -> None:
    credentials = MarketoCredentials(
        "https://123-ABC-456.mktorest.com/rest/", "https://123-ABC-456.mktorest.com/identity", "id", "plain"
    )  # type: ignore[arg-type]
    assert isinstance(credentials.client_secret, Secret)
    assert "plain" not in repr(credentials)
    assert credentials.rest_endpoint == "https://123-ABC-456.mktorest.com/rest"
    assert credentials.instance_key == "https://123-ABC-456.mktorest.com"
    assert credentials.token_key[:2] == ("https://123-ABC-456.mktorest.com/identity", "id")
    other_secret = MarketoCredentials(credentials.rest_endpoint, credentials.identity_endpoint, "id", "another")  # type: ignore[arg-type]
    assert other_secret.token_key != credentials.token_key
    assert credentials.client_secret.reveal() not in repr(credentials.token_key)


@pytest.mark.parametrize(
    "text",
    ["2015-05-21T22:45:13Z+0000", "2015-05-21T22:45:13Z", "2015-05-21T22:45:13+00:00", "2015-05-21T22:45:13"],
)
def test_marketo_datetimes_parse_to_aware_utc(text: str) -> None:
    assert parse_marketo_datetime(text) == datetime(2015, 5, 21, 22, 45, 13, tzinfo=UTC)


def test_datetime_formats_round_trip() -> None:
    moment = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert format_marketo_datetime(moment) == "2024-02-03T04:05:06Z+0000"
    assert parse_marketo_datetime(format_marketo_datetime(moment)) == moment
    assert format_query_datetime(moment) == "2024-02-03T04:05:06Z"
    assert parse_marketo_datetime(None) is None


def test_program_parses_marketos_folder_shape() -> None:
    program = Program.from_json(
        {
            "id": 1107,
            "name": "AAA2",
            "description": "d",
            "createdAt": "2015-05-21T22:45:13Z+0000",
            "updatedAt": "2015-05-22T22:45:13Z+0000",
            "url": "https://app/#PG1107A1",
            "type": "Default",
            "channel": "Online Advertising",
            "folder": {"type": "Program", "value": 1910, "folderName": "F"},
            "status": "",
            "workspace": "Default",
        }
    )
    assert program.folder == FolderRef(1910, "Program")
    assert program.updated_at == datetime(2015, 5, 22, 22, 45, 13, tzinfo=UTC)
    assert (program.type, program.channel, program.status) == ("Default", "Online Advertising", "")


def test_folder_takes_its_type_from_folder_id() -> None:
    folder = Folder.from_json(
        {
            "name": "Group Lists",
            "description": None,
            "createdAt": "2020-08-14T20:43:13Z+0000",
            "updatedAt": "2020-08-14T20:43:13Z+0000",
            "url": None,
            "folderId": {"id": 12, "type": "Folder"},
            "folderType": "List",
            "parent": {"id": 5, "type": "Folder"},
            "path": "/Lead Database/Default/Group Lists",
            "isArchive": False,
            "isSystem": True,
            "accessZoneId": 1,
            "workspace": "Default",
            "id": 12,
        }
    )
    assert folder.ref == FolderRef(12, "Folder")
    assert folder.parent == FolderRef(5, "Folder")
    assert folder.is_system and folder.folder_type == "List"


def test_folder_ref_is_sent_as_compact_json() -> None:
    assert FolderRef(14, "Folder").to_param() == '{"id":14,"type":"Folder"}'


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [
        ("603", AccessDenied, False),
        ("607", DailyQuotaExceeded, False),
        ("604", MarketoUnreachable, True),
        ("713", MarketoUnreachable, True),
        ("709", InvalidRequest, False),
        ("606", None, True),
    ],
)
def test_error_codes_map_to_typed_errors(code: str, kind: type | None, retryable: bool) -> None:
    error = error_for(code, "msg")
    if kind is not None:
        assert isinstance(error, kind)
    assert error.retryable is retryable
    assert error.code == code
    assert f"code {code}" in str(error)


def test_quota_error_tells_the_user_when_it_resets() -> None:
    assert "12:00 AM US Central" in str(error_for("607", "Daily quota reached"))


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = {policy.delay(attempt, rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


@pytest.mark.parametrize("options", [{"max_in_flight": 11}, {"calls_per_window": 101}, {"window_seconds": 0}])
def test_limits_refuse_values_beyond_marketos(options: dict) -> None:
    with pytest.raises(ValueError):
        InstanceLimits(**options)
