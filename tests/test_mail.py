"""Email notifications end to end: a real SMTP server (aiosmtpd) on loopback receives them.

The outbox is filled by notify() in the caller's transaction and sent by
jobs.send_outbox(now), as the scheduler does; nothing here is mocked.
"""

from __future__ import annotations

import email
import logging
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from inventory.choices import ReporterKind
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.notifications import jobs
from inventory.notifications.mail import MailError, SmtpSettings, build_message, safe_error
from inventory.notifications.models import Notification, OutboxEmail
from inventory.notifications.services import notify, ticket_path
from inventory.tickets.models import Ticket
from inventory.tickets.services import open_ticket

SMTP_USER = "sampada-mailer"
SMTP_SECRET = "s3cret-Pa55word-never-shown"


def free_port() -> int:
    """A loopback port nobody listens on (bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    peer: tuple

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)


class Collector:
    """An aiosmtpd handler that keeps every message and refuses chosen recipients."""

    def __init__(self):
        self.messages: list[Received] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
                )
            )
        return "250 Message accepted for delivery"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_SECRET.encode()
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    def __init__(self, port: int | None = None, *, with_auth: bool = False):
        self.port = port or free_port()
        self.handler = Collector()
        options = {}
        if with_auth:
            options = {
                "authenticator": _authenticator,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


@pytest.fixture
def smtp(app):
    with SmtpServer() as server:
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=server.port,
            MAIL_FROM="DeGS Gonda <sampada@degs-gonda.example>",
        )
        yield server


@pytest.fixture
def smtp_auth(app):
    with SmtpServer(with_auth=True) as server:
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=server.port,
            SMTP_USERNAME=SMTP_USER,
            SMTP_PASSWORD=SMTP_SECRET,
            MAIL_FROM="sampada@degs-gonda.example",
        )
        yield server


@pytest.fixture
def engineer(make_user):
    return make_user(
        "engineer", email="ramesh@degs-gonda.example", full_name="Ramesh Kumar", locale="en"
    )


def _assign(ticket, user, *, subject=None):
    """What the tickets workflow does on assignment: notify in the same transaction."""
    ticket.assignee_id = user.id
    return notify(
        [user],
        kind="ticket_assigned",
        subject=subject or f"Assigned to you: {ticket.number} {ticket.title}",
        body=f"{ticket.title}\nSite: {ticket.site.name_en}",
        url=ticket_path(ticket.id),
        ticket_id=ticket.id,
    )


def _outbox() -> list[OutboxEmail]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))


# -- building messages ----------------------------------------------------------------------


def test_message_is_utf8_plain_text_on_one_subject_line():
    now = utcnow()
    message = build_message(
        mail_from="DeGS Gonda <sampada@degs.example>",
        to="a@b.example",
        subject="प्रोजेक्टर खराब\r\nBcc: victim@evil.example\nX-Evil: 1",
        body="पंक्ति एक\r\nline two",
        now=now,
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "प्रोजेक्टर खराब Bcc: victim@evil.example X-Evil: 1"
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["To"] == "a@b.example"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n") == "पंक्ति एक\nline two\n"
    assert parsed["Message-ID"].endswith("@degs.example>")


@pytest.mark.parametrize(
    "address",
    [
        "a@b.example\r\nBcc: victim@evil.example",
        "a@b.example, victim@evil.example",
        "Name <a@b.example>",
        "no-at-sign",
        "",
    ],
)
def test_message_refuses_anything_but_one_plain_address(address):
    with pytest.raises(MailError):
        build_message(mail_from="s@d.example", to=address, subject="x", body="y", now=utcnow())


def test_password_never_in_error_text_or_settings_repr():
    settings = SmtpSettings(host="127.0.0.1", username="u", password="hunter2-long-secret")
    assert "hunter2" not in repr(settings)
    error = safe_error(RuntimeError("auth failed for u/hunter2-long-secret"), settings)
    assert "hunter2" not in error and "***" in error


# -- delivery -------------------------------------------------------------------------------


def test_assignment_email_delivered_with_link_and_hindi(app, smtp, district, make_user):
    user = make_user("engineer", email="sita@degs-gonda.example", full_name="सीता देवी", locale="hi")
    ticket = open_ticket(site=district["csc"], title="प्रोजेक्टर का लैम्प फ्यूज़")
    (notification,) = _assign(ticket, user, subject=f"आपको सौंपा गया: {ticket.number}")
    db.session.commit()
    (row,) = _outbox()
    assert row.status == "pending" and row.attempts == 0 and row.to_address == user.email

    assert jobs.send_outbox(utcnow()) == "emails sent 1, to retry 0, failed 0"

    (received,) = smtp.messages
    assert received.rcpt_tos == ["sita@degs-gonda.example"]
    assert received.mail_from == "sampada@degs-gonda.example"
    message = received.message
    assert message["Subject"] == f"आपको सौंपा गया: {ticket.number}"
    assert message["From"] == "DeGS Gonda <sampada@degs-gonda.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "प्रोजेक्टर का लैम्प फ्यूज़" in body
    assert "सीता देवी" in body
    assert f"http://127.0.0.1:5000/tickets/{ticket.id}" in body
    (row,) = _outbox()
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert row.notification_id == notification.id
    assert jobs.send_outbox(utcnow()) is None  # nothing left: sent once


def test_hostile_ticket_title_cannot_inject_headers(app, smtp, district, engineer):
    title = "Printer jam\r\nBcc: victim@evil.example\r\n\r\nfake body"
    ticket = open_ticket(site=district["hq"], title=title)
    (notification,) = _assign(ticket, engineer)
    db.session.commit()
    assert "\n" not in notification.subject and "\r" not in notification.subject

    jobs.send_outbox(utcnow())

    (received,) = smtp.messages
    assert received.rcpt_tos == [engineer.email]  # nobody added
    message = received.message
    assert message["Bcc"] is None
    assert (
        message["Subject"]
        == f"Assigned to you: {ticket.number} Printer jam Bcc: victim@evil.example fake body"
    )
    headers = received.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "\nBcc:" not in headers


def test_smtp_down_keeps_ticket_then_delivers_later(app, district, engineer):
    port = free_port()  # nobody listens here yet
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, NOTIFY_RETRY_BASE_SECONDS=300)
    ticket = open_ticket(site=district["block"], title="UPS beeping")
    _assign(ticket, engineer)
    db.session.commit()  # the ticket is saved: notify() never talked to the network
    ticket_id = ticket.id

    now = utcnow()
    summary = jobs.send_outbox(now)
    assert summary.startswith("emails sent 0, to retry 1, failed 0")
    (row,) = _outbox()
    assert row.status == "pending" and row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=300)
    assert row.claim_token is None
    assert db.session.get(Ticket, ticket_id).assignee_id == engineer.id

    with SmtpServer(port) as server:
        assert jobs.send_outbox(now + timedelta(seconds=60)) is None  # not due again yet
        assert server.messages == []
        assert jobs.send_outbox(now + timedelta(seconds=301)).startswith("emails sent 1")
        (received,) = server.messages
        assert received.rcpt_tos == [engineer.email]
    (row,) = _outbox()
    assert row.status == "sent" and row.attempts == 2 and row.last_error == ""


def test_retries_back_off_then_fail(app, district, engineer):
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=free_port(),
        NOTIFY_SEND_MAX_ATTEMPTS=3,
        NOTIFY_RETRY_BASE_SECONDS=60,
    )
    _assign(open_ticket(site=district["hq"], title="Switch down"), engineer)
    db.session.commit()
    now = utcnow()
    jobs.send_outbox(now)
    assert _outbox()[0].next_attempt_at == now + timedelta(seconds=60)
    now += timedelta(seconds=60)
    jobs.send_outbox(now)
    assert _outbox()[0].next_attempt_at == now + timedelta(seconds=120)
    now += timedelta(seconds=120)
    assert jobs.send_outbox(now).startswith("emails sent 0, to retry 0, failed 1")
    (row,) = _outbox()
    assert row.status == "failed" and row.attempts == 3
    assert jobs.send_outbox(now + timedelta(days=1)) is None


def test_refused_recipient_fails_alone_one_connection_per_batch(app, smtp, district, make_user):
    users = [make_user("engineer", email=f"eng{i}@degs-gonda.example") for i in range(3)]
    smtp.handler.refuse.add("eng1@degs-gonda.example")
    ticket = open_ticket(site=district["hq"], title="VC room camera")
    notify(users, kind="ticket_assigned", subject="Camera", body="b", url=ticket_path(ticket.id))
    db.session.commit()

    assert jobs.send_outbox(utcnow()).startswith("emails sent 2, to retry 0, failed 1")

    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "eng0@degs-gonda.example",
        "eng2@degs-gonda.example",
    ]
    assert len({m.peer for m in smtp.messages}) == 1  # one SMTP connection for the batch
    rows = {row.to_address: row for row in _outbox()}
    refused = rows["eng1@degs-gonda.example"]
    assert refused.status == "failed" and refused.attempts == 1
    assert "550" in refused.last_error and "No such user" in refused.last_error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_auth_and_password_kept_secret(app, smtp_auth, district, engineer, caplog):
    caplog.set_level(logging.DEBUG)
    _assign(open_ticket(site=district["hq"], title="Router"), engineer)
    db.session.commit()
    assert jobs.send_outbox(utcnow()).startswith("emails sent 1")
    assert len(smtp_auth.messages) == 1

    app.config["SMTP_PASSWORD"] = SMTP_SECRET + "-wrong"
    _assign(open_ticket(site=district["hq"], title="Router again"), engineer)
    db.session.commit()
    summary = jobs.send_outbox(utcnow())
    assert summary.startswith("emails sent 0, to retry 1")
    row = _outbox()[-1]
    assert row.status == "pending" and row.attempts == 1
    assert "SMTPAuthenticationError" in row.last_error and "535" in row.last_error
    stored = " ".join(
        str(value)
        for table in ("outbox_emails", "notifications")
        for record in db.session.execute(sa.text(f"SELECT * FROM {table}")).all()
        for value in record
    )
    for text in (stored, summary, caplog.text):
        assert SMTP_SECRET not in text
    assert len(smtp_auth.messages) == 1


def test_email_off_or_unwanted_means_no_outbox(app, district, make_user):
    keen = make_user("engineer", email="keen@degs-gonda.example")
    quiet = make_user("engineer", email="quiet@degs-gonda.example", notify_email=False)
    no_address = make_user("engineer")
    bad_address = make_user("engineer", email="two@a.example, three@b.example")
    ticket = open_ticket(site=district["hq"], title="Projector")
    everyone = [keen, quiet, no_address, bad_address]

    app.config["SMTP_HOST"] = ""  # the default: email is off
    assert len(notify(everyone, kind="ticket_assigned", subject="s", body="b", url="/")) == 4
    assert _outbox() == []
    assert jobs.send_outbox(utcnow()) is None

    app.config["SMTP_HOST"] = "127.0.0.1"
    notify(everyone, kind="ticket_assigned", subject="s", body="b", url=ticket_path(ticket.id))
    assert [row.to_address for row in _outbox()] == ["keen@degs-gonda.example"]


# -- two senders ----------------------------------------------------------------------------


def _in_threads(app, target, count=2):
    """Runs target() in `count` threads at once, each with its own app context and session."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results.append(target())
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_concurrent_senders_deliver_each_email_once(app, smtp, district, make_user):
    app.config["NOTIFY_SEND_BATCH"] = 5
    users = [make_user("engineer", email=f"e{i}@degs-gonda.example") for i in range(12)]
    addresses = sorted(user.email for user in users)
    ticket = open_ticket(site=district["hq"], title="Link down")
    notify(users, kind="ticket_assigned", subject="Link", body="b", url=ticket_path(ticket.id))
    db.session.commit()
    db.session.remove()
    now = utcnow()

    _in_threads(app, lambda: jobs.send_outbox(now))
    while jobs.send_outbox(now):  # whatever a run left for the next one
        pass

    delivered = sorted(m.rcpt_tos[0] for m in smtp.messages)
    assert delivered == addresses
    assert {row.status for row in _outbox()} == {"sent"}
    assert {row.attempts for row in _outbox()} == {1}


def test_concurrent_claims_never_overlap(app, district, make_user):
    app.config["SMTP_HOST"] = "127.0.0.1"
    users = [make_user("engineer", email=f"c{i}@degs-gonda.example") for i in range(20)]
    notify(users, kind="ticket_assigned", subject="s", body="b", url="/")
    db.session.commit()
    db.session.remove()
    now = utcnow()

    claims = _in_threads(app, lambda: [row.id for row in jobs.claim_batch(now, 15)[1]])

    first, second = claims
    assert not set(first) & set(second)  # no email taken by both
    assert len(first) + len(second) >= 15
    rest = [row.id for row in jobs.claim_batch(now, 20)[1]]
    everything = first + second + rest
    assert len(everything) == len(set(everything)) == 20
    assert {row.status for row in _outbox()} == {"sending"}


def test_a_dead_senders_claim_lapses(app, smtp, district, engineer):
    app.config["NOTIFY_SEND_LEASE_SECONDS"] = 600
    _assign(open_ticket(site=district["hq"], title="Scanner"), engineer)
    db.session.commit()
    now = utcnow()
    _token, rows = jobs.claim_batch(now, 10)  # ... and the sender dies here
    assert len(rows) == 1
    assert jobs.send_outbox(now + timedelta(seconds=300)) is None  # still leased
    assert jobs.send_outbox(now + timedelta(seconds=601)).startswith("emails sent 1")
    assert len(smtp.messages) == 1


# -- the jobs' emails -----------------------------------------------------------------------


def test_overdue_and_digest_emails(app, smtp, district, engineer, make_user):
    manager = make_user("manager", email="manager@degs-gonda.example", locale="en")
    ticket = open_ticket(site=district["csc"], title="Biometric device dead")
    ticket.assignee_id = engineer.id
    ticket.due_at = utcnow() - timedelta(hours=2)
    auto = open_ticket(
        site=district["block"], title="Switch unreachable", reporter_kind=ReporterKind.SYSTEM.value
    )
    db.session.commit()

    assert jobs.scan_tickets(utcnow()) == "notified due soon 0, overdue 2"
    jobs.send_outbox(utcnow())
    by_rcpt = {m.rcpt_tos[0]: m.message for m in smtp.messages}
    assert set(by_rcpt) == {engineer.email, manager.email}
    overdue = by_rcpt[engineer.email]
    assert overdue["Subject"] == f"Overdue: {ticket.number} Biometric device dead"
    assert "is past its due date" in overdue.get_content()
    assert f"/tickets/{ticket.id}" in overdue.get_content()

    smtp.messages.clear()
    app.config["NOTIFY_DIGEST_HOUR"] = 0  # any hour of the day will do here
    assert jobs.daily_digest(utcnow()) == "digests 2"
    jobs.send_outbox(utcnow())
    digests = {m.rcpt_tos[0]: m.message for m in smtp.messages}
    assert digests[engineer.email]["Subject"] == (
        "Your tickets today: 1 open, 1 overdue, 0 due soon"
    )
    assert "Biometric device dead" in digests[engineer.email].get_content()
    manager_body = digests[manager.email].get_content()
    assert "Switch unreachable" in manager_body and auto.number in manager_body
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.kind == "digest")
        )
        == 2
    )


# -- the administrators' outbox page and the command line -----------------------------------


def test_outbox_page_and_retry(app, client, login, make_user, district, engineer):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), NOTIFY_SEND_MAX_ATTEMPTS=1)
    _assign(open_ticket(site=district["hq"], title="Printer <b>jam</b>"), engineer)
    db.session.commit()
    jobs.send_outbox(utcnow())
    assert _outbox()[0].status == "failed"
    login(make_user("admin", locale="en"))

    html = client.get("/notifications/outbox?status=failed").get_data(as_text=True)
    assert engineer.email in html and "ConnectionRefusedError" in html
    assert "Printer &lt;b&gt;jam&lt;/b&gt;" in html
    assert "Failed (1)" in html

    response = client.post("/notifications/outbox/retry", follow_redirects=True)
    assert "1 failed email will be tried again." in response.get_data(as_text=True)
    (row,) = _outbox()
    assert (row.status, row.attempts) == ("pending", 0)


def test_command_line(app, runner, smtp, district, engineer):
    result = runner.invoke(args=["notify", "test", "check@degs-gonda.example"])
    assert result.exit_code == 0, result.output
    (received,) = smtp.messages
    assert received.rcpt_tos == ["check@degs-gonda.example"]
    assert "परीक्षण" in received.message["Subject"]

    ticket = open_ticket(site=district["hq"], title="Router")
    ticket.assignee_id = engineer.id
    ticket.due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    result = runner.invoke(args=["notify", "scan"])
    assert result.output.strip() == "notified due soon 0, overdue 1"
    result = runner.invoke(args=["notify", "send"])
    assert result.output.strip() == "emails sent 1, to retry 0, failed 0"
    assert runner.invoke(args=["notify", "send"]).output.strip() == "Nothing to send."
    result = runner.invoke(args=["notify", "status"])
    assert "sent     1" in result.output

    app.config["SMTP_PORT"] = free_port()
    result = runner.invoke(args=["notify", "test", "check@degs-gonda.example"])
    assert result.exit_code != 0 and "ConnectionRefusedError" in result.output
