"""Preventive maintenance: plan rules, scope, one ticket ahead of the due date, nothing on a
second run, the due date moving when the ticket closes (by the call and by the job alone),
counter plans on constructed health data, the job, and the pages by role."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from inventory.assets.models import Asset
from inventory.catalog.services import get_category_by_code
from inventory.extensions import db
from inventory.health.models import AssetHealth, HealthSample
from inventory.maintenance import jobs, services
from inventory.maintenance.models import MaintenancePlan, PlanState
from inventory.maintenance.services import MaintenanceError, latest_counter, plan_ticket_closed
from inventory.tickets.models import Ticket
from inventory.vendors import services as vendors

NOW = datetime(2025, 6, 2, 4, 30, tzinfo=UTC)  # 10:00 on 2 June in Gonda


def at_day(day: date, hour: int = 10) -> datetime:
    """A moment on a local (IST) calendar day."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=5, minutes=30)


@pytest.fixture
def as_role(app, make_user, login):
    return lambda role: login(make_user(role, locale="en"), target_client=app.test_client())


@pytest.fixture
def projectors(district, make_asset):
    """Projectors at the CSC and the block (below the tehsil), one at HQ, one in store."""
    model = ("Epson", "EB-X51")
    return {
        "csc": make_asset(district["csc"], "PRJ", model=model),
        "block": make_asset(district["block"], "PRJ", model=model),
        "hq": make_asset(district["hq"], "PRJ", model=model),
        "store": make_asset(district["csc"], "PRJ", model=model, status="in_store"),
    }


def interval_plan(district, **fields):
    values = {
        "name": "Projector filter cleaning",
        "category_id": get_category_by_code("PRJ").id,
        "site_id": district["tehsil"].id,
        "trigger": "interval",
        "interval_days": 90,
        "lead_days": 7,
        "first_due_date": date(2025, 6, 12),
        "ticket_title": "{plan}: {asset}",
        "ticket_description": "Clean the filter of {asset} ({model}) at {site} by {due}.",
        "priority": "normal",
        "ticket_category": "projector",
    }
    values.update(fields)
    plan = services.create_plan(**values)
    db.session.commit()
    return plan


def pm_tickets(plan) -> list[Ticket]:
    return list(
        db.session.scalars(sa.select(Ticket).where(Ticket.cause == plan.cause).order_by(Ticket.id))
    )


def state_of(plan, asset) -> PlanState:
    return db.session.scalar(
        sa.select(PlanState).where(PlanState.plan_id == plan.id, PlanState.asset_id == asset.id)
    )


def close(ticket: Ticket, when: datetime, status: str = "closed") -> None:
    """What the tickets workflow does on closing (or cancelling) a ticket."""
    ticket.status = status
    ticket.closed_at = when
    ticket.resolved_at = when if status == "closed" else None
    ticket.open_key = None
    db.session.commit()


def run(plan, when):
    result = services.run_plan(db.session.get(MaintenancePlan, plan.id), when)
    db.session.commit()
    return result


# --- plan rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"category_id": None}, "target", "exactly one"),
        ({"asset": True}, "target", "exactly one"),  # category and asset
        ({"category_id": None, "asset": True}, "site_id", "cannot also be limited"),
        ({"category_id": 99999}, "category_id", "does not exist"),
        ({"interval_days": 0}, "interval_days", "Repeat every"),
        ({"lead_days": 90}, "lead_days", "fewer days ahead"),
        ({"trigger": "counter", "counter": "lamp_hours"}, "counter_interval", "more than zero"),
        (
            {"trigger": "counter", "counter": "no_such_counter", "counter_interval": 5},
            "counter",
            "counter",
        ),
        (
            {
                "trigger": "counter",
                "counter": "lamp_hours",
                "counter_interval": 100,
                "counter_margin": 100,
            },
            "counter_margin",
            "less than the interval",
        ),
        ({"trigger": "sometimes"}, "trigger", "when the plan is due"),
        ({"ticket_title": "{plan} {oops}"}, "ticket_title", "{oops}"),
        ({"name": " "}, "name", "needs a name"),
        ({"priority": "urgent"}, "priority", "priority"),
    ],
)
def test_plan_validation(district, projectors, change, field, words):
    if change.pop("asset", False):
        change["asset_id"] = projectors["csc"].id
    with pytest.raises(MaintenanceError) as caught:
        interval_plan(district, **change)
    assert caught.value.field == field
    assert words in str(caught.value)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MaintenancePlan)) == 0


def test_database_refuses_two_targets(district, projectors):
    plan = interval_plan(district)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.update(MaintenancePlan)
            .where(MaintenancePlan.id == plan.id)
            .values(asset_id=projectors["csc"].id)
        )
        db.session.flush()
    db.session.rollback()


def test_scope_by_category_site_model_and_asset(district, projectors):
    by_category = interval_plan(district)
    everywhere = interval_plan(district, name="All projectors", site_id=None)
    model = projectors["csc"].model
    by_model = interval_plan(
        district, name="EB-X51", category_id=None, model_id=model.id, site_id=None
    )
    one = interval_plan(
        district,
        name="Hall projector",
        category_id=None,
        site_id=None,
        asset_id=projectors["hq"].id,
    )

    def scope(plan):
        return set(db.session.scalars(sa.select(Asset.id).where(services.scope_condition(plan))))

    p = projectors
    assert scope(by_category) == {p["csc"].id, p["block"].id}  # not HQ, not the one in store
    assert scope(everywhere) == {p["csc"].id, p["block"].id, p["hq"].id}
    assert scope(by_model) == {p["csc"].id, p["block"].id, p["hq"].id}
    assert scope(one) == {p["hq"].id}
    names = {plan.name for plan, _state in services.plans_for_asset(p["csc"])}
    assert names == {"Projector filter cleaning", "All projectors", "EB-X51"}
    assert {plan.name for plan, _ in services.plans_for_asset(p["hq"])} == {
        "All projectors",
        "EB-X51",
        "Hall projector",
    }


# --- interval plans ---------------------------------------------------------------------


def test_interval_plan_opens_one_ticket_ahead_of_due_and_moves_on_close(district, projectors):
    plan = interval_plan(district)
    first = run(plan, NOW)  # 2 June: due 12 June, opens from 5 June
    assert (first.started, first.opened) == (2, [])
    assert state_of(plan, projectors["csc"]).next_due_date == date(2025, 6, 12)
    assert run(plan, at_day(date(2025, 6, 4))).opened == []

    opened = run(plan, at_day(date(2025, 6, 5)))
    assert len(opened.opened) == 2
    tickets = pm_tickets(plan)
    assert sorted(t.asset_id for t in tickets) == sorted(
        [projectors["csc"].id, projectors["block"].id]
    )
    ticket = next(t for t in tickets if t.asset_id == projectors["csc"].id)
    assert ticket.reporter_kind == "system"
    assert ticket.cause == f"pm:{plan.id}"
    assert ticket.site_id == projectors["csc"].site_id
    assert ticket.category == "projector" and ticket.status == "open"
    assert ticket.title == f"Projector filter cleaning: {projectors['csc'].tag}"
    assert "by 12-06-2025" in ticket.description and "Epson EB-X51" in ticket.description

    # Running again, the same day or later, opens nothing more.
    assert run(plan, at_day(date(2025, 6, 5))).opened == []
    assert run(plan, at_day(date(2025, 6, 20))).opened == []
    assert len(pm_tickets(plan)) == 2

    # The tickets side closes it and calls plan_ticket_closed: next due = close + 90 days.
    close(ticket, at_day(date(2025, 6, 10), 15))
    assert plan_ticket_closed(ticket) is True
    db.session.commit()
    state = state_of(plan, projectors["csc"])
    assert state.next_due_date == date(2025, 9, 8)
    assert state.ticket_id is None and state.last_ticket_id == ticket.id
    assert state.last_done_at == at_day(date(2025, 6, 10), 15)
    assert plan_ticket_closed(ticket) is False  # a second call changes nothing
    assert run(plan, at_day(date(2025, 6, 10), 16)).advanced == 0

    # Nothing until seven days before 8 September, then exactly one new ticket.
    assert run(plan, at_day(date(2025, 8, 31))).opened == []
    second = run(plan, at_day(date(2025, 9, 1)))
    assert len(second.opened) == 1
    assert len(pm_tickets(plan)) == 3


def test_the_job_moves_the_due_date_on_its_own(district, projectors):
    """If the tickets side never calls plan_ticket_closed, the next run notices the close."""
    plan = interval_plan(district, site_id=district["csc"].id)  # the CSC's projector only
    run(plan, at_day(date(2025, 6, 6)))
    (ticket,) = pm_tickets(plan)
    close(ticket, at_day(date(2025, 6, 20)))
    result = run(plan, at_day(date(2025, 6, 21)))
    assert result.advanced == 1 and result.opened == []
    assert state_of(plan, projectors["csc"]).next_due_date == date(2025, 9, 18)
    assert run(plan, at_day(date(2025, 6, 22))).advanced == 0


def test_resolved_is_not_closed_and_cancelled_skips_the_occurrence(district, projectors):
    plan = interval_plan(district, site_id=district["csc"].id)
    run(plan, at_day(date(2025, 6, 6)))
    (ticket,) = pm_tickets(plan)
    ticket.status, ticket.resolved_at, ticket.open_key = "resolved", NOW, None
    db.session.commit()
    assert plan_ticket_closed(ticket) is False
    assert run(plan, at_day(date(2025, 6, 30))).opened == []  # still waits for closing
    close(ticket, at_day(date(2025, 7, 1)), status="cancelled")
    assert run(plan, at_day(date(2025, 7, 2))).advanced == 1
    state = state_of(plan, projectors["csc"])
    assert state.next_due_date == date(2025, 9, 29)
    assert state.last_done_at is None  # cancelled: not done


def test_a_reopened_ticket_is_followed_again(district, projectors):
    plan = interval_plan(district, site_id=district["csc"].id)
    run(plan, at_day(date(2025, 6, 6)))
    (ticket,) = pm_tickets(plan)
    close(ticket, at_day(date(2025, 6, 10)))
    run(plan, at_day(date(2025, 6, 11)))
    # Reopened (the tickets side restores the open_key), then closed again later.
    ticket.status, ticket.closed_at = "in_progress", None
    ticket.open_key = f"{ticket.asset_id}:{plan.cause}"
    db.session.commit()
    run(plan, at_day(date(2025, 6, 12)))
    assert state_of(plan, projectors["csc"]).ticket_id == ticket.id
    close(ticket, at_day(date(2025, 6, 25)))
    assert plan_ticket_closed(ticket) is True
    db.session.commit()
    assert state_of(plan, projectors["csc"]).next_due_date == date(2025, 9, 23)
    assert len(pm_tickets(plan)) == 1


def test_an_open_ticket_for_the_same_cause_is_followed_not_duplicated(district, projectors):
    plan = interval_plan(district, site_id=district["csc"].id)
    run(plan, at_day(date(2025, 6, 6)))
    (ticket,) = pm_tickets(plan)
    # The plan's bookkeeping is lost (for example restored from an old backup).
    db.session.execute(sa.update(PlanState).values(ticket_id=None, last_ticket_id=None))
    db.session.commit()
    result = run(plan, at_day(date(2025, 6, 7)))
    assert result.opened == [] and result.adopted == 1
    assert len(pm_tickets(plan)) == 1
    assert state_of(plan, projectors["csc"]).ticket_id == ticket.id


def test_first_due_without_a_date_is_one_interval_away(district, projectors):
    plan = interval_plan(district, first_due_date=None, interval_days=30, lead_days=3)
    run(plan, NOW)
    assert state_of(plan, projectors["csc"]).next_due_date == date(2025, 7, 2)
    past = interval_plan(district, name="Past first date", first_due_date=date(2025, 1, 1))
    run(past, NOW)
    assert state_of(past, projectors["csc"]).next_due_date == date(2025, 8, 31)


def test_plan_vendor_gets_the_ticket(district, projectors):
    vendor = vendors.create_vendor(name="Awadh Infotech", kind="amc")
    plan = interval_plan(district, site_id=district["csc"].id, vendor_id=vendor.id)
    run(plan, at_day(date(2025, 6, 6)))
    (ticket,) = pm_tickets(plan)
    assert ticket.vendor_id == vendor.id and ticket.status == "assigned"


def test_paused_plan_opens_nothing_but_still_follows_its_tickets(district, projectors):
    plan = interval_plan(district, site_id=district["csc"].id)
    run(plan, at_day(date(2025, 6, 6)))
    (ticket,) = pm_tickets(plan)
    services.set_plan_active(plan, False)
    close(ticket, at_day(date(2025, 6, 8)))
    assert jobs.run(at_day(date(2025, 6, 9))) == "0 tickets opened, 1 due dates moved on"
    assert run(plan, at_day(date(2025, 9, 5))).opened == []


def test_editing_the_schedule_reschedules_assets_without_a_ticket(district, projectors):
    plan = interval_plan(district)
    run(plan, NOW)
    services.update_plan(
        plan, today=date(2025, 6, 2), first_due_date=None, interval_days=30, lead_days=5
    )
    db.session.commit()
    assert state_of(plan, projectors["csc"]).next_due_date == date(2025, 7, 2)


# --- the job ----------------------------------------------------------------------------


def test_job_runs_every_plan_once_and_a_second_run_changes_nothing(district, projectors):
    interval_plan(district)
    when = at_day(date(2025, 6, 6))
    assert jobs.run(when) == "2 tickets opened, 0 due dates moved on, 2 assets newly scheduled"
    before = db.session.execute(sa.select(PlanState.id, PlanState.ticket_id)).all()
    assert jobs.run(when) is None
    assert jobs.run(when + timedelta(hours=1)) is None
    assert db.session.execute(sa.select(PlanState.id, PlanState.ticket_id)).all() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 2


def test_job_is_registered(app):
    from inventory.jobs import JOBS

    job = next(j for j in JOBS if j.name == "maintenance")
    assert job.load() is jobs.run
    assert app.config[job.every_key] == 3600


# --- counters ---------------------------------------------------------------------------


def test_latest_counter_reads_health_data(district, make_asset):
    asset = make_asset(district["csc"], "PRN")
    assert latest_counter(asset.id, "toner_pct") is None
    assert latest_counter(asset.id, "lamp_hours") is None  # no such figure stored yet
    assert latest_counter(asset.id, "asset_id") is None  # not a figure
    for minutes, value in ((0, 80.0), (10, 75.0), (20, None)):
        db.session.add(
            HealthSample(asset_id=asset.id, at=NOW + timedelta(minutes=minutes), toner_pct=value)
        )
    db.session.commit()
    assert latest_counter(asset.id, "toner_pct") == 75.0  # the newest that has it
    db.session.add(AssetHealth(asset_id=asset.id, state="up", toner_pct=71.5, uptime_seconds=42))
    db.session.commit()
    assert latest_counter(asset.id, "toner_pct") == 71.5  # the latest state wins
    assert latest_counter(asset.id, "uptime_seconds") == 42.0


def test_counter_plan_on_constructed_health_data(district, make_asset):
    printer = make_asset(district["csc"], "PRN")
    silent = make_asset(district["csc"], "PRN")
    health = AssetHealth(asset_id=printer.id, state="up", uptime_seconds=400)
    db.session.add(health)
    db.session.commit()
    plan = services.create_plan(
        name="Service after each 1000",
        category_id=printer.category_id,
        trigger="counter",
        counter="uptime_seconds",
        counter_interval=1000,
        counter_margin=50,
        ticket_title="{plan}: {asset} at {reading}",
    )
    db.session.commit()
    run(plan, NOW)
    state = state_of(plan, printer)
    assert state.next_due_counter == 1000.0 and state.last_reading == 400.0
    assert state_of(plan, silent).next_due_counter is None  # no reading: no threshold

    health.uptime_seconds = 949
    db.session.commit()
    assert run(plan, NOW).opened == []
    health.uptime_seconds = 960  # within the margin of 1000
    db.session.commit()
    assert len(run(plan, NOW).opened) == 1
    assert run(plan, NOW).opened == []
    (ticket,) = pm_tickets(plan)
    assert ticket.title == f"Service after each 1000: {printer.tag} at 960"

    health.uptime_seconds = 1010
    db.session.commit()
    close(ticket, NOW + timedelta(days=1))
    assert plan_ticket_closed(ticket) is True
    db.session.commit()
    assert state_of(plan, printer).next_due_counter == 2010.0
    assert run(plan, NOW + timedelta(days=2)).opened == []


def test_lamp_hours_plan_waits_for_readings(as_role, district, make_asset):
    projector = make_asset(district["csc"], "PRJ")
    plan = services.create_plan(
        name="Lamp replacement",
        asset_id=projector.id,
        trigger="counter",
        counter="lamp_hours",
        counter_interval=2000,
        counter_margin=100,
    )
    db.session.commit()
    assert run(plan, NOW).opened == []
    page = as_role("viewer").get(f"/maintenance/{plan.id}").get_data(as_text=True)
    assert "no reading yet" in page and "Every 2000 Projector lamp hours" in page


# --- pages and roles --------------------------------------------------------------------


def test_admin_creates_a_plan_through_the_form(as_role, district, projectors):
    client = as_role("admin")
    form = {
        "name": "Filter cleaning",
        "target": "asset",
        "asset_tag": "NO-SUCH-TAG",
        "trigger": "interval",
        "interval_days": "60",
        "lead_days": "5",
        "ticket_title": "{plan}: {asset}",
        "ticket_category": "projector",
        "priority": "high",
    }
    response = client.post("/maintenance/new", data=form)
    assert response.status_code == 400
    assert "No asset has the tag NO-SUCH-TAG." in response.get_data(as_text=True)
    form["asset_tag"] = projectors["csc"].tag.lower()
    form["category_id"] = str(get_category_by_code("DSK").id)  # ignored: the target is an asset
    response = client.post("/maintenance/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    plan = db.session.scalar(sa.select(MaintenancePlan))
    assert plan.asset_id == projectors["csc"].id and plan.category_id is None
    assert plan.priority == "high" and plan.interval_days == 60

    form["ticket_title"] = "{plan} {whatever}"
    response = client.post(f"/maintenance/{plan.id}/edit", data=form)
    assert response.status_code == 400
    assert "Unknown placeholder {whatever}." in response.get_data(as_text=True)


def test_run_now_and_roles(as_role, district, projectors):
    plan = interval_plan(district, first_due_date=vendors.society_today())
    manager = as_role("manager")
    page = manager.get(f"/maintenance/{plan.id}").get_data(as_text=True)
    assert "Run now" not in page and f"/maintenance/{plan.id}/edit" not in page
    assert manager.post(f"/maintenance/{plan.id}/run").status_code == 403
    assert manager.get("/maintenance/new").status_code == 403
    assert as_role("engineer").post(f"/maintenance/{plan.id}/edit").status_code == 403
    assert pm_tickets(plan) == []

    admin = as_role("admin")
    page = admin.post(f"/maintenance/{plan.id}/run", follow_redirects=True).get_data(as_text=True)
    assert "2 tickets opened." in page
    page = admin.post(f"/maintenance/{plan.id}/run", follow_redirects=True).get_data(as_text=True)
    assert "Nothing is due yet: no ticket opened." in page
    assert len(pm_tickets(plan)) == 2
    listing = as_role("viewer").get("/maintenance/").get_data(as_text=True)
    assert "Projector filter cleaning" in listing
    detail = as_role("viewer").get(f"/maintenance/{plan.id}").get_data(as_text=True)
    assert projectors["csc"].tag in detail and projectors["hq"].tag not in detail
    asset_page = as_role("viewer").get(f"/assets/{projectors['csc'].id}").get_data(as_text=True)
    assert "Projector filter cleaning" in asset_page


def test_pause_and_delete(as_role, district, projectors):
    plan = interval_plan(district)
    run(plan, at_day(date(2025, 6, 6)))
    admin = as_role("admin")
    admin.post(f"/maintenance/{plan.id}/active", data={"active": "0"})
    db.session.refresh(plan)
    assert plan.active is False
    page = admin.post(f"/maintenance/{plan.id}/run", follow_redirects=True).get_data(as_text=True)
    assert "The plan is paused. Activate it first." in page
    assert admin.post(f"/maintenance/{plan.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MaintenancePlan)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanState)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 2  # kept


def test_two_jobs_at_the_same_moment_open_each_ticket_once(app, district, projectors):
    """Two schedulers by mistake: each runs the job on its own connection, at once."""
    interval_plan(district)
    when = at_day(date(2025, 6, 6))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    summaries: list[str | None] = []

    def worker():
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                summaries.append(jobs.run(when))
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(summaries) == 2 and not any("failed" in (s or "") for s in summaries), summaries
    assert sum("2 tickets opened" in (s or "") for s in summaries) == 1, summaries
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanState)) == 2
    assert all(s.ticket_id for s in db.session.scalars(sa.select(PlanState)))
