"""Deleting a record that others still name is refused with a clear message and changes
nothing: an asset or a site with tickets, a catalogue entry that a maintenance plan uses."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from inventory.assets.models import Asset
from inventory.catalog.models import AssetModel
from inventory.catalog.services import get_category_by_code
from inventory.extensions import db
from inventory.maintenance import services as maintenance
from inventory.maintenance.models import MaintenancePlan
from inventory.sites.models import Site
from inventory.tickets.services import open_ticket


def test_an_asset_with_tickets_is_not_deleted(app, as_role, district, make_asset):
    asset = make_asset(district["csc"], "PRJ")
    open_ticket(site=asset.site, asset=asset, title="Lamp does not light")
    db.session.commit()
    client = as_role("manager")
    response = client.post(f"/assets/{asset.id}/delete", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "has 1 maintenance tickets, which must be kept" in page
    assert db.session.get(Asset, asset.id) is not None
    # Without tickets the same asset goes.
    other_id = make_asset(district["csc"], "PRJ").id
    client.post(f"/assets/{other_id}/delete")
    db.session.expire_all()
    assert db.session.get(Asset, other_id) is None


def test_a_site_with_tickets_is_not_deleted(app, as_role, make_site):
    hq = make_site(kind="district_hq")
    office = make_site(kind="tehsil", parent=hq)
    open_ticket(site=office, title="Link down since morning", category="network")
    db.session.commit()
    page = as_role("manager").post(f"/sites/{office.id}/delete", follow_redirects=True)
    assert "has 1 tickets and inspections on record" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Site, office.id) is not None


def test_a_model_a_plan_uses_is_not_deleted_with_the_plan(app, as_role, make_asset, district):
    asset = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"))
    model = asset.model
    db.session.delete(asset)
    db.session.commit()
    plan = maintenance.create_plan(
        name="Epson filter cleaning",
        model_id=model.id,
        trigger="interval",
        interval_days=90,
        lead_days=7,
        first_due_date=date(2026, 12, 1),
        ticket_title="{plan}: {asset}",
        priority="normal",
        ticket_category="projector",
    )
    db.session.commit()
    page = as_role("manager").post(f"/catalog/model/{model.id}/delete", follow_redirects=True)
    assert "is still in use (1 records)" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(AssetModel, model.id) is not None
    assert db.session.get(MaintenancePlan, plan.id) is not None
    assert get_category_by_code("PRJ") is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MaintenancePlan)) == 1
