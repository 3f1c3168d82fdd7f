"""Default-deny access control: every view needs a login unless marked public, roles on top."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, request
from flask_login import current_user

from inventory.choices import Role
from inventory.extensions import login_manager

F = TypeVar("F", bound=Callable)


def public(view: F) -> F:
    """Mark a view as open to anonymous visitors (login page, health check)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def requires(role: Role | str) -> Callable[[F], F]:
    """Mark a view as needing at least `role`; the check itself runs in before_request."""
    minimum = Role(role)

    def decorate(view: F) -> F:
        view.min_role = minimum  # type: ignore[attr-defined]
        return view

    return decorate


def min_role_of(endpoint: str) -> Role | None:
    """The least role an endpoint admits, or None for a public one."""
    view = current_app.view_functions[endpoint]
    if getattr(view, "is_public", False):
        return None
    return getattr(view, "min_role", Role.VIEWER)


def _guard():
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    minimum = getattr(view, "min_role", Role.VIEWER)
    if not current_user.has_role(minimum):
        abort(403)
    return None


def role_allows(role: Role | str) -> bool:
    """For templates: may the current user do something that needs `role`?"""
    return bool(current_user.is_authenticated and current_user.has_role(role))


def _set_audit_actor():
    from inventory.audit.services import set_actor

    if current_user and current_user.is_authenticated:
        set_actor(current_user)


def init_app(app: Flask) -> None:
    app.before_request(_guard)
    app.before_request(_set_audit_actor)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
            "style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
            "base-uri 'self'; form-action 'self'",
        )
        return response

    app.jinja_env.globals["role_allows"] = role_allows
    app.jinja_env.globals["Role"] = Role
