"""The catalogue: categories, manufacturers and models; duplicates and deletes in use refused."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from inventory.catalog import services
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.catalog.services import CatalogError, get_category_by_code
from inventory.extensions import db


@pytest.fixture
def manager(make_user, login, categories):
    return login(make_user("manager", locale="en"))


def maker(name: str) -> Manufacturer:
    found = services.get_or_create_manufacturer(name)
    db.session.commit()
    return found


def model(maker_name: str, name: str, category: str) -> AssetModel:
    found = services.get_or_create_model(maker_name, name, get_category_by_code(category))
    db.session.commit()
    return found


def count(entity) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(entity))


# --- defaults ---------------------------------------------------------------------------


def test_default_categories_are_grouped_and_added_once(app):
    assert services.ensure_default_categories() == 17
    assert services.ensure_default_categories() == 0
    groups: dict[str, set[str]] = {}
    for category in db.session.scalars(sa.select(Category)):
        groups.setdefault(category.group, set()).add(category.code)
    assert groups == {
        "edistrict": {"DSK", "LAP", "PRN", "SCN", "UPS", "BIO"},
        "networking": {"RTR", "SWT", "FWL", "MDM", "WAP"},
        "projector": {"PRJ"},
        "vc": {"VCC", "CAM", "MIC", "DSP"},
        "other": {"OTH"},
    }
    assert all(c.name_hi for c in db.session.scalars(sa.select(Category)))


def test_find_category_by_code_or_either_name(categories):
    for text in ("prj", "PRJ", " Projector ", "projector", "प्रोजेक्टर"):
        assert services.find_category(text).code == "PRJ", text
    assert services.find_category("") is None
    assert services.find_category("Telescope") is None


def test_get_or_create_model_reuses_and_refuses_a_second_category(categories):
    first = model("Epson", "EB-X51", "PRJ")
    assert model("EPSON", "eb-x51", "PRJ").id == first.id
    assert count(Manufacturer) == 1
    with pytest.raises(CatalogError, match="The model Epson EB-X51 is a Projector, not a Desktop"):
        services.get_or_create_model("Epson", "EB-X51", get_category_by_code("DSK"))


# --- categories -------------------------------------------------------------------------


def test_category_create_and_edit(manager):
    response = manager.post(
        "/catalog/categories/new",
        data={"code": "gps", "name_en": "GPS tracker", "name_hi": "जीपीएस", "group": "other"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/catalog/")
    category = get_category_by_code("GPS")
    assert (category.name_en, category.name_hi, category.group) == (
        "GPS tracker",
        "जीपीएस",
        "other",
    )

    form = manager.get(f"/catalog/categories/{category.id}/edit").get_data(as_text=True)
    assert 'value="GPS tracker"' in form
    response = manager.post(
        f"/catalog/categories/{category.id}/edit",
        data={"code": "GPS", "name_en": "Vehicle tracker", "name_hi": "", "group": "networking"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    category = db.session.get(Category, category.id)
    assert (category.name_en, category.group) == ("Vehicle tracker", "networking")
    assert "Vehicle tracker" in manager.get("/catalog/").get_data(as_text=True)


def test_category_duplicates_and_bad_codes_are_refused(manager):
    response = manager.post(
        "/catalog/categories/new",
        data={"code": "dsk", "name_en": "Second desktop", "group": "edistrict"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Another category already has the code DSK." in body
    assert 'value="Second desktop"' in body
    # Renaming an existing category onto a taken code is refused too.
    laptop = get_category_by_code("LAP")
    response = manager.post(
        f"/catalog/categories/{laptop.id}/edit",
        data={"code": "DSK", "name_en": "Laptop", "group": "edistrict"},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Category, laptop.id).code == "LAP"
    for code in ("X", "TOOLONGCODE", "A-B", "डीएसके"):
        response = manager.post(
            "/catalog/categories/new", data={"code": code, "name_en": "x", "group": "other"}
        )
        assert "2 to 8 capital letters or digits." in response.get_data(as_text=True), code
    assert count(Category) == 17


# --- manufacturers ----------------------------------------------------------------------


def test_manufacturer_create_edit_and_duplicates(manager):
    assert manager.post("/catalog/manufacturers/new", data={"name": " HP "}).status_code == 302
    hp = db.session.scalar(sa.select(Manufacturer))
    assert hp.name == "HP"
    duplicate = manager.post("/catalog/manufacturers/new", data={"name": "hp"})
    assert duplicate.status_code == 400
    assert "The manufacturer hp exists already." in duplicate.get_data(as_text=True)
    assert count(Manufacturer) == 1
    # Its own name in another case is no clash.
    assert (
        manager.post(f"/catalog/manufacturers/{hp.id}/edit", data={"name": "Hp Inc"}).status_code
        == 302
    )
    maker("Dell")
    clash = manager.post(f"/catalog/manufacturers/{hp.id}/edit", data={"name": "DELL"})
    assert clash.status_code == 400
    db.session.expire_all()
    assert db.session.get(Manufacturer, hp.id).name == "Hp Inc"
    empty = manager.post("/catalog/manufacturers/new", data={"name": "  "})
    assert "This field is required." in empty.get_data(as_text=True)


# --- models -----------------------------------------------------------------------------


def test_model_create_edit_and_duplicates(manager):
    epson, benq = maker("Epson"), maker("BenQ")
    projector = get_category_by_code("PRJ")
    response = manager.post(
        "/catalog/models/new",
        data={"manufacturer_id": epson.id, "name": "EB-X51", "category_id": projector.id},
    )
    assert response.status_code == 302
    created = db.session.scalar(sa.select(AssetModel))
    assert (created.manufacturer_id, created.name, created.category_id) == (
        epson.id,
        "EB-X51",
        projector.id,
    )
    duplicate = manager.post(
        "/catalog/models/new",
        data={"manufacturer_id": epson.id, "name": "eb-x51", "category_id": projector.id},
    )
    assert duplicate.status_code == 400
    assert "This manufacturer already has a model of that name." in duplicate.get_data(as_text=True)
    # The same model name under another manufacturer is a different model.
    other = manager.post(
        "/catalog/models/new",
        data={"manufacturer_id": benq.id, "name": "EB-X51", "category_id": projector.id},
    )
    assert other.status_code == 302
    assert count(AssetModel) == 2

    display = get_category_by_code("DSP")
    edit = manager.post(
        f"/catalog/models/{created.id}/edit",
        data={"manufacturer_id": epson.id, "name": "EB-X52", "category_id": display.id},
    )
    assert edit.status_code == 302
    db.session.expire_all()
    saved = db.session.get(AssetModel, created.id)
    assert (saved.name, saved.category_id) == ("EB-X52", display.id)


def test_model_category_cannot_change_while_assets_use_it(manager, district, make_asset):
    asset = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"))
    used = asset.model
    response = manager.post(
        f"/catalog/models/{used.id}/edit",
        data={
            "manufacturer_id": used.manufacturer_id,
            "name": "EB-X51",
            "category_id": get_category_by_code("DSP").id,
        },
    )
    assert response.status_code == 400
    assert "The category cannot change while 1 assets use this model." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(AssetModel, used.id).category.code == "PRJ"
    # A rename that keeps the category is fine.
    response = manager.post(
        f"/catalog/models/{used.id}/edit",
        data={
            "manufacturer_id": used.manufacturer_id,
            "name": "EB-X51 (2019)",
            "category_id": get_category_by_code("PRJ").id,
        },
    )
    assert response.status_code == 302


# --- delete -----------------------------------------------------------------------------


def delete(client, kind: str, item_id: int) -> str:
    response = client.post(f"/catalog/{kind}/{item_id}/delete", follow_redirects=True)
    assert response.request.path == "/catalog/"
    return response.get_data(as_text=True)


def test_delete_is_refused_while_in_use(manager, district, make_asset):
    asset = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"))
    used_model = asset.model
    projector_id, epson_id, model_id = asset.category_id, used_model.manufacturer_id, used_model.id
    model("Epson", "EB-W49", "DSP")  # a display category with a model but no asset

    assert "Projector is still in use (2 records). It cannot be deleted." in delete(
        manager, "category", projector_id
    )
    assert "Display is still in use (1 records)." in delete(
        manager, "category", get_category_by_code("DSP").id
    )
    assert "Epson is still in use (2 records)." in delete(manager, "manufacturer", epson_id)
    assert "Epson EB-X51 is still in use (1 records)." in delete(manager, "model", model_id)
    db.session.expire_all()
    assert db.session.get(Category, projector_id) is not None
    assert db.session.get(Manufacturer, epson_id) is not None
    assert db.session.get(AssetModel, model_id) is not None


def test_unused_items_are_deleted_after_confirmation(manager):
    unused = model("Poly", "Studio X30", "VCC")
    model_id, maker_id = unused.id, unused.manufacturer_id
    confirm = manager.get(f"/catalog/model/{model_id}/delete")
    assert confirm.status_code == 200
    assert "Delete Poly Studio X30?" in confirm.get_data(as_text=True)
    assert db.session.get(AssetModel, model_id) is not None

    assert "Deleted." in delete(manager, "model", model_id)
    assert "Deleted." in delete(manager, "manufacturer", maker_id)
    assert "Deleted." in delete(manager, "category", get_category_by_code("OTH").id)
    db.session.expire_all()
    assert db.session.get(AssetModel, model_id) is None
    assert db.session.get(Manufacturer, maker_id) is None
    assert get_category_by_code("OTH") is None
    assert manager.post("/catalog/widget/1/delete").status_code == 404


def test_index_lists_the_catalogue_with_asset_counts(manager, district, make_asset):
    make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"))
    make_asset(district["hq"], "PRJ", model=("Epson", "EB-X51"))
    model("Poly", "Studio X30", "VCC")
    body = manager.get("/catalog/").get_data(as_text=True)
    projector = get_category_by_code("PRJ")
    row = re.search(
        rf'category={projector.id}">Projector</a></td>.*?<td class="num">(\d+)</td>', body, re.S
    )
    assert row and row.group(1) == "2"
    assert re.search(
        r"<td>Epson</td><td>EB-X51</td><td>Projector</td><td class=\"num\">2</td>", body
    )
    assert re.search(
        r"<td>Poly</td><td>Studio X30</td><td>VC codec</td><td class=\"num\">0</td>", body
    )
