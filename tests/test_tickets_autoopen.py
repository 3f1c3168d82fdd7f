"""Tickets opened by the system: once per asset and cause while one is open (sequentially and
when two callers on separate connections race), recovery notes, and the health job that
opens a ticket for a device down too long and notes when it answers again."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from inventory.assets.models import Asset
from inventory.extensions import db
from inventory.health.models import AssetHealth
from inventory.jobs import JOBS, JobRunner
from inventory.notifications.models import Notification
from inventory.tickets import services
from inventory.tickets.jobs import health_tickets
from inventory.tickets.models import Ticket, TicketComment

NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
CAUSE = services.HEALTH_DOWN


@pytest.fixture
def router(district, make_asset):
    from inventory.credentials.services import save_profile

    profile = save_profile(
        None,
        plain={"name": "Block routers", "snmp_version": "v2c"},
        new_secrets={"snmp_community": "tickets-test"},
    )
    db.session.commit()
    return make_asset(
        district["block"],
        "RTR",
        model=("Cisco", "ISR 1111"),
        serial="AUTO-1",
        management_address="127.20.0.9",
        credential_profile_id=profile.id,
    )


def _tickets(asset_id: int, cause: str = CAUSE) -> list[Ticket]:
    return db.session.scalars(
        sa.select(Ticket).where(Ticket.asset_id == asset_id, Ticket.cause == cause)
    ).all()


def test_raise_for_cause_opens_once_while_open(router, make_user):
    manager = make_user("manager")
    engineer = make_user("engineer")
    first = services.raise_for_cause(
        router, cause=CAUSE, title="Router down", category="network", priority="high", now=NOW
    )
    db.session.commit()
    again = services.raise_for_cause(router, cause=CAUSE, title="Router still down")
    db.session.commit()
    assert again.id == first.id
    assert len(_tickets(router.id)) == 1
    assert first.reporter_kind == "system"
    assert first.reporter_id is None
    assert first.site_id == router.site_id
    assert (first.category, first.priority, first.status) == ("network", "high", "open")
    assert first.due_at == NOW + timedelta(days=7)
    notified = db.session.scalars(
        sa.select(Notification).where(Notification.ticket_id == first.id)
    ).all()
    assert {(n.user_id, n.kind) for n in notified} == {(manager.id, "ticket_auto_opened")}
    assert engineer.id not in {n.user_id for n in notified}

    other_cause = services.raise_for_cause(router, cause="pm:7", title="Lamp due")
    assert other_cause.id != first.id

    # Once the ticket is no longer open, the next failure opens a new one.
    services.assign(first, assignee=engineer)
    services.move(first, services.RESOLVED)
    db.session.commit()
    second = services.raise_for_cause(router, cause=CAUSE, title="Router down again")
    db.session.commit()
    assert second.id != first.id
    assert len(_tickets(router.id)) == 2


def _race(app, asset_id: int, cause: str, callers: int = 2) -> list:
    """`callers` threads, each on its own app context (own session and connection), call
    raise_for_cause at the same moment and commit."""
    barrier = threading.Barrier(callers)
    results: list = []
    errors: list = []

    def call(n: int) -> None:
        with app.app_context():
            try:
                asset = db.session.get(Asset, asset_id)
                barrier.wait(timeout=30)
                ticket = services.raise_for_cause(asset, cause=cause, title=f"Down (caller {n})")
                db.session.commit()
                results.append(ticket.id if ticket else None)
            except Exception as exc:  # reported below, in the test's thread
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=call, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_concurrent_callers_open_one_ticket(app, router):
    db.session.commit()
    for round_number in range(5):
        cause = f"health:race-{round_number}"
        results = _race(app, router.id, cause, callers=3)
        assert len(results) == 3
        assert len(set(results)) == 1, results
        db.session.rollback()
        assert len(_tickets(router.id, cause)) == 1


def test_a_caller_behind_an_uncommitted_ticket_gets_that_ticket(app, router, is_postgres):
    """The loser of the race proper: its check finds nothing (the winner has not committed),
    it inserts, waits for the winner, and takes the winner's ticket instead of failing."""
    db.session.commit()
    asset_id = router.id
    winner_flushed = threading.Event()
    loser_started = threading.Event()
    release = threading.Event()
    outcome: dict = {}

    def winner() -> None:
        with app.app_context():
            try:
                ticket = services.raise_for_cause(
                    db.session.get(Asset, asset_id), cause=CAUSE, title="Winner"
                )
                outcome["winner"] = ticket.id
                winner_flushed.set()
                release.wait(timeout=30)
                db.session.commit()
            except Exception as exc:
                outcome["winner_error"] = exc
                winner_flushed.set()
            finally:
                db.session.remove()

    def loser() -> None:
        with app.app_context():
            try:
                asset = db.session.get(Asset, asset_id)
                if is_postgres:
                    outcome["loser_pid"] = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
                    db.session.commit()
                loser_started.set()
                ticket = services.raise_for_cause(asset, cause=CAUSE, title="Loser")
                db.session.commit()
                outcome["loser"] = ticket.id if ticket else None
            except Exception as exc:
                outcome["loser_error"] = exc
            finally:
                db.session.remove()

    first = threading.Thread(target=winner)
    first.start()
    assert winner_flushed.wait(timeout=30)
    second = threading.Thread(target=loser)
    second.start()
    assert loser_started.wait(timeout=30)
    if is_postgres:
        # Wait until the loser's INSERT is blocked on the winner's uncommitted row.
        for _ in range(600):
            waiting = db.session.scalar(
                sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": outcome["loser_pid"]},
            )
            db.session.rollback()
            if waiting == "Lock":
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second caller never waited for the first one's row")
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert "winner_error" not in outcome and "loser_error" not in outcome, outcome
    assert outcome["loser"] == outcome["winner"]
    db.session.rollback()
    assert len(_tickets(asset_id)) == 1


# -- recovery --------------------------------------------------------------------------------


def test_note_recovery_adds_one_system_comment_per_recovery(router):
    assert services.note_recovery(router, cause=CAUSE, message="Back") is None  # nothing open
    ticket = services.raise_for_cause(router, cause=CAUSE, title="Router down", now=NOW)
    db.session.commit()
    up_at = NOW + timedelta(minutes=50)
    comment = services.note_recovery(router, cause=CAUSE, message="Answering again", since=up_at)
    db.session.commit()
    assert comment.is_system and comment.author_id is None
    assert comment.ticket_id == ticket.id
    assert services.note_recovery(router, cause=CAUSE, message="Again", since=up_at) is None
    later = services.note_recovery(
        router, cause=CAUSE, message="Back after a second outage", since=up_at + timedelta(hours=2)
    )
    db.session.commit()
    assert later is not None
    bodies = db.session.scalars(
        sa.select(TicketComment.body).where(TicketComment.ticket_id == ticket.id)
    ).all()
    assert bodies == ["Answering again", "Back after a second outage"]
    assert db.session.get(Ticket, ticket.id).status == "open"  # a person resolves it


def test_concurrent_recovery_notes_write_one_comment(app, router):
    ticket = services.raise_for_cause(router, cause=CAUSE, title="Router down", now=NOW)
    db.session.commit()
    up_at = NOW + timedelta(minutes=45)
    barrier = threading.Barrier(3)
    errors: list = []

    def call() -> None:
        with app.app_context():
            try:
                asset = db.session.get(Asset, router.id)
                barrier.wait(timeout=30)
                services.note_recovery(asset, cause=CAUSE, message="Back", since=up_at)
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    db.session.rollback()
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TicketComment)
        .where(TicketComment.ticket_id == ticket.id)
    )
    assert count == 1


# -- the health job --------------------------------------------------------------------------


def _health(asset_id: int, state: str, since: datetime, **fields) -> AssetHealth:
    row = db.session.get(AssetHealth, asset_id)
    if row is None:
        row = AssetHealth(asset_id=asset_id)
        db.session.add(row)
    row.state = state
    row.state_since = since
    for key, value in fields.items():
        setattr(row, key, value)
    db.session.commit()
    return row


def test_the_job_is_registered():
    [job] = [j for j in JOBS if j.target == "inventory.tickets.jobs:health_tickets"]
    assert job.load() is health_tickets
    assert job.every_key == "TICKET_HEALTH_EVERY_SECONDS"


def test_a_device_down_long_enough_gets_one_ticket_and_a_note_when_back(
    app, router, make_asset, district, make_user
):
    manager = make_user("manager")
    _health(
        router.id,
        "down",
        NOW - timedelta(minutes=31),
        last_ok_at=NOW - timedelta(minutes=33),
        last_error="timeout: no answer <script>",
    )
    assert health_tickets(NOW) == "1 tickets opened, 0 recoveries noted"
    [ticket] = _tickets(router.id)
    assert ticket.reporter_kind == "system"
    assert (ticket.category, ticket.priority) == ("network", "high")
    assert router.tag in ticket.title
    assert "timeout: no answer <script>" in ticket.description
    assert (
        db.session.scalar(
            sa.select(Notification.user_id).where(Notification.ticket_id == ticket.id)
        )
        == manager.id
    )
    # Still down at the next runs: nothing new.
    assert health_tickets(NOW + timedelta(minutes=1)) is None
    assert health_tickets(NOW + timedelta(hours=3)) is None
    assert len(_tickets(router.id)) == 1

    up_since = NOW + timedelta(minutes=40)
    _health(router.id, "up", up_since)
    assert health_tickets(up_since + timedelta(minutes=1)) == "0 tickets opened, 1 recoveries noted"
    assert health_tickets(up_since + timedelta(minutes=2)) is None
    [note] = db.session.scalars(
        sa.select(TicketComment).where(TicketComment.ticket_id == ticket.id)
    ).all()
    assert note.is_system and router.tag in note.body
    db.session.refresh(ticket)
    assert ticket.status == "open"

    # Down and back again while the ticket is still open: no second ticket, a second note.
    _health(router.id, "down", up_since + timedelta(hours=1))
    assert health_tickets(up_since + timedelta(hours=2)) is None
    _health(router.id, "up", up_since + timedelta(hours=3))
    assert health_tickets(up_since + timedelta(hours=3, minutes=1)) == (
        "0 tickets opened, 1 recoveries noted"
    )
    assert len(_tickets(router.id)) == 1


def test_short_outages_and_unmonitored_devices_get_no_ticket(app, router, make_asset, district):
    _health(router.id, "down", NOW - timedelta(minutes=10))
    in_store = make_asset(
        district["csc"],
        "RTR",
        serial="AUTO-STORE",
        status="in_store",
        management_address="127.20.0.10",
        credential_profile_id=router.credential_profile_id,
    )
    _health(in_store.id, "down", NOW - timedelta(days=3))
    assert health_tickets(NOW) is None
    assert _tickets(router.id) == [] and _tickets(in_store.id) == []

    app.config["TICKET_AUTO_OPEN_AFTER_MINUTES"] = 5
    assert health_tickets(NOW) == "1 tickets opened, 0 recoveries noted"
    assert len(_tickets(router.id)) == 1

    app.config["TICKET_AUTO_OPEN_AFTER_MINUTES"] = None  # turned off
    services.move(_tickets(router.id)[0], services.CANCELLED)
    db.session.commit()
    assert health_tickets(NOW + timedelta(hours=1)) is None


def test_the_scheduler_runs_the_job(app, router):
    router_id = router.id  # the runner ends the session: objects are detached after it
    _health(router_id, "down", NOW - timedelta(hours=1))
    lines: list[str] = []
    runner = JobRunner(app.config, jobs=[j for j in JOBS if j.name == "tickets-health"])
    runner.run_due(NOW, 0.0, lines.append)
    assert lines == ["tickets-health: 1 tickets opened, 0 recoveries noted"]
    assert len(_tickets(router_id)) == 1
