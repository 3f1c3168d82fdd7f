"""Change history: who changed what, before and after, secrets redacted, shown, never editable."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from inventory.audit.models import ChangeLog
from inventory.audit.services import REDACTED, acting_as
from inventory.extensions import db
from inventory.sites.models import Site


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", locale="en", full_name="Admin of record")


@pytest.fixture
def admin(admin_user, login):
    return login(admin_user)


def changes_of(object_type: str, object_id: int) -> list[ChangeLog]:
    return db.session.scalars(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == object_type, ChangeLog.object_id == object_id)
        .order_by(ChangeLog.id)
    ).all()


def history_cells(body: str) -> list[str]:
    """The text of each 'Changes' cell of a history table, tags stripped."""
    cells = re.findall(r'<td class="changes">(.*?)</td>', body, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]


SITE_FORM = {
    "code": "BLK-HIS",
    "name_en": "History block",
    "name_hi": "",
    "kind": "block",
    "address": "Old address",
    "contact_name": "",
    "contact_phone": "",
    "link_type": "swan",
    "notes": "",
}


# --- sites ------------------------------------------------------------------------------


def test_site_create_update_delete_are_recorded_with_actor_and_values(admin, admin_user, district):
    parent = district["tehsil"]
    assert admin.post("/sites/new", data={**SITE_FORM, "parent_id": parent.id}).status_code == 302
    site = db.session.scalar(sa.select(Site).where(Site.code == "BLK-HIS"))
    site_id = site.id
    assert (
        admin.post(
            f"/sites/{site_id}/edit",
            data={
                **SITE_FORM,
                "parent_id": parent.id,
                "name_en": "Renamed block",
                "link_type": "4g",
            },
        ).status_code
        == 302
    )
    detail = admin.get(f"/sites/{site_id}").get_data(as_text=True)
    assert admin.post(f"/sites/{site_id}/delete").status_code == 302

    created, updated, deleted = changes_of("sites", site_id)
    for row in (created, updated, deleted):
        assert (row.actor_id, row.actor_name) == (admin_user.id, admin_user.username)
        assert row.created_at is not None
    assert created.action == "create"
    assert created.changes["code"] == [None, "BLK-HIS"]
    assert created.changes["name_en"] == [None, "History block"]
    assert created.changes["parent_id"] == [None, parent.id]
    assert "created_at" not in created.changes and "updated_at" not in created.changes
    assert updated.action == "update"
    assert updated.changes == {
        "name_en": ["History block", "Renamed block"],
        "link_type": ["swan", "4g"],
    }
    assert updated.object_label == "BLK-HIS Renamed block"
    assert deleted.action == "delete"
    assert deleted.changes["name_en"] == ["Renamed block", None]
    assert deleted.changes["address"] == ["Old address", None]

    # Shown on the site's own page, newest first, with before and after.
    cells = history_cells(detail)
    assert cells[0] == "name_en : History block → Renamed block link_type : swan → 4g"
    assert "code : BLK-HIS" in cells[1]
    assert admin_user.username in detail
    # The site is gone; its history is not.
    assert admin.get(f"/sites/{site_id}").status_code == 404
    log = admin.get("/history/?type=sites").get_data(as_text=True)
    assert "sites · BLK-HIS Renamed block" in log
    assert "Deleted" in log


def test_changes_without_a_signed_in_user_are_the_systems(app, district, make_user):
    tehsil = district["tehsil"]
    (row,) = changes_of("sites", tehsil.id)
    assert (row.actor_id, row.actor_name) == (None, "system")
    clerk = make_user("manager", username="clerk")
    with acting_as(clerk):
        tehsil.notes = "Checked by the clerk"
        db.session.commit()
    last = changes_of("sites", tehsil.id)[-1]
    assert (last.actor_id, last.actor_name) == (clerk.id, "clerk")
    assert last.changes == {"notes": ["", "Checked by the clerk"]}


def test_a_save_that_changes_nothing_records_nothing(admin, district):
    tehsil = district["tehsil"]
    before = len(changes_of("sites", tehsil.id))
    unchanged = {
        "code": tehsil.code,
        "name_en": tehsil.name_en,
        "name_hi": tehsil.name_hi,
        "kind": tehsil.kind,
        "parent_id": tehsil.parent_id,
        "address": tehsil.address,
        "contact_name": tehsil.contact_name,
        "contact_phone": tehsil.contact_phone,
        "link_type": tehsil.link_type,
        "notes": tehsil.notes,
    }
    assert admin.post(f"/sites/{tehsil.id}/edit", data=unchanged).status_code == 302
    assert len(changes_of("sites", tehsil.id)) == before


# --- assets -----------------------------------------------------------------------------


def test_asset_changes_are_recorded_and_shown_on_its_page(admin, admin_user, district, make_asset):
    from datetime import date
    from decimal import Decimal

    from inventory.assets.services import update_asset

    asset = make_asset(
        district["csc"], "UPS", serial="UPS-1", location="Counter 1", purchase_cost=Decimal("8500")
    )
    (created,) = changes_of("assets", asset.id)
    assert created.changes["serial"] == [None, "UPS-1"]
    assert created.changes["purchase_date"] == [None, "2023-04-01"]
    assert created.changes["purchase_cost"] == [None, "8500"]
    with acting_as(admin_user):
        update_asset(
            asset,
            location="Counter 2",
            warranty_end=date(2026, 1, 31),
            status="under_repair",
        )
        db.session.commit()
    updated = changes_of("assets", asset.id)[-1]
    assert updated.changes == {
        "location": ["Counter 1", "Counter 2"],
        "warranty_end": [None, "2026-01-31"],
        "status": ["deployed", "under_repair"],
    }
    assert updated.actor_name == admin_user.username
    body = admin.get(f"/assets/{asset.id}").get_data(as_text=True)
    cells = history_cells(body)
    assert len(cells) == 2
    assert "location : Counter 1 → Counter 2" in cells[0]
    assert "status : deployed → under_repair" in cells[0]
    assert "serial : UPS-1" in cells[1]


# --- users ------------------------------------------------------------------------------


def test_user_changes_are_recorded_with_the_password_hash_redacted(admin, admin_user):
    response = admin.post(
        "/users/new",
        data={
            "username": "dio.gonda",
            "full_name": "District Informatics Officer",
            "email": "dio@example.org",
            "phone": "",
            "role": "engineer",
            "locale": "hi",
            "is_active": "y",
            "password": "first-password-123",
        },
    )
    assert response.status_code == 302
    from inventory.auth.models import User

    user = db.session.scalar(sa.select(User).where(User.username == "dio.gonda"))
    response = admin.post(
        f"/users/{user.id}/edit",
        data={
            "username": "dio.gonda",
            "full_name": "District Informatics Officer",
            "email": "dio@example.org",
            "phone": "",
            "role": "manager",
            "locale": "hi",
            "is_active": "y",
            "password": "second-password-456",
        },
    )
    assert response.status_code == 302
    created, *updates = changes_of("users", user.id)
    assert created.action == "create" and {u.action for u in updates} == {"update"}
    assert created.changes["password_hash"] == [None, REDACTED]
    assert created.changes["role"] == [None, "engineer"]
    assert {r.actor_name for r in (created, *updates)} == {admin_user.username}
    changed: dict = {}
    for row in updates:
        changed.update(row.changes)
    assert changed == {
        "role": ["engineer", "manager"],
        "password_hash": [REDACTED, REDACTED + " (changed)"],
    }
    everything = json.dumps([r.changes for r in changes_of("users", user.id)])
    assert "$argon2" not in everything
    assert "password-123" not in everything and "password-456" not in everything

    page = admin.get(f"/users/{user.id}").get_data(as_text=True)
    shown = " | ".join(history_cells(page))
    assert "role : engineer → manager" in shown
    assert "password_hash : [redacted] → [redacted] (changed)" in shown
    assert "password_hash : [redacted]" in shown
    assert "$argon2" not in page and "$argon2" not in admin.get("/history/").get_data(as_text=True)


def test_signing_in_writes_no_history(make_user, login, client):
    user = make_user("viewer", locale="en")
    before = len(changes_of("users", user.id))
    client.post("/login", data={"username": user.username, "password": "wrong-password!"})
    login(user)
    assert len(changes_of("users", user.id)) == before


# --- credentials profiles ---------------------------------------------------------------


def test_credentials_profile_history_is_recorded_and_redacted(admin, admin_user):
    form = {
        "name": "Core switches",
        "description": "",
        "snmp_version": "v2c",
        "snmp_community": "Very-Secret-Community",
        "snmp_username": "",
        "snmp_auth_protocol": "none",
        "snmp_priv_protocol": "none",
        "ssh_username": "",
    }
    assert admin.post("/credentials/new", data=form).status_code == 302
    from inventory.credentials.models import CredentialProfile

    profile = db.session.scalar(sa.select(CredentialProfile))
    profile_id = profile.id
    assert (
        admin.post(
            f"/credentials/{profile_id}/edit",
            data={**form, "description": "Cisco 9300", "snmp_community": ""},
        ).status_code
        == 302
    )
    assert admin.post(f"/credentials/{profile_id}/delete").status_code == 302
    created, updated, deleted = changes_of("credential_profiles", profile_id)
    assert [r.action for r in (created, updated, deleted)] == ["create", "update", "delete"]
    assert {r.actor_name for r in (created, updated, deleted)} == {admin_user.username}
    assert created.changes["secrets_token"] == [None, REDACTED]
    assert created.changes["secrets_set"] == [None, ["snmp_community"]]
    assert updated.changes == {"description": ["", "Cisco 9300"]}
    assert deleted.changes["secrets_token"] == [REDACTED, None]
    assert deleted.changes["name"] == ["Core switches", None]
    assert "Very-Secret-Community" not in json.dumps([created.changes, deleted.changes])


def test_credentials_detail_page_shows_its_history(admin):
    from inventory.credentials.services import save_profile

    profile = save_profile(
        None,
        plain={"name": "SSH only", "snmp_version": "none", "ssh_username": "admin"},
        new_secrets={"ssh_password": "Ssh-Secret-9"},
    )
    db.session.commit()
    body = admin.get(f"/credentials/{profile.id}").get_data(as_text=True)
    (cell,) = history_cells(body)
    assert "ssh_username : admin" in cell
    assert "secrets_token : [redacted]" in cell
    assert "Ssh-Secret-9" not in body


# --- read only --------------------------------------------------------------------------


def test_history_routes_only_read(app):
    history_rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("audit.") or "history" in rule.rule
    ]
    assert [rule.rule for rule in history_rules] == ["/history/"]
    for rule in history_rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_history_cannot_be_changed_over_http(admin, district):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(ChangeLog))
    first_id = db.session.scalar(sa.select(sa.func.min(ChangeLog.id)))
    for method in ("post", "put", "patch", "delete"):
        for url in ("/history/", f"/history/{first_id}", f"/history/{first_id}/delete"):
            response = getattr(admin, method)(url)
            assert response.status_code in (404, 405), (method, url)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChangeLog)) == before


def test_history_page_filters_by_kind(admin, district, make_asset):
    asset = make_asset(district["csc"])
    only_assets = admin.get("/history/?type=assets").get_data(as_text=True)
    assert f"assets · {asset.tag}" in only_assets
    assert "sites · " not in only_assets
    everything = admin.get("/history/?type=nonsense").get_data(as_text=True)
    assert f"assets · {asset.tag}" in everything and "sites · GON-HQ Gonda HQ" in everything
