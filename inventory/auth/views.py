"""Login, logout, the user's own profile and the administration of users."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from inventory.audit.services import history_for
from inventory.auth import services
from inventory.auth.forms import LoginForm, PasswordChangeForm, ProfileForm, UserForm
from inventory.auth.models import User, UserSession
from inventory.choices import Role
from inventory.extensions import db, login_manager
from inventory.security import public, requires

bp = Blueprint("auth", __name__)
users_bp = Blueprint("users", __name__, url_prefix="/users")


@login_manager.user_loader
def _load_user(token: str):
    user = services.load_session_user(token)
    if db.session.dirty:
        db.session.commit()
    return user


login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page says what is needed


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.authenticate(form.username.data, form.password.data)
        if result.user is None:
            db.session.commit()  # keep the failure count
            flash(result.error, "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()
        services.start_session(
            result.user,
            ip_address=request.remote_addr or "",
            user_agent=request.user_agent.string or "",
        )
        db.session.commit()
        login_user(result.user)
        session.permanent = True
        session["locale"] = result.user.locale
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated and current_user.session_token:
        services.end_session(current_user.session_token)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def set_language():
    """Remember the language for this browser, and for the user when signed in."""
    locale = request.form.get("locale", "")
    if locale not in ("hi", "en"):
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    form = ProfileForm(obj=current_user)
    password_form = PasswordChangeForm(prefix="pw")
    if form.validate_on_submit() and "save_profile" in request.form:
        services.update_user(
            current_user,
            full_name=form.full_name.data or "",
            email=form.email.data or "",
            phone=form.phone.data or "",
            locale=form.locale.data,
            notify_email=form.notify_email.data,
            notify_digest=form.notify_digest.data,
        )
        session["locale"] = form.locale.data
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    sessions = current_user.sessions.order_by(UserSession.last_seen_at.desc()).all()
    return render_template(
        "auth/profile.html", form=form, password_form=password_form, sessions=sessions
    )


@bp.route("/profile/password", methods=["POST"])
def change_password():
    form = PasswordChangeForm(prefix="pw")
    if form.validate_on_submit():
        check = services.authenticate(current_user.username, form.current_password.data)
        if check.user is None:
            db.session.commit()
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            try:
                services.set_password(
                    current_user, form.new_password.data, keep_token=current_user.session_token
                )
            except services.AuthError as exc:
                form.new_password.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Password changed. Your other sessions have been signed out."), "success")
                return redirect(url_for("auth.profile"))
    sessions = current_user.sessions.order_by(UserSession.last_seen_at.desc()).all()
    return render_template(
        "auth/profile.html",
        form=ProfileForm(obj=current_user),
        password_form=form,
        sessions=sessions,
    ), 400


@bp.route("/profile/sessions/end-others", methods=["POST"])
def end_other_sessions():
    count = services.end_sessions(current_user, except_token=current_user.session_token)
    db.session.commit()
    flash(_("%(n)d other sessions signed out.", n=count), "success")
    return redirect(url_for("auth.profile"))


@users_bp.route("/")
@requires(Role.ADMIN)
def index():
    page = db.paginate(sa.select(User).order_by(User.username), per_page=50, error_out=False)
    return render_template("auth/users.html", page=page)


@users_bp.route("/new", methods=["GET", "POST"])
@requires(Role.ADMIN)
def create():
    form = UserForm()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("A new user needs a password."))
        else:
            try:
                user = services.create_user(
                    form.username.data,
                    form.password.data,
                    form.role.data,
                    full_name=form.full_name.data or "",
                    email=form.email.data or "",
                    phone=form.phone.data or "",
                    locale=form.locale.data,
                    is_active=form.is_active.data,
                )
            except services.AuthError as exc:
                form.username.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("User %(u)s created.", u=user.username), "success")
                return redirect(url_for("users.detail", user_id=user.id))
    return render_template("auth/user_form.html", form=form, user=None)


def _get_user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@users_bp.route("/<int:user_id>")
@requires(Role.ADMIN)
def detail(user_id: int):
    user = _get_user(user_id)
    sessions = user.sessions.order_by(UserSession.last_seen_at.desc()).all()
    return render_template(
        "auth/user_detail.html",
        user=user,
        sessions=sessions,
        history=history_for("users", user.id),
    )


@users_bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@requires(Role.ADMIN)
def edit(user_id: int):
    user = _get_user(user_id)
    form = UserForm(obj=user)
    form.username.render_kw = {"readonly": True}
    if form.validate_on_submit():
        if user.id == current_user.id and (
            form.role.data != Role.ADMIN.value or not form.is_active.data
        ):
            flash(_("You cannot remove your own administrator role or disable yourself."), "error")
            return render_template("auth/user_form.html", form=form, user=user), 400
        try:
            services.update_user(
                user,
                full_name=form.full_name.data or "",
                email=form.email.data or "",
                phone=form.phone.data or "",
                role=form.role.data,
                locale=form.locale.data,
                is_active=form.is_active.data,
            )
            if form.password.data:
                services.set_password(user, form.password.data)
        except services.AuthError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("User %(u)s saved.", u=user.username), "success")
            return redirect(url_for("users.detail", user_id=user.id))
    return render_template("auth/user_form.html", form=form, user=user)


@users_bp.route("/<int:user_id>/unlock", methods=["POST"])
@requires(Role.ADMIN)
def unlock(user_id: int):
    user = _get_user(user_id)
    services.unlock(user)
    db.session.commit()
    flash(_("User %(u)s can sign in again.", u=user.username), "success")
    return redirect(url_for("users.detail", user_id=user.id))


@users_bp.route("/<int:user_id>/end-sessions", methods=["POST"])
@requires(Role.ADMIN)
def end_sessions(user_id: int):
    user = _get_user(user_id)
    count = services.end_sessions(user)
    db.session.commit()
    flash(_("%(n)d sessions signed out.", n=count), "success")
    return redirect(url_for("users.detail", user_id=user.id))
