"""Notification emails: the copy, the account line with the integration's name, SMTP delivery and retries."""

import logging
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from domain.models import Notification, NotificationState, User
from domain.notifications import campaign_submitted
from jeto.mailer import Mailer
from jeto.settings import Secret
from tests.api import factories
from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER
from tests.conftest import free_port
from tests.worker.test_campaigns import two_instances


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_the_campaign_email_copy():
    subject, body = campaign_submitted(
        account="Acme (EMEA)", launcher="Webinars", campaign="Spring", submitted_on=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        submitted_by="Jane Doe (jane@acme.test)", marketo_program="Spring (created in EMEA)",
    )
    assert subject == "You have a new Jeto Campaign!"
    assert body.splitlines() == [
        "Account: Acme (EMEA)", "Launcher: Webinars", "Campaign name: Spring", "Submitted on: 2026-11-25 09:30 UTC",
        "Submitted by: Jane Doe (jane@acme.test)", "Marketo program: Spring (created in EMEA)",
    ]


async def test_admins_get_the_campaign_email_over_smtp_naming_the_integration_when_there_are_several(world, simulator, smtp_server):
    controller, inbox = smtp_server
    admin, launcher, _, _ = await two_instances(world, simulator)
    await User.filter(role="ADMIN").update(name="Ada Admin")
    collaborator_id, collaborator = await world.user((await User.filter(role="ADMIN").first()).account_id)
    await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": "Spring webinar"}})
    sent = await Mailer(Secret(f"smtp://127.0.0.1:{controller.port}")).send_due()
    assert sent == 1 and len(inbox.messages) == 1
    recipients, content = inbox.messages[0]
    assert recipients == [(await User.get(role="ADMIN")).email]  # admins only
    assert "Subject: You have a new Jeto Campaign!" in content
    assert "Account: Acme (EMEA)" in content
    assert "Launcher: EMEA webinars" in content and "Campaign name: Spring webinar" in content
    assert "Submitted by: Ada Admin (" in content and "Marketo program: Spring webinar (created in EMEA)" in content


async def test_with_one_integration_the_account_line_is_the_account_name_alone(world):
    _, admin = await world.account("Solo")
    await factories.integration(admin, "Only", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "L"}}))["createLauncher"]["launcher"]["id"]
    await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": "C"}})
    body = (await Notification.get()).body
    assert "Account: Solo\n" in body


async def test_a_failed_send_is_retried_and_the_mutation_never_waits_for_it(world, simulator, caplog):
    admin, launcher, _, _ = await two_instances(world, simulator)
    payload = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": "While SMTP is down"}}))["createCampaign"]
    assert payload["userErrors"] == []
    port = free_port()  # nothing listens there yet
    mailer = Mailer(Secret(f"smtp://127.0.0.1:{port}"))
    assert await mailer.send_due() == 0
    pending = await Notification.get()
    assert pending.state is NotificationState.PENDING and pending.attempts == 1 and pending.last_error
    inbox = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            inbox.append(envelope.content.decode())
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await Notification.all().update(send_after=datetime.now(UTC))  # the retry is due
        assert await mailer.send_due() == 1
    finally:
        controller.stop()
    assert len(inbox) == 1 and (await Notification.get()).state is NotificationState.SENT


async def test_without_smtp_the_email_is_logged(world, caplog):
    caplog.set_level(logging.INFO, logger="jeto.mail")
    _, admin = await world.account("Solo")
    await factories.integration(admin, "Only", "111-AAA-111")
    launcher = (await admin(CREATE_LAUNCHER, {"input": {"name": "L"}}))["createLauncher"]["launcher"]["id"]
    await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": "Logged"}})
    assert await Mailer(None).send_due() == 1
    assert "You have a new Jeto Campaign!" in caplog.text and "Campaign name: Logged" in caplog.text


async def test_a_sync_that_ends_in_error_notifies_the_admins_with_the_integration_named(world, simulator):
    from tests.worker.test_sync import connect

    _, admin = await world.account(limit=2)
    await connect(admin, simulator, 0, "US")
    instance = simulator.endpoints("http://127.0.0.1")[1]
    from tests.api.operations import CREATE_PI

    await admin(CREATE_PI, {"input": {"name": "EMEA", "confirmTrial": True, "credentials": {
        "clientId": instance["clientId"], "clientSecret": "wrong-secret-value", "restEndpoint": instance["restEndpoint"]}}})
    await world.worker().run_until_idle()
    mail = await Notification.get(subject="Jeto could not sync EMEA")
    assert "Account: Acme (EMEA)" in mail.body and "credentials" in mail.body.lower()
