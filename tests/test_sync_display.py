"""`jeto sync --wait`'s display: a bar against the integration's totals, honest without them, and redrawn
only on a terminal."""

import io
from types import SimpleNamespace

from domain.sync_state import SyncState
from jeto.sync_command import Totals, _Display, progress_line, share_done


def run(state: SyncState, folders: int = 0, programs: int = 0) -> SimpleNamespace:
    return SimpleNamespace(state=state, folders_synced=folders, programs_synced=programs)


def test_the_bar_measures_the_run_against_what_the_integration_held():
    held = Totals(folders=12, programs=48)
    line = progress_line(run(SyncState.SYNCING, 6, 24), held)
    assert line.startswith("[" + "#" * 12 + "-" * 12 + "]  50% SYNCING")
    assert line.endswith("folders 6/12  programs 24/48")


def test_the_bar_reaches_the_end_only_when_the_run_has_completed():
    held = Totals(folders=2, programs=2)
    assert share_done(run(SyncState.SYNCING, 10, 10), held) == 0.99  # more than last time: not done yet
    assert share_done(run(SyncState.COMPLETED, 1, 0), held) == 1.0  # an incremental run that changed little
    assert "100% COMPLETED" in progress_line(run(SyncState.COMPLETED, 1, 0), held)


def test_with_nothing_to_measure_against_there_is_no_bar():
    line = progress_line(run(SyncState.SYNCING, 3, 40), None)
    assert "[" not in line and "%" not in line and line == "SYNCING   folders 3  programs 40"
    assert share_done(run(SyncState.SYNCING, 3, 40), Totals(0, 0)) is None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_redrawn_line_and_a_log_one_line_per_state():
    frames = [
        run(SyncState.QUEUED),
        run(SyncState.SYNCING, 1, 0),
        run(SyncState.SYNCING, 2, 5),
        run(SyncState.SYNCING, 2, 9),
        run(SyncState.COMPLETED, 2, 9),
    ]
    held = Totals(2, 10)
    terminal, log = Terminal(), io.StringIO()
    for out in (terminal, log):
        display = _Display(out)
        for frame in frames:
            display.show(frame, held)
        display.end()
    assert terminal.getvalue().count("\r") == len(frames) and terminal.getvalue().count("\n") == 1
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert [line.split()[2] for line in lines] == ["QUEUED", "SYNCING", "COMPLETED"]


def test_only_a_run_that_fetches_every_program_is_measured_against_the_totals():
    """An incremental run fetches what changed: against the totals its bar went from 0% to 100% (programs 0/60)."""
    from datetime import UTC, datetime, timedelta

    from jeto.sync_command import measured_against

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    day = timedelta(hours=24)
    held = Totals(folders=12, programs=60)

    def integration(**fields):
        defaults = {"needs_full_sync": False, "last_full_sync_at": now - timedelta(hours=1), "last_succeeded_at": now}
        return SimpleNamespace(**{**defaults, **fields})

    assert measured_against(integration(), held, now, day) is None  # incremental: counts only
    assert measured_against(integration(last_full_sync_at=now - day), held, now, day) == held  # a full one is due
    assert measured_against(integration(needs_full_sync=True), held, now, day) == held  # new credentials
    assert measured_against(integration(last_succeeded_at=None), held, now, day) == held  # never succeeded
    assert measured_against(integration(needs_full_sync=True), Totals(0, 0), now, day) is None  # nothing held yet
