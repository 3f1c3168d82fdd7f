"""The register's rules: tags, validation, the filtered list, bulk changes."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from string import Formatter
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination

from inventory.assets.models import Asset, TagSequence
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.choices import AssetStatus
from inventory.credentials.models import CredentialProfile
from inventory.extensions import db
from inventory.models_base import references_to
from inventory.sites.models import Site
from inventory.sites.services import subtree_condition


class AssetError(ValueError):
    """An asset that breaks a rule; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


FIELDS = (
    "tag",
    "category_id",
    "model_id",
    "serial",
    "status",
    "site_id",
    "location",
    "custodian",
    "purchase_date",
    "purchase_cost",
    "supplier",
    "order_reference",
    "budget_head",
    "warranty_end",
    "amc_vendor",
    "amc_end",
    "management_address",
    "credential_profile_id",
    "notes",
)
TAG_RE = re.compile(r"^[A-Z0-9][A-Z0-9/_-]{1,31}$")
HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


# --- tags -------------------------------------------------------------------------------


def _render_tag(pattern: str, seq: int | None, values: dict[str, str]) -> str:
    parts: list[str] = []
    for literal, name, spec, _conv in Formatter().parse(pattern):
        parts.append(literal)
        if name is None:
            continue
        if name == "seq":
            parts.append("#" if seq is None else format(seq, spec or "d"))
        else:
            parts.append(format(values[name], spec or ""))
    return "".join(parts)


def _next_value(prefix: str) -> int:
    """Atomically take the next number for a prefix (UPDATE ... RETURNING on both databases)."""
    statement = (
        sa.update(TagSequence)
        .where(TagSequence.prefix == prefix)
        .values(last_value=TagSequence.last_value + 1)
        .returning(TagSequence.last_value)
    )
    value = db.session.execute(statement).scalar()
    if value is not None:
        return value
    try:
        with db.session.begin_nested():
            db.session.add(TagSequence(prefix=prefix, last_value=0))
    except sa.exc.IntegrityError:
        pass  # another writer created it first
    return db.session.execute(statement).scalar_one()


def next_tag(category: Category) -> str:
    """The next free tag for a category, from the configured TAG_PATTERN."""
    pattern = current_app.config["TAG_PATTERN"]
    values = {"district": current_app.config["DISTRICT_CODE"], "category": category.code}
    prefix = _render_tag(pattern, None, values)
    while True:
        tag = _render_tag(pattern, _next_value(prefix), values).upper()
        if not db.session.scalar(sa.select(Asset.id).where(Asset.tag == tag)):
            return tag


# --- validation -------------------------------------------------------------------------


def valid_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(HOSTNAME_RE.match(text)) and not text.replace(".", "").isdigit()
    return True


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for key, value in fields.items():
        if key not in FIELDS:
            continue
        if isinstance(value, str):
            value = value.strip()
        if key in ("model_id", "credential_profile_id") and not value:
            value = None
        if key in ("serial",) and value == "":
            value = None
        if key == "tag" and value:
            value = value.upper()
        cleaned[key] = value
    return cleaned


def _check(asset: Asset) -> None:
    if asset.tag and not TAG_RE.match(asset.tag):
        raise AssetError(_("A tag has 2 to 32 capital letters, digits, -, / or _."), "tag")
    if asset.tag:
        clash = db.session.scalar(
            sa.select(Asset.id).where(Asset.tag == asset.tag, Asset.id != (asset.id or 0))
        )
        if clash:
            raise AssetError(_("The tag %(tag)s is already used.", tag=asset.tag), "tag")
    category = db.session.get(Category, asset.category_id) if asset.category_id else None
    if category is None:
        raise AssetError(_("Choose a category."), "category_id")
    if asset.site_id is None or db.session.get(Site, asset.site_id) is None:
        raise AssetError(_("Choose a site."), "site_id")
    if asset.status not in AssetStatus.values():
        raise AssetError(_("Unknown status."), "status")
    if asset.model_id is not None:
        model = db.session.get(AssetModel, asset.model_id)
        if model is None:
            raise AssetError(_("Unknown model."), "model_id")
        if model.category_id != asset.category_id:
            raise AssetError(
                _(
                    "The model %(model)s is a %(category)s; choose that category or another model.",
                    model=str(model),
                    category=model.category.name_en,
                ),
                "model_id",
            )
        if asset.serial:
            clash = db.session.scalar(
                sa.select(Asset.tag).where(
                    Asset.model_id == asset.model_id,
                    Asset.serial == asset.serial,
                    Asset.id != (asset.id or 0),
                )
            )
            if clash:
                raise AssetError(
                    _(
                        "Serial %(serial)s of this model is already registered as %(tag)s.",
                        serial=asset.serial,
                        tag=clash,
                    ),
                    "serial",
                )
    if asset.purchase_cost is not None and Decimal(asset.purchase_cost) < 0:
        raise AssetError(_("The cost cannot be negative."), "purchase_cost")
    if asset.purchase_date and asset.purchase_date > date.today() + timedelta(days=1):
        raise AssetError(_("The purchase date is in the future."), "purchase_date")
    if asset.management_address and not valid_address(asset.management_address):
        raise AssetError(
            _("Give an IP address or a host name, for example 10.20.1.1."), "management_address"
        )
    if asset.credential_profile_id is not None and (
        db.session.get(CredentialProfile, asset.credential_profile_id) is None
    ):
        raise AssetError(_("Unknown credentials profile."), "credential_profile_id")


# --- writes -----------------------------------------------------------------------------


def create_asset(**fields) -> Asset:
    values = _clean(fields)
    asset = Asset(**{k: v for k, v in values.items() if k != "tag"})
    asset.status = asset.status or AssetStatus.IN_STORE.value
    asset.tag = values.get("tag") or None
    with db.session.no_autoflush:
        _check(asset)
        if not asset.tag:
            asset.tag = next_tag(db.session.get(Category, asset.category_id))
    db.session.add(asset)
    db.session.flush()
    return asset


def update_asset(asset: Asset, **fields) -> Asset:
    values = _clean(fields)
    with db.session.no_autoflush:
        for key, value in values.items():
            if key == "tag" and not value:
                continue
            setattr(asset, key, value)
        _check(asset)
    db.session.flush()
    return asset


def delete_asset(asset: Asset) -> None:
    """Delete a record made by mistake. Refused while tickets name the asset: their record
    must stay (a written-off asset is marked condemned instead)."""
    tickets = references_to(asset, blocking_only=True).get("tickets", 0)
    if tickets:
        raise AssetError(
            _(
                "%(tag)s has %(n)d maintenance tickets, which must be kept. Mark it condemned "
                "instead of deleting it.",
                tag=asset.tag,
                n=tickets,
            )
        )
    db.session.delete(asset)
    db.session.flush()


def bulk_update(asset_ids: list[int], status: str | None = None, site_id: int | None = None) -> int:
    """Change the status and/or site of many assets, each change recorded in history."""
    if status is not None and status not in AssetStatus.values():
        raise AssetError(_("Unknown status."), "status")
    if site_id is not None and db.session.get(Site, site_id) is None:
        raise AssetError(_("Choose a site."), "site_id")
    assets = db.session.scalars(sa.select(Asset).where(Asset.id.in_(asset_ids))).all()
    for asset in assets:
        if status is not None:
            asset.status = status
        if site_id is not None:
            asset.site_id = site_id
    db.session.flush()
    return len(assets)


# --- the list ---------------------------------------------------------------------------


@dataclass
class AssetFilter:
    """What the register list is narrowed to; the same object drives the page and exports."""

    q: str = ""
    site_id: int | None = None
    category_id: int | None = None
    status: str = ""
    expiring: str = ""  # "warranty" or "amc"
    within_days: int = 90
    sort: str = "tag"
    descending: bool = False
    ids: list[int] = field(default_factory=list)


SORTS = {
    "tag": Asset.tag,
    "category": Category.code,
    "status": Asset.status,
    "site": Site.name_en,
    "serial": Asset.serial,
    "purchase_date": Asset.purchase_date,
    "warranty_end": Asset.warranty_end,
    "amc_end": Asset.amc_end,
    "updated": Asset.updated_at,
}


def _contains(column, pattern: str):
    """Case-insensitive LIKE. SQLite's own LIKE already ignores ASCII case, exactly as
    lower() LIKE lower() would (its lower() folds ASCII only), and is 3x cheaper per row."""
    if db.session.get_bind().dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _conditions(flt: AssetFilter) -> list:
    """The WHERE terms of a filter. They use only assets' own columns and subqueries, so that
    neither counting nor paging needs a join (every asset has a category and a site)."""
    conditions: list = []
    if flt.ids:
        conditions.append(Asset.id.in_(flt.ids))
    if flt.q:
        needle = flt.q.strip()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        # The few models and sites whose names match are looked up first, so that the
        # condition on assets is a plain OR of indexable terms (IN lists of ids; on
        # PostgreSQL trigram indexes answer the LIKEs): no correlated subquery per row.
        model_ids = list(
            db.session.scalars(
                sa.select(AssetModel.id)
                .join(Manufacturer, AssetModel.manufacturer_id == Manufacturer.id)
                .where(sa.or_(_contains(AssetModel.name, like), _contains(Manufacturer.name, like)))
            )
        )
        site_ids = list(
            db.session.scalars(
                sa.select(Site.id).where(
                    sa.or_(
                        _contains(Site.name_en, like),
                        Site.name_hi.like(like, escape="\\"),
                        _contains(Site.code, like),
                    )
                )
            )
        )
        terms = [
            _contains(Asset.tag, like),
            _contains(Asset.serial, like),
            Asset.management_address == needle,
        ]
        if model_ids:
            terms.append(Asset.model_id.in_(model_ids))
        if site_ids:
            terms.append(Asset.site_id.in_(site_ids))
        conditions.append(sa.or_(*terms))
    if flt.site_id:
        conditions.append(subtree_condition(Asset.site_id, flt.site_id))
    if flt.category_id:
        conditions.append(Asset.category_id == flt.category_id)
    if flt.status:
        conditions.append(Asset.status == flt.status)
    if flt.expiring in ("warranty", "amc"):
        column = Asset.warranty_end if flt.expiring == "warranty" else Asset.amc_end
        # `<=` is never true for NULL, so assets without the date stay out. (An extra
        # IS NOT NULL would make SQLite read the date index as a two-sided range, guess it
        # selective, and sort most of the register instead of walking the tag order.)
        conditions.append(column <= date.today() + timedelta(days=max(0, flt.within_days)))
    return conditions


def asset_query(flt: AssetFilter) -> sa.Select:
    """The SELECT behind the register list, search, filters and exports."""
    query = sa.select(Asset).where(*_conditions(flt))
    sort = flt.sort if flt.sort in SORTS else "tag"
    if sort == "site":
        query = query.join(Asset.site)
    elif sort == "category":
        query = query.join(Asset.category)
    order = SORTS[sort]
    order = order.desc() if flt.descending else order.asc()
    return query.order_by(order, Asset.id.desc() if flt.descending else Asset.id)


def count_assets(flt: AssetFilter) -> int:
    query = sa.select(sa.func.count()).select_from(Asset).where(*_conditions(flt))
    return db.session.scalar(query) or 0


class AssetPage(Pagination):
    """One page of the filtered register (Flask-SQLAlchemy's Pagination interface).

    The page is found by selecting ids only: with no columns to fetch and no eager joins to
    run for the rows an OFFSET skips, that walk stays inside an index (ix_assets_list covers
    the default tag order and every column the search reads). The page's 50 assets are then
    loaded by id. The total is counted without ORDER BY and without joins, and not at all
    when a short page already tells it.
    """

    def _query_items(self) -> list[Asset]:
        query = asset_query(self._query_args["flt"]).with_only_columns(Asset.id)
        ids = list(db.session.scalars(query.limit(self.per_page).offset(self._query_offset)))
        if not ids:
            return []
        found = {a.id: a for a in db.session.scalars(sa.select(Asset).where(Asset.id.in_(ids)))}
        return [found[i] for i in ids if i in found]

    def _query_count(self) -> int:
        if 0 < len(self.items) < self.per_page or (self.page == 1 and not self.items):
            return self._query_offset + len(self.items)
        return count_assets(self._query_args["flt"])


def asset_page(flt: AssetFilter, page: int, per_page: int) -> AssetPage:
    """Page `page` (from 1; lower numbers mean 1) of the filtered register."""
    return AssetPage(
        page=max(page, 1), per_page=max(per_page, 1), max_per_page=None, error_out=False, flt=flt
    )


def status_counts() -> dict[str, int]:
    return dict(
        db.session.execute(sa.select(Asset.status, sa.func.count()).group_by(Asset.status)).all()
    )
