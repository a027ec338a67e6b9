"""Sends the outbox's emails: with aiosmtplib when JETO_SMTP_URL is set, to the log otherwise; retries failures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib
from tortoise.transactions import in_transaction

from domain.models import Notification, NotificationState
from jeto.settings import Secret

log = logging.getLogger("jeto.mail")

SENDER = "Jeto <notifications@jeto.app>"
MAX_ATTEMPTS = 8
IN_FLIGHT = timedelta(minutes=5)  # a process that dies while sending leaves the email to be sent again then


def retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** (attempt - 1)))


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Mailer:
    def __init__(
        self,
        smtp_url: Secret | None,
        *,
        poll_interval: float = 2.0,
        sender: str = SENDER,
        tls_context: ssl.SSLContext | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._smtp = urlsplit(smtp_url.reveal()) if smtp_url else None
        self._poll_interval = poll_interval
        self._sender = sender
        self._tls_context = tls_context  # None: the system's trusted certificates
        self._now = clock
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Sends what is due every `poll_interval` until `stop()`: it ends between two emails, never inside one."""
        while not self._stopping.is_set():
            try:
                await self.send_due()
            except Exception:  # the database may be away a moment
                log.exception("could not send the notification emails")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._stopping.wait()

    def stop(self) -> None:
        """`run` ends after the email it is sending, if any."""
        self._stopping.set()

    async def send_due(self) -> int:
        """Sends every email due now; returns how many went out.

        Each database write is shielded: a stop (a cancellation) lands between writes, never inside one, where
        it would leave SQLite's connection locked for the rest of the process. A stop during the SMTP exchange
        leaves the email claimed; it goes out again once IN_FLIGHT has passed.
        """
        sent = 0
        while not self._stopping.is_set() and (notification := await asyncio.shield(self._claim())) is not None:
            try:
                await self._deliver(notification)
            except Exception as error:  # whatever it is, it is an attempt: MAX_ATTEMPTS ends the retries
                await asyncio.shield(self._failed(notification, self._describe(error)))
                continue
            await asyncio.shield(self._sent(notification))
            sent += 1
        return sent

    async def _sent(self, notification: Notification) -> None:
        await Notification.filter(id=notification.id).update(
            state=NotificationState.SENT, sent_at=self._now(), last_error=None
        )

    def _describe(self, error: Exception) -> str:
        """The error in words fit for a log and the outbox row: the SMTP password never appears."""
        text = f"{type(error).__name__}: {error}"
        password = unquote(self._smtp.password) if self._smtp and self._smtp.password else ""
        return text.replace(password, "***") if password else text

    async def _claim(self) -> Notification | None:
        now = self._now()
        async with in_transaction():
            notification = (
                await Notification.filter(state=NotificationState.PENDING, send_after__lte=now)
                .order_by("id")
                .select_for_update(skip_locked=True)
                .first()
            )
            if notification is None:
                return None
            notification.attempts += 1
            notification.send_after = now + IN_FLIGHT
            await notification.save(update_fields=["attempts", "send_after"])
            return notification

    async def _failed(self, notification: Notification, error: str) -> None:
        log.warning(
            "email %s to %s failed (attempt %s): %s",
            notification.id,
            notification.recipients,
            notification.attempts,
            error,
        )
        if notification.attempts >= MAX_ATTEMPTS:
            await Notification.filter(id=notification.id).update(state=NotificationState.FAILED, last_error=error)
        else:
            await Notification.filter(id=notification.id).update(
                send_after=self._now() + retry_delay(notification.attempts), last_error=error
            )

    async def _deliver(self, notification: Notification) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(notification.recipients)
        message["Subject"] = notification.subject
        message.set_content(notification.body)
        if self._smtp is None:
            log.info(
                "email (JETO_SMTP_URL unset, not sent) to %s: %s\n%s",
                ", ".join(notification.recipients),
                notification.subject,
                notification.body,
            )
            return
        await aiosmtplib.send(
            message,
            hostname=self._smtp.hostname,
            port=self._smtp.port or (465 if self._smtp.scheme == "smtps" else 25),
            username=unquote(self._smtp.username) if self._smtp.username else None,
            password=unquote(self._smtp.password) if self._smtp.password else None,
            use_tls=self._smtp.scheme == "smtps",
            start_tls=None,  # STARTTLS whenever the server offers it
            tls_context=self._tls_context,
            timeout=30,
        )
