"""Inspection pages: list, record (phone-first), detail, corrections, checklist, weekly report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import selectinload

from inventory.assets.views import site_choices, site_rows
from inventory.choices import Role
from inventory.extensions import db
from inventory.files.models import StoredFile
from inventory.files.services import FileError, human_size, store_upload
from inventory.forms import ConfirmForm, options
from inventory.inspections import services
from inventory.inspections.forms import (
    ChecklistItemForm,
    InspectionFilterForm,
    WeeksForm,
    inspection_form,
)
from inventory.inspections.models import ChecklistItem, Inspection
from inventory.security import requires
from inventory.sites.models import Site

bp = Blueprint("inspections", __name__, url_prefix="/inspections")


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _quota() -> int:
    return int(current_app.config["INSPECTION_WEEKLY_QUOTA"])


def _photo_limit() -> int:
    return int(current_app.config["INSPECTION_PHOTO_MAX_BYTES"])


# --- the list ----------------------------------------------------------------------------


@bp.route("/")
def index():
    filters = InspectionFilterForm(request.args)
    filters.inspector.choices = options(
        [(0, _("All inspectors"))]
        + [(user.id, user.display_name) for user in services.inspector_choices()]
    )
    filters.site.choices = site_choices(_("All sites"))
    filters.validate()
    first = filters.start.data if not filters.start.errors else None
    last = filters.end.data if not filters.end.errors else None
    if filters.week.data and not filters.week.errors:
        first = services.week_start(filters.week.data)
        last = first + timedelta(days=6)
        filters.start.data, filters.end.data = first, last
    start = services.day_bounds(first, first, _tz())[0] if first else None
    end = services.day_bounds(last, last, _tz())[1] if last else None
    query = services.inspection_query(
        inspector_id=filters.inspector.data, site_id=filters.site.data, start=start, end=end
    ).options(
        selectinload(Inspection.site),
        selectinload(Inspection.inspector),
        selectinload(Inspection.answers),
    )
    page = db.paginate(
        query,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    filtered = any(request.args.get(key) for key in ("inspector", "site", "start", "end", "week"))
    return render_template(
        "inspections/index.html",
        page=page,
        filters=filters,
        filtered=filtered,
        summary=services.answer_summary,
    )


# --- one inspection ----------------------------------------------------------------------


@bp.route("/<int:inspection_id>")
def detail(inspection_id: int):
    inspection = db.get_or_404(Inspection, inspection_id)
    recorded_late = abs(inspection.created_at - inspection.inspected_at) > timedelta(hours=1)
    return render_template(
        "inspections/detail.html",
        inspection=inspection,
        answers=services.sorted_answers(inspection),
        summary=services.answer_summary(inspection),
        recorded_late=recorded_late,
        history=services.history(inspection),
    )


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="inspections.photo")


def _kept_photo(token: str | None) -> StoredFile | None:
    """The photo uploaded with an earlier, refused submission of the same user's form."""
    if not token:
        return None
    try:
        file_id, user_id = _signer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if user_id != current_user.id:
        return None
    stored = db.session.get(StoredFile, file_id)
    return stored if stored is not None and stored.is_image else None


def _take_photo(form) -> tuple[StoredFile | None, bool]:
    """A newly uploaded photo, or the one kept from a refused submission; and whether it is ok."""
    kept = _kept_photo(form.photo_token.data)
    upload = form.photo.data
    if upload is None or not getattr(upload, "filename", ""):
        return kept, True
    try:
        stored = store_upload(
            upload, kinds=("image",), max_bytes=_photo_limit(), uploaded_by=current_user
        )
    except FileError as exc:
        form.photo.errors = [*form.photo.errors, str(exc)]
        return kept, False
    return stored, True


def _keep_for_retry(form, photo: StoredFile | None) -> None:
    """The form was refused: keep an uploaded photo so that the phone need not send it again."""
    if photo is None:
        form.photo_token.data = ""
        return
    db.session.commit()  # only the upload (nothing else was added)
    form.photo_token.data = _signer().dumps([photo.id, current_user.id])


def _local_now() -> datetime:
    return datetime.now(UTC).astimezone(_tz()).replace(tzinfo=None, second=0, microsecond=0)


def _visit_time(form) -> datetime:
    return form.inspected_at.data.replace(tzinfo=_tz()).astimezone(UTC)


def _render_form(form, inspection, photo, status=200):
    return (
        render_template(
            "inspections/form.html",
            form=form,
            inspection=inspection,
            photo=photo,
            photo_limit=human_size(_photo_limit()),
            photo_limit_bytes=_photo_limit(),
        ),
        status,
    )


def _prepare(form) -> None:
    form.site_id.choices = site_choices(_("Choose a site"), site_rows())


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def create():
    items = services.active_items()
    form = inspection_form(items, {item.id for item in items})
    _prepare(form)
    if request.method == "GET":
        form.inspected_at.data = _local_now()
        site_id = request.args.get("site", type=int)
        if site_id and db.session.get(Site, site_id) is not None:
            form.site_id.data = site_id
        return _render_form(form, None, None)

    valid = form.validate_on_submit()
    photo, photo_ok = _take_photo(form)
    if valid and photo_ok:
        try:
            inspection = services.record_inspection(
                site_id=form.site_id.data,
                inspector=current_user,
                inspected_at=_visit_time(form),
                answers=form.answers(),
                remarks=form.remarks.data,
                feedback=form.feedback.data,
                photo=photo,
                latitude=form.latitude.data,
                longitude=form.longitude.data,
                accuracy_m=form.accuracy_m.data,
            )
        except services.InspectionError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Inspection %(number)s recorded.", number=inspection.number), "success")
            return redirect(url_for("inspections.detail", inspection_id=inspection.id))
    _keep_for_retry(form, photo)
    return _render_form(form, None, photo, 400)


@bp.route("/<int:inspection_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def edit(inspection_id: int):
    inspection = db.get_or_404(Inspection, inspection_id)
    answered = {answer.item_id: answer for answer in inspection.answers}
    items = sorted(
        {
            **{a.item.id: a.item for a in inspection.answers},
            **{i.id: i for i in services.active_items()},
        }.values(),
        key=lambda item: (item.position, item.id),
    )
    form = inspection_form(items, set(answered))
    _prepare(form)
    if request.method == "GET":
        form.site_id.data = inspection.site_id
        form.inspected_at.data = inspection.inspected_at.astimezone(_tz()).replace(
            tzinfo=None, second=0, microsecond=0
        )
        for name in ("remarks", "feedback", "latitude", "longitude", "accuracy_m"):
            getattr(form, name).data = getattr(inspection, name)
        for item, answer_field, note_field in form.item_fields():
            if item.id in answered:
                answer_field.data = answered[item.id].answer
                note_field.data = answered[item.id].note
        return _render_form(form, inspection, inspection.photo)

    valid = form.validate_on_submit()
    photo, photo_ok = _take_photo(form)
    if valid and photo_ok:
        if photo is not None:
            new_photo = photo
        elif form.remove_photo.data:
            new_photo = None
        else:
            new_photo = services.KEEP
        try:
            services.update_inspection(
                inspection,
                site_id=form.site_id.data,
                inspected_at=_visit_time(form),
                answers=form.answers(),
                remarks=form.remarks.data,
                feedback=form.feedback.data,
                photo=new_photo,
                latitude=form.latitude.data,
                longitude=form.longitude.data,
                accuracy_m=form.accuracy_m.data,
            )
        except services.InspectionError as exc:
            flash(str(exc), "error")  # checked before anything changed: only the photo is new
        else:
            db.session.commit()
            flash(_("Inspection %(number)s saved.", number=inspection.number), "success")
            return redirect(url_for("inspections.detail", inspection_id=inspection.id))
    _keep_for_retry(form, photo)
    return _render_form(form, inspection, photo or inspection.photo, 400)


@bp.route("/<int:inspection_id>/delete", methods=["GET", "POST"])
@requires(Role.MANAGER)
def delete(inspection_id: int):
    inspection = db.get_or_404(Inspection, inspection_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_inspection(inspection)
        db.session.commit()
        flash(_("Inspection deleted."), "success")
        return redirect(url_for("inspections.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete inspection %(number)s?", number=inspection.number),
        text=_(
            "The visit to %(site)s on %(when)s will no longer count towards the weekly quota.",
            site=inspection.site.name_en,
            when=inspection.inspected_at.astimezone(_tz()).strftime("%d-%m-%Y %H:%M"),
        ),
        cancel_url=url_for("inspections.detail", inspection_id=inspection.id),
    )


# --- the weekly report -------------------------------------------------------------------


def _week_arg():
    raw = request.args.get("week", "")
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date() if raw else None
    except ValueError:
        return None


@bp.route("/report")
def report():
    today = services.local_today(_tz())
    day = _week_arg() or today
    week = services.weekly_report(day, quota=_quota(), tz=_tz(), today=today)
    return render_template(
        "inspections/report.html",
        week=week,
        prev_week=week.monday - timedelta(weeks=1),
        next_week=week.monday + timedelta(weeks=1),
        this_week=services.week_start(today),
    )


@bp.route("/report/weeks")
def report_weeks():
    form = WeeksForm(request.args)
    form.validate()
    weeks = form.weeks.data if form.weeks.data and not form.weeks.errors else None
    weeks = weeks or int(current_app.config["INSPECTION_REPORT_WEEKS"])
    today = services.local_today(_tz())
    end = form.end.data if form.end.data and not form.end.errors else today
    end = min(end, today)  # weeks to come have nothing to show
    result = services.weeks_report(end, weeks, quota=_quota(), tz=_tz(), today=today)
    return render_template("inspections/weeks.html", report=result, form=form, weeks=weeks)


# --- the checklist (administrators) ------------------------------------------------------


@bp.route("/checklist", methods=["GET", "POST"])
@requires(Role.ADMIN)
def checklist():
    form = ChecklistItemForm()
    if form.validate_on_submit():
        try:
            item = services.create_item(form.text_en.data, form.text_hi.data or "")
        except services.InspectionError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Question added: %(text)s", text=item.text_en), "success")
            return redirect(url_for("inspections.checklist"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "inspections/checklist.html",
        form=form,
        items=services.checklist(),
        counts=services.answer_counts(),
        action=ConfirmForm(),
    ), status


@bp.route("/checklist/defaults", methods=["POST"])
@requires(Role.ADMIN)
def checklist_defaults():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    added = services.ensure_default_checklist()
    db.session.commit()
    if added:
        flash(_("The standard CSC checklist was added (%(n)d questions).", n=added), "success")
    else:
        flash(_("The checklist already has questions; nothing was added."), "info")
    return redirect(url_for("inspections.checklist"))


@bp.route("/checklist/<int:item_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def checklist_edit(item_id: int):
    item = db.get_or_404(ChecklistItem, item_id)
    form = ChecklistItemForm(obj=item)
    if form.validate_on_submit():
        try:
            services.update_item(item, form.text_en.data, form.text_hi.data or "")
        except services.InspectionError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Question saved."), "success")
            return redirect(url_for("inspections.checklist"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "inspections/checklist_form.html",
        form=form,
        item=item,
        used=services.answer_count(item),
    ), status


@bp.route("/checklist/<int:item_id>/move", methods=["POST"])
@requires(Role.ADMIN)
def checklist_move(item_id: int):
    item = db.get_or_404(ChecklistItem, item_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.move_item(item, request.form.get("direction", ""))
    except services.InspectionError as exc:
        flash(str(exc), "error")
    db.session.commit()
    return redirect(url_for("inspections.checklist") + f"#item-{item.id}")


@bp.route("/checklist/<int:item_id>/active", methods=["POST"])
@requires(Role.ADMIN)
def checklist_active(item_id: int):
    item = db.get_or_404(ChecklistItem, item_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    services.set_item_active(item, active)
    db.session.commit()
    if active:
        flash(_("“%(text)s” is asked again.", text=item.text_en), "success")
    else:
        flash(
            _(
                "“%(text)s” is no longer asked. Past answers to it stay readable.",
                text=item.text_en,
            ),
            "success",
        )
    return redirect(url_for("inspections.checklist"))


@bp.route("/checklist/<int:item_id>/delete", methods=["GET", "POST"])
@requires(Role.ADMIN)
def checklist_delete(item_id: int):
    item = db.get_or_404(ChecklistItem, item_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.delete_item(item)
        except services.InspectionError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Question deleted."), "success")
        return redirect(url_for("inspections.checklist"))
    used = services.answer_count(item)
    if used:
        flash(
            _(
                "“%(text)s” is answered in %(n)d inspections, so it cannot be deleted. "
                "Deactivate it instead: it is no longer asked, and old answers stay readable.",
                text=item.text_en,
                n=used,
            ),
            "error",
        )
        return redirect(url_for("inspections.checklist"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete the question “%(text)s”?", text=item.text_en),
        cancel_url=url_for("inspections.checklist"),
    )


# --- for the site page -------------------------------------------------------------------


@bp.app_template_global()
def site_inspections(site: Site):
    """(latest inspections, total) of a site, for sites/detail.html."""
    return services.recent_for_site(site.id)
