"""In-app notifications: notify(), the due-soon/overdue scan, the daily digest, the bell and
the notifications page. Emails over a real SMTP server are in test_mail.py."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from support import SCRIPT, escaped, payload

from inventory.choices import ReporterKind, TicketStatus
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.notifications import jobs
from inventory.notifications.models import Notification
from inventory.notifications.services import (
    NotificationError,
    mark_all_read,
    notify,
    ticket_path,
    unread_count,
)
from inventory.tickets.services import open_ticket


def _rows(**where) -> list[Notification]:
    db.session.expire_all()
    query = sa.select(Notification).order_by(Notification.id)
    for key, value in where.items():
        query = query.where(getattr(Notification, key) == value)
    return list(db.session.scalars(query))


def _ticket(site, title="Projector lamp", *, assignee=None, due_in=None, **fields):
    ticket = open_ticket(site=site, title=title, **fields)
    if assignee is not None:
        ticket.assignee_id = assignee.id
        ticket.status = TicketStatus.ASSIGNED.value
    if due_in is not None:
        ticket.due_at = utcnow() + due_in
    db.session.commit()
    return ticket


# -- notify() -------------------------------------------------------------------------------


def test_notify_adds_one_row_per_active_user_and_does_not_commit(app, district, make_user):
    one, two = make_user("engineer"), make_user("viewer")
    gone = make_user("engineer", is_active=False)
    ticket = _ticket(district["hq"])

    created = notify(
        [one, two, one, gone, None],
        kind="ticket_assigned",
        subject="Assigned: projector",
        body="Line one\r\nLine two",
        url=ticket_path(ticket.id),
        ticket_id=ticket.id,
    )

    assert [n.user_id for n in created] == [one.id, two.id]
    assert created[0].id is not None  # flushed
    assert created[0].body == "Line one\nLine two"
    assert created[0].url == f"/tickets/{ticket.id}" and created[0].read_at is None
    db.session.rollback()  # the caller decides: nothing was committed
    assert _rows() == []


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", "tickets/1", "/a\nb"],
)
def test_notify_only_links_inside_the_app(app, make_user, url):
    with pytest.raises(NotificationError):
        notify([make_user()], kind="ticket_assigned", subject="s", body="b", url=url)


def test_notify_refuses_unknown_kinds(app, make_user):
    with pytest.raises(NotificationError):
        notify([make_user()], kind="party", subject="s", body="b", url="/")


def test_lazy_text_is_rendered_in_each_recipients_language(app, make_user):
    hindi, english = make_user(locale="hi"), make_user(locale="en")
    created = notify(
        [hindi, english],
        kind="ticket_assigned",
        subject=_l("Sign out"),
        body=_l("Sign out"),
        url="/",
    )
    assert [n.subject for n in created] == ["लॉग आउट", "Sign out"]


def test_subject_is_one_line(app, make_user):
    (n,) = notify(
        [make_user()], kind="ticket_assigned", subject="a\r\nBcc: x@y.z\x00\tb", body="", url="/"
    )
    assert n.subject == "a Bcc: x@y.z b"


def test_dedupe_key_notifies_each_user_once(app, make_user):
    one, two = make_user(), make_user()
    args = {"kind": "ticket_overdue", "subject": "s", "body": "b", "url": "/", "dedupe_key": "k:1"}
    assert len(notify([one], **args)) == 1
    assert [n.user_id for n in notify([one, two], **args)] == [two.id]
    assert notify([one, two], **args) == []
    db.session.commit()
    assert len(_rows()) == 2


# -- due soon and overdue -------------------------------------------------------------------


@pytest.fixture
def staff(make_user):
    """Staff who read English (the default user reads Hindi)."""

    def make_user_en(role, **fields):
        return make_user(role, locale="en", **fields)

    return {
        "engineer": make_user_en("engineer", username="eng-ramesh"),
        "other": make_user_en("engineer", username="eng-other"),
        "viewer": make_user_en("viewer", username="viewer-dm"),
        "manager": make_user_en("manager", username="mgr-anita"),
        "admin": make_user_en("admin", username="adm-root"),
        "retired": make_user_en("manager", username="mgr-retired", is_active=False),
    }


def test_due_soon_goes_to_the_assignee_once(app, district, staff):
    engineer = staff["engineer"]
    ticket = _ticket(district["csc"], assignee=engineer, due_in=timedelta(hours=10))
    _ticket(district["csc"], "Later", assignee=engineer, due_in=timedelta(hours=30))
    _ticket(district["csc"], "Nobody's", due_in=timedelta(hours=5))  # no assignee: no one
    closed = _ticket(district["csc"], "Done", assignee=engineer, due_in=timedelta(hours=1))
    closed.status = TicketStatus.CLOSED.value
    db.session.commit()

    assert jobs.scan_tickets(utcnow()) == "notified due soon 1, overdue 0"
    assert jobs.scan_tickets(utcnow()) is None

    (n,) = _rows()
    assert (n.user_id, n.kind, n.ticket_id) == (engineer.id, "ticket_due_soon", ticket.id)
    assert n.subject == f"Due soon: {ticket.number} Projector lamp"
    assert "is due on" in n.body and "CSC Babhanjot" in n.body
    assert n.url == f"/tickets/{ticket.id}"


def test_overdue_goes_to_assignee_and_active_managers_once(app, district, staff):
    ticket = _ticket(district["block"], assignee=staff["engineer"], due_in=timedelta(hours=-1))
    unassigned = _ticket(district["block"], "Unassigned", due_in=timedelta(days=-2))

    assert jobs.scan_tickets(utcnow()) == "notified due soon 0, overdue 5"
    assert jobs.scan_tickets(utcnow() + timedelta(minutes=15)) is None

    got = {(n.ticket_id, n.user_id) for n in _rows(kind="ticket_overdue")}
    assert got == {
        (ticket.id, staff["engineer"].id),
        (ticket.id, staff["manager"].id),
        (ticket.id, staff["admin"].id),
        (unassigned.id, staff["manager"].id),
        (unassigned.id, staff["admin"].id),
    }
    assert _rows(kind="ticket_due_soon") == []


def test_managers_are_not_flooded_with_an_old_backlog(app, district, staff):
    _ticket(district["hq"], "Ancient", assignee=staff["engineer"], due_in=-timedelta(days=40))
    _ticket(district["hq"], "Orphan", due_in=-timedelta(days=40))
    assert jobs.scan_tickets(utcnow()) == "notified due soon 0, overdue 1"
    (n,) = _rows()
    assert n.user_id == staff["engineer"].id


def test_a_new_due_date_is_announced_again(app, district, staff):
    engineer = staff["engineer"]
    ticket = _ticket(district["hq"], assignee=engineer, due_in=timedelta(hours=5))
    jobs.scan_tickets(utcnow())
    ticket.due_at = utcnow() + timedelta(hours=20)  # extended, and due soon again
    db.session.commit()
    assert jobs.scan_tickets(utcnow()) == "notified due soon 1, overdue 0"
    assert len(_rows(kind="ticket_due_soon", user_id=engineer.id)) == 2
    assert jobs.scan_tickets(utcnow() + timedelta(hours=21)) == "notified due soon 0, overdue 3"


def test_due_soon_window_is_configurable(app, district, staff):
    app.config["NOTIFY_DUE_SOON_HOURS"] = 48
    _ticket(district["hq"], assignee=staff["engineer"], due_in=timedelta(hours=40))
    assert jobs.scan_tickets(utcnow()) == "notified due soon 1, overdue 0"


def _concurrently(app, target, count=2):
    """target() in `count` threads at the same moment, each with its own session."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results.append(target())
            except Exception as exc:  # reported below
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


def test_two_concurrent_scans_notify_exactly_once(app, district, staff):
    for i in range(6):
        _ticket(
            district["csc"],
            f"Overdue {i}",
            assignee=staff["engineer"],
            due_in=-timedelta(hours=i + 1),
        )
        _ticket(
            district["csc"], f"Soon {i}", assignee=staff["other"], due_in=timedelta(hours=i + 1)
        )
    db.session.remove()
    now = utcnow()

    _concurrently(app, lambda: jobs.scan_tickets(now))

    pairs = db.session.execute(sa.select(Notification.user_id, Notification.dedupe_key)).all()
    assert len(pairs) == len(set(pairs)) == 6 * 3 + 6
    assert jobs.scan_tickets(now) is None


# -- the daily digest -----------------------------------------------------------------------


def _at_local(hour: int, minute: int = 0, day: int = 10) -> datetime:
    """A moment given in Asia/Kolkata (UTC+05:30) as UTC."""
    return datetime(2025, 6, day, hour, minute, tzinfo=UTC) - timedelta(hours=5, minutes=30)


def test_digest_once_a_day_from_the_configured_hour(app, district, staff):
    engineer = staff["engineer"]
    morning = _at_local(8, 5)
    late = _ticket(district["csc"], "Printer dead", assignee=engineer)
    late.due_at = morning - timedelta(days=1)
    soon = _ticket(district["block"], "UPS battery", assignee=engineer)
    soon.due_at = morning + timedelta(hours=6)
    later = _ticket(district["hq"], "Scanner", assignee=engineer)
    later.due_at = morning + timedelta(days=5)
    for ticket in (late, soon, later):
        ticket.opened_at = morning - timedelta(days=3)
    db.session.commit()
    for user in ("other", "viewer", "manager", "admin"):
        staff[user].notify_digest = False
    db.session.commit()

    assert jobs.daily_digest(_at_local(7, 59)) is None  # before 08:00 in Gonda
    assert jobs.daily_digest(morning) == "digests 1"
    assert jobs.daily_digest(_at_local(9, 0)) is None
    assert jobs.daily_digest(_at_local(23, 59)) is None

    (digest,) = _rows(kind="digest")
    assert digest.user_id == engineer.id
    assert digest.dedupe_key == "digest:2025-06-10"
    assert digest.subject == "Your tickets today: 3 open, 1 overdue, 1 due soon"
    body = digest.body
    assert body.index("Printer dead") < body.index("UPS battery") < body.index("Scanner")
    assert "overdue since 09-06-2025" in body
    assert "You have 3 open tickets." in body
    assert digest.url == "/notifications/"

    assert jobs.daily_digest(_at_local(8, 0, day=11)) == "digests 1"  # the next day


def test_digest_skips_the_unwilling_and_those_with_nothing(app, district, staff):
    _ticket(district["hq"], assignee=staff["other"])
    staff["other"].notify_digest = False
    for user in ("manager", "admin"):
        staff[user].notify_digest = False
    db.session.commit()
    assert jobs.daily_digest(_at_local(8)) is None
    assert _rows() == []


def test_managers_digest_names_auto_opened_tickets(app, district, staff):
    auto = _ticket(district["block"], "Switch unreachable", reporter_kind=ReporterKind.SYSTEM.value)
    old = _ticket(district["block"], "Old outage", reporter_kind=ReporterKind.SYSTEM.value)
    old.opened_at = utcnow() - timedelta(days=2)
    db.session.commit()
    now = utcnow()
    app.config["NOTIFY_DIGEST_HOUR"] = 0

    assert jobs.daily_digest(now) == "digests 2"  # the manager and the administrator

    digests = {n.user_id: n for n in _rows(kind="digest")}
    assert set(digests) == {staff["manager"].id, staff["admin"].id}
    body = digests[staff["manager"].id].body
    assert "1 ticket opened by the system in the last day" in body
    assert auto.number in body and "Switch unreachable" in body
    assert "Old outage" not in body
    assert "2 open with nobody assigned" in body


def test_two_concurrent_digests_send_once(app, district, staff):
    for user in ("engineer", "other"):
        _ticket(district["hq"], f"For {user}", assignee=staff[user])
    db.session.remove()
    now = _at_local(8, 30)

    _concurrently(app, lambda: jobs.daily_digest(now))

    users = [n.user_id for n in _rows(kind="digest")]
    assert len(users) == len(set(users)) == 2  # the managers have nothing to hear about


# -- the pages ------------------------------------------------------------------------------


def _bell(html: str) -> str | None:
    match = re.search(r"data-bell-count>([^<]*)<", html)
    return match.group(1) if match else None


def test_bell_shows_the_unread_count_with_one_count_query(app, client, login, make_user):
    user = make_user("viewer", locale="en")
    notify([user], kind="ticket_assigned", subject="one", body="", url="/")
    notify([user], kind="ticket_assigned", subject="two", body="", url="/")
    notify([make_user(locale="en")], kind="ticket_assigned", subject="not mine", body="", url="/")
    db.session.commit()
    login(user)

    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        html = client.get("/profile").get_data(as_text=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert _bell(html) == "2"
    touching = [s for s in statements if "notifications" in s]
    assert len(touching) == 1 and "count(" in touching[0].lower()

    mark_all_read(user.id)
    db.session.commit()
    html = client.get("/profile").get_data(as_text=True)
    assert _bell(html) is None and 'href="/notifications/"' in html


def test_list_unread_first_and_marking_read(app, client, login, make_user, district):
    user = make_user("engineer", locale="en")
    ticket = _ticket(district["hq"])
    (first,) = notify([user], kind="ticket_assigned", subject="First", body="", url="/")
    (second,) = notify(
        [user],
        kind="ticket_overdue",
        subject="Second",
        body="",
        url=ticket_path(ticket.id),
        ticket_id=ticket.id,
    )
    first.read_at = utcnow()
    db.session.commit()
    login(user)

    html = client.get("/notifications/").get_data(as_text=True)
    assert html.index("Second") < html.index("First")  # unread first
    assert "Ticket overdue" in html
    assert "First" not in client.get("/notifications/?show=unread").get_data(as_text=True)

    response = client.post(f"/notifications/{second.id}/read", data={"open": "1"})
    assert response.status_code == 302 and response.location == f"/tickets/{ticket.id}"
    assert unread_count(user.id) == 0
    html = client.get("/notifications/?show=unread").get_data(as_text=True)
    assert "Nothing unread" in html


def test_mark_all_read(app, client, login, make_user):
    user, other = make_user(locale="en"), make_user(locale="en")
    for i in range(3):
        notify([user, other], kind="ticket_assigned", subject=f"n{i}", body="", url="/")
    db.session.commit()
    login(user)
    response = client.post("/notifications/read-all", follow_redirects=True)
    assert "3 notifications marked as read." in response.get_data(as_text=True)
    assert unread_count(user.id) == 0 and unread_count(other.id) == 3


def test_only_the_owner_sees_or_marks_a_notification(app, client, login, make_user):
    owner, intruder = make_user("viewer", locale="en"), make_user("admin", locale="en")
    (theirs,) = notify([owner], kind="ticket_assigned", subject="Private matter", body="", url="/")
    db.session.commit()
    login(intruder)
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.post("/notifications/999999/read").status_code == 404
    assert "Private matter" not in client.get("/notifications/").get_data(as_text=True)
    assert unread_count(owner.id) == 1


def test_list_paginates(app, client, login, make_user):
    user = make_user(locale="en")
    for i in range(35):
        notify([user], kind="ticket_assigned", subject=f"Item {i:02d}", body="", url="/")
    db.session.commit()
    login(user)
    first = client.get("/notifications/").get_data(as_text=True)
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert "Item 34" in first and "Item 04" not in first
    assert "Item 04" in second and "Item 34" not in second
    assert "35 in all" in first


def test_empty_list_says_so(app, client, login, make_user):
    login(make_user("viewer", locale="en"))
    html = client.get("/notifications/").get_data(as_text=True)
    assert "No notifications yet." in html


def test_hostile_text_is_escaped(app, client, login, make_user):
    user = make_user(locale="en")
    notify([user], kind="ticket_assigned", subject=payload("S"), body=payload("B"), url="/")
    db.session.commit()
    login(user)
    html = client.get("/notifications/").get_data(as_text=True)
    assert SCRIPT not in html
    assert escaped("S") in html and escaped("B") in html


def test_profile_saves_the_email_preferences(app, client, login, make_user):
    user = make_user(email="old@degs-gonda.example", locale="en")
    login(user)
    response = client.post(
        "/profile",
        data={"save_profile": "1", "email": "new@degs-gonda.example", "locale": "en"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (user.email, user.notify_email, user.notify_digest) == (
        "new@degs-gonda.example",
        False,
        False,
    )
    client.post(
        "/profile",
        data={
            "save_profile": "1",
            "email": "new@degs-gonda.example",
            "locale": "en",
            "notify_email": "y",
            "notify_digest": "y",
        },
    )
    db.session.expire_all()
    assert user.notify_email and user.notify_digest
    response = client.post(
        "/profile", data={"save_profile": "1", "email": "a@b.example\nBcc: c@d.example"}
    )
    assert "Enter one email address" in response.get_data(as_text=True)


# -- the scheduler --------------------------------------------------------------------------


def test_the_scheduler_runs_the_notification_jobs(app, district, staff):
    from inventory.jobs import JOBS, JobRunner

    ours = [job for job in JOBS if job.target.startswith("inventory.notifications.")]
    assert {job.name for job in ours} == {
        "notify-scan",
        "notify-digest",
        "notify-send",
        "notify-prune",
    }
    for job in ours:
        assert float(app.config[job.every_key]) > 0
        assert callable(job.load())
    _ticket(district["hq"], assignee=staff["engineer"], due_in=-timedelta(hours=3))
    said: list[str] = []

    JobRunner(app.config, ours).run_due(utcnow(), 1000.0, said.append)

    assert "notify-scan: notified due soon 0, overdue 3" in said
    assert not [line for line in said if "failed" in line]


def test_prune_deletes_what_is_old(app, make_user):
    app.config["NOTIFY_KEEP_DAYS"] = 30
    user = make_user()
    (old,) = notify([user], kind="ticket_assigned", subject="old", body="", url="/")
    old.created_at = utcnow() - timedelta(days=31)
    notify([user], kind="ticket_assigned", subject="new", body="", url="/")
    db.session.commit()
    assert jobs.prune(utcnow()) == "deleted 1 old notifications and 0 old emails"
    assert [n.subject for n in _rows()] == ["new"]
    assert jobs.prune(utcnow()) is None
