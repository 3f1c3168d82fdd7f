"""Inspection visits: recording (answers, photo, location), validation, roles, the checklist,
the weekly quota report at week boundaries, and escaping."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fpdf import FPDF
from PIL import Image
from support import RAW_MARKERS, escaped, payload

from inventory.audit.models import ChangeLog
from inventory.extensions import db
from inventory.files.models import StoredFile
from inventory.files.services import path_of
from inventory.inspections import services
from inventory.inspections.models import ChecklistItem, Inspection, InspectionAnswer

IST = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def make_user(make_user):
    """Users read English pages here (messages are matched in English)."""

    def make(role="viewer", **fields):
        fields.setdefault("locale", "en")
        return make_user(role, **fields)

    return make


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


@pytest.fixture
def items(app):
    services.ensure_default_checklist()
    db.session.commit()
    return services.active_items()


@pytest.fixture
def csc(district):
    return district["csc"]


def jpeg(size=(64, 48), noise=False) -> bytes:
    image = Image.new("RGB", size, (30, 140, 60))
    if noise:
        image = Image.effect_noise(size, 90).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def pdf() -> bytes:
    doc = FPDF()
    doc.add_page()
    return bytes(doc.output())


def ist(*args) -> datetime:
    return datetime(*args, tzinfo=IST).astimezone(UTC)


def form_data(site, items, **changes) -> dict:
    data = {
        "site_id": str(site.id),
        "inspected_at": (datetime.now(IST) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "remarks": "Operator away for lunch; rate list faded.",
        "feedback": "Citizens happy with the Aadhaar service.",
    }
    for item in items:
        data[f"answer_{item.id}"] = "yes"
        data[f"note_{item.id}"] = ""
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post_new(client, data, photo: tuple[bytes, str] | None = None):
    if photo is not None:
        data = {**data, "photo": (io.BytesIO(photo[0]), photo[1])}
    return client.post("/inspections/new", data=data, content_type="multipart/form-data")


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def record(site, inspector, when, items, **fields) -> Inspection:
    inspection = services.record_inspection(
        site_id=site.id,
        inspector=inspector,
        inspected_at=when,
        answers={item.id: ("yes", "") for item in items},
        **fields,
    )
    db.session.commit()
    return inspection


# --- recording ---------------------------------------------------------------------------


def test_engineer_records_an_inspection_with_answers_photo_and_location(
    app, make_user, login, csc, items
):
    engineer = make_user("engineer", full_name="Ravi Field")
    client = login(engineer)
    data = form_data(
        csc,
        items,
        latitude="27.133512",
        longitude="81.961784",
        accuracy_m="12.4",
        inspected_at="2025-01-10T11:30",
        **{f"answer_{items[3].id}": "no", f"note_{items[3].id}": "Device not working since Monday"},
        **{f"answer_{items[1].id}": "na"},
    )
    response = post_new(client, data, (jpeg(), "IMG_2041.jpg"))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    inspection = db.session.scalars(sa.select(Inspection)).one()
    assert response.headers["Location"] == f"/inspections/{inspection.id}"
    assert inspection.site_id == csc.id and inspection.inspector_id == engineer.id
    assert inspection.inspected_at == ist(2025, 1, 10, 11, 30)
    assert (inspection.latitude, inspection.longitude) == (27.133512, 81.961784)
    assert inspection.accuracy_m == pytest.approx(12.4)
    answers = {a.item_id: (a.answer, a.note) for a in inspection.answers}
    assert len(answers) == len(items)
    assert answers[items[3].id] == ("no", "Device not working since Monday")
    assert answers[items[1].id] == ("na", "")
    photo = inspection.photo
    assert photo.content_type == "image/jpeg" and photo.uploaded_by_id == engineer.id
    assert photo.original_name == "IMG_2041.jpg"
    assert path_of(photo).is_file()

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "27.133512, 81.961784" in page
    assert "https://www.openstreetmap.org/?mlat=27.133512&amp;mlon=81.961784" in page
    assert f'src="/files/{photo.id}/IMG_2041.jpg"' in page
    assert "Device not working since Monday" in page
    assert "Operator away for lunch; rate list faded." in page
    assert "Citizens happy with the Aadhaar service." in page
    assert "10-01-2025 11:30" in page
    assert client.get(f"/files/{photo.id}/IMG_2041.jpg").status_code == 200
    # History: the inspection and its answers, by the engineer.
    history = db.session.scalars(
        sa.select(ChangeLog).where(ChangeLog.object_type.in_(["inspections", "inspection_answers"]))
    ).all()
    assert {row.actor_id for row in history} == {engineer.id}
    assert len(history) == 1 + len(items)


def test_location_and_photo_are_optional(app, as_role, csc, items):
    client = as_role("engineer")
    response = post_new(client, form_data(csc, items, latitude="", longitude="", accuracy_m=""))
    assert response.status_code == 302
    inspection = db.session.scalars(sa.select(Inspection)).one()
    assert inspection.latitude is None and inspection.photo_id is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not recorded" in page and "No photo." in page
    assert "openstreetmap" not in page


def test_new_form_is_prefilled_for_a_site_and_now(app, as_role, csc, items):
    client = as_role("engineer")
    page = client.get(f"/inspections/new?site={csc.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{csc.id}"', page)
    now = datetime.now(IST)
    assert f'value="{now:%Y-%m-%d}T' in page
    for item in items:
        assert f'name="answer_{item.id}"' in page
    assert "data-locate" in page and "Add my location" in page
    assert "js/inspection.js" in page
    assert 'accept="image/jpeg,image/png,image/webp"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"latitude": "95", "longitude": "81.9"}, "Latitude must be between -90 and 90."),
        ({"latitude": "27.1", "longitude": "-181"}, "Longitude must be between -180 and 180."),
        ({"latitude": "27.1", "longitude": "abc"}, "Not a valid float value."),
        ({"latitude": "nan", "longitude": "81.9"}, "Not a valid float value."),
        ({"latitude": "27.1", "longitude": ""}, "Give both latitude and longitude, or neither."),
        ({"accuracy_m": "15"}, "An accuracy needs a latitude and longitude."),
        (
            {"latitude": "27.1", "longitude": "81.9", "accuracy_m": "-3"},
            "Accuracy must be between 0 and 100000 metres.",
        ),
        ({"site_id": "0"}, "Choose the site you inspected."),
        ({"inspected_at": ""}, "Give the date and time of the visit."),
    ],
)
def test_invalid_input_rerenders_with_what_was_typed(app, as_role, csc, items, changes, message):
    client = as_role("engineer")
    data = form_data(csc, items, remarks="Kept remark <b>", **{f"note_{items[0].id}": "kept note"})
    data[f"answer_{items[2].id}"] = "no"
    data.update(changes)
    response = post_new(client, data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "Kept remark &lt;b&gt;</textarea>" in page
    assert 'value="kept note"' in page
    assert re.search(rf'name="answer_{items[2].id}" value="no" checked', page)
    for key in ("latitude", "longitude"):
        if changes.get(key):
            assert f'value="{changes[key]}"' in page
    assert count(Inspection) == 0


def test_visit_in_the_future_is_refused(app, as_role, csc, items):
    client = as_role("engineer")
    later = (datetime.now(IST) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = post_new(client, form_data(csc, items, inspected_at=later))
    assert response.status_code == 400
    assert "The visit cannot be in the future." in response.get_data(as_text=True)
    assert count(Inspection) == 0


def test_every_active_question_needs_an_answer(app, as_role, csc, items):
    client = as_role("engineer")
    data = form_data(csc, items)
    del data[f"answer_{items[4].id}"]
    data[f"answer_{items[5].id}"] = "maybe"
    response = post_new(client, data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert page.count("Answer this question.") == 1
    assert "Answer yes, no or not applicable." in page
    assert count(Inspection) == 0


def test_oversized_photo_is_refused_and_input_kept(app, as_role, csc, items):
    app.config["INSPECTION_PHOTO_MAX_BYTES"] = 20 * 1024
    client = as_role("engineer")
    big = jpeg(size=(400, 400), noise=True)
    assert len(big) > 20 * 1024
    response = post_new(client, form_data(csc, items, remarks="typed remark"), (big, "big.jpg"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The file big.jpg is too large: at most 20 KB is accepted." in page
    assert "typed remark</textarea>" in page
    assert count(Inspection) == 0 and count(StoredFile) == 0


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (pdf(), "photo.jpg"),
        (b"<html><script>alert(1)</script></html>", "photo.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "photo.svg"),
    ],
)
def test_non_image_photo_is_refused(app, as_role, csc, items, data, name):
    client = as_role("engineer")
    response = post_new(client, form_data(csc, items, remarks="typed remark"), (data, name))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Only photos in JPEG, PNG or WebP format are accepted." in page
    assert "typed remark</textarea>" in page
    assert count(Inspection) == 0 and count(StoredFile) == 0


def test_photo_is_kept_when_another_field_must_be_corrected(
    app, make_user, login, client, csc, items
):
    engineer = make_user("engineer")
    login(engineer)
    data = form_data(csc, items, latitude="123", longitude="81")
    response = post_new(client, data, (jpeg(), "site.jpg"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    kept = db.session.scalars(sa.select(StoredFile)).one()
    assert f'src="/files/{kept.id}/site.jpg"' in page
    token = re.search(r'name="photo_token" type="hidden" value="([^"]+)"', page).group(1)

    # Another user cannot attach that photo with the token.
    other = app.test_client()
    login(make_user("engineer"), target_client=other)
    response = post_new(other, {**form_data(csc, items), "photo_token": token})
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Inspection)).one().photo_id is None

    # The same user corrects the latitude without sending the photo again.
    data.update(latitude="27.1", photo_token=token)
    response = post_new(client, data)
    assert response.status_code == 302
    db.session.rollback()
    latest = db.session.scalars(sa.select(Inspection).order_by(Inspection.id.desc())).first()
    assert latest.photo_id == kept.id


def test_tampered_photo_token_is_ignored(app, as_role, csc, items):
    client = as_role("engineer")
    response = post_new(client, {**form_data(csc, items), "photo_token": "1.bogus"})
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Inspection)).one().photo_id is None


def test_empty_checklist_still_records(app, as_role, csc):
    client = as_role("engineer")
    page = client.get("/inspections/new").get_data(as_text=True)
    assert "The checklist has no questions yet." in page
    response = post_new(client, form_data(csc, []))
    assert response.status_code == 302


# --- roles -------------------------------------------------------------------------------


def test_viewers_read_but_do_not_record(app, make_user, login, csc, items):
    inspection = record(csc, make_user("engineer"), ist(2025, 1, 6, 10, 0), items)
    viewer = login(make_user("viewer"))
    assert viewer.get("/inspections/new").status_code == 403
    assert post_new(viewer, form_data(csc, items)).status_code == 403
    page = viewer.get(f"/inspections/{inspection.id}").get_data(as_text=True)
    assert inspection.number in page
    assert "/inspections/new" not in page and "Correct" not in page
    listing = viewer.get("/inspections/").get_data(as_text=True)
    assert inspection.number in listing and "Record an inspection" not in listing


def test_engineers_cannot_correct_managers_can_with_history(app, make_user, login, csc, items):
    engineer = make_user("engineer")
    inspection = record(csc, engineer, ist(2025, 1, 6, 10, 0), items, remarks="first")
    eng_client = app.test_client()
    login(engineer, target_client=eng_client)
    assert eng_client.get(f"/inspections/{inspection.id}/edit").status_code == 403

    manager = login(make_user("manager"))
    page = manager.get(f"/inspections/{inspection.id}/edit").get_data(as_text=True)
    assert "first</textarea>" in page and 'value="2025-01-06T10:00"' in page
    data = form_data(csc, items, remarks="corrected", feedback="", inspected_at="2025-01-06T10:00")
    data[f"answer_{items[0].id}"] = "no"
    response = manager.post(
        f"/inspections/{inspection.id}/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.rollback()
    inspection = db.session.get(Inspection, inspection.id)
    assert inspection.remarks == "corrected"
    assert inspection.inspector_id == engineer.id  # a correction does not change the inspector
    page = manager.get(f"/inspections/{inspection.id}").get_data(as_text=True)
    assert "corrected" in page
    history = services.history(inspection)
    changed = {(row.object_type, tuple(row.changes)) for row in history if row.action == "update"}
    assert ("inspections", ("remarks",)) in changed
    assert ("inspection_answers", ("answer",)) in changed


def test_correction_keeps_replaces_or_removes_the_photo(app, as_role, csc, items):
    client = as_role("manager")
    response = post_new(client, form_data(csc, items), (jpeg(), "one.jpg"))
    inspection_id = int(response.headers["Location"].rsplit("/", 1)[1])
    url = f"/inspections/{inspection_id}/edit"
    data = form_data(csc, items, inspected_at="2025-01-06T10:00")
    assert client.post(url, data=data, content_type="multipart/form-data").status_code == 302
    db.session.rollback()
    first = db.session.get(Inspection, inspection_id).photo_id
    assert first is not None
    data_new = {**data, "photo": (io.BytesIO(jpeg(size=(20, 20))), "two.jpg")}
    assert client.post(url, data=data_new, content_type="multipart/form-data").status_code == 302
    db.session.rollback()
    second = db.session.get(Inspection, inspection_id).photo_id
    assert second not in (None, first)
    data_remove = {**data, "remove_photo": "y"}
    assert client.post(url, data=data_remove, content_type="multipart/form-data").status_code == 302
    db.session.rollback()
    assert db.session.get(Inspection, inspection_id).photo_id is None


def test_manager_deletes_an_inspection_after_confirming(app, as_role, make_user, csc, items):
    inspection = record(csc, make_user("engineer"), ist(2025, 1, 6, 10, 0), items)
    client = as_role("manager")
    page = client.get(f"/inspections/{inspection.id}/delete").get_data(as_text=True)
    assert "will no longer count towards the weekly quota" in page
    assert client.post(f"/inspections/{inspection.id}/delete").status_code == 302
    assert count(Inspection) == 0 and count(InspectionAnswer) == 0


# --- the checklist -----------------------------------------------------------------------


def test_default_checklist_is_added_once(app):
    assert services.ensure_default_checklist() == len(services.DEFAULT_CHECKLIST)
    assert services.ensure_default_checklist() == 0
    db.session.commit()
    texts = [item.text_en for item in services.checklist()]
    assert texts[0] == "Operator present at the centre"
    assert "Biometric device working" in texts and "Receipts issued for services" in texts
    assert all(item.text_hi for item in services.checklist())


def test_admin_adds_the_standard_checklist_from_the_empty_page(app, as_role):
    client = as_role("admin")
    page = client.get("/inspections/checklist").get_data(as_text=True)
    assert "Add the standard CSC checklist" in page
    response = client.post("/inspections/checklist/defaults")
    assert response.status_code == 302
    assert count(ChecklistItem) == len(services.DEFAULT_CHECKLIST)
    client.post("/inspections/checklist/defaults")
    assert count(ChecklistItem) == len(services.DEFAULT_CHECKLIST)


def test_admin_adds_edits_and_reorders_questions(app, as_role, items):
    client = as_role("admin")
    response = client.post(
        "/inspections/checklist", data={"text_en": "  Fire  extinguisher ", "text_hi": "अग्निशामक"}
    )
    assert response.status_code == 302
    added = db.session.scalars(
        sa.select(ChecklistItem).where(ChecklistItem.text_en == "Fire extinguisher")
    ).one()
    assert services.checklist()[-1].id == added.id
    duplicate = client.post("/inspections/checklist", data={"text_en": "fire EXTINGUISHER"})
    assert duplicate.status_code == 400
    assert "already has the question" in duplicate.get_data(as_text=True)
    assert client.post("/inspections/checklist", data={"text_en": ""}).status_code == 400

    client.post(f"/inspections/checklist/{added.id}/move", data={"direction": "up"})
    db.session.rollback()
    order = [item.id for item in services.checklist()]
    assert order[-2] == added.id
    client.post(f"/inspections/checklist/{order[0]}/move", data={"direction": "up"})
    db.session.rollback()
    assert [item.id for item in services.checklist()] == order  # already first: no change

    response = client.post(
        f"/inspections/checklist/{added.id}/edit", data={"text_en": "Fire extinguisher valid"}
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(ChecklistItem, added.id).text_en == "Fire extinguisher valid"


def test_deactivated_question_keeps_old_answers_readable(app, make_user, login, csc, items):
    engineer = make_user("engineer")
    target = items[2]
    inspection = services.record_inspection(
        site_id=csc.id,
        inspector=engineer,
        inspected_at=ist(2025, 1, 6, 10, 0),
        answers={item.id: ("no" if item is target else "yes", "") for item in items},
    )
    db.session.commit()
    admin = app.test_client()
    login(make_user("admin"), target_client=admin)

    # Used: it cannot be deleted, only deactivated.
    page = admin.get("/inspections/checklist").get_data(as_text=True)
    assert f"/inspections/checklist/{target.id}/delete" not in page
    response = admin.get(f"/inspections/checklist/{target.id}/delete", follow_redirects=True)
    assert "cannot be deleted. Deactivate it instead" in response.get_data(as_text=True)
    admin.post(f"/inspections/checklist/{target.id}/delete")
    assert db.session.get(ChecklistItem, target.id) is not None
    with pytest.raises(services.InspectionError):
        services.delete_item(target)
    assert (
        admin.post(f"/inspections/checklist/{target.id}/active", data={"active": "0"}).status_code
        == 302
    )

    eng = app.test_client()
    login(engineer, target_client=eng)
    form = eng.get("/inspections/new").get_data(as_text=True)
    assert f'name="answer_{target.id}"' not in form
    assert f'name="answer_{items[0].id}"' in form
    # A new inspection no longer needs (or stores) an answer to it.
    data = form_data(csc, [item for item in items if item is not target])
    assert post_new(eng, data).status_code == 302

    detail = eng.get(f"/inspections/{inspection.id}").get_data(as_text=True)
    assert target.text_en in detail and "(no longer asked)" in detail
    assert detail.count("badge-red") >= 1

    # Deleting an unused question works.
    unused_id = services.create_item("Temporary question").id
    db.session.commit()
    assert admin.post(f"/inspections/checklist/{unused_id}/delete").status_code == 302
    db.session.rollback()
    assert db.session.get(ChecklistItem, unused_id) is None


def test_checklist_is_for_administrators(app, as_role):
    assert as_role("manager").get("/inspections/checklist").status_code == 403


def test_hindi_checklist_texts(app, make_user, login, items):
    client = login(make_user("engineer", locale="hi"))
    page = client.get("/inspections/new").get_data(as_text=True)
    assert "बायोमेट्रिक उपकरण कार्यरत" in page


# --- lists and the site page -------------------------------------------------------------


def test_list_filters_and_pagination(app, as_role, make_user, district, items):
    app.config["PAGE_SIZE"] = 2
    ravi, sita = make_user("engineer", full_name="Ravi"), make_user("engineer", full_name="Sita")
    csc, block = district["csc"], district["block"]
    a = record(csc, ravi, ist(2025, 1, 6, 9, 0), items)
    b = record(csc, ravi, ist(2025, 1, 12, 23, 30), items)
    c = record(block, sita, ist(2025, 1, 13, 0, 10), items)
    d = record(csc, sita, ist(2025, 1, 20, 12, 0), items)
    client = as_role("viewer")

    def numbers(query):
        page = client.get("/inspections/" + query).get_data(as_text=True)
        return re.findall(r">(I-\d{6})</a>", page)

    assert numbers("") == [d.number, c.number]
    assert numbers("?page=2") == [b.number, a.number]
    assert numbers(f"?inspector={ravi.id}") == [b.number, a.number]
    assert numbers(f"?site={block.id}") == [c.number]
    assert numbers("?week=2025-01-08") == [b.number, a.number]
    assert numbers("?start=2025-01-13&end=2025-01-13") == [c.number]
    assert numbers(f"?inspector={sita.id}&week=2025-01-13") == [c.number]
    page = client.get("/inspections/?site=999999").get_data(as_text=True)
    assert "No inspections match these filters." in page
    page = client.get("/inspections/?start=nonsense").get_data(as_text=True)
    assert "Not a valid date value." in page


def test_empty_list(app, as_role):
    page = as_role("engineer").get("/inspections/").get_data(as_text=True)
    assert "No inspections have been recorded yet." in page


def test_site_page_shows_recent_inspections(app, as_role, make_user, csc, items):
    ravi = make_user("engineer", full_name="Ravi Kumar")
    for day in range(1, 8):
        record(csc, ravi, ist(2025, 1, day, 10, 0), items, remarks=f"visit {day}")
    client = as_role("engineer")
    page = client.get(f"/sites/{csc.id}").get_data(as_text=True)
    assert "visit 7" in page and "visit 3" in page and "visit 2" not in page
    assert "All 7 inspections" in page
    assert f"/inspections/new?site={csc.id}" in page
    empty = client.get(f"/sites/{csc.parent_id}").get_data(as_text=True)
    assert "No inspections of this site yet." in empty


# --- the weekly quota --------------------------------------------------------------------


@pytest.fixture
def quota_people(make_user):
    return {
        "asha": make_user("engineer", full_name="Asha"),
        "bhanu": make_user("engineer", full_name="Bhanu"),
        "chetan": make_user("manager", full_name="Chetan"),
        "dinesh": make_user("manager", full_name="Dinesh"),
        "esha": make_user("engineer", full_name="Esha (left)", is_active=False),
        "farid": make_user("viewer", full_name="Farid"),
    }


def test_week_boundaries_are_monday_to_sunday_in_india(app, csc, items, quota_people):
    asha, chetan = quota_people["asha"], quota_people["chetan"]
    record(csc, asha, ist(2025, 1, 6, 0, 0), items)  # Monday 00:00 IST: Sunday 18:30 UTC
    record(csc, asha, ist(2025, 1, 12, 23, 30), items)  # Sunday 23:30 IST: still that week
    record(csc, asha, ist(2025, 1, 13, 0, 10), items)  # Monday 00:10 IST: the next week
    record(csc, chetan, ist(2025, 1, 8, 15, 0), items)
    # The UTC instants straddle the same day: only the local week decides.
    assert ist(2025, 1, 12, 23, 30).date() == ist(2025, 1, 13, 0, 10).date()

    report = services.weekly_report(date(2025, 1, 9), quota=2, tz=IST, today=date(2025, 3, 1))
    assert (report.monday, report.sunday) == (date(2025, 1, 6), date(2025, 1, 12))
    rows = {row.user.full_name: (row.count, row.met) for row in report.rows}
    assert rows == {"Asha": (2, True), "Bhanu": (0, False), "Chetan": (1, False)}
    assert (report.met, report.not_met, report.total) == (1, 2, 3)

    following = services.weekly_report(date(2025, 1, 13), quota=2, tz=IST, today=date(2025, 3, 1))
    rows = {row.user.full_name: (row.count, row.met) for row in following.rows}
    assert rows == {"Asha": (1, False), "Bhanu": (0, False)}  # Chetan did not inspect


def _report_rows(page: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for body in re.findall(r'<tr class="(?:met|not-met|pending)">(.*?)</tr>', page, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        ]
        rows[cells[0]] = (cells[2], cells[3])
    return rows


def test_weekly_report_page(app, as_role, csc, items, quota_people):
    asha, chetan = quota_people["asha"], quota_people["chetan"]
    record(csc, asha, ist(2025, 1, 6, 0, 0), items)
    record(csc, asha, ist(2025, 1, 12, 23, 30), items)
    record(csc, asha, ist(2025, 1, 13, 0, 10), items)
    record(csc, chetan, ist(2025, 1, 8, 15, 0), items)
    client = as_role("viewer")
    page = client.get("/inspections/report?week=2025-01-08").get_data(as_text=True)
    assert "Week 06-01-2025 to 12-01-2025" in page
    assert _report_rows(page) == {
        "Asha": ("2 / 2", "Met"),
        "Bhanu": ("0 / 2", "Not met"),
        "Chetan": ("1 / 2", "Not met"),
    }
    assert "1 of 3 inspectors met it." in page
    assert "Inspectors are all active users with the engineer role" in page
    assert "/inspections/report?week=2024-12-30" in page
    assert "/inspections/report?week=2025-01-13" in page
    assert f"/inspections/?inspector={asha.id}&amp;week=2025-01-06" in page

    following = client.get("/inspections/report?week=2025-01-13").get_data(as_text=True)
    assert _report_rows(following) == {"Asha": ("1 / 2", "Not met"), "Bhanu": ("0 / 2", "Not met")}

    app.config["INSPECTION_WEEKLY_QUOTA"] = 1
    page = client.get("/inspections/report?week=2025-01-06").get_data(as_text=True)
    assert _report_rows(page)["Chetan"] == ("1 / 1", "Met")


def test_current_week_says_not_yet(app, as_role, csc, items, quota_people):
    record(csc, quota_people["asha"], datetime.now(UTC) - timedelta(minutes=5), items)
    client = as_role("viewer")
    page = client.get("/inspections/report").get_data(as_text=True)
    assert "this week" in page and "So far 0 of 2 inspectors have met it." in page
    rows = _report_rows(page)
    assert rows["Asha"] == ("1 / 2", "Not yet")
    assert rows["Bhanu"] == ("0 / 2", "Not yet")
    # A bad week argument falls back to this week.
    assert _report_rows(client.get("/inspections/report?week=junk").get_data(as_text=True)) == rows


def test_weeks_report(app, as_role, csc, items, quota_people):
    asha, chetan = quota_people["asha"], quota_people["chetan"]
    for when in (ist(2025, 1, 6, 10, 0), ist(2025, 1, 12, 23, 30), ist(2025, 1, 13, 0, 10)):
        record(csc, asha, when, items)
    record(csc, chetan, ist(2024, 12, 31, 10, 0), items)
    report = services.weeks_report(date(2025, 1, 19), 3, quota=2, tz=IST, today=date(2025, 3, 1))
    assert report.mondays == [date(2024, 12, 30), date(2025, 1, 6), date(2025, 1, 13)]
    rows = {row.user.full_name: (row.counts, row.met) for row in report.rows}
    assert rows == {
        "Asha": ([0, 2, 1], 1),
        "Bhanu": ([0, 0, 0], 0),
        "Chetan": ([1, 0, 0], 0),
    }
    page = as_role("viewer").get("/inspections/report/weeks?weeks=3&end=2025-01-19")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "30-12" in text and "06-01" in text and "13-01" in text
    assert re.search(r"Asha</td>\s*<td[^>]*not-met[^>]*>0</td>\s*<td[^>]*met[^>]*>2</td>", text)
    assert "1 / 3" in text
    # Out-of-range numbers of weeks fall back to the default.
    assert as_role("viewer").get("/inspections/report/weeks?weeks=999").status_code == 200


def test_quota_counts_no_viewer_and_no_disabled_engineer(app, csc, items, quota_people):
    report = services.weekly_report(date(2025, 1, 6), quota=2, tz=IST, today=date(2025, 3, 1))
    names = {row.user.full_name for row in report.rows}
    assert names == {"Asha", "Bhanu"}
    # A disabled engineer who inspected that week is still shown.
    record(csc, quota_people["esha"], ist(2025, 1, 7, 10, 0), items)
    report = services.weekly_report(date(2025, 1, 6), quota=2, tz=IST, today=date(2025, 3, 1))
    assert {row.user.full_name for row in report.rows} == {"Asha", "Bhanu", "Esha (left)"}


# --- escaping ----------------------------------------------------------------------------


def test_hostile_texts_render_escaped(app, make_user, login, district, items):
    inspector = make_user("engineer", full_name=payload("INSPECTOR"))
    item = services.create_item(payload("ITEMEN"), payload("ITEMHI"))
    db.session.commit()
    answers = {i.id: ("yes", "") for i in [*items, item]}
    answers[item.id] = ("no", payload("NOTE"))
    inspection = services.record_inspection(
        site_id=district["csc"].id,
        inspector=inspector,
        inspected_at=datetime.now(UTC) - timedelta(hours=1),
        answers=answers,
        remarks=payload("REMARKS"),
        feedback=payload("FEEDBACK"),
    )
    db.session.commit()
    admin = login(make_user("admin", locale="en"))
    pages = {
        "detail": f"/inspections/{inspection.id}",
        "list": "/inspections/",
        "site": f"/sites/{district['csc'].id}",
        "report": "/inspections/report",
        "weeks": "/inspections/report/weeks",
        "checklist": "/inspections/checklist",
        "form": "/inspections/new",
        "edit": f"/inspections/{inspection.id}/edit",
        "item": f"/inspections/checklist/{item.id}/edit",
    }
    expected = {
        "detail": ["INSPECTOR", "ITEMEN", "NOTE", "REMARKS", "FEEDBACK"],
        "list": ["INSPECTOR"],
        "site": ["INSPECTOR"],
        "report": ["INSPECTOR"],
        "weeks": ["INSPECTOR"],
        "checklist": ["ITEMEN", "ITEMHI"],
        "form": ["ITEMEN"],
        "edit": ["ITEMEN", "NOTE", "REMARKS", "FEEDBACK"],
        "item": ["ITEMEN", "ITEMHI"],
    }
    for name, url in pages.items():
        response = admin.get(url)
        assert response.status_code == 200, name
        page = response.get_data(as_text=True)
        for marker in RAW_MARKERS:
            assert marker not in page, (name, marker)
        for marker in expected[name]:
            assert escaped(marker) in page, (name, marker)
    hindi = login(make_user("engineer", locale="hi"), target_client=app.test_client())
    page = hindi.get(f"/inspections/{inspection.id}").get_data(as_text=True)
    assert escaped("ITEMHI") in page
    for marker in RAW_MARKERS:
        assert marker not in page


# --- in a real browser, on a phone-sized screen ------------------------------------------


def test_phone_adds_location_shrinks_photo_and_saves(
    app, live_server, page, make_user, csc, items, tmp_path
):
    from browser import PHONE

    engineer = make_user("engineer")
    big = tmp_path / "camera.jpg"
    Image.effect_noise((2400, 1800), 80).convert("RGB").save(big, "JPEG", quality=95)
    assert big.stat().st_size > app.config["INSPECTION_PHOTO_MAX_BYTES"]
    phone = page(
        engineer,
        path=f"/inspections/new?site={csc.id}",
        geolocation={"latitude": 27.061234, "longitude": 82.015678, "accuracy": 14.6},
        permissions=["geolocation"],
        **PHONE,
    )
    for label in phone.locator("label.choice-yes").all():
        label.click()
    phone.locator(f"label.choice-no:has(input[name=answer_{items[3].id}])").click()
    phone.fill("textarea[name=remarks]", "Checked from the phone")
    phone.click("[data-locate]")
    phone.wait_for_function("document.querySelector('input[name=latitude]').value !== ''")
    assert phone.input_value("input[name=latitude]") == "27.061234"
    assert phone.input_value("input[name=longitude]") == "82.015678"
    assert phone.input_value("input[name=accuracy_m]") == "15"
    assert phone.inner_text("[data-locate-status]") == "Location added."
    phone.set_input_files("input[name=photo]", str(big))
    phone.wait_for_selector("input[name=photo][data-state=ready]", state="attached")
    with phone.expect_navigation():
        phone.click(".sticky-actions button[type=submit]")
    assert "Inspection I-" in phone.inner_text("h1")
    problems = ("Content Security Policy", "Uncaught", "TypeError")
    assert not [m for m in phone.console_messages if any(p in m for p in problems)]

    db.session.expire_all()
    inspection = db.session.scalars(sa.select(Inspection)).one()
    assert (inspection.latitude, inspection.longitude) == (27.061234, 82.015678)
    assert inspection.accuracy_m == 15
    assert inspection.remarks == "Checked from the phone"
    answers = {a.item_id: a.answer for a in inspection.answers}
    assert answers[items[3].id] == "no" and list(answers.values()).count("yes") == len(items) - 1
    photo = inspection.photo
    assert photo.content_type == "image/jpeg" and photo.original_name == "camera.jpg"
    assert photo.size < 1024 * 1024
    with Image.open(path_of(photo)) as stored:
        assert stored.size == (1600, 1200)


def test_refused_location_still_saves(app, live_server, page, make_user, csc, items):
    phone = page(make_user("engineer"), path=f"/inspections/new?site={csc.id}")
    for label in phone.locator("label.choice-na").all():
        label.click()
    phone.click("[data-locate]")
    phone.wait_for_function(
        "document.querySelector('[data-locate-status]').textContent.includes('not')"
    )
    status = phone.inner_text("[data-locate-status]")
    assert status in (
        "Location was not allowed. You can save the inspection without it.",
        "The location could not be found. You can save the inspection without it.",
    )
    assert phone.input_value("input[name=latitude]") == ""
    with phone.expect_navigation():
        phone.click(".sticky-actions button[type=submit]")
    db.session.expire_all()
    inspection = db.session.scalars(sa.select(Inspection)).one()
    assert inspection.latitude is None
    assert {a.answer for a in inspection.answers} == {"na"}
