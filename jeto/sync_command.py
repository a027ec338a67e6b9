"""`jeto sync PI_ID [--wait] [--full]`: queue a sync, and follow it live with a progress line and a summary.

The bar measures the run's folders and programs against what the integration held before it (its totals
from the last sync, as GraphQL's `folders`/`programs` totalCount show them), when the run fetches every
program (a full sync, which `--full` asks for); an incremental run fetches only what changed, and with
nothing held yet there is nothing honest to measure against either, so the line shows counts only then.
On a terminal the line is redrawn in place; anywhere else (a log, a pipe) one line is written per change
of state.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from domain import changes, events, syncs
from domain.errors import Rejected
from domain.models import PlatformIntegration, SyncRun
from domain.sync_state import SyncState
from jeto.bus import open_bus
from jeto.settings import Settings

BAR_WIDTH = 24


class SyncFailed(Exception):
    pass


@dataclass(frozen=True)
class Totals:
    folders: int
    programs: int

    @property
    def items(self) -> int:
        return self.folders + self.programs


async def held(integration_id: int) -> Totals:
    """What the integration holds now: its folders' and programs' totalCount."""
    return Totals(*await syncs.holdings(integration_id))


def measured_against(
    integration: PlatformIntegration, before: Totals, now: datetime, full_sync_every: timedelta
) -> Totals | None:
    """The totals the run about to start can be measured against: the integration's, if it fetches everything."""
    fetches_everything = syncs.fetches_every_program(integration, now, full_sync_every)
    return before if fetches_everything and before.items else None


def share_done(run: SyncRun, expected: Totals | None) -> float | None:
    """0..1, or None when there is nothing to measure against; below 1 until the run has COMPLETED."""
    if run.state is SyncState.COMPLETED:
        return 1.0
    if expected is None or expected.items == 0:
        return None
    return min((run.folders_synced + run.programs_synced) / expected.items, 0.99)


def progress_line(run: SyncRun, expected: Totals | None, width: int = BAR_WIDTH) -> str:
    share = share_done(run, expected)
    if share is None or expected is None:
        return f"{run.state.value:<9} folders {run.folders_synced:,}  programs {run.programs_synced:,}" + _trouble(run)
    filled = round(share * width)
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {share:>4.0%} {run.state.value:<9} "
        f"folders {run.folders_synced:,}/{expected.folders:,}  programs {run.programs_synced:,}/{expected.programs:,}"
    ) + _trouble(run)


def _trouble(run: SyncRun) -> str:
    """Why a run in ERROR failed, in the words the API gives (SyncRun.error), and when it is tried again."""
    if run.state is not SyncState.ERROR or not run.error:
        return ""
    again = f"; next attempt at {run.next_attempt_at.astimezone():%H:%M:%S}" if run.next_attempt_at else ""
    return f"  ({run.error}{again})"


def summary(integration: PlatformIntegration, run: SyncRun, now_held: Totals, seconds: float) -> str:
    """What the integration holds after the run: an incremental run that changed nothing still reads whole."""
    return (
        f"Synced {integration.name} in {seconds:.1f} s (attempt {run.attempts}): "
        f"it now holds {now_held.folders:,} folders and {now_held.programs:,} programs."
    )


class _Display:
    """Redraws one line on a terminal; elsewhere writes a line only when the state changes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()
        self._last_state: SyncState | None = None
        self._width = 0

    def show(self, run: SyncRun, expected: Totals | None) -> None:
        line = progress_line(run, expected)
        if self.live:
            self.out.write("\r" + line.ljust(self._width))
            self._width = len(line)
        elif run.state is not self._last_state:
            self.out.write(line + "\n")
        self._last_state = run.state
        self.out.flush()

    def end(self) -> None:
        if self.live:
            self.out.write("\n")
            self.out.flush()


async def sync(
    settings: Settings,
    integration_id: int,
    *,
    wait: bool,
    timeout: float,
    full: bool = False,
    out: TextIO = sys.stdout,
) -> str:
    """`full` asks for the next run to fetch every program (and so to remove those deleted in Marketo)."""
    integration = await PlatformIntegration.get_or_none(id=integration_id, deleted_at=None)
    if integration is None:
        raise SyncFailed(f"No platform integration with id {integration_id}.")
    before = await held(integration.id)
    live = not settings.broadcast_url.startswith("memory://")
    async with contextlib.AsyncExitStack() as stack:
        seen = None
        if live:  # the run's changes are announced to the API's subscribers, and wake us here
            broadcast = await stack.enter_async_context(open_bus(settings.broadcast_url))
            seen = await stack.enter_async_context(broadcast.subscribe(events.account_channel(integration.account_id)))

            async def publish(account_id: int, event: events.Event) -> None:
                await broadcast.publish(events.account_channel(account_id), event.encode())

            async def work_queued() -> None:  # the workers start on it at once
                await broadcast.publish(events.WORK_CHANNEL, "")

            stack.enter_context(changes.publishing_to(publish, work_queued))
        try:
            run = await syncs.request_sync(integration.id, full=full)
        except Rejected:
            raise SyncFailed(f"No platform integration with id {integration_id}.") from None
        await integration.refresh_from_db()
        expected = measured_against(integration, before, datetime.now(UTC), settings.full_sync_every)
        if full and run.state is not SyncState.QUEUED:
            expected = None  # a run that started before the request: its own kind, not necessarily a full one
        if not wait:
            return f"Sync {run.id} of {integration.name} is {run.state.value}."
        started = time.monotonic()
        display = _Display(out)
        async with asyncio.timeout(timeout):
            while True:
                await run.refresh_from_db()
                display.show(run, expected)
                if run.state is SyncState.COMPLETED:
                    display.end()
                    return summary(integration, run, await held(integration.id), time.monotonic() - started)
                if run.state is SyncState.ERROR and run.next_attempt_at is None:
                    display.end()
                    raise SyncFailed(f"The sync of {integration.name} failed: {run.error}")
                # Live events wake us at once; the short timeout keeps the counts moving between them.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.25):
                        if seen is not None:
                            await seen.get()
                        else:
                            await asyncio.sleep(1)
