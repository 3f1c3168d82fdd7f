"""The district overview: what the register holds, by category, status and site."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template

from inventory.assets.models import Asset
from inventory.assets.services import status_counts
from inventory.catalog.models import Category
from inventory.choices import AssetStatus
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.readiness import services as readiness
from inventory.security import public
from inventory.sites.models import Site

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    by_category = db.session.execute(
        sa.select(Category, sa.func.count(Asset.id))
        .join(Asset, Asset.category_id == Category.id)
        .group_by(Category.id)
        .order_by(sa.func.count(Asset.id).desc())
    ).all()
    soon = date.today() + timedelta(days=90)
    expiring = {
        "warranty": db.session.scalar(
            sa.select(sa.func.count()).where(
                Asset.warranty_end.is_not(None), Asset.warranty_end <= soon
            )
        ),
        "amc": db.session.scalar(
            sa.select(sa.func.count()).where(Asset.amc_end.is_not(None), Asset.amc_end <= soon)
        ),
    }
    broken = db.session.scalars(
        sa.select(Asset)
        .where(Asset.status.in_([AssetStatus.NON_FUNCTIONAL.value, AssetStatus.UNDER_REPAIR.value]))
        .order_by(Asset.updated_at.desc())
        .limit(10)
    ).all()
    return render_template(
        "dashboard/index.html",
        total=db.session.scalar(sa.select(sa.func.count(Asset.id))),
        site_total=db.session.scalar(sa.select(sa.func.count(Site.id))),
        statuses=status_counts(),
        by_category=by_category,
        expiring=expiring,
        broken=broken,
        vc=readiness.summary(readiness.Rules.from_config(current_app.config), utcnow()),
    )


@bp.route("/healthz")
@public
def healthz():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
