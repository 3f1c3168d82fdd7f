"""Spreadsheet import of assets: upload, preview (dry run), then an all-or-nothing commit."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired

from inventory.assets import importing
from inventory.assets.tabular import HEADERS
from inventory.assets.views import bp
from inventory.choices import AssetStatus, Role
from inventory.extensions import db
from inventory.forms import BaseForm
from inventory.security import requires


class ImportForm(BaseForm):
    """The upload of a CSV or XLSX file of assets."""

    file = FileField(
        _l("CSV or XLSX file"),
        validators=[FileRequired(_l("Choose a CSV or XLSX file."))],
        render_kw={"accept": ".csv,.xlsx"},
    )


class ImportConfirmForm(BaseForm):
    """The preview's button: it names the kept upload by its token."""

    token = HiddenField(validators=[DataRequired()])


def _upload_dir() -> Path:
    return Path(current_app.instance_path) / "imports"


def _limits() -> dict[str, int]:
    return {
        "max_bytes": int(current_app.config["IMPORT_MAX_BYTES"]),
        "max_rows": int(current_app.config["IMPORT_MAX_ROWS"]),
    }


def _upload_page(form: ImportForm, error: str | None = None, code: int = 200):
    return render_template(
        "assets/import.html",
        form=form,
        error=error,
        headers=HEADERS,
        required=importing.REQUIRED,
        statuses=AssetStatus.values(),
        **_limits(),
    ), code


@bp.route("/import", methods=["GET", "POST"])
@requires(Role.MANAGER)
def import_upload():
    form = ImportForm()
    if not form.validate_on_submit():
        return _upload_page(form, code=400 if form.is_submitted() else 200)
    upload = form.file.data
    limits = _limits()
    data = upload.stream.read(limits["max_bytes"] + 1)
    try:
        rows = importing.read_table(data, upload.filename or "", **limits)
        result = importing.import_assets(rows, commit=False)
    except importing.ImportFileError as exc:
        db.session.rollback()
        return _upload_page(form, str(exc), 400)
    db.session.rollback()  # a dry run never writes
    token = None
    if result.is_clean:
        token = importing.keep_upload(
            _upload_dir(), data, importing.file_format(upload.filename or "", data)
        )
    confirm = ImportConfirmForm(formdata=None, token=token)
    return render_template(
        "assets/import_preview.html",
        result=result,
        confirm=confirm,
        token=token,
        filename=upload.filename,
    )


@bp.route("/import/commit", methods=["POST"])
@requires(Role.MANAGER)
def import_commit():
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        return _upload_page(
            ImportForm(formdata=None),
            _("This import is not known or has expired. Upload the file again."),
            400,
        )
    try:
        data, fmt = importing.take_upload(_upload_dir(), form.token.data)
        rows = importing.read_table(data, f"upload.{fmt}", **_limits())
        result = importing.import_assets(rows, commit=True)
    except importing.ImportFileError as exc:
        db.session.rollback()
        return _upload_page(ImportForm(formdata=None), str(exc), 400)
    if not result.committed:
        db.session.rollback()
        return render_template(
            "assets/import_preview.html",
            result=result,
            confirm=None,
            token=None,
            filename=None,
        ), 400
    db.session.commit()
    flash(_("%(n)d assets imported.", n=result.ok_count), "success")
    return redirect(url_for("assets.index"))


@bp.route("/import/template.csv")
@requires(Role.MANAGER)
def import_template():
    body = "\ufeff" + ",".join(HEADERS) + "\r\n"  # BOM: Excel then reads Hindi as UTF-8
    return Response(
        body,
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="assets-import-template.csv"'},
    )
