"""Blueprints, error pages and template helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape

from inventory import choices


def current_locale() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def localized(obj) -> str:
    """The Hindi or English name of a site or category, as the page's language asks."""
    if obj is None:
        return ""
    return obj.name(current_locale())


def format_inr(value) -> str:
    """Indian digit grouping: 12,34,567.00."""
    if value is None or value == "":
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    whole, frac = f"{abs(amount):.2f}".split(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join([*groups, tail])
    return f"{sign}₹{whole}.{frac}"


def format_date(value: date | None) -> str:
    return value.strftime("%d-%m-%Y") if value else ""


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime("%d-%m-%Y %H:%M")


def badge(choice_name: str, value: str | None) -> Markup:
    cls = getattr(choices, choice_name)
    label = cls.label_of(value)
    colour = cls.colour_of(value)
    return Markup('<span class="badge badge-{}">{}</span>').format(colour, escape(str(label)))


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (None removes one)."""
    from flask import url_for

    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    from inventory.assets import import_views  # noqa: F401 - registers the import routes
    from inventory.assets.views import bp as assets_bp
    from inventory.audit.views import bp as audit_bp
    from inventory.auth.views import bp as auth_bp
    from inventory.auth.views import users_bp
    from inventory.catalog.views import bp as catalog_bp
    from inventory.credentials.views import bp as credentials_bp
    from inventory.dashboard.views import bp as dashboard_bp
    from inventory.devices.views import bp as devices_bp
    from inventory.field.views import bp as field_bp
    from inventory.files.views import bp as files_bp
    from inventory.files.views import file_url
    from inventory.health.views import bp as health_bp
    from inventory.inspections.views import bp as inspections_bp
    from inventory.labels.views import bp as labels_bp
    from inventory.maintenance.views import bp as maintenance_bp
    from inventory.netconfig.views import bp as netconfig_bp
    from inventory.notifications.views import bp as notifications_bp
    from inventory.procurement import receipt_views  # noqa: F401 - registers the receipt routes
    from inventory.procurement.views import bp as procurement_bp
    from inventory.readiness.views import bp as readiness_bp
    from inventory.sites.views import bp as sites_bp
    from inventory.tickets.views import bp as tickets_bp
    from inventory.vendors.views import bp as vendors_bp
    from inventory.verification.views import bp as verification_bp

    for blueprint in (
        dashboard_bp,
        auth_bp,
        users_bp,
        sites_bp,
        catalog_bp,
        assets_bp,
        credentials_bp,
        audit_bp,
        health_bp,
        field_bp,
        tickets_bp,
        verification_bp,
        notifications_bp,
        files_bp,
        inspections_bp,
        vendors_bp,
        maintenance_bp,
        labels_bp,
        procurement_bp,
        devices_bp,
        netconfig_bp,
        readiness_bp,
    ):
        app.register_blueprint(blueprint)

    app.jinja_env.globals.update(
        localized=localized,
        badge=badge,
        url_with=url_with,
        current_locale=current_locale,
        choices=choices,
        file_url=file_url,
    )
    app.jinja_env.filters.update(inr=format_inr, d=format_date, dt=format_datetime)

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        message = _(
            "The form expired or did not come from this site. Go back, reload it and try again."
        )
        return render_template("error.html", code=400, message=message), 400

    for code, message in (
        (403, lambda: _("You do not have permission to do that.")),
        (404, lambda: _("There is nothing at this address.")),
        (405, lambda: _("That action is not allowed here.")),
        (413, lambda: _("The upload is too large.")),
    ):
        app.register_error_handler(
            code,
            lambda error, c=code, m=message: (
                render_template("error.html", code=c, message=m()),
                c,
            ),
        )

    @app.errorhandler(500)
    def _server_error(error):
        return render_template(
            "error.html", code=500, message=_("Something went wrong. It has been logged.")
        ), 500
