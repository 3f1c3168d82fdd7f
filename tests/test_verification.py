"""Verification visits: classification, idempotent scans, move here, finish, reports, access."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import escaped, payload

from inventory.assets.models import Asset
from inventory.audit.models import ChangeLog
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.verification import services
from inventory.verification.models import VerificationVisit, VisitScan
from inventory.verification.services import VerificationError

STATIC = Path(__file__).parent.parent / "inventory" / "static"


@pytest.fixture
def place(district, make_asset):
    """The block with three assets (one condemned), and one asset at the CSC below it."""
    block, csc = district["block"], district["csc"]
    here = [make_asset(block, "DSK", serial=f"HERE-{i}") for i in range(2)]
    condemned = make_asset(block, "PRN", serial="OLD-1", status="condemned")
    elsewhere = make_asset(csc, "PRJ", serial="AWAY-1")
    return {"site": block, "here": here, "condemned": condemned, "elsewhere": elsewhere, **district}


@pytest.fixture
def engineer(make_user, login):
    user = make_user("engineer", locale="en", full_name="Field Engineer")
    login(user)
    return user


def scan_json(client, visit_id, tag, client_id=None, scanned_at=None):
    body = {"client_id": client_id or str(uuid.uuid4()), "tag": tag}
    if scanned_at is not None:
        body["scanned_at"] = scanned_at
    return client.post(f"/verify/visits/{visit_id}/scans", json=body)


def new_visit(site, user=None) -> VerificationVisit:
    visit = services.start_visit(site, user)
    db.session.commit()
    return visit


def record(visit, tag, client_id=None, **kw):
    scan, created = services.record_scan(
        visit, client_id=client_id or str(uuid.uuid4()), tag=tag, **kw
    )
    db.session.commit()
    return scan, created


# --- classification ---------------------------------------------------------------------


def test_scans_are_classified_found_unexpected_unknown_duplicate(place):
    visit = new_visit(place["site"])
    here, elsewhere = place["here"][0], place["elsewhere"]
    found, _ = record(visit, here.tag)
    unexpected, _ = record(visit, elsewhere.tag)
    unknown, _ = record(visit, "GON-XYZ-9999")
    again, _ = record(visit, here.tag.lower())  # typed in lower case: the same asset
    unknown_again, _ = record(visit, " gon-xyz-9999 ")
    assert [s.outcome for s in (found, unexpected, unknown, again, unknown_again)] == [
        "found",
        "unexpected",
        "unknown",
        "duplicate",
        "duplicate",
    ]
    assert found.asset_id == here.id
    assert unexpected.registered_site_id == place["csc"].id
    assert unknown.asset_id is None
    counts = services.visit_lists(visit)["counts"]
    # Expected: the two working assets at the block; the condemned one is not expected.
    assert counts == {
        "expected": 2,
        "found": 1,
        "missing": 1,
        "unexpected": 1,
        "unknown": 1,
        "duplicates": 2,
        "scans": 5,
    }
    lists = services.visit_lists(visit)
    assert [r["tag"] for r in lists["missing"]] == [place["here"][1].tag]
    assert lists["unexpected"][0]["registered_site"]["code"] == "CSC-001"


def test_a_qr_url_counts_as_its_tag(place):
    visit = new_visit(place["site"])
    tag = place["here"][0].tag
    scan, _ = record(visit, f"http://127.0.0.1:5000/a/{tag.lower()}?src=qr")
    assert (scan.tag, scan.outcome) == (tag, "found")


def test_a_visit_covers_its_own_site_not_the_sites_below(place):
    visit = new_visit(place["tehsil"])
    counts = services.visit_lists(visit)["counts"]
    assert counts["expected"] == 0  # the tehsil itself holds nothing; the block's are below
    scan, _ = record(visit, place["here"][0].tag)
    assert scan.outcome == "unexpected"


def test_scan_time_is_kept_between_the_visit_start_and_now(place):
    visit = new_visit(place["site"])
    future, _ = record(visit, place["here"][0].tag, scanned_at=utcnow() + timedelta(days=3))
    past, _ = record(visit, place["here"][1].tag, scanned_at=visit.started_at - timedelta(days=3))
    assert future.scanned_at <= future.received_at
    assert past.scanned_at == visit.started_at


def test_long_or_hostile_text_is_recorded_as_an_unknown_tag(place):
    visit = new_visit(place["site"])
    scan, _ = record(visit, "x" * 500 + "\x00\x07")
    assert scan.outcome == "unknown" and scan.tag == "X" * 64
    with pytest.raises(VerificationError):
        record(visit, "  \t ")


# --- the API: idempotent, classified, refused when closed ---------------------------------


def test_the_same_client_id_is_stored_once(place, engineer, client):
    visit = new_visit(place["site"])
    client_id = str(uuid.uuid4())
    first = scan_json(client, visit.id, place["here"][0].tag, client_id)
    assert first.status_code == 201
    assert first.json["scan"]["outcome"] == "found"
    assert first.json["replayed"] is False
    assert first.json["counts"]["found"] == 1
    # The same scan sent again (lost answer, replayed queue): answered as before, not stored.
    again = scan_json(client, visit.id, place["here"][0].tag, client_id)
    assert again.status_code == 200
    assert again.json["replayed"] is True
    assert again.json["scan"]["id"] == first.json["scan"]["id"]
    assert again.json["scan"]["outcome"] == "found"  # not "duplicate"
    assert again.json["counts"]["found"] == 1
    # Even a different tag under the same id changes nothing: the id names the scan.
    other = scan_json(client, visit.id, place["here"][1].tag, client_id)
    assert other.status_code == 200 and other.json["scan"]["tag"] == place["here"][0].tag
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitScan)) == 1
    # A new scan of the same asset is a duplicate: stored, not counted.
    dup = scan_json(client, visit.id, place["here"][0].tag)
    assert dup.status_code == 201
    assert dup.json["scan"]["outcome"] == "duplicate"
    assert dup.json["counts"]["found"] == 1
    assert "already scanned" in dup.json["scan"]["message"]


def test_the_api_messages_say_where_an_unexpected_asset_is(place, engineer, client):
    visit = new_visit(place["site"])
    response = scan_json(client, visit.id, place["elsewhere"].tag)
    assert response.json["scan"]["outcome"] == "unexpected"
    assert "CSC Babhanjot" in response.json["scan"]["message"]
    unknown = scan_json(client, visit.id, "NOPE-1")
    assert unknown.json["scan"]["outcome"] == "unknown"


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"tag": "GON-1"},  # no client_id
        {"client_id": "not-a-uuid", "tag": "GON-1"},
        {"client_id": str(uuid.uuid4())},  # no tag
        {"client_id": str(uuid.uuid4()), "tag": "   "},
        ["a", "list"],
    ],
)
def test_malformed_scans_are_refused_with_a_reason(place, engineer, client, body):
    visit = new_visit(place["site"])
    if body is None:
        response = client.post(f"/verify/visits/{visit.id}/scans", data="not json")
    else:
        response = client.post(f"/verify/visits/{visit.id}/scans", json=body)
    assert response.status_code == 400
    assert response.json["code"] == "invalid" and response.json["error"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitScan)) == 0


def test_an_unknown_visit_answers_404_json(engineer, client):
    response = scan_json(client, 999999, "GON-1")
    assert response.status_code == 404 and response.json["code"] == "not_found"
    assert client.get("/verify/visits/999999/state").status_code == 404


@pytest.mark.parametrize("close", ["finish", "abandon"])
def test_a_closed_visit_refuses_new_scans(place, engineer, client, close):
    visit = new_visit(place["site"])
    client_id = str(uuid.uuid4())
    assert scan_json(client, visit.id, place["here"][0].tag, client_id).status_code == 201
    assert client.post(f"/verify/visits/{visit.id}/{close}", data={}).status_code == 302
    response = scan_json(client, visit.id, place["here"][1].tag)
    assert response.status_code == 409
    assert response.json["code"] == "closed"
    assert "no more scans" in response.json["error"]
    # A scan it already has, sent again, is still acknowledged (the queue can empty).
    replay = scan_json(client, visit.id, place["here"][0].tag, client_id)
    assert replay.status_code == 200 and replay.json["replayed"] is True
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitScan)) == 1


def test_state_json_has_the_four_lists(place, engineer, client):
    visit = new_visit(place["site"])
    scan_json(client, visit.id, place["here"][0].tag)
    scan_json(client, visit.id, place["elsewhere"].tag)
    scan_json(client, visit.id, "ZZZ-1")
    state = client.get(f"/verify/visits/{visit.id}/state").json
    assert state["visit"]["open"] is True
    assert [r["tag"] for r in state["found"]] == [place["here"][0].tag]
    assert [r["tag"] for r in state["missing"]] == [place["here"][1].tag]
    assert [r["tag"] for r in state["unknown"]] == ["ZZZ-1"]
    row = state["unexpected"][0]
    assert row["registered_site_code"] == "CSC-001"
    assert row["move_url"].endswith(f"/scans/{row['scan_id']}/move")
    assert row["url"] == f"/assets/{place['elsewhere'].id}"


# --- move here ----------------------------------------------------------------------------


def test_move_here_changes_the_site_and_the_history_records_it(place, engineer, client):
    visit = new_visit(place["site"])
    asset = place["elsewhere"]
    scan_id = scan_json(client, visit.id, asset.tag).json["scan"]["id"]
    page = client.get(f"/verify/visits/{visit.id}/scans/{scan_id}/move")
    assert page.status_code == 200
    assert "CSC Babhanjot" in page.get_data(as_text=True)
    response = client.post(f"/verify/visits/{visit.id}/scans/{scan_id}/move", data={})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Asset, asset.id).site_id == place["site"].id
    assert db.session.get(VisitScan, scan_id).moved_here is True
    change = db.session.scalars(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == "assets", ChangeLog.object_id == asset.id)
        .order_by(ChangeLog.id.desc())
    ).first()
    assert change.changes["site_id"] == [place["csc"].id, place["site"].id]
    assert change.actor_id == engineer.id
    # Moved here: still listed as having come from elsewhere, not expected, not missing.
    counts = services.visit_lists(visit)["counts"]
    assert (counts["expected"], counts["missing"], counts["unexpected"]) == (2, 2, 1)
    visit_page = client.get(f"/verify/visits/{visit.id}").get_data(as_text=True)
    assert "Was registered at" in visit_page and "Moved here" in visit_page
    # A second move is refused.
    again = client.post(f"/verify/visits/{visit.id}/scans/{scan_id}/move", data={})
    assert again.status_code == 302
    assert "already moved" in client.get(again.location).get_data(as_text=True)


def test_only_an_unexpected_scan_can_be_moved(place):
    visit = new_visit(place["site"])
    found, _ = record(visit, place["here"][0].tag)
    unknown, _ = record(visit, "ZZZ-2")
    for scan in (found, unknown):
        with pytest.raises(VerificationError):
            services.move_here(visit, scan)


def test_a_viewer_cannot_move(place, make_user, login, client):
    visit = new_visit(place["site"])
    scan, _ = record(visit, place["elsewhere"].tag)
    login(make_user("viewer", locale="en"))
    assert client.post(f"/verify/visits/{visit.id}/scans/{scan.id}/move").status_code == 403
    db.session.expire_all()
    assert db.session.get(Asset, place["elsewhere"].id).site_id == place["csc"].id


# --- finish and abandon -------------------------------------------------------------------


def test_finish_marks_found_assets_verified_and_freezes_the_report(place, engineer, client):
    visit = new_visit(place["site"], engineer)
    visit.started_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    seen, missing = place["here"]
    elsewhere = place["elsewhere"]
    moved_extra = place["condemned"]  # found here though condemned: verified, not expected
    when = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    scan_json(client, visit.id, seen.tag, scanned_at=when.isoformat())
    scan_json(client, visit.id, elsewhere.tag)  # left where it is registered
    scan_json(client, visit.id, "UNKNOWN-7")
    scan_json(client, visit.id, moved_extra.tag)
    before = {a.id: a.last_verified_at for a in (seen, missing, elsewhere)}
    assert set(before.values()) == {None}
    page = client.get(f"/verify/visits/{visit.id}/finish")
    assert page.status_code == 200
    assert "1 expected asset was not found" in page.get_data(as_text=True)
    response = client.post(f"/verify/visits/{visit.id}/finish", data={"notes": "All counters open"})
    assert response.status_code == 302
    db.session.expire_all()
    visit = db.session.get(VerificationVisit, visit.id)
    assert visit.status == "finished" and visit.open_site_id is None
    assert visit.finished_by_id == engineer.id and visit.notes == "All counters open"
    assert (
        visit.expected_count,
        visit.found_count,
        visit.missing_count,
        visit.unexpected_count,
        visit.unknown_count,
    ) == (2, 2, 1, 1, 1)
    assert db.session.get(Asset, seen.id).last_verified_at == when
    assert db.session.get(Asset, moved_extra.id).last_verified_at is not None
    assert db.session.get(Asset, missing.id).last_verified_at is None
    assert db.session.get(Asset, elsewhere.id).last_verified_at is None
    # The report is frozen: later changes to the register do not rewrite it.
    from inventory.assets.services import update_asset

    update_asset(db.session.get(Asset, missing.id), site_id=place["csc"].id)
    db.session.commit()
    report = services.report_lists(db.session.get(VerificationVisit, visit.id))
    assert [r["tag"] for r in report["missing"]] == [missing.tag]
    assert report["counts"]["missing"] == 1
    html = client.get(response.location).get_data(as_text=True)
    assert "Field Engineer" in html and missing.tag in html and "UNKNOWN-7" in html
    assert 'id="verify"' not in html  # no scanner on a finished visit
    # Finishing again is refused.
    again = client.post(f"/verify/visits/{visit.id}/finish", data={})
    assert again.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationVisit)) == 1


def test_a_moved_asset_is_verified_at_finish(place, engineer, client):
    visit = new_visit(place["site"])
    scan_id = scan_json(client, visit.id, place["elsewhere"].tag).json["scan"]["id"]
    client.post(f"/verify/visits/{visit.id}/scans/{scan_id}/move", data={})
    client.post(f"/verify/visits/{visit.id}/finish", data={})
    db.session.expire_all()
    assert db.session.get(Asset, place["elsewhere"].id).last_verified_at is not None


def test_an_earlier_scan_does_not_move_last_verified_back(place):
    asset = place["here"][0]
    later = utcnow()
    asset.last_verified_at = later
    db.session.commit()
    visit = new_visit(place["site"])
    visit.started_at = later - timedelta(hours=2)
    db.session.commit()
    record(visit, asset.tag, scanned_at=later - timedelta(hours=1))
    services.finish_visit(visit)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Asset, asset.id).last_verified_at == later


def test_abandon_marks_nothing_verified_and_frees_the_site(place, engineer, client):
    visit = new_visit(place["site"])
    scan_json(client, visit.id, place["here"][0].tag)
    assert client.post(f"/verify/visits/{visit.id}/abandon", data={}).status_code == 302
    db.session.expire_all()
    assert db.session.get(VerificationVisit, visit.id).status == "abandoned"
    assert db.session.get(Asset, place["here"][0].id).last_verified_at is None
    started = client.post(f"/verify/sites/{place['site'].id}/start", data={})
    assert started.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationVisit)) == 2


# --- one visit in progress per site -----------------------------------------------------------


def test_a_second_visit_in_progress_is_refused(place, engineer, client):
    first = client.post(f"/verify/sites/{place['site'].id}/start", data={"notes": "morning"})
    assert first.status_code == 302
    visit = db.session.scalars(sa.select(VerificationVisit)).one()
    assert first.location.endswith(f"/verify/visits/{visit.id}")
    assert visit.started_by_id == engineer.id and visit.notes == "morning"
    page = client.get(f"/verify/sites/{place['site'].id}/start").get_data(as_text=True)
    assert "already in progress" in page
    assert f'href="/verify/visits/{visit.id}"' in page
    second = client.post(f"/verify/sites/{place['site'].id}/start", data={})
    assert second.status_code == 302 and second.location.endswith(f"/verify/visits/{visit.id}")
    assert "already in progress" in client.get(second.location).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationVisit)) == 1
    with pytest.raises(VerificationError):
        services.start_visit(place["site"], None)
    # Another site is free.
    assert client.post(f"/verify/sites/{place['csc'].id}/start", data={}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationVisit)) == 2


def test_the_database_refuses_two_open_visits_at_one_site(place):
    site_id = place["site"].id
    db.session.add_all(
        [
            VerificationVisit(site_id=site_id, open_site_id=site_id, started_at=utcnow())
            for _ in "ab"
        ]
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_database_counts_an_asset_once_per_visit(place):
    visit = new_visit(place["site"])
    first, _ = record(visit, place["here"][0].tag)
    assert first.count_key == f"a:{place['here'][0].id}"
    twin = VisitScan(
        visit_id=visit.id,
        client_id=str(uuid.uuid4()),
        tag=first.tag,
        asset_id=first.asset_id,
        outcome="found",
        count_key=first.count_key,
        scanned_at=utcnow(),
    )
    db.session.add(twin)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- roles --------------------------------------------------------------------------------


def test_a_viewer_reads_visits_and_reports_but_cannot_verify(place, make_user, login, client):
    visit = new_visit(place["site"])
    record(visit, place["here"][0].tag)
    services.finish_visit(visit)
    db.session.commit()
    open_visit = new_visit(place["csc"])
    login(make_user("viewer", locale="en"))
    report = client.get(f"/verify/visits/{visit.id}")
    assert report.status_code == 200
    assert place["here"][0].tag in report.get_data(as_text=True)
    live = client.get(f"/verify/visits/{open_visit.id}").get_data(as_text=True)
    assert 'id="verify"' not in live and "/finish" not in live
    assert client.get(f"/verify/visits/{open_visit.id}/state").status_code == 200
    assert client.get("/verify/").status_code == 200
    assert client.get("/verify/not-verified").status_code == 200
    site_page = client.get(f"/sites/{place['site'].id}").get_data(as_text=True)
    assert visit.number in site_page and "Start a verification visit" not in site_page
    assert client.get(f"/verify/sites/{place['site'].id}/start").status_code == 403
    assert client.post(f"/verify/sites/{place['site'].id}/start").status_code == 403
    assert scan_json(client, open_visit.id, place["csc"].code).status_code == 403
    assert client.post(f"/verify/visits/{open_visit.id}/finish").status_code == 403


def test_an_engineer_gets_the_scanner(place, engineer, client):
    visit = new_visit(place["site"])
    html = client.get(f"/verify/visits/{visit.id}").get_data(as_text=True)
    assert 'id="verify"' in html and "js/verify.js" in html and "js/scanner.js" in html
    assert f'data-scan-url="/verify/visits/{visit.id}/scans"' in html
    assert "not those of the sites below it" in html


# --- the site page and the district report ----------------------------------------------


def test_the_site_page_lists_past_visits(place, engineer, client):
    visit = new_visit(place["site"], engineer)
    record(visit, place["here"][0].tag)
    services.finish_visit(visit, engineer)
    db.session.commit()
    html = client.get(f"/sites/{place['site'].id}").get_data(as_text=True)
    assert f'href="/verify/visits/{visit.id}"' in html
    assert "1 / 2" in html  # found / expected
    assert "Field Engineer" in html
    assert "Last verified" in html
    assert f'href="/verify/sites/{place["site"].id}/start"' in html
    never = client.get(f"/sites/{place['csc'].id}").get_data(as_text=True)
    assert "never been verified" in never


def _finished(site, days_ago: float):
    visit = new_visit(site)
    services.finish_visit(visit)
    visit.finished_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return visit


def _report_codes(client, query="") -> list[str]:
    html = client.get("/verify/not-verified" + query).get_data(as_text=True)
    codes = []
    for line in html.split("<tr>")[2:]:
        codes.append(line.split("<td>")[2].split("</td>")[0])
    return codes


def test_the_not_verified_report(district, make_site, make_asset, make_user, login, client):
    login(make_user("viewer", locale="en"))
    hq, tehsil, block, csc = district["hq"], district["tehsil"], district["block"], district["csc"]
    office = make_site("OFF-1", "office", block, name_en="Office one")
    for site in (hq, tehsil, block, csc, office):
        make_asset(site, "DSK")
    empty = make_site("CSC-EMPTY", "csc", block)  # holds nothing
    _finished(block, 10)  # recent
    _finished(csc, 200)  # long ago
    _finished(office, 300)
    _finished(office, 120)  # its newest counts
    abandoned = new_visit(tehsil)
    services.abandon_visit(abandoned)  # does not count
    db.session.commit()
    # Never verified first (by name), then the longest unverified.
    assert _report_codes(client) == ["GON-HQ", "TEH-MNK", "CSC-001", "OFF-1"]
    html = client.get("/verify/not-verified").get_data(as_text=True)
    assert html.count(">Never<") == 2
    assert _report_codes(client, "?days=150") == ["GON-HQ", "TEH-MNK", "CSC-001"]
    assert _report_codes(client, "?days=5") == ["GON-HQ", "TEH-MNK", "CSC-001", "OFF-1", "BLK-MNK"]
    assert _report_codes(client, "?kind=csc") == ["CSC-001"]
    assert "CSC-EMPTY" in _report_codes(client, "?holding=all&kind=csc")
    assert empty.code not in _report_codes(client)
    # A bad number falls back to the default and says why.
    bad = client.get("/verify/not-verified?days=0").get_data(as_text=True)
    assert "Sites not verified in the last 90 days" in bad
    assert "Number must be between" in bad
    export = client.get("/verify/not-verified.csv?kind=csc&holding=all")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "site_code"
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["CSC-EMPTY"][-1] == "never"
    assert by_code["CSC-001"][-1].startswith(str((utcnow() - timedelta(days=200)).date()))


def test_the_not_verified_report_is_paginated(make_site, make_user, login, client, app):
    app.config["PAGE_SIZE"] = 3
    login(make_user("viewer", locale="en"))
    hq = make_site("HQ", "district_hq")
    for i in range(7):
        make_site(f"T{i}", "tehsil", hq, name_en=f"Tehsil {i}")
    first = _report_codes(client, "?holding=all")
    third = _report_codes(client, "?holding=all&page=3")
    assert len(first) == 3 and len(third) == 2
    assert "8 in all" in client.get("/verify/not-verified?holding=all").get_data(as_text=True)


def test_the_visit_list_filters(place, engineer, client):
    first = new_visit(place["site"])
    services.finish_visit(first)
    second = new_visit(place["csc"])
    db.session.commit()
    html = client.get("/verify/?status=finished").get_data(as_text=True)
    assert first.number in html and f">{second.number}<" in html  # in progress list
    only = client.get("/verify/?site=csc-001&status=in_progress").get_data(as_text=True)
    assert only.count(f">{second.number}<") == 2
    assert client.get("/verify/?site=NOPE").status_code == 200


# --- untrusted text -----------------------------------------------------------------------


def test_hostile_names_and_tags_are_escaped(make_site, make_asset, make_user, login, client):
    hq = make_site("HQ-X", "district_hq", name_en=payload("HQNAME"))
    here = make_site("SITE-X", "tehsil", hq, name_en=payload("SITENAME"), name_hi=payload("HI"))
    other = make_site("OTHER-X", "tehsil", hq, name_en=payload("OTHERNAME"))
    make_asset(other, "DSK")
    away = db.session.scalars(sa.select(Asset)).one()
    user = make_user("engineer", locale="en", full_name=payload("WHO"))
    login(user)
    visit = services.start_visit(here, user, notes=payload("NOTES"))
    db.session.commit()
    assert scan_json(client, visit.id, away.tag).status_code == 201
    hostile_tag = '<img src=x onerror=alert(1)>"><script>alert(1)</script>'
    response = scan_json(client, visit.id, hostile_tag)
    assert response.json["scan"]["outcome"] == "unknown"
    pages = [
        f"/verify/visits/{visit.id}",
        f"/verify/visits/{visit.id}/finish",
        f"/verify/visits/{visit.id}/scans/{db.session.scalars(sa.select(VisitScan.id)).first()}/move",
        f"/sites/{here.id}",
        "/verify/",
        "/verify/not-verified?holding=all",
    ]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html.lower(), url
        assert "<img src=x" not in html.lower(), url
    visit_html = client.get(f"/verify/visits/{visit.id}").get_data(as_text=True)
    assert escaped("SITENAME") in visit_html
    assert escaped("OTHERNAME") in visit_html
    assert escaped("WHO") in visit_html
    assert escaped("NOTES") in visit_html
    assert "&lt;IMG" in visit_html  # the tag, upper-cased as tags are, shown as text
    # The JSON carries the text as data; the page's script inserts it with textContent.
    state = client.get(f"/verify/visits/{visit.id}/state").json
    assert state["unexpected"][0]["registered_site_name"] == payload("OTHERNAME")
    assert state["unknown"][0]["tag"].startswith("<IMG")
    client.post(f"/verify/visits/{visit.id}/finish", data={})
    report = client.get(f"/verify/visits/{visit.id}").get_data(as_text=True)
    assert "<img src=x" not in report.lower() and escaped("OTHERNAME") in report


def test_the_page_script_never_writes_html():
    source = (STATIC / "js" / "verify.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink
    assert "textContent" in source


def test_the_service_worker_is_public_script_scoped_to_verify(client, app):
    response = client.get("/verify/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.get_data(as_text=True)
    assert "/static/js/verify.js" in body and "sampada-verify-static-" in body
    assert 'request.method !== "GET"' in body  # scans (POST) are never intercepted
