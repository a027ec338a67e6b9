"""What a transaction changed, announced once it commits.

Every write of an integration's sync status or of a campaign's status happens inside `changing()`, which
holds one transaction. The writer declares there what it changed (`sync_status_changed(id)`,
`campaign_changed(id)`), and `changing()` publishes an event of each once the transaction commits: never
before, never after a rollback, always through the one publisher the process installed (`publishing_to`).
Declaring outside `changing()` raises: a status cannot change unannounced, whoever changes it (a use case,
a worker's job, a command). Work queued for the worker is declared the same way (`work_queued()`, by
`jobs.enqueue`), and announced once committed too, so that a worker in any process starts on it at once
rather than at its next poll.

An event is read after the commit (events.sync_status_changed): read later than the change, it may be a
newer change's, never an older one's, and subscribers skip what they have shown already.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from tortoise.transactions import in_transaction

from domain import events
from domain.models import Campaign, PlatformIntegration

log = logging.getLogger("jeto.changes")

Announced = TypeVar("Announced", PlatformIntegration, Campaign)  # what has a status subscribers follow
Publish = Callable[[int, events.Event], Awaitable[None]]  # (account id, event), after the commit
WorkQueued = Callable[[], Awaitable[None]]  # after the commit of a transaction that queued jobs


class _Declared:
    def __init__(self) -> None:
        self.integrations: dict[int, None] = {}  # ordered sets: events go out in the order of the changes
        self.campaigns: dict[int, None] = {}
        self.work = False
        self.revoked_keys: dict[int, int] = {}  # API key id: its account's id


_declared: ContextVar[_Declared | None] = ContextVar("jeto_changes_declared", default=None)
_publisher: ContextVar[Publish | None] = ContextVar("jeto_changes_publisher", default=None)
_work_announcer: ContextVar[WorkQueued | None] = ContextVar("jeto_changes_work_announcer", default=None)


class Unannounced(RuntimeError):
    """A status changed outside `changing()`: nothing would announce it."""


@contextlib.contextmanager
def publishing_to(publish: Publish, work_queued: WorkQueued | None = None) -> Iterator[None]:
    """Where the events of the changes made within (and in the tasks started within) go, and who is told of
    queued work: each process's entry points install its bus here (a request of the API, the worker's loop, a
    command). Without `work_queued`, queued work waits for a worker's poll."""
    token = _publisher.set(publish)
    work_token = _work_announcer.set(work_queued)
    try:
        yield
    finally:
        _work_announcer.reset(work_token)
        _publisher.reset(token)


@contextlib.asynccontextmanager
async def changing() -> AsyncIterator[None]:
    """One transaction whose declared changes are announced once it commits. Nested in another, it is part of
    that one: its changes are announced when the outermost commits."""
    if _declared.get() is not None:
        async with in_transaction():
            yield
        return
    declared = _Declared()
    token = _declared.set(declared)
    try:
        async with in_transaction():
            yield
    finally:
        _declared.reset(token)
    await _announce(declared)


def _current(what: str) -> _Declared:
    declared = _declared.get()
    if declared is None:
        raise Unannounced(f"{what} changed outside domain.changes.changing(): nothing would announce it")
    return declared


def sync_status_changed(integration_id: int) -> None:
    """The integration's sync status (or its deletion) changed in this transaction."""
    _current(f"the sync status of integration {integration_id}").integrations[integration_id] = None


def campaign_changed(campaign_id: int) -> None:
    """The campaign's status (or name, or program) changed in this transaction."""
    _current(f"the status of campaign {campaign_id}").campaigns[campaign_id] = None


def api_key_revoked(account_id: int, key_id: int) -> None:
    """The API key was revoked in this transaction: every process closes the websockets signed in with it."""
    _current(f"API key {key_id}").revoked_keys[key_id] = account_id


def work_queued() -> None:
    """Jobs were queued in this transaction."""
    _current("queued work").work = True


async def _announce(declared: _Declared) -> None:
    await _announce_work(declared)
    publish = _publisher.get()
    if publish is None:
        if declared.integrations or declared.campaigns or declared.revoked_keys:  # no publisher installed
            log.warning("%d status changes committed with no publisher installed: not announced",
                        len(declared.integrations) + len(declared.campaigns) + len(declared.revoked_keys))  # fmt: skip
        return
    for integration_id in declared.integrations:
        await _send(publish, PlatformIntegration, integration_id, events.sync_status)
    for campaign_id in declared.campaigns:
        await _send(publish, Campaign, campaign_id, events.campaign)
    for key_id, account_id in declared.revoked_keys.items():
        try:
            await publish(account_id, events.api_key_revoked(key_id))
        except Exception as error:  # its sockets also close when they next read the key (a bus reconnect)
            log.warning("could not announce the revocation of API key %s: %s", key_id, type(error).__name__)


async def _announce_work(declared: _Declared) -> None:
    announce = _work_announcer.get()
    if declared.work and announce is not None:
        try:
            await announce()
        except Exception as error:  # the workers' poll finds the work anyway
            log.warning("could not announce queued work: %s", type(error).__name__)


async def _send(
    publish: Publish, model: type[Announced], pk: int, snapshot: Callable[[Announced], events.Event]
) -> None:
    """A lost event must not fail the change that was committed: subscribers read the state again on reconnect."""
    try:
        row = await model.get_or_none(id=pk)
        if row is not None:
            await publish(row.account_id, snapshot(row))
    except Exception as error:
        log.warning("could not announce a change of %s %s: %s", model.__name__, pk, type(error).__name__)
