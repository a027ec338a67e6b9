"""Notification emails: the copy, the account line with the integration's name, SMTP delivery and retries."""

import contextlib
import dataclasses
import email
import ipaddress
import logging
import ssl
from datetime import UTC, datetime, timedelta
from email import policy

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from domain import outbox
from domain.models import Campaign, MarketoProgram, Notification, NotificationState, Role, User
from domain.notifications import campaign_submitted, program_created, program_not_created
from jeto.mailer import MAX_ATTEMPTS, Mailer, retry_delay
from jeto.services import BackgroundWork
from jeto.settings import InvalidSetting, Secret, Settings
from tests.api import factories
from tests.api.operations import CREATE_CAMPAIGN, CREATE_LAUNCHER, CREATE_PI
from tests.conftest import free_port
from tests.waiting import wait_until
from tests.worker.test_campaigns import RETRY, rename, submit, two_instances
from tests.worker.test_sync import connect

SUBJECT = "You have a new Jeto Campaign!"


class Inbox:
    def __init__(self):
        self.messages = []
        self.sessions = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        self.sessions.append({"tls": session.ssl is not None, "authenticated": bool(session.authenticated)})
        return "250 OK"


@contextlib.contextmanager
def smtp_on(port, **options):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    port = free_port()
    with smtp_on(port) as inbox:
        yield port, inbox


class Clock:
    """The mailer's "now", moved by the test."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def parsed(content):
    message = email.message_from_string(content, policy=policy.default)
    return message["Subject"], message.get_content().replace("\r\n", "\n")  # SMTP's line ends


def submitted_on(campaign):
    return f"{campaign.submitted_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def test_the_campaign_email_copy():
    subject, body = campaign_submitted(
        account="Acme (EMEA)",
        launcher="Webinars",
        campaign="Spring",
        submitted_on=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        submitted_by="Jane Doe (jane@acme.test)",
        marketo_program=program_created("Spring", "https://app-sim.marketo.com/#PG1031A1"),
    )
    assert subject == SUBJECT
    assert body.splitlines() == [
        "Account: Acme (EMEA)",
        "Launcher: Webinars",
        "Campaign name: Spring",
        "Submitted on: 2026-11-25 09:30 UTC",
        "Submitted by: Jane Doe (jane@acme.test)",
        "Marketo program: Spring (https://app-sim.marketo.com/#PG1031A1)",
    ]
    assert program_not_created("The launcher has no template program.") == (
        "could not be created. The launcher has no template program."
    )


async def test_admins_get_one_email_once_the_program_is_made_naming_it_and_its_link(world, simulator, smtp_server):
    port, inbox = smtp_server
    admin, launcher, _, _ = await two_instances(world, simulator)
    ada = await User.get(role="ADMIN")
    await User.filter(id=ada.id).update(name="Ada Admin")
    second_admin_id, _ = await world.user(ada.account_id, Role.ADMIN)
    await world.user(ada.account_id)  # a collaborator: not told
    campaign_id = await submit(admin, launcher, "Spring webinar")
    # Queued with the campaign, and held back a while so that it can name the program.
    queued = await Notification.get()
    assert queued.campaign_id == factories.pk(campaign_id) and queued.state is NotificationState.PENDING
    assert queued.body.endswith("Marketo program: being created in EMEA\n")
    assert await Mailer(Secret(f"smtp://127.0.0.1:{port}")).send_due() == 0 and inbox.messages == []
    await world.worker().run_until_idle()
    assert await Mailer(Secret(f"smtp://127.0.0.1:{port}")).send_due() == 1
    campaign = await Campaign.get(id=factories.pk(campaign_id))
    program = await MarketoProgram.get(id=campaign.marketo_program_id)
    assert program.url.startswith("https://app-sim.marketo.com/#") and program.url.endswith(f"{program.marketo_id}A1")
    [(recipients, content)] = inbox.messages
    assert recipients == [ada.email, (await User.get(id=second_admin_id)).email]  # every admin, admins only
    assert parsed(content) == (
        SUBJECT,
        "Account: Acme (EMEA)\n"
        "Launcher: EMEA webinars\n"
        "Campaign name: Spring webinar\n"
        f"Submitted on: {submitted_on(campaign)}\n"
        f"Submitted by: Ada Admin ({ada.email})\n"
        f"Marketo program: Spring webinar ({program.url})\n",
    )
    # Once per campaign: a rename, READY again afterwards, tells nobody.
    await rename(admin, campaign_id, "Summer webinar")
    await world.worker().run_until_idle()
    assert (await Campaign.get(id=campaign.id)).status.value == "READY"
    assert await Notification.all().count() == 1


async def test_a_campaign_whose_program_cannot_be_made_mails_why_once_naming_the_account_alone(world, simulator):
    _, admin = await world.account("Solo")
    integration, _ = await connect(admin, simulator, 0, "Only")
    await world.worker().run_until_idle()
    payload = await admin(CREATE_LAUNCHER, {"input": {"name": "No template", "platformIntegrationId": integration}})
    launcher = payload["createLauncher"]["launcher"]["id"]
    campaign_id = await submit(admin, launcher, "Orphan")
    queued = await Notification.get()
    await world.worker().run_until_idle()
    campaign = await Campaign.get(id=factories.pk(campaign_id))
    submitter = await User.get(id=campaign.submitted_by_id)
    mail = await Notification.get()
    assert mail.id == queued.id and mail.send_after <= datetime.now(UTC)  # the same email, due now
    assert (mail.subject, mail.body) == (
        SUBJECT,
        "Account: Solo\n"
        "Launcher: No template\n"
        "Campaign name: Orphan\n"
        f"Submitted on: {submitted_on(campaign)}\n"
        f"Submitted by: {submitter.email}\n"
        "Marketo program: could not be created. "
        "The launcher has no template program: choose one in the launcher, then retry the campaign.\n",
    )
    assert (await admin(RETRY, {"id": campaign_id}))["retryCampaign"]["userErrors"] == []
    await world.worker().run_until_idle()  # FAILED again
    assert await Notification.all().count() == 1


async def an_email(world):
    """One email to the admin of a new account, due now; returns its id and the moment it is due."""
    account_id, _ = await world.account()
    notification = await outbox.notify_admins(account_id, "Hello", "Body\n")
    return notification.id, notification.send_after


async def test_a_failed_send_is_tried_again_after_retry_delay_and_not_before(world):
    notification_id, due = await an_email(world)
    clock = Clock(due)
    port = free_port()  # nothing listens there yet
    mailer = Mailer(Secret(f"smtp://127.0.0.1:{port}"), clock=clock)
    assert await mailer.send_due() == 0
    failed = await Notification.get(id=notification_id)
    assert failed.state is NotificationState.PENDING and failed.attempts == 1 and failed.last_error
    with smtp_on(port) as inbox:
        clock.now = due + retry_delay(1) - timedelta(seconds=1)
        assert await mailer.send_due() == 0 and inbox.messages == []
        clock.now = due + retry_delay(1)
        assert await mailer.send_due() == 1
    assert len(inbox.messages) == 1
    sent = await Notification.get(id=notification_id)
    assert sent.state is NotificationState.SENT and sent.attempts == 2 and sent.last_error is None


async def test_after_max_attempts_the_email_is_failed_and_never_tried_again(world):
    notification_id, due = await an_email(world)
    clock = Clock(due)
    mailer = Mailer(Secret(f"smtp://127.0.0.1:{free_port()}"), clock=clock)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert (await Notification.get(id=notification_id)).state is NotificationState.PENDING
        assert await mailer.send_due() == 0
        assert (await Notification.get(id=notification_id)).attempts == attempt
        clock.now += retry_delay(attempt)
    failed = await Notification.get(id=notification_id)
    assert failed.state is NotificationState.FAILED and failed.last_error
    clock.now += timedelta(days=30)
    assert await mailer.send_due() == 0
    assert (await Notification.get(id=notification_id)).attempts == MAX_ATTEMPTS


async def test_any_error_while_sending_is_an_attempt_and_is_logged_without_the_password(world, monkeypatch, caplog):
    notification_id, due = await an_email(world)
    url = "smtp://jeto:hunter2%21@127.0.0.1:2525"

    async def broken(*args, **kwargs):
        raise RuntimeError("could not use smtp://jeto:hunter2!@127.0.0.1:2525")

    monkeypatch.setattr(aiosmtplib, "send", broken)
    caplog.set_level(logging.WARNING, logger="jeto.mail")
    assert await Mailer(Secret(url), clock=Clock(due)).send_due() == 0  # did not raise
    pending = await Notification.get(id=notification_id)
    assert pending.state is NotificationState.PENDING and pending.attempts == 1
    assert pending.last_error == "RuntimeError: could not use smtp://jeto:***@127.0.0.1:2525"
    assert "hunter2" not in caplog.text and "RuntimeError: could not use" in caplog.text


def certificate_for_localhost(directory):
    """A self-signed certificate for 127.0.0.1: the server's TLS context, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server, ssl.create_default_context(cafile=str(cert_file))


async def test_starttls_then_authentication_with_the_url_credentials(world, tmp_path):
    notification_id, due = await an_email(world)
    server_tls, client_tls = certificate_for_localhost(tmp_path)

    def authenticator(server, session, envelope, mechanism, auth_data):
        valid = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"jeto",
            b"p@ss:w/rd",
        )
        return AuthResult(success=valid, handled=False)  # not handled: aiosmtpd answers 535 itself

    port = free_port()
    secure = {
        "tls_context": server_tls,
        "require_starttls": True,
        "authenticator": authenticator,
        "auth_require_tls": True,
    }
    with smtp_on(port, **secure) as inbox:
        wrong = Mailer(Secret(f"smtp://jeto:guess@127.0.0.1:{port}"), tls_context=client_tls, clock=Clock(due))
        assert await wrong.send_due() == 0
        refused = await Notification.get(id=notification_id)
        assert refused.attempts == 1 and "SMTPAuthenticationError" in refused.last_error
        mailer = Mailer(Secret(f"smtp://jeto:p%40ss%3Aw%2Frd@127.0.0.1:{port}"), tls_context=client_tls)
        mailer._now = Clock(due + retry_delay(1))
        assert await mailer.send_due() == 1
    assert inbox.sessions == [{"tls": True, "authenticated": True}]
    assert parsed(inbox.messages[0][1]) == ("Hello", "Body\n")


async def test_jeto_smtp_url_is_the_server_the_running_mailer_sends_to(world, smtp_server):
    port, inbox = smtp_server
    settings = Settings.from_env(
        {"JETO_SMTP_URL": f"smtp://127.0.0.1:{port}", "JETO_DATABASE_URL": world.settings.database_url}
    )
    notification_id, _ = await an_email(world)
    background = BackgroundWork(settings, world.services).start()
    try:
        await wait_until(lambda: inbox.messages)
    finally:
        await background.stop()
        world.services.worker = None
    assert parsed(inbox.messages[0][1]) == ("Hello", "Body\n")
    assert (await Notification.get(id=notification_id)).state is NotificationState.SENT


async def test_without_smtp_the_email_is_logged(world, caplog):
    caplog.set_level(logging.INFO, logger="jeto.mail")
    await an_email(world)
    assert await Mailer(None).send_due() == 1
    assert "Hello" in caplog.text and "Body" in caplog.text


async def wrong_secret_integration(admin, simulator, index, name):
    instance = simulator.endpoints("http://127.0.0.1")[index]
    credentials = {
        "clientId": instance["clientId"],
        "clientSecret": "wrong-secret-value",
        "restEndpoint": instance["restEndpoint"],
    }
    await admin(CREATE_PI, {"input": {"name": name, "confirmTrial": True, "credentials": credentials}})


async def test_a_sync_that_ends_in_error_notifies_the_admins_with_the_integration_named(world, simulator):
    _, admin = await world.account(limit=2)
    await connect(admin, simulator, 0, "US")
    await wrong_secret_integration(admin, simulator, 1, "EMEA")
    await world.worker().run_until_idle()
    mail = await Notification.get(subject="Jeto could not sync EMEA")
    assert "Account: Acme (EMEA)" in mail.body and "credentials" in mail.body.lower()


async def test_with_one_integration_the_sync_error_email_names_the_account_alone(world, simulator):
    _, admin = await world.account("Solo")
    await wrong_secret_integration(admin, simulator, 0, "Only")
    await world.worker().run_until_idle()
    mail = await Notification.get(subject="Jeto could not sync Only")
    assert mail.body.splitlines()[:2] == ["Account: Solo", "Platform integration: Only"]


async def test_creating_a_campaign_queues_its_email_and_never_waits_for_mail(world, simulator, monkeypatch):
    async def unreachable(*args, **kwargs):
        raise AssertionError("createCampaign must not send mail")

    monkeypatch.setattr(aiosmtplib, "send", unreachable)
    monkeypatch.setattr(world.services, "settings", dataclasses.replace(world.settings, campaign_email_hold_seconds=7))
    admin, launcher, _, _ = await two_instances(world, simulator)
    payload = (await admin(CREATE_CAMPAIGN, {"input": {"launcherId": launcher, "name": "Quick"}}))["createCampaign"]
    assert payload["userErrors"] == [] and payload["campaign"]["status"] == "PROVISIONING"
    queued = await Notification.get()
    campaign = await Campaign.get(id=factories.pk(payload["campaign"]["id"]))
    assert (queued.campaign_id, queued.state, queued.attempts) == (campaign.id, NotificationState.PENDING, 0)
    assert queued.send_after == campaign.submitted_at + timedelta(seconds=7)  # JETO_CAMPAIGN_EMAIL_HOLD_SECONDS


def test_the_campaign_email_hold_is_a_setting():
    assert Settings.from_env({}).campaign_email_hold == timedelta(minutes=2)
    assert Settings.from_env({"JETO_CAMPAIGN_EMAIL_HOLD_SECONDS": "0"}).campaign_email_hold == timedelta(0)
    for wrong in ("-1", "soon", "100000"):
        with pytest.raises(InvalidSetting, match="JETO_CAMPAIGN_EMAIL_HOLD_SECONDS"):
            Settings.from_env({"JETO_CAMPAIGN_EMAIL_HOLD_SECONDS": wrong})


async def test_when_the_hold_ends_before_the_outcome_the_email_goes_as_submitted_and_only_once(
    world, simulator, smtp_server
):
    port, inbox = smtp_server
    admin, launcher, _, _ = await two_instances(world, simulator)
    ada = await User.get(role="ADMIN")
    campaign_id = await submit(admin, launcher, "Slow start")
    campaign = await Campaign.get(id=factories.pk(campaign_id))
    after_the_hold = Clock(campaign.submitted_at + world.settings.campaign_email_hold)
    assert await Mailer(Secret(f"smtp://127.0.0.1:{port}"), clock=after_the_hold).send_due() == 1
    [(_, content)] = inbox.messages
    assert parsed(content) == (
        SUBJECT,
        "Account: Acme (EMEA)\n"
        "Launcher: EMEA webinars\n"
        "Campaign name: Slow start\n"
        f"Submitted on: {submitted_on(campaign)}\n"
        f"Submitted by: {ada.email}\n"
        "Marketo program: being created in EMEA\n",
    )
    await world.worker().run_until_idle()  # READY now: nobody is told again
    assert (await Campaign.get(id=campaign.id)).status.value == "READY"
    assert await Mailer(Secret(f"smtp://127.0.0.1:{port}")).send_due() == 0
    assert len(inbox.messages) == 1 and await Notification.all().count() == 1


async def test_an_outcome_after_the_hold_but_before_any_send_leaves_the_email_as_submitted(world, simulator):
    """The hold is over once its time is: the email is then the submitted one, whether or not a mailer ran."""
    admin, launcher, _, _ = await two_instances(world, simulator)
    campaign_id = await submit(admin, launcher, "No mailer yet")
    queued = await Notification.get()
    await Notification.filter(id=queued.id).update(send_after=datetime.now(UTC) - timedelta(seconds=1))
    await world.worker().run_until_idle()
    assert (await Campaign.get(id=factories.pk(campaign_id))).status.value == "READY"
    mail = await Notification.get()
    assert mail.body == queued.body and mail.body.endswith("Marketo program: being created in EMEA\n")


async def test_a_campaign_submitted_before_emails_were_queued_at_submission_is_told_its_outcome_once(world, simulator):
    """Campaigns in flight when this version is deployed have no email yet: their first outcome writes it."""
    admin, launcher, _, _ = await two_instances(world, simulator)
    campaign_global_id = await submit(admin, launcher, "In flight")
    campaign_id = factories.pk(campaign_global_id)
    await Notification.all().delete()
    await Campaign.filter(id=campaign_id).update(admins_notified_at=None)
    await world.worker().run_until_idle()
    campaign = await Campaign.get(id=campaign_id)
    program = await MarketoProgram.get(id=campaign.marketo_program_id)
    mail = await Notification.get()
    assert mail.campaign_id == campaign_id and mail.send_after <= datetime.now(UTC)
    assert mail.body.endswith(f"Marketo program: In flight ({program.url})\n")
    assert campaign.admins_notified_at is not None
    await rename(admin, campaign_global_id, "Renamed in flight")  # READY again: not a first outcome
    await world.worker().run_until_idle()
    assert await Notification.all().count() == 1


async def test_a_campaign_given_up_after_its_workers_died_mails_why_once(world, simulator):
    from domain.models import Job, JobKind, JobState, PlatformIntegration
    from marketo.worker import queue

    admin, launcher, _, pis = await two_instances(world, simulator)
    campaign_id = await submit(admin, launcher, "Deadly")
    # Its job killed three workers already: the next one gives it up rather than run it again.
    await Job.filter(kind=JobKind.PROVISION_CAMPAIGN).update(
        state=JobState.RUNNING, takeovers=queue.MAX_TAKEOVERS, claimed_by="dead-host:1:abcdef"
    )
    await PlatformIntegration.filter(id=factories.pk(pis["EMEA"][0])).update(
        lease_owner="dead-host:1:abcdef", lease_expires_at=queue.now() - timedelta(seconds=1)
    )
    await world.worker().run_until_idle()
    campaign = await Campaign.get(id=factories.pk(campaign_id))
    assert campaign.status.value == "FAILED" and "stopped retrying" in campaign.error
    mail = await Notification.get(subject=SUBJECT)
    assert "Campaign name: Deadly" in mail.body and "stopped retrying" in mail.body
    assert campaign.admins_notified_at is not None
