"""Sites: the hierarchy rules, unique codes, delete refusals, the tree and detail pages, forms."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from inventory.extensions import db
from inventory.sites import services
from inventory.sites.models import Site
from inventory.sites.services import SiteError


@pytest.fixture
def manager(make_user, login):
    """A manager signed in with English pages, so messages can be matched as written."""
    return login(make_user("manager", locale="en"))


def site_form(**overrides) -> dict:
    data = {
        "code": "BLK-NEW",
        "name_en": "New block",
        "name_hi": "नया ब्लॉक",
        "kind": "block",
        "parent_id": "0",
        "address": "Vikas Bhawan, Gonda",
        "contact_name": "R. K. Verma",
        "contact_phone": "+91 5262 230001",
        "link_type": "swan",
        "notes": "",
    }
    data.update(overrides)
    return data


def tree_rows(html: str) -> list[tuple[int, str]]:
    """(depth, name) of each row of the site tree, in page order."""
    return [
        (int(depth), name)
        for depth, name in re.findall(
            r'<td class="depth-(\d+)"><a href="/sites/\d+">([^<]*)</a>', html
        )
    ]


# --- the hierarchy ----------------------------------------------------------------------


def test_only_a_district_hq_may_be_without_a_parent(make_site):
    make_site("HQ", "district_hq")
    for kind in ("tehsil", "block", "municipality", "office", "csc"):
        with pytest.raises(SiteError, match="Only a district headquarters"):
            services.create_site(code=f"X-{kind}".upper(), name_en="x", kind=kind, parent_id=None)


@pytest.mark.parametrize(
    ("parent_kind", "kind"),
    [
        ("district_hq", "district_hq"),
        ("tehsil", "tehsil"),
        ("block", "tehsil"),
        ("block", "block"),
        ("block", "municipality"),
        ("csc", "csc"),
        ("office", "csc"),
        ("municipality", "tehsil"),
    ],
)
def test_a_site_cannot_sit_under_a_site_of_its_own_level_or_lower(district, parent_kind, kind):
    parents = {
        "district_hq": district["hq"],
        "tehsil": district["tehsil"],
        "block": district["block"],
        "csc": district["csc"],
    }
    if parent_kind not in parents:
        parents[parent_kind] = services.create_site(
            code="P-X", name_en="Parent", kind=parent_kind, parent_id=district["tehsil"].id
        )
    with pytest.raises(SiteError, match="cannot be placed under"):
        services.create_site(
            code="NEW-X", name_en="New", kind=kind, parent_id=parents[parent_kind].id
        )
    assert db.session.scalar(sa.select(Site.id).where(Site.code == "NEW-X")) is None


@pytest.mark.parametrize(
    ("parent_key", "kind"),
    [
        ("hq", "tehsil"),
        ("hq", "office"),  # offices at the headquarters
        ("hq", "municipality"),
        ("tehsil", "block"),
        ("tehsil", "municipality"),
        ("block", "csc"),
        ("block", "office"),
    ],
)
def test_a_site_may_sit_under_any_higher_level(district, parent_key, kind):
    site = services.create_site(
        code="NEW-OK", name_en="New", kind=kind, parent_id=district[parent_key].id
    )
    assert site.parent_id == district[parent_key].id


def test_unknown_parent_is_refused(district):
    with pytest.raises(SiteError, match="parent site does not exist"):
        services.create_site(code="T-X", name_en="x", kind="tehsil", parent_id=999_999)


def test_a_site_cannot_go_under_itself_or_its_descendants(district):
    tehsil = district["tehsil"]
    for target in (tehsil, district["block"], district["csc"]):
        with pytest.raises(SiteError, match="under itself or one of its own sites"):
            services.update_site(tehsil, parent_id=target.id)
        db.session.rollback()
    db.session.refresh(tehsil)
    assert tehsil.parent_id == district["hq"].id


def test_changing_kind_may_not_strand_the_sites_below(district):
    """A block that holds a CSC cannot itself become a CSC or an office."""
    block = district["block"]
    for kind in ("csc", "office"):
        with pytest.raises(SiteError, match="cannot be placed under"):
            services.update_site(block, kind=kind)
        db.session.rollback()
    assert db.session.get(Site, block.id).kind == "block"
    # Without anything below it, a block may become an office.
    empty = services.create_site(
        code="BLK-EMPTY", name_en="Empty", kind="block", parent_id=district["tehsil"].id
    )
    services.update_site(empty, kind="office")
    assert empty.kind == "office"


def test_moving_a_site_keeps_its_subtree(district, make_site):
    other = make_site("TEH-TRB", "tehsil", district["hq"], name_en="Tarabganj")
    services.update_site(district["block"], parent_id=other.id)
    db.session.commit()
    assert sorted(services.descendant_ids(other.id)) == sorted(
        [district["block"].id, district["csc"].id]
    )
    assert services.descendant_ids(district["tehsil"].id) == []


def test_codes_are_unique(district):
    with pytest.raises(SiteError, match="already has the code GON-HQ"):
        services.create_site(
            code="GON-HQ", name_en="Second", kind="tehsil", parent_id=district["hq"].id
        )
    with pytest.raises(SiteError, match="already has the code TEH-MNK"):
        services.update_site(district["block"], code="TEH-MNK")
    db.session.rollback()
    # Saving a site with its own code is not a clash.
    services.update_site(district["block"], code="BLK-MNK", name_en="Renamed")
    assert district["block"].name_en == "Renamed"


# --- delete -----------------------------------------------------------------------------


def test_delete_is_refused_while_child_sites_remain(manager, district):
    tehsil = district["tehsil"]
    page = manager.get(f"/sites/{tehsil.id}/delete")
    assert page.status_code == 200
    assert "Delete site Mankapur?" in page.get_data(as_text=True)
    response = manager.post(f"/sites/{tehsil.id}/delete", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.request.path == f"/sites/{tehsil.id}"
    assert "Mankapur still holds 0 assets and 1 sites. Move or delete them first." in body
    assert db.session.get(Site, tehsil.id) is not None


def test_delete_is_refused_while_assets_remain(manager, district, make_asset):
    csc = district["csc"]
    make_asset(csc)
    make_asset(csc, "PRN")
    response = manager.post(f"/sites/{csc.id}/delete", follow_redirects=True)
    assert "CSC Babhanjot still holds 2 assets and 0 sites." in response.get_data(as_text=True)
    assert db.session.get(Site, csc.id) is not None


def test_empty_site_is_deleted_by_a_manager(manager, district):
    csc_id = district["csc"].id
    response = manager.post(f"/sites/{csc_id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sites/")
    db.session.expire_all()
    assert db.session.get(Site, csc_id) is None
    assert manager.get(f"/sites/{csc_id}").status_code == 404
    # Its parent now has nothing below it and can go too.
    block_id = district["block"].id
    assert manager.post(f"/sites/{block_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Site, block_id) is None


def test_get_on_delete_only_asks(manager, district):
    csc_id = district["csc"].id
    page = manager.get(f"/sites/{csc_id}/delete")
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    assert db.session.get(Site, csc_id) is not None


# --- the tree and the detail page -------------------------------------------------------


def test_tree_lists_parents_before_children_indented_by_depth(manager, make_site):
    hq = make_site("GON-HQ", "district_hq", name_en="Gonda HQ")
    tarabganj = make_site("TEH-TRB", "tehsil", hq, name_en="Tarabganj")
    colonelganj = make_site("TEH-CLG", "tehsil", hq, name_en="Colonelganj")
    make_site("BLK-NWB", "block", tarabganj, name_en="Nawabganj")
    make_site("BLK-CLG", "block", colonelganj, name_en="Colonelganj block")
    make_site("CSC-1", "csc", db.session.get(Site, colonelganj.id).children[0], name_en="CSC A")
    make_site("HQ-NIC", "office", hq, name_en="NIC district centre")

    body = manager.get("/sites/").get_data(as_text=True)
    assert tree_rows(body) == [
        (0, "Gonda HQ"),
        (1, "Colonelganj"),
        (2, "Colonelganj block"),
        (3, "CSC A"),
        (1, "NIC district centre"),
        (1, "Tarabganj"),
        (2, "Nawabganj"),
    ]


def test_tree_filters_by_kind_and_text(manager, district):
    rows = tree_rows(manager.get("/sites/?kind=block").get_data(as_text=True))
    assert rows == [(2, "Mankapur block")]
    rows = tree_rows(manager.get("/sites/?q=csc-0").get_data(as_text=True))
    assert rows == [(3, "CSC Babhanjot")]
    rows = tree_rows(manager.get("/sites/?q=मनकापुर").get_data(as_text=True))
    assert [name for _depth, name in rows] == ["Mankapur", "Mankapur block"]


def test_tree_shows_each_sites_own_asset_count(manager, district, make_asset):
    make_asset(district["block"])
    make_asset(district["block"])
    make_asset(district["csc"])
    body = manager.get("/sites/").get_data(as_text=True)
    counts = re.findall(
        r'depth-\d+"><a href="/sites/(\d+)">.*?<td class="num">(\d+)</td>', body, re.S
    )
    assert {int(k): int(v) for k, v in counts} == {
        district["hq"].id: 0,
        district["tehsil"].id: 0,
        district["block"].id: 2,
        district["csc"].id: 1,
    }


def test_detail_shows_children_assets_and_subtree_total(manager, district, make_site, make_asset):
    tehsil = district["tehsil"]
    make_site("MUN-MNK", "municipality", tehsil, name_en="Mankapur Nagar Panchayat")
    here = make_asset(tehsil, "RTR", serial="RTR-HERE-1", location="Server room")
    below = make_asset(district["block"], serial="BLOCK-DSK-1")
    make_asset(district["csc"], serial="CSC-DSK-1")
    make_asset(district["hq"], serial="HQ-DSK-1")

    body = manager.get(f"/sites/{tehsil.id}").get_data(as_text=True)
    # Child sites: both direct children, not the grandchild.
    assert "Mankapur block" in body
    assert "Mankapur Nagar Panchayat" in body
    assert ">CSC Babhanjot<" not in body
    # Assets at this site only.
    assert here.tag in body and "RTR-HERE-1" in body and "Server room" in body
    assert below.tag not in body and "HQ-DSK-1" not in body
    # 1 asset here, 3 here and below (tehsil, block, CSC), never the HQ's.
    assert re.findall(r'<div class="stat">(\d+)</div>', body) == ["1", "3"]
    # Breadcrumb up to the headquarters.
    assert f'<a href="/sites/{district["hq"].id}">Gonda HQ</a> \u203a' in body


def test_detail_of_unknown_site_is_404(manager):
    assert manager.get("/sites/987654").status_code == 404


# --- forms ------------------------------------------------------------------------------


def test_create_through_the_form(manager, district):
    response = manager.post(
        "/sites/new",
        data=site_form(code="blk-itia", name_en="Itiathok", parent_id=str(district["tehsil"].id)),
    )
    assert response.status_code == 302
    site = services.get_site_by_code("BLK-ITIA")
    assert site is not None
    assert response.headers["Location"].endswith(f"/sites/{site.id}")
    assert (site.name_en, site.name_hi, site.kind, site.parent_id) == (
        "Itiathok",
        "नया ब्लॉक",
        "block",
        district["tehsil"].id,
    )
    assert (site.address, site.contact_name, site.contact_phone, site.link_type) == (
        "Vikas Bhawan, Gonda",
        "R. K. Verma",
        "+91 5262 230001",
        "swan",
    )


def test_form_field_errors_rerender_with_what_was_typed(manager, district):
    data = site_form(
        code="bad code!",
        contact_phone="call me",
        name_en="Typed name",
        address="Typed address line",
        contact_name="Typed contact",
        parent_id=str(district["tehsil"].id),
    )
    response = manager.post("/sites/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code in (200, 400)
    assert "Use capital letters, digits, - and _ only." in body
    assert "Digits, spaces, +, - and brackets only." in body
    assert 'value="Typed name"' in body
    assert "Typed address line</textarea>" in body
    assert 'value="Typed contact"' in body
    assert 'value="call me"' in body
    assert 'value="block" selected' in body or 'selected value="block"' in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 4


def test_rule_errors_rerender_with_message_and_values(manager, district):
    # A duplicate code is only found by the service; the form must keep every value.
    response = manager.post(
        "/sites/new",
        data=site_form(code="TEH-MNK", name_en="Duplicate typed", parent_id=str(district["hq"].id)),
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Another site already has the code TEH-MNK." in body
    assert 'value="Duplicate typed"' in body
    assert 'value="TEH-MNK"' in body
    # A tehsil without a parent.
    response = manager.post("/sites/new", data=site_form(code="TEH-NEW", kind="tehsil"))
    assert response.status_code == 400
    assert "Only a district headquarters can be without a parent site." in response.get_data(
        as_text=True
    )
    assert services.get_site_by_code("TEH-NEW") is None


def test_edit_form_offers_no_descendant_as_parent(manager, district):
    tehsil = district["tehsil"]
    body = manager.get(f"/sites/{tehsil.id}/edit").get_data(as_text=True)
    options = re.findall(r'<option (?:selected )?value="(\d+)"', body)
    assert str(district["hq"].id) in options
    for excluded in (tehsil, district["block"], district["csc"]):
        assert str(excluded.id) not in options
    # Posting a descendant anyway is refused and nothing changes.
    response = manager.post(
        f"/sites/{tehsil.id}/edit",
        data=site_form(
            code="TEH-MNK", name_en="Mankapur", kind="tehsil", parent_id=str(district["block"].id)
        ),
    )
    assert response.status_code in (200, 400)
    assert "Not a valid choice" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Site, tehsil.id).parent_id == district["hq"].id


def test_edit_saves_and_rule_errors_keep_the_site_unchanged(manager, district):
    block = district["block"]
    ok = manager.post(
        f"/sites/{block.id}/edit",
        data=site_form(
            code="BLK-MNK",
            name_en="Mankapur vikas khand",
            parent_id=str(district["tehsil"].id),
            link_type="broadband",
        ),
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Site, block.id).name_en == "Mankapur vikas khand"
    assert db.session.get(Site, block.id).link_type == "broadband"

    # A block holding a CSC cannot become a CSC; the typed values stay in the form.
    refused = manager.post(
        f"/sites/{block.id}/edit",
        data=site_form(
            code="BLK-MNK",
            name_en="Typed while refused",
            kind="csc",
            parent_id=str(district["tehsil"].id),
        ),
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "cannot be placed under" in body
    assert 'value="Typed while refused"' in body
    db.session.expire_all()
    site = db.session.get(Site, block.id)
    assert (site.kind, site.name_en) == ("block", "Mankapur vikas khand")


def test_new_form_preselects_the_parent_from_the_query(manager, district):
    body = manager.get(f"/sites/new?parent={district['block'].id}").get_data(as_text=True)
    assert f'<option selected value="{district["block"].id}">' in body
