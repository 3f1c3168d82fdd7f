"""HTML and script payloads typed into any field render escaped on every page that shows them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support import RAW_MARKERS, escaped, payload

from inventory.assets.services import create_asset
from inventory.catalog import services as catalog
from inventory.credentials.services import save_profile
from inventory.extensions import db


@pytest.fixture
def hostile(make_user, make_site, categories):
    """Every user-typed field that pages show, filled with payloads."""
    admin = make_user("admin", locale="en", full_name=payload("ADMIN"))
    other = make_user("viewer", full_name=payload("USER"))
    hq = make_site(
        "XSS-HQ",
        "district_hq",
        name_en=payload("HQEN"),
        name_hi=payload("HQHI"),
        address=payload("ADDR"),
        contact_name=payload("CONTACT"),
        notes=payload("SITENOTES"),
    )
    tehsil = make_site("XSS-TEH", "tehsil", hq, name_en=payload("TEHEN"))
    category = catalog.save_category(
        None, code="XSS", name_en=payload("CATEN"), name_hi=payload("CATHI"), group="other"
    )
    model = catalog.get_or_create_model(payload("MAKER"), payload("MODEL"), category)
    profile = save_profile(
        None,
        plain={
            "name": payload("CRED"),
            "description": payload("CREDDESC"),
            "snmp_version": "v2c",
            "snmp_auth_protocol": "none",
            "snmp_priv_protocol": "none",
        },
        new_secrets={"snmp_community": "community-string"},
    )
    asset = create_asset(
        category_id=category.id,
        model_id=model.id,
        site_id=tehsil.id,
        status="non_functional",  # so that the overview lists it
        serial=payload("SER"),
        location=payload("LOC"),
        custodian=payload("CUST"),
        supplier=payload("SUPP"),
        order_reference=payload("ORD"),
        budget_head=payload("BUD"),
        amc_vendor=payload("AMC"),
        notes=payload("NOTES"),
        credential_profile_id=profile.id,
    )
    db.session.commit()
    return {
        "admin": admin,
        "other": other,
        "hq": hq,
        "tehsil": tehsil,
        "category": category,
        "model": model,
        "maker": model.manufacturer,
        "profile": profile,
        "asset": asset,
    }


def check(body: str, *fields: str) -> None:
    for raw in RAW_MARKERS:
        assert raw not in body, raw
    assert "&amp;lt;" not in body, "escaped twice"
    for field in fields:
        assert escaped(field) in body, field


def visit(client, url: str, *fields: str) -> str:
    response = client.get(url)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, (url, body[:2000])
    try:
        check(body, "ADMIN", *fields)  # the signed-in user's name is in every page header
    except AssertionError as exc:
        raise AssertionError(f"{url}: {exc}") from exc
    return body


ASSET_FIELDS = ("SER", "LOC", "CUST", "SUPP", "ORD", "BUD", "AMC", "NOTES")


def test_every_page_escapes_what_users_typed(hostile, login):
    client = login(hostile["admin"])
    h = {key: getattr(value, "id", None) for key, value in hostile.items()}

    # The overview, the register and one asset.
    visit(client, "/", "CATEN", "TEHEN")
    visit(client, "/assets/", "CATEN", "MAKER", "MODEL", "SER", "TEHEN", "HQEN")
    visit(client, f"/assets/?q={hostile['asset'].tag}", "SER", "MODEL")
    visit(
        client,
        f"/assets/{h['asset']}",
        "CATEN",
        "MAKER",
        "MODEL",
        "TEHEN",
        "CRED",
        *ASSET_FIELDS,
    )
    visit(
        client,
        f"/assets/{h['asset']}/edit",
        "CATEN",
        "MAKER",
        "MODEL",
        "TEHEN",
        "HQEN",
        "CRED",
        *ASSET_FIELDS,
    )
    visit(client, "/assets/new", "CATEN", "MAKER", "MODEL", "CRED", "HQEN", "TEHEN")
    visit(client, f"/assets/{h['asset']}/delete")

    # Sites: the tree, both detail pages, the forms, the delete question.
    visit(client, "/sites/", "HQEN", "TEHEN", "CONTACT")
    visit(client, f"/sites/{h['hq']}", "HQEN", "HQHI", "ADDR", "CONTACT", "SITENOTES", "TEHEN")
    visit(client, f"/sites/{h['tehsil']}", "TEHEN", "HQEN", "CATEN", "MODEL", "SER", "LOC")
    visit(client, f"/sites/{h['hq']}/edit", "HQEN", "HQHI", "ADDR", "CONTACT", "SITENOTES")
    visit(client, f"/sites/{h['tehsil']}/edit", "TEHEN", "HQEN")
    visit(client, f"/sites/new?parent={h['hq']}", "HQEN", "TEHEN")
    visit(client, f"/sites/{h['hq']}/delete", "HQEN")

    # The catalogue and its forms.
    visit(client, "/catalog/", "CATEN", "MAKER", "MODEL")
    visit(client, f"/catalog/categories/{h['category']}/edit", "CATEN", "CATHI")
    visit(client, f"/catalog/manufacturers/{h['maker']}/edit", "MAKER")
    visit(client, f"/catalog/models/{h['model']}/edit", "MODEL", "MAKER", "CATEN")
    visit(client, "/catalog/models/new", "MAKER", "CATEN")
    visit(client, f"/catalog/model/{h['model']}/delete", "MAKER", "MODEL")
    visit(client, f"/catalog/category/{h['category']}/delete", "CATEN")

    # Credentials profiles.
    visit(client, "/credentials/", "CRED", "CREDDESC")
    visit(client, f"/credentials/{h['profile']}", "CRED", "CREDDESC")
    visit(client, f"/credentials/{h['profile']}/edit", "CRED", "CREDDESC")
    visit(client, f"/credentials/{h['profile']}/delete", "CRED")

    # Users.
    visit(client, "/users/", "USER")
    visit(client, f"/users/{h['other']}", "USER")
    visit(client, f"/users/{h['other']}/edit", "USER")
    visit(client, "/profile")

    # History: labels and before/after values of everything above.
    visit(
        client,
        "/history/",
        *("HQEN", "HQHI", "ADDR", "CONTACT", "SITENOTES", "TEHEN"),
        *("CATEN", "CATHI", "MAKER", "MODEL", "CRED", "CREDDESC", "USER"),
        *ASSET_FIELDS,
    )


def test_object_pages_history_tables_escape_values(hostile, login):
    client = login(hostile["admin"])
    h = {key: getattr(value, "id", None) for key, value in hostile.items()}
    for url, fields in (
        (f"/sites/{h['hq']}", ("HQEN", "HQHI", "ADDR", "CONTACT", "SITENOTES")),
        (f"/assets/{h['asset']}", ASSET_FIELDS),
        (f"/credentials/{h['profile']}", ("CRED", "CREDDESC")),
        (f"/users/{h['other']}", ("USER",)),
    ):
        body = visit(client, url)
        history = body[body.index('<table class="history">') :]
        check(history, *fields)


def test_hindi_pages_escape_hindi_names(hostile, login):
    client = login(hostile["admin"])
    assert client.post("/language", data={"locale": "hi", "next": "/"}).status_code == 302
    visit(client, "/sites/", "HQHI")
    visit(client, "/", "CATHI")
    visit(client, "/assets/", "CATHI", "HQHI")
    visit(client, f"/sites/{hostile['tehsil'].id}", "HQHI", "CATHI")


def test_messages_that_quote_names_escape_them(hostile, login, categories):
    client = login(hostile["admin"])
    h = {key: getattr(value, "id", None) for key, value in hostile.items()}

    # Refusals that name the site, the model and the category.
    page = client.post(f"/sites/{h['hq']}/delete", follow_redirects=True).get_data(as_text=True)
    check(page, "HQEN")
    assert "still holds" in page
    page = client.post(f"/catalog/model/{h['model']}/delete", follow_redirects=True)
    check(page.get_data(as_text=True), "MAKER", "MODEL")
    assert "still in use" in page.get_data(as_text=True)

    desktop = catalog.get_category_by_code("DSK")
    response = client.post(
        "/assets/new",
        data={
            "category_id": desktop.id,
            "model_id": h["model"],
            "status": "deployed",
            "site_id": h["hq"],
            "credential_profile_id": "0",
        },
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    check(body, "MAKER", "MODEL", "CATEN")
    assert "choose that category or another model" in body

    response = client.post(
        "/credentials/new",
        data={
            "name": payload("CRED"),
            "snmp_version": "v2c",
            "snmp_community": "whatever-community",
            "snmp_auth_protocol": "none",
            "snmp_priv_protocol": "none",
        },
    )
    assert response.status_code == 400
    check(response.get_data(as_text=True), "CRED")


def test_payloads_typed_into_forms_are_stored_as_typed(hostile, login):
    """Escaping happens on output only: the database keeps exactly what was typed."""
    client = login(hostile["admin"])
    response = client.post(
        "/sites/new",
        data={
            "code": "XSS-BLK",
            "name_en": payload("FORMEN"),
            "name_hi": payload("FORMHI"),
            "kind": "block",
            "parent_id": hostile["tehsil"].id,
            "address": payload("FORMADDR"),
            "contact_name": payload("FORMCONTACT"),
            "contact_phone": "",
            "link_type": "none",
            "notes": "",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    check(response.get_data(as_text=True), "FORMEN", "FORMHI", "FORMADDR", "FORMCONTACT")
    from inventory.sites.models import Site

    site = db.session.scalar(sa.select(Site).where(Site.code == "XSS-BLK"))
    assert site.name_en == payload("FORMEN")
    assert site.address == payload("FORMADDR")
