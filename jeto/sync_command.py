"""`jeto sync PI_ID [--wait]`: queue a sync, and follow it live with a progress line and a summary."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import TextIO

from domain import events, syncs
from domain.models import PlatformIntegration, SyncRun, SyncTrigger
from domain.sync_state import SyncState
from jeto.bus import open_broadcast
from jeto.settings import Settings

SPINNER = "|/-\\"


class SyncFailed(Exception):
    pass


def progress_line(run: SyncRun, tick: int, width: int = 24) -> str:
    done = run.folders_synced + run.programs_synced
    filled = tick % (width + 1) if run.state is not SyncState.COMPLETED else width
    bar = "#" * filled + "-" * (width - filled)
    return (
        f"\r{SPINNER[tick % 4]} [{bar}] {run.state.value:<9} folders {run.folders_synced:>6,}"
        f"  programs {run.programs_synced:>7,}  ({done:,} items)"
    )


def summary(integration: PlatformIntegration, run: SyncRun, seconds: float) -> str:
    """The integration's totals, then what this run fetched (an incremental run fetches only changes)."""
    return (
        f"Synced {integration.name}: {integration.folders_synced:,} folders and {integration.programs_synced:,} programs "
        f"in {seconds:.1f} s (attempt {run.attempts}; fetched {run.folders_synced:,} folders and "
        f"{run.programs_synced:,} programs)."
    )


async def sync(settings: Settings, integration_id: int, *, wait: bool, timeout: float, out: TextIO = sys.stdout) -> str:
    integration = await PlatformIntegration.get_or_none(id=integration_id, deleted_at=None)
    if integration is None:
        raise SyncFailed(f"No platform integration with id {integration_id}.")
    run = await syncs.queue_sync(integration.id, SyncTrigger.MANUAL)
    live = not settings.broadcast_url.startswith("memory://")
    async with contextlib.AsyncExitStack() as stack:
        changes = None
        if live:
            broadcast = await stack.enter_async_context(open_broadcast(settings.broadcast_url))
            changes = await stack.enter_async_context(broadcast.subscribe(events.account_channel(integration.account_id)))
            await broadcast.publish(
                events.account_channel(integration.account_id), (await events.sync_status_changed(integration.id)).encode()
            )
        if not wait:
            return f"Sync {run.id} of {integration.name} is {run.state.value}."
        started, tick = time.monotonic(), 0
        async with asyncio.timeout(timeout):
            while True:
                await run.refresh_from_db()
                out.write(progress_line(run, tick))
                out.flush()
                if run.state is SyncState.COMPLETED:
                    out.write("\n")
                    await integration.refresh_from_db()
                    return summary(integration, run, time.monotonic() - started)
                if run.state is SyncState.ERROR and run.next_attempt_at is None:
                    out.write("\n")
                    raise SyncFailed(f"The sync of {integration.name} failed: {run.error}")
                tick += 1
                # Live events wake us at once; the short timeout keeps the spinner turning.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.25):
                        if changes is not None:
                            await changes.get()
                        else:
                            await asyncio.sleep(1)
