"""Credentials profile pages; secrets are never sent back to the browser."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.audit.services import history_for
from inventory.choices import Role
from inventory.credentials import services
from inventory.credentials.forms import CredentialProfileForm
from inventory.credentials.models import SECRET_FIELDS, CredentialProfile
from inventory.crypto import CredentialsKeyMissing
from inventory.extensions import db
from inventory.forms import ConfirmForm
from inventory.security import requires

bp = Blueprint("credentials", __name__, url_prefix="/credentials")


@bp.route("/")
@requires(Role.MANAGER)
def index():
    usage = dict(
        db.session.execute(
            sa.select(Asset.credential_profile_id, sa.func.count()).group_by(
                Asset.credential_profile_id
            )
        ).all()
    )
    profiles = db.session.scalars(sa.select(CredentialProfile).order_by(CredentialProfile.name))
    return render_template("credentials/index.html", profiles=profiles, usage=usage)


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:profile_id>/edit", methods=["GET", "POST"])
@requires(Role.MANAGER)
def form(profile_id: int | None = None):
    profile = db.get_or_404(CredentialProfile, profile_id) if profile_id else None
    form = CredentialProfileForm(obj=profile)
    if form.validate_on_submit():
        try:
            services.save_profile(
                profile,
                plain={key: getattr(form, key).data for key in services.PLAIN_FIELDS},
                new_secrets={key: getattr(form, key).data or "" for key in SECRET_FIELDS},
                clear_secrets=form.clear_secrets.data,
            )
        except (services.CredentialError, CredentialsKeyMissing) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            return render_template("credentials/form.html", form=form, profile=profile), 400
        db.session.commit()
        flash(_("Credentials profile saved."), "success")
        return redirect(url_for("credentials.index"))
    return render_template("credentials/form.html", form=form, profile=profile)


@bp.route("/<int:profile_id>")
@requires(Role.MANAGER)
def detail(profile_id: int):
    profile = db.get_or_404(CredentialProfile, profile_id)
    return render_template(
        "credentials/detail.html",
        profile=profile,
        secret_fields=SECRET_FIELDS,
        history=history_for("credential_profiles", profile.id),
    )


@bp.route("/<int:profile_id>/delete", methods=["GET", "POST"])
@requires(Role.ADMIN)
def delete(profile_id: int):
    profile = db.get_or_404(CredentialProfile, profile_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.delete_profile(profile)
        except services.CredentialError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("credentials.detail", profile_id=profile_id))
        db.session.commit()
        flash(_("Credentials profile deleted."), "success")
        return redirect(url_for("credentials.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=_("Delete credentials profile %(name)s?", name=profile.name),
        cancel_url=url_for("credentials.detail", profile_id=profile.id),
    )
