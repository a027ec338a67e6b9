"""The long-lived objects of one process, made once at start-up and shared by every request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from broadcaster import Broadcast

from domain import events, platform_integrations
from domain.endpoints import endpoint_not_allowed, host_allowed
from domain.models import ConnectionStatus, PlatformIntegration
from jeto.auth import Authenticator
from jeto.bus import RESYNC, open_broadcast
from jeto.mailer import Mailer
from jeto.observability import ACTIVE_SUBSCRIPTIONS, MarketoMetrics
from jeto.rate_limits import RateLimiter, open_rate_limiter
from jeto.secret_box import SecretBox
from jeto.settings import Settings
from marketo.credentials import MarketoCredentials
from marketo.errors import EndpointNotAllowed, InvalidCredentials, MarketoError
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
    broadcast: Broadcast
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
        """The one Marketo call the API process makes itself: ask the instance for a token."""
        try:
            async with asyncio.timeout(CONNECTION_TEST_TIMEOUT):
                await self.marketo.client(self.credentials(integration)).get_token()
            status = ConnectionStatus.CONNECTED
        except InvalidCredentials:
            status = ConnectionStatus.INVALID_CREDENTIALS
        except EndpointNotAllowed:
            status = ConnectionStatus.ENDPOINT_NOT_ALLOWED
        except (MarketoError, TimeoutError, httpx.HTTPError) as error:
            log.info("connection test of integration %s failed: %s", integration.id, type(error).__name__)
            status = ConnectionStatus.UNREACHABLE
        await platform_integrations.record_connection(integration.id, status)
        await self.publish(integration.account_id, events.sync_status_changed(integration.id))
        return status

    async def sync_queued(self, integration: PlatformIntegration) -> None:
        """After a sync was queued and committed: tell subscribers, and this process's worker if it has one."""
        await self.publish(integration.account_id, events.sync_status_changed(integration.id))
        self.wake_worker()

    async def campaign_changed(self, campaign: Any) -> None:
        """After a campaign change was committed: tell its subscribers, and wake the worker for its job."""
        await self.publish(campaign.account_id, events.campaign_changed(campaign.id))
        self.wake_worker()

    @contextlib.asynccontextmanager
    async def account_events(self, account_id: int) -> AsyncIterator[AsyncIterator[str | None]]:
        """The account's channel for a subscription: each message as published, None after the bus reconnected
        (what was published meanwhile is lost: the subscriber reads the current state again)."""
        ACTIVE_SUBSCRIPTIONS.inc()
        try:
            async with self.broadcast.subscribe(events.account_channel(account_id)) as subscriber:

                async def messages() -> AsyncIterator[str | None]:
                    async for event in subscriber:
                        yield None if event.message == RESYNC else event.message

                yield messages()
        finally:
            ACTIVE_SUBSCRIPTIONS.dec()

    async def api_key_revoked(self, account_id: int, key_id: int) -> None:
        """After a revocation was committed: every API process closes the websockets signed in with that key."""
        await self.publish(account_id, events.api_key_revoked(key_id))

    def wake_worker(self) -> None:
        """Jobs were committed: this process's worker, if it runs one, looks now rather than at its next poll."""
        if self.worker is not None:
            self.worker.wake()

    async def publish(self, account_id: int, event: events.Event | Awaitable[events.Event]) -> None:
        """Called after the commit, never inside a transaction, with the event or the read that makes it."""
        try:
            if not isinstance(event, events.Event):
                event = await event
            await self.broadcast.publish(channel=events.account_channel(account_id), message=event.encode())
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
        open_broadcast(settings.broadcast_url) as broadcast,
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
            broadcast=broadcast,
            marketo=marketo,
            rate_limiter=rate_limiter,
        )


def make_worker(settings: Settings, services: Services) -> Worker:
    return Worker(
        pool=services.marketo,
        credentials=services.credentials,
        publish=services.publish,
        settings=WorkerSettings(
            sync_cadence=timedelta(minutes=settings.sync_interval_minutes),
            full_sync_every=settings.full_sync_every,
            lease=timedelta(seconds=settings.worker_lease_seconds),
        ),
    )


async def run_background_work(settings: Settings, services: Services) -> None:
    """The Marketo worker and the mailer, until cancelled."""
    services.worker = make_worker(settings, services)
    await asyncio.gather(services.worker.run(), Mailer(settings.smtp_url).run())
