"""Notifying users: in-app items and queued emails, written in the caller's transaction.

`notify()` is what every other domain calls (the tickets workflow on assignment and on
auto-open, this package's periodic jobs). It adds rows and flushes; it never commits and
never talks to the network, so a broken mail server can never stop a ticket from being
saved: the outbox is sent later by `jobs.send_outbox`.

Subjects and bodies may be plain strings or lazy strings (`lazy_gettext("... %(n)s", n=...)`):
a lazy string is rendered in each recipient's own language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from email.headerregistry import Address
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from werkzeug.routing import BuildError

from inventory.auth.models import User
from inventory.choices import NotificationKind, OutboxStatus
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.notifications.models import Notification, OutboxEmail

SUBJECT_MAX = 255
KINDS = frozenset(NotificationKind.values())


class NotificationError(ValueError):
    """A notification that cannot be made (unknown kind, a URL outside the app)."""


# -- text hygiene ---------------------------------------------------------------------------


def one_line(text: str, limit: int = SUBJECT_MAX) -> str:
    """A single line of printable text: every run of whitespace, line breaks included, becomes
    one space and control characters go, so a hostile ticket title cannot add mail headers."""
    cleaned = "".join(
        " " if ch.isspace() else ch
        for ch in str(text)
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def clean_body(text: str) -> str:
    """Body text with Unix line ends and without control characters other than newline/tab."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def check_path(url: str) -> str:
    """A path inside the app ("/tickets/12"), never another site or a scheme."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if (
        not url.startswith("/")
        or url.startswith("//")
        or "\\" in url
        or parts.scheme
        or parts.netloc
        or any(unicodedata.category(ch)[0] == "C" or ch.isspace() for ch in url)
    ):
        raise NotificationError(f"Not a path inside the application: {url!r}")
    return url


_ADDRESS = re.compile(r"^[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\]+\Z")


def usable_address(address: str | None) -> str | None:
    """The user's email address if it is one plain address we can send to, else None."""
    address = (address or "").strip()
    if not address or len(address) > 254 or not _ADDRESS.match(address):
        return None
    if any(unicodedata.category(ch)[0] == "C" for ch in address):
        return None
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return None
    return address


def email_enabled() -> bool:
    """Email is on when an SMTP server is configured (SMTP_HOST)."""
    return bool((current_app.config.get("SMTP_HOST") or "").strip())


def absolute_url(path: str) -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/") + path


def ticket_path(ticket_id: int) -> str:
    """The ticket page's path, whether or not the tickets views are registered yet."""
    try:
        return current_app.url_map.bind("localhost").build(
            "tickets.detail", {"ticket_id": ticket_id}
        )
    except BuildError:
        return f"/tickets/{ticket_id}"


def _in_locale(value, locale: str) -> str:
    """A plain string as it is; a lazy string rendered in `locale`."""
    if isinstance(value, str):
        return value
    with force_locale(locale):
        return str(value)


def _locale_of(user: User) -> str:
    languages = current_app.config.get("LANGUAGES") or ("hi", "en")
    return user.locale if user.locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def render_email_body(user: User, *, body: str, url: str, template: str = "notification") -> str:
    """The plain-text email for one notification, in the user's language."""
    with force_locale(_locale_of(user)):
        return (
            render_template(
                f"notifications/email/{template}.txt",
                user=user,
                body=body,
                link=absolute_url(url) if url else "",
                profile_link=absolute_url("/profile"),
                society=current_app.config.get("SOCIETY_NAME", ""),
            ).strip()
            + "\n"
        )


# -- notify ---------------------------------------------------------------------------------


def _unique_users(users: Iterable[User | None]) -> list[User]:
    seen: set[int] = set()
    result = []
    for user in users:
        if user is None or user.id is None or user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        result.append(user)
    return result


def notify(
    users: list[User],
    *,
    kind: str,
    subject,
    body,
    url: str,
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """One in-app notification per (active, distinct) user and, when email is on and the user
    has a usable address and wants email, one pending outbox email with it. Flushes, never
    commits, never touches the network.

    With `dedupe_key`, each user's rows go in a SAVEPOINT and a user who already has a
    notification with that key is skipped (the unique constraint decides, so concurrent
    callers cannot both insert). Returns the notifications created.
    """
    if kind not in KINDS:
        raise NotificationError(f"Unknown notification kind: {kind!r}")
    url = check_path(url) if url else ""
    if dedupe_key is not None:
        dedupe_key = one_line(dedupe_key, 120)
    mail_on = email_enabled()
    now = utcnow()
    created: list[Notification] = []
    for user in _unique_users(users):
        locale = _locale_of(user)
        text_subject = one_line(_in_locale(subject, locale))
        text_body = clean_body(_in_locale(body, locale))
        notification = Notification(
            user_id=user.id,
            kind=kind,
            subject=text_subject,
            body=text_body,
            url=url,
            ticket_id=ticket_id,
            dedupe_key=dedupe_key,
            created_at=now,
        )
        address = usable_address(user.email) if (mail_on and user.notify_email) else None
        rows: list = [notification]
        if address:
            rows.append(
                OutboxEmail(
                    user_id=user.id,
                    to_address=address,
                    subject=text_subject,
                    body=render_email_body(user, body=text_body, url=url),
                    status=OutboxStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        if dedupe_key is None:
            _add(rows)
        else:
            try:
                with db.session.begin_nested():
                    _add(rows)
            except sa.exc.IntegrityError:
                continue  # already notified (by an earlier or a concurrent run)
        created.append(notification)
    return created


def _add(rows: list) -> None:
    notification = rows[0]
    db.session.add(notification)
    db.session.flush()
    for email in rows[1:]:
        email.notification_id = notification.id
        db.session.add(email)
    db.session.flush()


def notify_ticket(users: list[User], ticket, *, kind: str, subject, body) -> list[Notification]:
    """notify() for a ticket: the link and ticket_id filled in."""
    path = ticket_path(ticket.id)
    return notify(users, kind=kind, subject=subject, body=body, url=path, ticket_id=ticket.id)


# -- reading and marking --------------------------------------------------------------------


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def notifications_query(user_id: int, *, unread_only: bool = False):
    """The user's notifications, unread first, then newest first."""
    query = sa.select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(
        sa.case((Notification.read_at.is_(None), 0), else_=1),
        Notification.created_at.desc(),
        Notification.id.desc(),
    )


def get_own(user_id: int, notification_id: int) -> Notification | None:
    """The notification if it belongs to the user, else None (the caller answers 404)."""
    return db.session.scalar(
        sa.select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )


def mark_read(user_id: int, notification_id: int, now: datetime | None = None) -> bool:
    """Marks one of the user's notifications read; False when it is not theirs."""
    notification = get_own(user_id, notification_id)
    if notification is None:
        return False
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        db.session.flush()
    return True


def mark_all_read(user_id: int, now: datetime | None = None) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0


# -- the outbox, for administrators ---------------------------------------------------------


def outbox_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status)
    ).all()
    counts = dict.fromkeys(OutboxStatus.values(), 0)
    counts.update(dict(rows))
    return counts


def outbox_query(status: str | None = None):
    """Outbox emails, newest first; only one status when given."""
    query = sa.select(OutboxEmail).order_by(OutboxEmail.id.desc())
    if status in OutboxStatus.values():
        query = query.where(OutboxEmail.status == status)
    return query


def retry_failed(now: datetime | None = None) -> int:
    """Puts every failed email back in the queue, due now, with a fresh count of attempts."""
    result = db.session.execute(
        sa.update(OutboxEmail)
        .where(OutboxEmail.status == OutboxStatus.FAILED.value)
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0
