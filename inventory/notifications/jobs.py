"""The notification jobs the scheduler runs (inventory/jobs.py): each takes the current UTC
time, commits its own transactions and is safe to run twice at the same moment.

- `send_outbox`: claims due outbox emails with a conditional UPDATE (claim token + lease),
  sends them over one SMTP connection per batch, records sent / retry with backoff / failed.
- `scan_tickets`: "due soon" to the assignee and "overdue" to the assignee and every active
  manager and administrator (those only for tickets overdue less than a week: an old backlog
  is in their digest), once per ticket, recipient and due date (the unique key decides).
- `daily_digest`: from NOTIFY_DIGEST_HOUR local time, once per user and day.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _

from inventory.auth.models import User
from inventory.choices import NotificationKind, OutboxStatus, ReporterKind, Role, TicketStatus
from inventory.extensions import db
from inventory.notifications.mail import (
    MailError,
    SmtpConnection,
    SmtpSettings,
    build_message,
    is_permanent,
    safe_error,
    sender_of,
)
from inventory.notifications.models import Notification, OutboxEmail
from inventory.notifications.services import notify, ticket_path
from inventory.tickets.models import Ticket

log = logging.getLogger(__name__)

OPEN_STATUSES = [s.value for s in TicketStatus if s.is_open]
MANAGER_ROLES = [Role.MANAGER.value, Role.ADMIN.value]
MAX_BATCHES_PER_RUN = 20
BACKOFF_CAP = timedelta(hours=6)
DIGEST_LIST_MAX = 20
MANAGER_OVERDUE_LOOKBACK = timedelta(days=7)


# -- the outbox -----------------------------------------------------------------------------


@dataclass
class SendSummary:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"emails sent {self.sent}, to retry {self.retry}, failed {self.failed}"
        if self.errors:
            text += f" ({self.errors[-1]})"
        return text


def retry_delay(attempts: int) -> timedelta:
    """5, 10, 20, 40 ... minutes (NOTIFY_RETRY_BASE_SECONDS doubling), at most 6 hours."""
    base = float(current_app.config["NOTIFY_RETRY_BASE_SECONDS"])
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _claimable(now: datetime):
    pending, sending = OutboxStatus.PENDING.value, OutboxStatus.SENDING.value
    return sa.or_(
        sa.and_(OutboxEmail.status == pending, OutboxEmail.next_attempt_at <= now),
        # A sender that died while holding these: its lease has lapsed.
        sa.and_(OutboxEmail.status == sending, OutboxEmail.lease_until < now),
    )


def claim_batch(now: datetime, limit: int) -> tuple[str, list[OutboxEmail]]:
    """Takes up to `limit` due emails for this sender and commits the claim.

    The UPDATE repeats the "still claimable" condition, so of two senders that picked the
    same candidates only one gets each row (PostgreSQL re-checks the condition on a row
    another transaction just changed; SQLite runs one writer at a time)."""
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=float(current_app.config["NOTIFY_SEND_LEASE_SECONDS"]))
    candidates = list(
        db.session.scalars(
            sa.select(OutboxEmail.id)
            .where(_claimable(now))
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
            .limit(limit)
        )
    )
    if not candidates:
        db.session.rollback()
        return token, []
    db.session.execute(
        sa.update(OutboxEmail)
        .where(OutboxEmail.id.in_(candidates), _claimable(now))
        .values(status=OutboxStatus.SENDING.value, claim_token=token, lease_until=lease)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    rows = list(
        db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.claim_token == token).order_by(OutboxEmail.id)
        )
    )
    for row in rows:
        db.session.expunge(row)
    db.session.rollback()  # no transaction stays open while talking to the mail server
    return token, rows


def _finish(row: OutboxEmail, token: str, values: dict) -> None:
    """Records an outcome, only if the claim is still ours."""
    db.session.execute(
        sa.update(OutboxEmail)
        .where(OutboxEmail.id == row.id, OutboxEmail.claim_token == token)
        .values(claim_token=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _failed(row: OutboxEmail, token: str, error: str, now: datetime, summary, permanent=False):
    attempts = row.attempts + 1
    max_attempts = int(current_app.config["NOTIFY_SEND_MAX_ATTEMPTS"])
    if permanent or attempts >= max_attempts:
        status, summary.failed = OutboxStatus.FAILED.value, summary.failed + 1
        next_at = now
    else:
        status, summary.retry = OutboxStatus.PENDING.value, summary.retry + 1
        next_at = now + retry_delay(attempts)
    _finish(
        row,
        token,
        {"status": status, "attempts": attempts, "last_error": error, "next_attempt_at": next_at},
    )
    summary.errors.append(error)


def send_outbox(now: datetime) -> str | None:
    """Sends what is due in the outbox; None when email is off or nothing was due."""
    settings = SmtpSettings.from_config(current_app.config)
    if not settings.enabled:
        return None
    try:
        sender_of(settings.mail_from)
    except MailError as exc:  # a configuration error: leave the outbox as it is
        return f"emails not sent: {exc}"
    batch_size = int(current_app.config["NOTIFY_SEND_BATCH"])
    summary = SendSummary()
    for _batch in range(MAX_BATCHES_PER_RUN):
        token, rows = claim_batch(now, batch_size)
        if not rows:
            break
        _send_batch(settings, token, rows, now, summary)
        if len(rows) < batch_size or summary.retry:
            break  # the server is struggling, or nothing more is due: wait for the next run
    if not (summary.sent or summary.retry or summary.failed):
        return None
    return str(summary)


def _send_batch(settings: SmtpSettings, token: str, rows: list, now: datetime, summary) -> None:
    try:
        connection = SmtpConnection(settings).__enter__()
    except OSError as exc:  # smtplib.SMTPException is an OSError
        error = safe_error(exc, settings)
        log.warning("SMTP connection to %s:%s failed: %s", settings.host, settings.port, error)
        for row in rows:
            _failed(row, token, error, now, summary)
        return
    try:
        for index, row in enumerate(rows):
            try:
                message = build_message(
                    mail_from=settings.mail_from,
                    to=row.to_address,
                    subject=row.subject,
                    body=row.body,
                    now=now,
                )
                connection.send(message)
            except (MailError, smtplib.SMTPException) as exc:
                error = safe_error(exc, settings)
                if is_permanent(exc):
                    _failed(row, token, error, now, summary, permanent=True)
                    continue
                if _connection_lost(exc):
                    for rest in rows[index:]:
                        _failed(rest, token, error, now, summary)
                    return
                _failed(row, token, error, now, summary)
            except OSError as exc:  # the connection broke: the rest waits for the next run
                error = safe_error(exc, settings)
                for rest in rows[index:]:
                    _failed(rest, token, error, now, summary)
                return
            else:
                _finish(
                    row,
                    token,
                    {
                        "status": OutboxStatus.SENT.value,
                        "attempts": row.attempts + 1,
                        "sent_at": now,
                        "last_error": "",
                    },
                )
                summary.sent += 1
    finally:
        connection.__exit__(None, None, None)


def _connection_lost(exc: BaseException) -> bool:
    return isinstance(exc, smtplib.SMTPServerDisconnected)


# -- due soon and overdue -------------------------------------------------------------------


def _when(value: datetime) -> str:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return value.astimezone(zone).strftime("%d-%m-%Y %H:%M")


def _locale() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def _ticket_text(ticket: Ticket, kind: str) -> tuple[LazyString, LazyString]:
    """Subject and body, rendered later in each recipient's language."""

    def subject() -> str:
        if kind == NotificationKind.TICKET_OVERDUE.value:
            return _("Overdue: %(number)s %(title)s", number=ticket.number, title=ticket.title)
        return _("Due soon: %(number)s %(title)s", number=ticket.number, title=ticket.title)

    def body() -> str:
        return render_template(
            "notifications/email/ticket_due.txt",
            ticket=ticket,
            overdue=kind == NotificationKind.TICKET_OVERDUE.value,
            due=_when(ticket.due_at),
            site=ticket.site.name(_locale()) if ticket.site else "",
            assignee=ticket.assignee.display_name if ticket.assignee else "",
        ).strip()

    return LazyString(subject), LazyString(body)


def _due_key(prefix: str, ticket: Ticket) -> str:
    return f"{prefix}:{ticket.id}:{ticket.due_at.astimezone(UTC):%Y%m%dT%H%M}"


def scan_tickets(now: datetime) -> str | None:
    """Notifies about open tickets due within NOTIFY_DUE_SOON_HOURS and past due, once each
    per ticket, recipient and due date (a changed due date is announced again)."""
    window = now + timedelta(hours=float(current_app.config["NOTIFY_DUE_SOON_HOURS"]))
    tickets = list(
        db.session.scalars(
            sa.select(Ticket)
            .where(Ticket.status.in_(OPEN_STATUSES), Ticket.due_at <= window)
            .order_by(Ticket.due_at, Ticket.id)
        )
    )
    if not tickets:
        return None
    managers = list(
        db.session.scalars(
            sa.select(User).where(User.is_active.is_(True), User.role.in_(MANAGER_ROLES))
        )
    )
    plans = []
    for ticket in tickets:
        if ticket.due_at < now:
            kind = NotificationKind.TICKET_OVERDUE.value
            # Managers hear of tickets that went overdue lately; older ones (a backlog on the
            # first run) are counted in their digest instead of flooding their inbox.
            chasers = managers if ticket.due_at >= now - MANAGER_OVERDUE_LOOKBACK else []
            recipients = [ticket.assignee, *chasers]
            key = _due_key("overdue", ticket)
        elif ticket.assignee is not None:
            kind = NotificationKind.TICKET_DUE_SOON.value
            recipients = [ticket.assignee]
            key = _due_key("due_soon", ticket)
        else:
            continue
        plans.append((ticket, kind, [u for u in recipients if u is not None and u.is_active], key))

    # Skip what is visibly done already (a cheap read); the unique key decides the rest.
    keys = {key for *_, key in plans}
    done = set(
        db.session.execute(
            sa.select(Notification.user_id, Notification.dedupe_key).where(
                Notification.dedupe_key.in_(keys)
            )
        ).all()
    )
    counts = {NotificationKind.TICKET_DUE_SOON.value: 0, NotificationKind.TICKET_OVERDUE.value: 0}
    for ticket, kind, recipients, key in plans:
        todo = [u for u in recipients if (u.id, key) not in done]
        if not todo:
            continue
        subject, body = _ticket_text(ticket, kind)
        created = notify(
            todo,
            kind=kind,
            subject=subject,
            body=body,
            url=ticket_path(ticket.id),
            ticket_id=ticket.id,
            dedupe_key=key,
        )
        counts[kind] += len(created)
    db.session.commit()
    if not any(counts.values()):
        return None
    soon = counts[NotificationKind.TICKET_DUE_SOON.value]
    overdue = counts[NotificationKind.TICKET_OVERDUE.value]
    return f"notified due soon {soon}, overdue {overdue}"


# -- the daily digest -----------------------------------------------------------------------


@dataclass
class Digest:
    user: User
    mine: list[Ticket]
    overdue: int
    due_soon: int
    auto_opened: list[Ticket] = field(default_factory=list)
    unassigned: int = 0
    district_overdue: int = 0
    is_manager: bool = False

    @property
    def empty(self) -> bool:
        return not (self.mine or self.auto_opened or self.unassigned or self.district_overdue)


def digest_for(user: User, now: datetime) -> Digest:
    """What one user's digest says: their open tickets (overdue and due soon counted) and, for
    managers and administrators, tickets the system opened in the last day, unassigned open
    tickets and the district's overdue count."""
    window = now + timedelta(hours=float(current_app.config["NOTIFY_DUE_SOON_HOURS"]))
    mine = list(
        db.session.scalars(
            sa.select(Ticket)
            .where(Ticket.assignee_id == user.id, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.due_at, Ticket.id)
        )
    )
    digest = Digest(
        user=user,
        mine=mine,
        overdue=sum(1 for t in mine if t.due_at < now),
        due_soon=sum(1 for t in mine if now <= t.due_at <= window),
    )
    if user.role in MANAGER_ROLES:
        digest.is_manager = True
        digest.auto_opened = list(
            db.session.scalars(
                sa.select(Ticket)
                .where(
                    Ticket.reporter_kind == ReporterKind.SYSTEM.value,
                    Ticket.opened_at > now - timedelta(days=1),
                    Ticket.opened_at <= now,
                )
                .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
            )
        )
        open_tickets = (
            sa.select(sa.func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
        )
        digest.unassigned = db.session.scalar(
            open_tickets.where(Ticket.assignee_id.is_(None), Ticket.vendor_id.is_(None))
        )
        digest.district_overdue = db.session.scalar(open_tickets.where(Ticket.due_at < now))
    return digest


def _digest_text(digest: Digest, now: datetime) -> tuple[LazyString, LazyString]:
    def subject() -> str:
        return _(
            "Your tickets today: %(open)d open, %(overdue)d overdue, %(soon)d due soon",
            open=len(digest.mine),
            overdue=digest.overdue,
            soon=digest.due_soon,
        )

    def body() -> str:
        locale = _locale()
        return render_template(
            "notifications/email/digest.txt",
            d=digest,
            now=now,
            limit=DIGEST_LIST_MAX,
            when=_when,
            site_name=lambda t: t.site.name(locale) if t.site else "",
        ).strip()

    return LazyString(subject), LazyString(body)


def digest_day(now: datetime):
    """The local date whose digest is due at `now`, or None before NOTIFY_DIGEST_HOUR."""
    local = now.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
    if local.hour < int(current_app.config["NOTIFY_DIGEST_HOUR"]):
        return None
    return local.date()


def daily_digest(now: datetime) -> str | None:
    """From NOTIFY_DIGEST_HOUR (local time) on, each active user who wants a digest and has
    something in it gets one, once per local day (dedupe key "digest:<date>")."""
    day = digest_day(now)
    if day is None:
        return None
    key = f"digest:{day.isoformat()}"
    done = sa.select(Notification.user_id).where(Notification.dedupe_key == key)
    users = list(
        db.session.scalars(
            sa.select(User)
            .where(User.is_active.is_(True), User.notify_digest.is_(True), User.id.not_in(done))
            .order_by(User.id)
        )
    )
    sent = 0
    for user in users:
        digest = digest_for(user, now)
        if digest.empty:
            continue
        subject, body = _digest_text(digest, now)
        sent += len(
            notify(
                [user],
                kind=NotificationKind.DIGEST.value,
                subject=subject,
                body=body,
                url=_digest_path(),
                dedupe_key=key,
            )
        )
        db.session.commit()
    return f"digests {sent}" if sent else None


def _digest_path() -> str:
    from werkzeug.routing import BuildError

    try:
        return current_app.url_map.bind("localhost").build("notifications.index")
    except BuildError:
        return "/notifications/"


# -- keeping the tables small ---------------------------------------------------------------


def prune(now: datetime) -> str | None:
    """Deletes notifications, and sent or failed emails, older than NOTIFY_KEEP_DAYS. (A
    ticket still overdue after that long is announced once more: its old notice is gone.)"""
    cutoff = now - timedelta(days=float(current_app.config["NOTIFY_KEEP_DAYS"]))
    emails = db.session.execute(
        sa.delete(OutboxEmail).where(
            OutboxEmail.status.in_([OutboxStatus.SENT.value, OutboxStatus.FAILED.value]),
            OutboxEmail.created_at < cutoff,
        )
    ).rowcount
    notifications = db.session.execute(
        sa.delete(Notification).where(Notification.created_at < cutoff)
    ).rowcount
    db.session.commit()
    if not (emails or notifications):
        return None
    return f"deleted {notifications} old notifications and {emails} old emails"
