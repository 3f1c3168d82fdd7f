"""The financial year (April-March, in India's time zone) and the budget view's figures on
constructed data."""

from __future__ import annotations

import sys
import types
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from inventory.extensions import db
from inventory.procurement import reports, services


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2027, 3, 31), "2026-27"),
        (date(2027, 4, 1), "2027-28"),
        (date(2026, 12, 31), "2026-27"),
        (date(2027, 1, 1), "2026-27"),
        (date(2099, 4, 1), "2099-00"),
    ],
)
def test_financial_year_of_a_day(day, year):
    assert services.financial_year_of(day) == year


def test_the_year_turns_at_midnight_in_india_not_utc(app):
    # 18:29 UTC on 31 March is 23:59 in Asia/Kolkata; 18:30 UTC is 00:00 on 1 April.
    assert services.current_financial_year(datetime(2027, 3, 31, 18, 29, tzinfo=UTC)) == "2026-27"
    assert services.current_financial_year(datetime(2027, 3, 31, 18, 30, tzinfo=UTC)) == "2027-28"


def test_financial_year_text_and_bounds():
    assert services.valid_financial_year("2026-27")
    assert services.valid_financial_year("2099-00")
    for text in ("2026-28", "2026/27", "26-27", "", None, "2026-2027"):
        assert not services.valid_financial_year(text)
    assert services.financial_year_bounds("2026-27") == (date(2026, 4, 1), date(2027, 3, 31))


@pytest.fixture
def base(app, categories, district, make_user):
    from inventory.catalog.services import get_category_by_code

    services.ensure_default_budget_heads()
    db.session.commit()
    heads = services.budget_heads()
    return types.SimpleNamespace(
        user=make_user("engineer"),
        degs=heads[0],
        digital=heads[3],
        prj=get_category_by_code("PRJ"),
        site=district["csc"],
    )


def make(b, *, head, status, quantity, estimate, actual=None, now=None, year=None):
    pr = services.create_request(
        requester=b.user,
        title=f"{status} {quantity} x {estimate}",
        budget_head_id=head.id,
        financial_year=year,
        lines=[
            services.LineIn(
                category_id=b.prj.id,
                quantity=quantity,
                estimated_unit_cost=estimate,
                destinations=[(b.site.id, quantity)],
            )
        ],
        now=now,
    )
    pr.status = status
    if actual is not None:
        pr.lines[0].actual_unit_cost = Decimal(actual)
    db.session.commit()
    return pr


def test_numbers_follow_the_year_a_request_is_created_in(base):
    before = make(
        base,
        head=base.degs,
        status="draft",
        quantity=1,
        estimate="1",
        now=datetime(2027, 3, 31, 18, 29, tzinfo=UTC),
    )
    after = make(
        base,
        head=base.degs,
        status="draft",
        quantity=1,
        estimate="1",
        now=datetime(2027, 3, 31, 18, 30, tzinfo=UTC),
    )
    assert (before.number, before.financial_year) == ("PR-2026-27-0001", "2026-27")
    assert (after.number, after.financial_year) == ("PR-2027-28-0001", "2027-28")


def test_default_budget_heads_are_added_once(base):
    names = [h.name for h in services.budget_heads()]
    assert names == [
        "DeGS fund",
        "Share of CSC user charges",
        "e-District project",
        "Digital India",
    ]
    assert services.ensure_default_budget_heads() == 0


def test_budget_figures_per_head_and_year(base, monkeypatch):
    y = "2026-27"
    make(base, head=base.degs, status="draft", quantity=5, estimate="1000", year=y)
    make(base, head=base.degs, status="rejected", quantity=5, estimate="1000", year=y)
    make(base, head=base.degs, status="cancelled", quantity=5, estimate="1000", year=y)
    submitted = make(base, head=base.degs, status="submitted", quantity=2, estimate="100", year=y)
    approved = make(base, head=base.degs, status="approved", quantity=3, estimate="200", year=y)
    ordered = make(
        base, head=base.degs, status="ordered", quantity=4, estimate="300", actual="280", year=y
    )
    partly = make(
        base,
        head=base.degs,
        status="partly_received",
        quantity=10,
        estimate="50",
        actual="55.50",
        year=y,
    )
    other_head = make(
        base,
        head=base.digital,
        status="closed",
        quantity=1,
        estimate="9000",
        actual="8500",
        year=y,
    )
    older = make(base, head=base.degs, status="submitted", quantity=1, estimate="7", year="2025-26")
    received = {partly.lines[0].id: 4, other_head.lines[0].id: 1}
    fake = types.ModuleType("inventory.procurement.receiving")
    fake.received_by_line = lambda request_id: {
        line_id: n for line_id, n in received.items() if line_id in _line_ids(request_id)
    }
    monkeypatch.setitem(sys.modules, "inventory.procurement.receiving", fake)

    view = reports.budget_view()
    rows = {(r.financial_year, r.head.name): r for r in view.rows}
    assert list(rows) == [
        ("2026-27", "DeGS fund"),
        ("2026-27", "Digital India"),
        ("2025-26", "DeGS fund"),
    ]
    degs = rows[("2026-27", "DeGS fund")]
    # requested: submitted 200 + approved 600 + ordered 1200 + partly 500
    assert degs.requested == Decimal("2500.00")
    # sanctioned: approved 600 + ordered 1200 + partly 500
    assert degs.sanctioned == Decimal("2300.00")
    # ordered: 4 x 280 + 10 x 55.50
    assert degs.ordered == Decimal("1675.00")
    # received: 4 x 55.50
    assert degs.received == Decimal("222.00")
    assert [f.request.id for f in degs.requests] == [
        submitted.id,
        approved.id,
        ordered.id,
        partly.id,
    ]
    figures = {f.request.id: f for f in degs.requests}
    assert figures[ordered.id].estimate == Decimal("1200.00")
    assert figures[ordered.id].actual == Decimal("1120.00")
    assert figures[ordered.id].difference == Decimal("-80.00")
    assert figures[approved.id].actual is None and figures[approved.id].difference is None
    digital = rows[("2026-27", "Digital India")]
    assert (digital.requested, digital.sanctioned, digital.ordered, digital.received) == (
        Decimal("9000.00"),
        Decimal("9000.00"),
        Decimal("8500.00"),
        Decimal("8500.00"),
    )
    assert rows[("2025-26", "DeGS fund")].requested == Decimal("7.00")
    assert view.total.requested == Decimal("11507.00")
    assert view.total.received == Decimal("8722.00")

    only = reports.budget_view("2026-27", base.digital.id)
    assert [(r.financial_year, r.head.name) for r in only.rows] == [("2026-27", "Digital India")]
    assert only.total is None
    assert older.id not in [f.request.id for r in only.rows for f in r.requests]


def _line_ids(request_id: int) -> set[int]:
    from inventory.procurement.models import RequestLine

    return {
        line.id for line in db.session.query(RequestLine).filter_by(request_id=request_id).all()
    }


def test_budget_page_shows_the_figures(base, as_role):
    make(base, head=base.degs, status="approved", quantity=3, estimate="123456", year="2026-27")
    client = as_role("viewer")
    body = client.get("/procurement/budget?year=2026-27").get_data(as_text=True)
    assert "₹3,70,368.00" in body  # requested and sanctioned, Indian grouping
    assert "DeGS fund" in body
    empty = client.get("/procurement/budget?year=2020-21").get_data(as_text=True)
    assert "No submitted requests for this selection yet." in empty
