"""The asset register: tags, validation, the form, bulk changes, the list, detail and delete."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from inventory.assets import services
from inventory.assets.models import Asset
from inventory.assets.services import AssetError
from inventory.audit.models import ChangeLog
from inventory.catalog.services import get_category_by_code, get_or_create_model
from inventory.extensions import db


@pytest.fixture
def manager_user(make_user):
    return make_user("manager", locale="en")


@pytest.fixture
def manager(manager_user, login):
    return login(manager_user)


@pytest.fixture
def engineer(make_user, login):
    return login(make_user("engineer", locale="en"))


def cat(code: str) -> int:
    return get_category_by_code(code).id


def model_id(maker: str, name: str, category: str) -> int:
    model = get_or_create_model(maker, name, get_category_by_code(category))
    db.session.commit()
    return model.id


def listed_tags(body: str) -> list[str]:
    """The tags of the rows of the register list, in page order."""
    return re.findall(r'<td><a href="/assets/\d+">([^<]+)</a></td>', body)


def field_error(body: str, name: str) -> list[str]:
    """The messages shown under one form field."""
    for inner, errors in re.findall(
        r'<div class="field[^"]*has-error">(.*?)<ul class="errors">(.*?)</ul>', body, re.S
    ):
        if f'<label for="{name}">' in inner:
            return re.findall(r"<li>(.*?)</li>", errors, re.S)
    return []


def asset_form(site, category="DSK", **overrides) -> dict:
    data = {
        "tag": "",
        "category_id": str(cat(category)),
        "model_id": "0",
        "serial": "",
        "status": "deployed",
        "site_id": str(site.id),
        "location": "",
        "custodian": "",
        "purchase_date": "",
        "purchase_cost": "",
        "supplier": "",
        "order_reference": "",
        "budget_head": "",
        "warranty_end": "",
        "amc_vendor": "",
        "amc_end": "",
        "management_address": "",
        "credential_profile_id": "0",
        "notes": "",
    }
    data.update(overrides)
    return data


# --- tags -------------------------------------------------------------------------------


def test_tags_follow_the_configured_pattern_with_a_sequence_per_prefix(app, district, make_asset):
    site = district["csc"]
    assert [make_asset(site, "DSK").tag for _ in range(2)] == ["GON-DSK-0001", "GON-DSK-0002"]
    assert make_asset(site, "PRJ").tag == "GON-PRJ-0001"
    assert make_asset(site, "DSK").tag == "GON-DSK-0003"

    app.config["TAG_PATTERN"] = "{district}/{category}/{seq:06d}"
    app.config["DISTRICT_CODE"] = "blp"
    assert make_asset(site, "DSK").tag == "BLP/DSK/000001"
    app.config["TAG_PATTERN"] = "{category}{seq}"
    assert [make_asset(site, "UPS").tag for _ in range(2)] == ["UPS1", "UPS2"]


def test_generation_skips_tags_already_taken(district, make_asset):
    site = district["csc"]
    make_asset(site, tag="GON-DSK-0001")
    make_asset(site, tag="gon-dsk-0002")  # typed in lower case
    assert make_asset(site).tag == "GON-DSK-0003"
    make_asset(site, tag="GON-DSK-0004")
    make_asset(site, tag="GON-DSK-0005")
    assert make_asset(site).tag == "GON-DSK-0006"


@pytest.mark.parametrize(
    "tag", ["A", "bad tag", "GON DSK 1", "-GON-1", "X" * 33, "GON-DSK-1;--", "टैग-1"]
)
def test_manual_tags_are_validated(district, categories, tag):
    with pytest.raises(AssetError) as info:
        services.create_asset(category_id=cat("DSK"), site_id=district["csc"].id, tag=tag)
    assert info.value.field == "tag"
    assert "2 to 32 capital letters" in str(info.value)


def test_manual_tags_are_unique_and_upper_cased(district, make_asset):
    first = make_asset(district["csc"], tag=" gon-old/17 ")
    assert first.tag == "GON-OLD/17"
    with pytest.raises(AssetError) as info:
        services.create_asset(category_id=cat("PRN"), site_id=district["hq"].id, tag="Gon-Old/17")
    assert info.value.field == "tag"
    assert str(info.value) == "The tag GON-OLD/17 is already used."
    db.session.rollback()
    other = make_asset(district["csc"])
    with pytest.raises(AssetError, match="already used"):
        services.update_asset(other, tag="GON-OLD/17")
    db.session.rollback()
    # An empty tag on update keeps the one it has; its own tag is no clash.
    services.update_asset(first, tag="", location="Store")
    services.update_asset(first, tag="GON-OLD/17")
    assert first.tag == "GON-OLD/17"


# --- rules ------------------------------------------------------------------------------


def test_serial_is_unique_per_model_not_across_models(district, make_asset):
    site = district["csc"]
    first = make_asset(site, model=("HP", "ProDesk 400 G7"), serial="INA1234XYZ")
    with pytest.raises(AssetError) as info:
        make_asset(site, model=("HP", "ProDesk 400 G7"), serial="INA1234XYZ")
    assert info.value.field == "serial"
    assert str(info.value) == (
        f"Serial INA1234XYZ of this model is already registered as {first.tag}."
    )
    db.session.rollback()
    # Another model may carry the same serial, and so may an asset without a model.
    other = make_asset(site, model=("Dell", "OptiPlex 3080"), serial="INA1234XYZ")
    bare = make_asset(site, serial="INA1234XYZ")
    assert other.serial == bare.serial == "INA1234XYZ"
    # Saving an asset with its own serial is no clash.
    services.update_asset(first, serial="INA1234XYZ", custodian="Clerk")
    # Moving another asset onto the taken (model, serial) is refused.
    with pytest.raises(AssetError, match="already registered"):
        services.update_asset(other, model_id=first.model_id)


def test_model_must_belong_to_the_assets_category(district, make_asset):
    projector = model_id("Epson", "EB-X51", "PRJ")
    with pytest.raises(AssetError) as info:
        services.create_asset(
            category_id=cat("DSK"), site_id=district["csc"].id, model_id=projector
        )
    assert info.value.field == "model_id"
    assert "The model Epson EB-X51 is a Projector" in str(info.value)
    db.session.rollback()
    asset = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"))
    with pytest.raises(AssetError, match="is a Projector"):
        services.update_asset(asset, category_id=cat("DSK"))


@pytest.mark.parametrize(
    "address",
    [
        "10.20.1.1",
        "192.168.0.254",
        "2001:db8::1",
        "fe80::1",
        "::1",
        "gw",
        "rtr-gonda-hq",
        "switch1.gonda.up.gov.in",
        "CSC-Babhanjot.local",
    ],
)
def test_management_address_accepts_ip_and_host_names(district, make_asset, address):
    asset = make_asset(district["csc"], "RTR", management_address=f"  {address} ")
    assert asset.management_address == address


@pytest.mark.parametrize(
    "address",
    [
        "999.1.1.1",
        "10.20.1",
        "10.0.0.1/24",
        "http://10.0.0.1",
        "not an address",
        "host_name",
        "-leading.example",
        "trailing-.example",
        "a..b",
        "10.0.0.1:161",
        "<script>",
        "x" * 64 + ".example",
    ],
)
def test_management_address_refuses_garbage(district, categories, address):
    with pytest.raises(AssetError) as info:
        services.create_asset(
            category_id=cat("RTR"), site_id=district["csc"].id, management_address=address
        )
    assert info.value.field == "management_address"
    assert "Give an IP address or a host name" in str(info.value)


def test_other_rules(district, categories):
    base = {"category_id": cat("DSK"), "site_id": district["csc"].id}
    for fields, name in (
        ({"purchase_cost": Decimal("-1")}, "purchase_cost"),
        ({"purchase_date": date.today() + timedelta(days=30)}, "purchase_date"),
        ({"status": "stolen"}, "status"),
        ({"site_id": 999_999}, "site_id"),
        ({"category_id": 999_999}, "category_id"),
        ({"model_id": 999_999}, "model_id"),
        ({"credential_profile_id": 999_999}, "credential_profile_id"),
    ):
        with pytest.raises(AssetError) as info:
            services.create_asset(**{**base, **fields})
        assert info.value.field == name
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0


# --- the form ---------------------------------------------------------------------------


def test_create_through_the_form(engineer, district, categories):
    response = engineer.post(
        "/assets/new",
        data=asset_form(
            district["csc"],
            "PRJ",
            model_id=str(model_id("Epson", "EB-X51", "PRJ")),
            serial="X51-000123",
            location="Meeting hall",
            custodian="Block Development Officer",
            purchase_date="2023-04-01",
            purchase_cost="45000.50",
            supplier="Awadh Computers",
            order_reference="GEMC-511687712345678",
            budget_head="e-District 2023-24",
            warranty_end="2026-03-31",
            amc_vendor="UPDESCO",
            amc_end="2027-03-31",
            management_address="10.20.3.40",
            notes="Ceiling mount",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    asset = db.session.scalar(sa.select(Asset))
    assert response.headers["Location"].endswith(f"/assets/{asset.id}")
    assert asset.tag == "GON-PRJ-0001"
    assert (asset.serial, asset.location, asset.custodian) == (
        "X51-000123",
        "Meeting hall",
        "Block Development Officer",
    )
    assert asset.purchase_cost == Decimal("45000.50")
    assert (asset.purchase_date, asset.warranty_end, asset.amc_end) == (
        date(2023, 4, 1),
        date(2026, 3, 31),
        date(2027, 3, 31),
    )
    assert (asset.supplier, asset.order_reference, asset.budget_head, asset.amc_vendor) == (
        "Awadh Computers",
        "GEMC-511687712345678",
        "e-District 2023-24",
        "UPDESCO",
    )
    assert asset.management_address == "10.20.3.40"
    assert asset.model_id is not None and asset.credential_profile_id is None


FILLED = {
    "tag": "GON-PRJ-0777",
    "serial": "TYPED-SERIAL-9",
    "location": "Typed location",
    "custodian": "Typed custodian",
    "purchase_date": "2023-04-01",
    "purchase_cost": "45000.50",
    "supplier": "Typed supplier",
    "order_reference": "Typed order",
    "budget_head": "Typed budget",
    "warranty_end": "2026-03-31",
    "amc_vendor": "Typed AMC vendor",
    "amc_end": "2027-03-31",
    "notes": "Typed notes that must survive",
    "status": "under_repair",
}


def assert_kept(body: str, data: dict, site, category_id: int) -> None:
    for key in (
        "tag",
        "serial",
        "location",
        "custodian",
        "purchase_date",
        "purchase_cost",
        "supplier",
        "order_reference",
        "budget_head",
        "warranty_end",
        "amc_vendor",
        "amc_end",
        "management_address",
    ):
        assert f'value="{data[key]}"' in body, key
    assert f"{data['notes']}</textarea>" in body
    assert '<option selected value="under_repair">' in body
    assert f'<option selected value="{site.id}">' in body
    assert f'<option selected value="{category_id}">' in body


def test_service_error_rerenders_with_field_message_and_everything_typed(
    engineer, district, categories
):
    data = asset_form(district["block"], "PRJ", **FILLED, management_address="not an address!")
    response = engineer.post("/assets/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(body, "management_address") == [
        "Give an IP address or a host name, for example 10.20.1.1."
    ]
    assert_kept(body, data, district["block"], cat("PRJ"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0


def test_form_validation_error_rerenders_with_field_message_and_everything_typed(
    engineer, district, categories
):
    data = asset_form(
        district["block"],
        "PRJ",
        **{**FILLED, "warranty_end": "31-31-2026"},
        management_address="10.1.1.1",
    )
    response = engineer.post("/assets/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code in (200, 400)
    assert field_error(body, "warranty_end") == ["Not a valid date value."]
    assert_kept(body, data, district["block"], cat("PRJ"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0


def test_model_mismatch_and_serial_clash_show_under_their_fields(engineer, district, make_asset):
    projector = model_id("Epson", "EB-X51", "PRJ")
    response = engineer.post(
        "/assets/new", data=asset_form(district["csc"], "DSK", model_id=str(projector))
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "model_id") == [
        "The model Epson EB-X51 is a Projector; choose that category or another model."
    ]
    first = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"), serial="SN-1")
    response = engineer.post(
        "/assets/new",
        data=asset_form(district["csc"], "PRJ", model_id=str(projector), serial="SN-1"),
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "serial") == [
        f"Serial SN-1 of this model is already registered as {first.tag}."
    ]
    response = engineer.post("/assets/new", data=asset_form(district["csc"], "PRJ", tag=first.tag))
    assert field_error(response.get_data(as_text=True), "tag") == [
        f"The tag {first.tag} is already used."
    ]


def test_edit_saves_and_a_refused_edit_changes_nothing(engineer, district, make_asset):
    asset = make_asset(district["csc"], "RTR", serial="RTR-1", location="Rack")
    page = engineer.get(f"/assets/{asset.id}/edit").get_data(as_text=True)
    assert 'value="RTR-1"' in page and 'value="Rack"' in page
    assert f'value="{asset.tag}"' in page

    ok = engineer.post(
        f"/assets/{asset.id}/edit",
        data=asset_form(district["block"], "RTR", serial="RTR-1", location="New rack", tag=""),
    )
    assert ok.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Asset, asset.id)
    assert (saved.location, saved.site_id, saved.tag) == (
        "New rack",
        district["block"].id,
        "GON-RTR-0001",
    )

    refused = engineer.post(
        f"/assets/{asset.id}/edit",
        data=asset_form(
            district["hq"], "RTR", serial="RTR-1", location="Typed", management_address="bad addr"
        ),
    )
    assert refused.status_code == 400
    assert 'value="Typed"' in refused.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Asset, asset.id)
    assert (saved.location, saved.site_id, saved.management_address) == (
        "New rack",
        district["block"].id,
        "",
    )


def test_new_form_preselects_the_site_from_the_query(engineer, district, categories):
    body = engineer.get(f"/assets/new?site={district['block'].id}").get_data(as_text=True)
    assert f'<option selected value="{district["block"].id}">' in body


# --- bulk change ------------------------------------------------------------------------


def test_bulk_status_change_touches_only_the_selected_rows(
    manager, manager_user, district, make_asset
):
    a, b, c = (make_asset(district["csc"], status="deployed") for _ in range(3))
    response = manager.post(
        "/assets/bulk",
        data={
            "ids": [str(a.id), str(b.id)],
            "status": "under_repair",
            "site_id": "0",
            "back": "/assets/?q=GON",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/assets/?q=GON")
    db.session.expire_all()
    assert [db.session.get(Asset, x.id).status for x in (a, b, c)] == [
        "under_repair",
        "under_repair",
        "deployed",
    ]
    assert [db.session.get(Asset, x.id).site_id for x in (a, b, c)] == [district["csc"].id] * 3
    rows = db.session.scalars(
        sa.select(ChangeLog).where(ChangeLog.object_type == "assets", ChangeLog.action == "update")
    ).all()
    assert sorted(r.object_id for r in rows) == sorted([a.id, b.id])
    for row in rows:
        assert row.changes == {"status": ["deployed", "under_repair"]}
        assert row.actor_name == manager_user.username


def test_bulk_site_change_records_history_for_each(manager, district, make_asset):
    a, b, c = (make_asset(district["csc"]) for _ in range(3))
    response = manager.post(
        "/assets/bulk",
        data={"ids": [str(a.id), str(c.id)], "status": "", "site_id": str(district["hq"].id)},
        follow_redirects=True,
    )
    assert "2 assets changed." in response.get_data(as_text=True)
    db.session.expire_all()
    assert [db.session.get(Asset, x.id).site_id for x in (a, b, c)] == [
        district["hq"].id,
        district["csc"].id,
        district["hq"].id,
    ]
    for asset in (a, c):
        (row,) = db.session.scalars(
            sa.select(ChangeLog).where(
                ChangeLog.object_id == asset.id, ChangeLog.action == "update"
            )
        ).all()
        assert row.changes == {"site_id": [district["csc"].id, district["hq"].id]}


def test_bulk_refusals(manager, district, make_asset):
    a = make_asset(district["csc"])
    nothing = manager.post(
        "/assets/bulk", data={"status": "condemned", "site_id": "0"}, follow_redirects=True
    )
    assert "Select at least one asset." in nothing.get_data(as_text=True)
    no_change = manager.post(
        "/assets/bulk",
        data={"ids": [str(a.id)], "status": "", "site_id": "0"},
        follow_redirects=True,
    )
    assert "Choose a new status or a site." in no_change.get_data(as_text=True)
    bad_site = manager.post(
        "/assets/bulk",
        data={"ids": [str(a.id)], "status": "", "site_id": "999999"},
        follow_redirects=True,
    )
    assert "Choose a site." in bad_site.get_data(as_text=True)
    # An off-site "back" address is not followed.
    away = manager.post(
        "/assets/bulk",
        data={
            "ids": [str(a.id)],
            "status": "condemned",
            "site_id": "0",
            "back": "//evil.example/x",
        },
    )
    assert away.headers["Location"] in ("/assets/", "http://localhost/assets/")
    db.session.expire_all()
    assert db.session.get(Asset, a.id).status == "condemned"


def test_engineers_cannot_bulk_change(engineer, district, make_asset):
    a = make_asset(district["csc"])
    response = engineer.post(
        "/assets/bulk", data={"ids": [str(a.id)], "status": "condemned", "site_id": "0"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Asset, a.id).status == "deployed"


# --- the list ---------------------------------------------------------------------------


@pytest.fixture
def register(district, make_site, make_asset):
    """Assets spread over two tehsils, with models, serials and expiry dates."""
    today = date.today()
    tarabganj = make_site("TEH-TRB", "tehsil", district["hq"], name_en="Tarabganj", name_hi="तरबगंज")
    return {
        "hq": make_asset(
            district["hq"],
            "DSK",
            model=("HP", "ProDesk 400 G7"),
            serial="HQ-SER-1",
            warranty_end=today + timedelta(days=10),
        ),
        "tehsil": make_asset(
            district["tehsil"],
            "RTR",
            model=("Cisco", "ISR4321"),
            serial="FTX1234",
            management_address="10.1.1.1",
            warranty_end=today - timedelta(days=5),
        ),
        "block": make_asset(
            district["block"],
            "PRJ",
            model=("Epson", "EB-X51"),
            serial="X51-A",
            warranty_end=today + timedelta(days=100),
            amc_end=today + timedelta(days=20),
        ),
        "csc": make_asset(
            district["csc"],
            "BIO",
            model=("Mantra", "MFS100"),
            serial="MFS-9",
            status="non_functional",
            amc_end=today + timedelta(days=200),
        ),
        "other": make_asset(tarabganj, "DSK", serial="TRB-1", status="in_store"),
    }


def tags_for(client, query: str) -> list[str]:
    response = client.get("/assets/" + query)
    assert response.status_code == 200
    return listed_tags(response.get_data(as_text=True))


def tagset(register, *keys) -> set[str]:
    return {register[k].tag for k in keys}


def test_filter_by_site_includes_its_descendants(manager, district, register):
    assert set(tags_for(manager, f"?site={district['tehsil'].id}")) == tagset(
        register, "tehsil", "block", "csc"
    )
    assert set(tags_for(manager, f"?site={district['block'].id}")) == tagset(
        register, "block", "csc"
    )
    assert set(tags_for(manager, f"?site={district['hq'].id}")) == set(tagset(register, *register))


def test_filter_by_category_and_status(manager, register):
    assert set(tags_for(manager, f"?category={cat('DSK')}")) == tagset(register, "hq", "other")
    assert set(tags_for(manager, "?status=non_functional")) == tagset(register, "csc")
    assert set(tags_for(manager, f"?status=in_store&category={cat('DSK')}")) == tagset(
        register, "other"
    )
    assert tags_for(manager, f"?status=condemned&category={cat('DSK')}") == []


def test_filter_by_warranty_or_amc_ending_within_days(manager, register):
    # Ended already, or ending within the window; never those without a date.
    assert set(tags_for(manager, "?expiring=warranty&within=30")) == tagset(
        register, "hq", "tehsil"
    )
    assert set(tags_for(manager, "?expiring=warranty&within=0")) == tagset(register, "tehsil")
    assert set(tags_for(manager, "?expiring=warranty&within=365")) == tagset(
        register, "hq", "tehsil", "block"
    )
    assert set(tags_for(manager, "?expiring=amc&within=30")) == tagset(register, "block")
    assert set(tags_for(manager, "?expiring=amc&within=365")) == tagset(register, "block", "csc")
    # A nonsense window falls back to the default of 90 days instead of failing.
    assert set(tags_for(manager, "?expiring=warranty&within=abc")) == tagset(
        register, "hq", "tehsil"
    )


@pytest.mark.parametrize(
    ("q", "keys"),
    [
        ("x51-a", ("block",)),  # serial, any case
        ("FTX12", ("tehsil",)),  # part of a serial
        ("isr43", ("tehsil",)),  # model name
        ("mantra", ("csc",)),  # manufacturer
        ("prodesk", ("hq",)),
        ("tarabganj", ("other",)),  # site name
        ("तरबगंज", ("other",)),  # site name in Hindi
        ("teh-trb", ("other",)),  # site code
        ("csc babhan", ("csc",)),
        ("10.1.1.1", ("tehsil",)),  # management address, exactly
        ("%", ()),  # LIKE wildcards are searched for literally
        ("_", ()),
        ("nothing-like-this", ()),
    ],
)
def test_free_text_search(manager, register, q, keys):
    assert set(tags_for(manager, f"?q={quote(q)}")) == tagset(register, *keys)


def test_search_by_tag(manager, register):
    tag = register["block"].tag
    assert tags_for(manager, f"?q={tag.lower()}") == [tag]


def test_sorting_is_whitelisted(manager, register):
    by_serial = sorted(register.values(), key=lambda a: a.serial)
    assert tags_for(manager, "?sort=serial") == [a.tag for a in by_serial]
    assert tags_for(manager, "?sort=serial&dir=desc") == [a.tag for a in reversed(by_serial)]
    by_tag = sorted(a.tag for a in register.values())
    assert tags_for(manager, "?sort=site") != []
    for hostile in (
        "serial; DROP TABLE assets--",
        "assets.id) UNION SELECT password_hash FROM users--",
        "__class__",
        "password_hash",
    ):
        assert tags_for(manager, f"?sort={quote(hostile)}") == by_tag
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 5


def test_sorting_by_site_orders_by_site_name(manager, register):
    names = [
        (a.site.name_en, a.id, a.tag)
        for a in sorted(register.values(), key=lambda a: (a.site.name_en, a.id))
    ]
    assert tags_for(manager, "?sort=site") == [tag for _n, _i, tag in names]


def test_pagination_and_page_size_cap(app, manager, district, make_asset):
    tags = sorted(make_asset(district["csc"]).tag for _ in range(7))
    assert tags_for(manager, "?per_page=3") == tags[:3]
    assert tags_for(manager, "?per_page=3&page=2") == tags[3:6]
    body = manager.get("/assets/?per_page=3&page=3").get_data(as_text=True)
    assert listed_tags(body) == tags[6:]
    assert "7 in all" in body
    assert tags_for(manager, "?per_page=3&page=99") == []
    app.config["MAX_PAGE_SIZE"] = 4
    assert tags_for(manager, "?per_page=1000") == tags[:4]
    assert tags_for(manager, "?per_page=0") == tags[:4]
    assert tags_for(manager, "?per_page=-5") == tags[:1]
    app.config["PAGE_SIZE"] = 2
    assert tags_for(manager, "") == tags[:2]


def test_service_filter_by_ids_and_hostile_sort_directly(register):
    flt = services.AssetFilter(
        ids=[register["csc"].id, register["hq"].id], sort="1; DELETE FROM assets"
    )
    got = db.session.scalars(services.asset_query(flt)).all()
    assert [a.tag for a in got] == sorted([register["csc"].tag, register["hq"].tag])


# --- detail and delete ------------------------------------------------------------------


def test_detail_page(manager, district, make_asset):
    asset = make_asset(
        district["block"],
        "PRJ",
        model=("Epson", "EB-X51"),
        serial="X51-77",
        location="Meeting hall",
        custodian="BDO Mankapur",
        purchase_cost=Decimal("123456.50"),
        supplier="Awadh Computers",
        warranty_end=date(2026, 3, 31),
        management_address="10.20.3.40",
    )
    body = manager.get(f"/assets/{asset.id}").get_data(as_text=True)
    for text in (
        asset.tag,
        "Epson EB-X51",
        "X51-77",
        "Meeting hall",
        "BDO Mankapur",
        "₹1,23,456.50",
        "Awadh Computers",
        "31-03-2026",
        "01-04-2023",
        "10.20.3.40",
        "Mankapur block",
        "Projector",
    ):
        assert text in body, text
    assert manager.get("/assets/424242").status_code == 404
    by_tag = manager.get(f"/assets/tag/{asset.tag.lower()}")
    assert by_tag.status_code == 302 and by_tag.headers["Location"].endswith(f"/assets/{asset.id}")


def test_delete_asks_first_then_deletes_and_keeps_history(manager, district, make_asset):
    asset = make_asset(district["csc"], serial="DEL-1")
    asset_id, tag = asset.id, asset.tag
    confirm = manager.get(f"/assets/{asset_id}/delete")
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert f"Delete asset {tag}?" in body and 'method="post"' in body
    assert db.session.get(Asset, asset_id) is not None

    response = manager.post(f"/assets/{asset_id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/assets/")
    db.session.expire_all()
    assert db.session.get(Asset, asset_id) is None
    assert manager.get(f"/assets/{asset_id}").status_code == 404
    actions = db.session.scalars(
        sa.select(ChangeLog.action)
        .where(ChangeLog.object_type == "assets", ChangeLog.object_id == asset_id)
        .order_by(ChangeLog.id)
    ).all()
    assert actions == ["create", "delete"]
    deleted = db.session.scalar(
        sa.select(ChangeLog).where(ChangeLog.object_id == asset_id, ChangeLog.action == "delete")
    )
    assert deleted.changes["serial"] == ["DEL-1", None]
    assert deleted.changes["tag"] == [tag, None]


def test_engineers_cannot_delete(engineer, district, make_asset):
    asset = make_asset(district["csc"])
    assert engineer.get(f"/assets/{asset.id}/delete").status_code == 403
    assert engineer.post(f"/assets/{asset.id}/delete").status_code == 403
    assert db.session.get(Asset, asset.id) is not None
