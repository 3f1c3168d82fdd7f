"""Receipt of goods against an ordered request: the receipt form (one row per unit still to
come), the spreadsheet import (upload, preview as a dry run, all-or-nothing commit, a
prefilled template), and one receipt's page with its assets and their label sheet.

Roles: engineers and up receive goods (the store is kept by engineers); everybody signed in
sees receipts. Routes live on the procurement blueprint (registered by importing this
module, as inventory.assets.import_views does for the register).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from inventory.assets import importing
from inventory.assets.tabular import neutralise
from inventory.choices import ProcurementStatus, Role
from inventory.extensions import db
from inventory.forms import BaseForm
from inventory.procurement import receiving
from inventory.procurement.models import ProcurementRequest
from inventory.procurement.views import bp
from inventory.security import requires
from inventory.web import localized

UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_-]+")
# The request page shows its receipt section from the order on.
SHOWN_FOR = (
    ProcurementStatus.ORDERED.value,
    ProcurementStatus.PARTLY_RECEIVED.value,
    ProcurementStatus.RECEIVED.value,
    ProcurementStatus.CLOSED.value,
)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


# --- forms ------------------------------------------------------------------------------


class UnitRowForm(Form):
    """One unit of the receipt form: where it belongs (fixed) and what was typed for it."""

    line_id = HiddenField()
    site_id = HiddenField()
    serial = StringField(_l("Serial number"), filters=[_strip])
    warranty_end = StringField(
        _l("Warranty ends"), filters=[_strip], render_kw={"type": "date", "class": "date"}
    )


class ReceiptHeaderMixin:
    received_on = DateField(
        _l("Date received"),
        validators=[InputRequired(_l("Give the date the goods were received."))],
    )
    challan = StringField(
        _l("Delivery challan number"),
        description=_l("The delivery note that came with the goods."),
        filters=[_strip],
        validators=[Optional(), Length(max=receiving.CHALLAN_MAX)],
    )
    remarks = TextAreaField(
        _l("Remarks"),
        filters=[_strip],
        validators=[Optional(), Length(max=receiving.REMARKS_MAX)],
        render_kw={"rows": 2},
    )


class ReceiveForm(ReceiptHeaderMixin, BaseForm):
    warranty_default = DateField(
        _l("Warranty end for every unit left blank"),
        description=_l("Saves typing when the whole delivery has the same warranty."),
        validators=[Optional()],
    )
    units = FieldList(FormField(UnitRowForm), min_entries=0, max_entries=100000)


class ReceiptImportForm(ReceiptHeaderMixin, BaseForm):
    file = FileField(
        _l("CSV or XLSX file"),
        validators=[FileRequired(_l("Choose a CSV or XLSX file."))],
        render_kw={"accept": ".csv,.xlsx"},
    )


class ReceiptConfirmForm(ReceiptHeaderMixin, BaseForm):
    """The preview's button: the kept upload's token and the receipt's own fields."""

    token = HiddenField(validators=[DataRequired()])


# --- helpers ----------------------------------------------------------------------------


def _request_or_404(request_id: int) -> ProcurementRequest:
    return db.get_or_404(ProcurementRequest, request_id)


def _user():
    return current_user._get_current_object()


def _max_units() -> int:
    return int(current_app.config["RECEIPT_MAX_UNITS"])


def _upload_dir() -> Path:
    return Path(current_app.instance_path) / "receipt-imports"


def _limits() -> dict[str, int]:
    return {"max_bytes": int(current_app.config["IMPORT_MAX_BYTES"]), "max_rows": _max_units()}


def _not_receivable(pr: ProcurementRequest):
    """Back to the request when it takes no goods (not ordered, or everything came)."""
    flash(
        _(
            "Goods can be received only for an ordered request; %(number)s is %(status)s.",
            number=pr.number,
            status=str(ProcurementStatus.label_of(pr.status)).lower(),
        ),
        "error",
    )
    return redirect(url_for("procurement.detail", request_id=pr.id, _anchor="receipts"))


def _int(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _names(pr: ProcurementRequest) -> tuple[dict, dict]:
    """The request's lines by id and its destination sites by id, for showing rows."""
    lines = {line.id: line for line in pr.lines}
    sites = {d.site_id: d.site for line in pr.lines for d in line.destinations}
    return lines, sites


def line_label(line) -> str:
    """What a line buys, as one line of text: category, model, description."""
    parts = [localized(line.category)]
    if line.model is not None:
        parts.append(f"{line.model.manufacturer.name} {line.model.name}")
    if line.description:
        parts.append(line.description)
    return " · ".join(parts)


bp.add_app_template_global(line_label, "receipt_line_label")


@bp.app_template_global()
def receipt_panel(pr: ProcurementRequest) -> dict | None:
    """The request page's receipt section: per line and destination ordered / received /
    remaining, the receipts so far, and whether goods can be received now."""
    if pr is None or pr.status not in SHOWN_FOR:
        return None
    receipts = receiving.receipts_of(pr.id)
    return {
        "progress": receiving.progress(pr),
        "receipts": receipts,
        "unit_counts": receiving.unit_counts([r.id for r in receipts]),
        "can_receive": receiving.can_receive(pr),
    }


# --- the receipt form -------------------------------------------------------------------


def _units_from_form(form: ReceiveForm) -> list[receiving.UnitIn]:
    """The rows with a serial number (a row left blank is a unit not delivered yet); the row
    number is the row's place in the form, so problems show against it."""
    units = []
    default = form.warranty_default.data
    for n, entry in enumerate(form.units.entries, 1):
        serial = entry.form.serial.data or ""
        warranty_text = entry.form.warranty_end.data or ""
        if not serial:
            continue
        try:
            warranty = importing.parse_date(warranty_text) if warranty_text else default
        except ValueError:
            warranty = None
        units.append(
            receiving.UnitIn(
                line_id=_int(entry.form.line_id.data),
                site_id=_int(entry.form.site_id.data),
                serial=serial,
                warranty_end=warranty,
                row=n,
                line_text=str(entry.form.line_id.data or ""),
                site_text=str(entry.form.site_id.data or ""),
                warranty_text=warranty_text,
            )
        )
    return units


def _form_page(pr, form, problems=None, code=200):
    lines, sites = _names(pr)
    return render_template(
        "procurement/receipt_form.html",
        pr=pr,
        form=form,
        problems=problems or {},
        lines=lines,
        sites=sites,
        max_units=_max_units(),
        remaining=sum(p.remaining for p in receiving.progress(pr)),
        as_id=_int,
    ), code


@bp.route("/<int:request_id>/receive", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def receive(request_id: int):
    pr = _request_or_404(request_id)
    if not receiving.can_receive(pr):
        return _not_receivable(pr)
    if request.method == "GET":
        expected = receiving.expected_units(pr)[: _max_units()]
        form = ReceiveForm(
            formdata=None,
            received_on=receiving.society_today(),
            units=[{"line_id": u.line_id, "site_id": u.site_id} for u in expected],
        )
        return _form_page(pr, form)
    form = ReceiveForm()
    if len(form.units.entries) > _max_units():
        form.form_errors.append(
            _(
                "At most %(max)d units can be received at once. Split the delivery into "
                "several receipts.",
                max=_max_units(),
            )
        )
        return _form_page(pr, form, code=400)
    if not form.validate():
        return _form_page(pr, form, code=400)
    try:
        receipt = receiving.receive(
            pr,
            _units_from_form(form),
            received_by=_user(),
            received_on=form.received_on.data,
            challan=form.challan.data or "",
            remarks=form.remarks.data or "",
        )
    except receiving.ReceiptError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _form_page(db.session.get(ProcurementRequest, request_id), form, exc.problems, 400)
    db.session.commit()
    return _done(receipt)


def _done(receipt: receiving.Receipt):
    n = len(receipt.units)
    flash(
        ngettext(
            "Received %(num)d unit: its asset is in store at its destination.",
            "Received %(num)d units: their assets are in store at their destinations.",
            n,
        ),
        "success",
    )
    return redirect(url_for("procurement.receipt", receipt_id=receipt.id))


# --- the spreadsheet import -------------------------------------------------------------


def _import_page(pr, form, error: str | None = None, code: int = 200):
    return render_template(
        "procurement/receipt_import.html",
        pr=pr,
        form=form,
        error=error,
        columns=receiving.FILE_COLUMNS,
        required=receiving.FILE_REQUIRED,
        remaining=sum(p.remaining for p in receiving.progress(pr)),
        **_limits(),
    ), code


def _preview_page(pr, rows, confirm, error: str | None, filename: str | None, code=200):
    return render_template(
        "procurement/receipt_preview.html",
        pr=pr,
        rows=rows,
        bad=[row for row in rows if not row.ok],
        confirm=confirm,
        error=error,
        filename=filename,
    ), code


@bp.route("/<int:request_id>/receive/import", methods=["GET", "POST"])
@requires(Role.ENGINEER)
def receive_import(request_id: int):
    pr = _request_or_404(request_id)
    if not receiving.can_receive(pr):
        return _not_receivable(pr)
    if request.method == "GET":
        form = ReceiptImportForm(formdata=None, received_on=receiving.society_today())
        return _import_page(pr, form)
    form = ReceiptImportForm()
    if not form.validate():
        return _import_page(pr, form, code=400)
    upload = form.file.data
    limits = _limits()
    data = upload.stream.read(limits["max_bytes"] + 1)
    try:
        rows = receiving.read_units_file(data, upload.filename or "", **limits)
        receiving.receive_file(
            pr,
            rows,
            received_by=_user(),
            received_on=form.received_on.data,
            challan=form.challan.data or "",
            remarks=form.remarks.data or "",
            dry_run=True,
        )
    except importing.ImportFileError as exc:
        db.session.rollback()
        return _import_page(pr, form, str(exc), 400)
    except receiving.ReceiptError as exc:
        db.session.rollback()
        pr = db.session.get(ProcurementRequest, request_id)
        if not exc.problems:
            return _import_page(pr, form, str(exc), 400)
        return _preview_page(pr, rows, None, str(exc), upload.filename)
    db.session.rollback()  # a dry run never writes
    token = importing.keep_upload(
        _upload_dir(), data, importing.file_format(upload.filename or "", data)
    )
    confirm = ReceiptConfirmForm(
        formdata=None,
        token=token,
        received_on=form.received_on.data,
        challan=form.challan.data,
        remarks=form.remarks.data,
    )
    return _preview_page(pr, rows, confirm, None, upload.filename)


@bp.route("/<int:request_id>/receive/import/commit", methods=["POST"])
@requires(Role.ENGINEER)
def receive_import_commit(request_id: int):
    pr = _request_or_404(request_id)
    form = ReceiptConfirmForm()
    upload_form = ReceiptImportForm(formdata=None, received_on=receiving.society_today())
    if not form.validate():
        return _import_page(
            pr,
            upload_form,
            _("This import is not known or has expired. Upload the file again."),
            400,
        )
    try:
        data, fmt = importing.take_upload(_upload_dir(), form.token.data)
        rows = receiving.read_units_file(data, f"upload.{fmt}", **_limits())
        receipt = receiving.receive_file(
            pr,
            rows,
            received_by=_user(),
            received_on=form.received_on.data,
            challan=form.challan.data or "",
            remarks=form.remarks.data or "",
            dry_run=False,
        )
    except importing.ImportFileError as exc:
        db.session.rollback()
        return _import_page(pr, upload_form, str(exc), 400)
    except receiving.ReceiptError as exc:
        db.session.rollback()
        pr = db.session.get(ProcurementRequest, request_id)
        if not exc.problems:
            return _import_page(pr, upload_form, str(exc), 400)
        return _preview_page(pr, rows, None, str(exc), None, 400)
    db.session.commit()
    return _done(receipt)


@bp.route("/<int:request_id>/receive/template.csv")
@requires(Role.ENGINEER)
def receive_template(request_id: int):
    """The import file to fill in: one row per unit still to come, serial and warranty blank."""
    pr = _request_or_404(request_id)
    lines, sites = _names(pr)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(receiving.FILE_COLUMNS)
    for unit in receiving.expected_units(pr):
        line, site = lines[unit.line_id], sites[unit.site_id]
        item, code = neutralise(line_label(line)), neutralise(site.code)
        writer.writerow([line.position, item, code, "", ""])
    name = UNSAFE_IN_FILENAME.sub("-", pr.number).strip("-") or "request"
    return Response(
        "\ufeff" + buffer.getvalue(),  # BOM: Excel then reads Hindi as UTF-8
        mimetype="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="receipt-{name}.csv"',
            "Cache-Control": "no-store",
        },
    )


# --- one receipt ------------------------------------------------------------------------


@bp.route("/receipts/<int:receipt_id>")
def receipt(receipt_id: int):
    found = db.get_or_404(receiving.Receipt, receipt_id)
    asset_ids = receiving.asset_ids_of(found)
    return render_template(
        "procurement/receipt.html",
        receipt=found,
        pr=found.request,
        asset_ids=asset_ids,
        labels_url=url_for("labels.index", ids=asset_ids) if asset_ids else None,
    )
