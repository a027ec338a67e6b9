"""The long-lived objects of one process, made once at start-up and shared by every request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx

import marketo
from domain import events
from domain.endpoints import endpoint_not_allowed, host_allowed
from domain.models import ConnectionStatus, PlatformIntegration
from jeto.auth import Authenticator
from jeto.bus import RESYNC, Bus, open_bus
from jeto.mailer import Mailer
from jeto.observability import MarketoMetrics
from jeto.rate_limits import RateLimiter, open_rate_limiter
from jeto.secret_box import SecretBox
from jeto.settings import Settings
from marketo import connection
from marketo.credentials import MarketoCredentials
from marketo.errors import EndpointNotAllowed
from marketo.pool import MarketoPool
from marketo.transport import PerInstanceTransport
from marketo.worker.runner import Worker, WorkerSettings

log = logging.getLogger("jeto.services")

CONNECTION_TEST_TIMEOUT = 15.0


@dataclass
class Services:
    settings: Settings
    secret_box: SecretBox
    authenticator: Authenticator
    http: httpx.AsyncClient
    bus: Bus
    marketo: MarketoPool
    worker: Worker | None = None
    rate_limiter: RateLimiter | None = None  # None: JETO_RATE_LIMIT_STORE=off

    def credentials(self, integration: PlatformIntegration) -> MarketoCredentials:
        return MarketoCredentials(
            rest_endpoint=integration.rest_endpoint,
            identity_endpoint=integration.identity_endpoint,
            client_id=integration.client_id,
            client_secret=self.secret_box.open(integration.client_secret_encrypted),
            label=str(integration.id),  # metrics name integrations, never a customer's instance address
        )

    async def test_connection(self, integration: PlatformIntegration) -> ConnectionStatus:
        """The one Marketo call the API process makes itself (the use case records what it says): a token
        request, within CONNECTION_TEST_TIMEOUT, so that a slow instance never holds a request long."""
        with marketo.deadline(CONNECTION_TEST_TIMEOUT):
            status, error = await connection.test(self.marketo.client(self.credentials(integration)))
        if error is not None:
            log.info("connection test of integration %s failed: %s", integration.id, type(error).__name__)
        return status

    @contextlib.asynccontextmanager
    async def account_events(self, account_id: int) -> AsyncIterator[AsyncIterator[str | None]]:
        """The account's channel for a subscription: each message as published, None after the bus reconnected
        (what was published meanwhile is lost: the subscriber reads the current state again)."""
        async with self.bus.subscribe(events.account_channel(account_id)) as subscriber:

            async def messages() -> AsyncIterator[str | None]:
                async for event in subscriber:
                    yield None if event.message == RESYNC else event.message

            yield messages()

    async def work_queued(self) -> None:
        """Jobs were committed (domain/changes.py): every worker, in this process or another, looks now."""
        await self.bus.publish(events.WORK_CHANNEL, "")

    async def publish(self, account_id: int, event: events.Event) -> None:
        """The process's publisher of changes (domain/changes.py): after the commit, never inside a transaction."""
        try:
            await self.bus.publish(events.account_channel(account_id), event.encode())
        except Exception as error:  # a lost event must not fail the change that was committed
            log.warning("could not publish an event of account %s: %s", account_id, type(error).__name__)


class AllowedHostsOnly(httpx.AsyncBaseTransport):
    """Every Marketo request (token requests included) goes to an allowed host or nowhere: the list is checked at
    each connection, not only when endpoints are saved, so an integration saved while a host was allowed (every
    demo one, or before the list was narrowed) is not called once the list leaves that host out."""

    def __init__(self, inner: httpx.AsyncBaseTransport, allowed_hosts: tuple[str, ...]) -> None:
        self._inner = inner
        self._allowed_hosts = allowed_hosts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if not host_allowed(url, self._allowed_hosts):
            raise EndpointNotAllowed(endpoint_not_allowed(url, self._allowed_hosts))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, *, marketo_transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Services]:
    """The process's shared clients, opened together and closed in reverse (the ORM is opened by the caller)."""
    async with (
        httpx.AsyncClient() as http,
        open_bus(settings.broadcast_url) as bus,
        MarketoPool(
            transport=AllowedHostsOnly(marketo_transport or PerInstanceTransport(), settings.marketo_allowed_hosts),
            observer=MarketoMetrics(),
        ) as marketo,
        open_rate_limiter(settings) as rate_limiter,
    ):
        yield Services(
            settings=settings,
            secret_box=SecretBox(settings.secret_key),
            authenticator=Authenticator(settings, http),
            http=http,
            bus=bus,
            marketo=marketo,
            rate_limiter=rate_limiter,
        )


def make_worker(settings: Settings, services: Services) -> Worker:
    return Worker(
        pool=services.marketo,
        credentials=services.credentials,
        publish=services.publish,
        work_queued=services.work_queued,
        settings=WorkerSettings(
            sync_cadence=timedelta(minutes=settings.sync_interval_minutes),
            full_sync_every=settings.full_sync_every,
            lease=timedelta(seconds=settings.worker_lease_seconds),
            poll_interval=settings.worker_poll_seconds,
        ),
    )


class BackgroundWork:
    """The Marketo worker and the mailer of a process: started together, stopped in order (`stop`) before what
    they use (the database, the bus) closes."""

    def __init__(self, settings: Settings, services: Services) -> None:
        self.worker = services.worker = make_worker(settings, services)
        self.mailer = Mailer(settings.smtp_url)
        self._bus = services.bus
        self._tasks: list[asyncio.Task[None]] = []
        self._waker: asyncio.Task[None] | None = None

    def start(self) -> BackgroundWork:
        self._tasks = [asyncio.create_task(self.worker.run()), asyncio.create_task(self.mailer.run())]
        self._waker = asyncio.create_task(self._wake_on_queued_work())
        return self

    async def _wake_on_queued_work(self) -> None:
        """Work committed by any process wakes this worker at once; its poll stays, for what the bus lost."""
        async with self._bus.subscribe(events.WORK_CHANNEL) as announcements:
            async for _ in announcements:
                self.worker.wake()

    async def ended(self) -> None:
        """Returns if either stops by itself (it should not: a bug), raising what ended it."""
        done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()

    async def stop(self) -> None:
        """The worker stops taking work, brings its jobs to their checkpoints, hands them back and releases its
        leases; then the mailer ends after the email it is sending. Returns once both are done."""
        if self._waker is not None:
            self._waker.cancel()
        await self.worker.stop()
        self.mailer.stop()
        outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                log.error("background work ended with %s", type(outcome).__name__)
