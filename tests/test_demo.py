"""The Gonda district demo: what it loads, that it loads it once, and that its users log in."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from inventory.assets.models import Asset
from inventory.audit.models import ChangeLog
from inventory.auth.models import User
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.credentials.models import CredentialProfile
from inventory.credentials.services import read_secrets
from inventory.demo import DEMO_USERS, asset_plan
from inventory.extensions import db
from inventory.sites.models import Site

CREDENTIAL_LINE = re.compile(r"^\s+(\w+)\s+username: (\S+)\s+password: (\S+)\s*$", re.M)


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _sites(kind: str) -> list[Site]:
    return db.session.scalars(sa.select(Site).where(Site.kind == kind)).all()


def _assets(**where) -> list[Asset]:
    query = sa.select(Asset).join(Asset.category)
    for key, value in where.items():
        query = query.where(
            Category.code == value if key == "category" else getattr(Asset, key) == value
        )
    return db.session.scalars(query).unique().all()


def _the_district_as_in_the_brief():
    assert len(_sites("district_hq")) == 1
    assert len(_sites("tehsil")) == 4
    assert len(_sites("block")) == 16
    assert len(_sites("municipality")) == 3
    assert 6 <= len(_sites("csc")) <= 8
    offices = {s.name_en: s.name_hi for s in _sites("office")}
    assert offices["Collectorate"] == "कलेक्ट्रेट"
    assert {s.name_hi for s in _sites("tehsil")} == {"सदर", "करनैलगंज", "तरबगंज", "मनकापुर"}
    blocks = {s.name_en: s for s in _sites("block")}
    assert blocks["Pandri Kripal"].name_hi == "पण्डरी कृपाल"
    assert "Khargupur" not in blocks
    assert all(b.parent.kind == "tehsil" for b in blocks.values())
    assert all(c.parent.kind == "block" for c in _sites("csc"))
    assert all(s.contact_name and s.contact_phone and s.address for s in _sites("block"))
    assert {s.link_type for s in db.session.scalars(sa.select(Site))} >= {"swan", "broadband", "4g"}


def _every_tehsil_and_block_has_a_projector_and_a_vc_endpoint():
    for site in _sites("tehsil") + _sites("block"):
        codes = {a.category.code for a in _assets(site_id=site.id)}
        assert {"PRJ", "VCC", "CAM", "DSP", "RTR", "UPS", "DSK"} <= codes, site.code
    hall = [a for a in _assets(category="VCC") if a.location == "Meeting hall"]
    assert any(a.site.code == "GON-COL" for a in hall)


def _paperwork_is_plausible_with_trouble_to_review():
    today = date.today()
    assets = _assets()
    assert len(assets) > 300
    assert sum(a.warranty_end < today for a in assets) > 10
    assert sum(today <= a.warranty_end <= today + timedelta(days=90) for a in assets) >= 5
    assert any(a.amc_vendor and a.amc_end < today for a in assets)
    assert any(a.amc_vendor and today <= a.amc_end <= today + timedelta(days=90) for a in assets)
    statuses = {a.status for a in assets}
    assert {"deployed", "in_store", "under_repair", "non_functional", "condemned"} <= statuses
    for asset in assets:
        assert asset.model is not None and asset.serial
        assert date(2016, 1, 1) <= asset.purchase_date <= date(2025, 12, 31)
        assert asset.purchase_cost > 0 and asset.supplier and asset.budget_head
        assert re.fullmatch(r"GEMC-\d{15}|DeGS/GON/\d{4}-\d{2}/PO-\d{2}", asset.order_reference)


def _management_addresses_are_loopback_only():
    addresses = [a.management_address for a in _assets() if a.management_address]
    assert len(addresses) == len(set(addresses)) > 100
    loopback = ipaddress.ip_network("127.0.0.0/8")
    assert all(ipaddress.ip_address(text) in loopback for text in addresses)
    for code in ("RTR", "SWT", "PRJ", "VCC", "PRN"):
        assert all(a.management_address for a in _assets(category=code)), code
        assert all(a.credential_profile_id for a in _assets(category=code)), code


def _credentials_profiles_are_attached():
    profiles = {p.name: p for p in db.session.scalars(sa.select(CredentialProfile))}
    swan, office = profiles["SWAN routers v3"], profiles["Office devices v2c"]
    assert (swan.snmp_version, swan.snmp_auth_protocol, swan.snmp_priv_protocol) == (
        "v3",
        "sha",
        "aes",
    )
    assert set(read_secrets(swan)) == {"snmp_auth_key", "snmp_priv_key", "ssh_password"}
    assert read_secrets(office)["snmp_community"]
    swan_routers = [a for a in _assets(category="RTR") if a.site.link_type == "swan"]
    assert swan_routers and all(a.credential_profile_id == swan.id for a in swan_routers)
    assert all(a.credential_profile_id == office.id for a in _assets(category="PRJ"))


def test_demo_loads_gonda(demo):
    """One load (about 4 s), checked from several sides."""
    _the_district_as_in_the_brief()
    _every_tehsil_and_block_has_a_projector_and_a_vc_endpoint()
    _paperwork_is_plausible_with_trouble_to_review()
    _management_addresses_are_loopback_only()
    _credentials_profiles_are_attached()


def _snapshot() -> dict:
    snapshot = {
        model.__name__: _count(model)
        for model in (Site, Asset, User, CredentialProfile, Category, Manufacturer, AssetModel)
    }
    snapshot["change_log"] = db.session.scalar(sa.select(sa.func.max(ChangeLog.id)))
    for model in (Site, Asset, User, CredentialProfile):
        snapshot[f"{model.__name__} updated"] = db.session.execute(
            sa.select(model.id, model.updated_at).order_by(model.id)
        ).all()
    return snapshot


def _log_in_with_printed_credentials(output: str, client) -> None:
    printed = CREDENTIAL_LINE.findall(output)
    assert {(role, user) for role, user, _ in printed} == {(r, u) for u, _, r, _ in DEMO_USERS}
    for role, username, password in printed:
        assert len(password) >= 10
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, (username, response.get_data(as_text=True)[:300])
        assert db.session.scalar(sa.select(User.role).where(User.username == username)) == role
        client.post("/logout")


def test_second_run_changes_nothing_and_both_print_working_credentials(demo, runner, client):
    before = _snapshot()
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output
    db.session.expire_all()
    assert _snapshot() == before
    # The first load is in the history: users by the system, the register and the
    # configuration by the demo admin, field work (tickets, visits, inspections) by the
    # demo user who did it.
    actors = set(
        db.session.execute(sa.select(ChangeLog.object_type, ChangeLog.actor_name).distinct()).all()
    )
    assert actors == {
        ("categories", "system"),
        ("users", "system"),
        ("credential_profiles", "admin"),
        ("sites", "admin"),
        ("manufacturers", "admin"),
        ("asset_models", "admin"),
        ("assets", "admin"),
        ("vendors", "admin"),
        ("amc_contracts", "admin"),
        ("amc_contract_rules", "admin"),
        ("maintenance_plans", "admin"),
        ("inspection_checklist_items", "admin"),
        # a verified asset's last_verified_at, set by whoever finished the visit
        ("assets", "engineer"),
        ("assets", "manager"),
        ("verification_visits", "engineer"),
        ("verification_visits", "manager"),
        ("inspections", "engineer"),
        ("inspections", "manager"),
        ("inspection_answers", "engineer"),
        ("inspection_answers", "manager"),
        ("tickets", "viewer"),
        ("tickets", "engineer"),
        ("tickets", "manager"),
        ("budget_heads", "admin"),
        ("approval_levels", "admin"),
        # requests drafted, submitted, approved (the DIO is the demo admin, the DM the
        # demo viewer) and ordered by the demo users whose steps they are
        ("procurement_requests", "admin"),
        ("procurement_requests", "engineer"),
        ("procurement_requests", "manager"),
        ("procurement_requests", "viewer"),
        ("procurement_lines", "engineer"),
        ("procurement_lines", "manager"),
        ("procurement_line_destinations", "engineer"),
    }
    assert _count(ChangeLog) >= before["Asset"] + before["Site"]
    _log_in_with_printed_credentials(demo.output, client)
    _log_in_with_printed_credentials(again.output, client)


def test_the_plan_is_deterministic():
    first = asset_plan(date(2026, 11, 29))
    assert first == asset_plan(date(2026, 11, 29))
    later = asset_plan(date(2027, 6, 1))
    assert [e["fields"]["serial"] for e in later] == [e["fields"]["serial"] for e in first]
