"""Vendors and AMC contracts: validation, coverage, and the lists the pages show.

Coverage (see models.py): a contract covers an asset on a day when the day is within the
contract's period and the asset is listed on the contract or matches one of its rules
(category, site and every site below it). `contracts_covering(asset, on)` answers for one
asset; `covered_condition(contract_id)` is the same rule as a WHERE clause over assets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.choices import ContractState, VendorKind
from inventory.extensions import db
from inventory.sites.models import Site
from inventory.vendors.models import AmcContract, ContractAsset, ContractRule, Vendor


class VendorError(ValueError):
    """A vendor or contract change that breaks a rule; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


VENDOR_FIELDS = ("name", "kind", "contact_person", "phone", "email", "address", "notes")
CONTRACT_FIELDS = (
    "vendor_id",
    "reference",
    "title",
    "start_date",
    "end_date",
    "value",
    "response_hours",
    "resolution_hours",
    "notes",
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^[0-9+() /-]+$")
MAX_VALUE = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_HOURS = 24 * 366
MAX_TAGS = 500  # tags added to a contract at once


# --- dates in the society's time zone ---------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_date(moment: datetime) -> date:
    """The calendar day (society's time zone) of a UTC moment."""
    return moment.astimezone(_zone()).date()


def day_start(day: date) -> datetime:
    """The UTC moment a local calendar day begins."""
    return datetime.combine(day, time.min, tzinfo=_zone()).astimezone(UTC)


def society_today(now: datetime | None = None) -> date:
    return local_date(now or datetime.now(UTC))


def notice_days() -> int:
    return int(current_app.config.get("CONTRACT_EXPIRY_NOTICE_DAYS", 60))


# --- vendors ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _check_vendor(vendor: Vendor) -> None:
    if not vendor.name:
        raise VendorError(_("A vendor needs a name."), "name")
    if len(vendor.name) > 120:
        raise VendorError(_("The name is too long (at most 120 characters)."), "name")
    if vendor.kind not in VendorKind.values():
        raise VendorError(_("Choose the kind of vendor."), "kind")
    if vendor.email and not EMAIL_RE.match(vendor.email):
        raise VendorError(_("That does not look like an email address."), "email")
    if vendor.phone and not PHONE_RE.match(vendor.phone):
        raise VendorError(_("Digits, spaces, +, -, / and brackets only."), "phone")
    duplicate = db.session.scalar(
        sa.select(Vendor.id).where(
            sa.func.lower(Vendor.name) == vendor.name.lower(), Vendor.id != (vendor.id or 0)
        )
    )
    if duplicate:
        raise VendorError(_("Another vendor is already called %(name)s.", name=vendor.name), "name")


def create_vendor(**fields) -> Vendor:
    vendor = Vendor(active=True, kind=VendorKind.AMC.value)
    return update_vendor(vendor, **fields)


def update_vendor(vendor: Vendor, **fields) -> Vendor:
    with db.session.no_autoflush:
        for key in VENDOR_FIELDS:
            if key in fields:
                setattr(vendor, key, _text(fields[key]))
        _check_vendor(vendor)
    if vendor.id is None:
        db.session.add(vendor)
    db.session.flush()
    return vendor


def set_vendor_active(vendor: Vendor, active: bool) -> Vendor:
    vendor.active = bool(active)
    db.session.flush()
    return vendor


@dataclass(frozen=True)
class References:
    tickets: int = 0
    contracts: int = 0
    plans: int = 0

    @property
    def total(self) -> int:
        return self.tickets + self.contracts + self.plans


def vendor_references(vendor: Vendor) -> References:
    """What still names the vendor (so that it cannot be deleted, only deactivated)."""
    from inventory.maintenance.models import MaintenancePlan
    from inventory.tickets.models import Ticket

    def count(column) -> int:
        return db.session.scalar(sa.select(sa.func.count()).where(column == vendor.id)) or 0

    return References(
        tickets=count(Ticket.vendor_id),
        contracts=count(AmcContract.vendor_id),
        plans=count(MaintenancePlan.vendor_id),
    )


def in_use_message(vendor: Vendor, refs: References) -> str:
    return _(
        "%(name)s cannot be deleted: tickets (%(tickets)d), contracts (%(contracts)d) and "
        "maintenance plans (%(plans)d) still name it. Deactivate it instead: it stays in the "
        "records but is no longer offered for new work.",
        name=vendor.name,
        tickets=refs.tickets,
        contracts=refs.contracts,
        plans=refs.plans,
    )


def delete_vendor(vendor: Vendor) -> None:
    """Delete a vendor nothing names; otherwise VendorError (deactivate it instead)."""
    refs = vendor_references(vendor)
    if refs.total:
        raise VendorError(in_use_message(vendor, refs))
    db.session.delete(vendor)
    db.session.flush()


def like_pattern(text: str) -> str:
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column, text: str):
    return sa.func.lower(column).like(like_pattern(text.lower()), escape="\\")


@dataclass
class VendorFilter:
    q: str = ""
    kind: str = ""
    active: str = "yes"  # "yes", "no" or "" (all)


def vendor_query(flt: VendorFilter):
    query = sa.select(Vendor)
    if flt.q:
        query = query.where(
            sa.or_(
                _contains(Vendor.name, flt.q),
                _contains(Vendor.contact_person, flt.q),
                _contains(Vendor.phone, flt.q),
                _contains(Vendor.email, flt.q),
            )
        )
    if flt.kind in VendorKind.values():
        query = query.where(Vendor.kind == flt.kind)
    if flt.active == "yes":
        query = query.where(Vendor.active.is_(True))
    elif flt.active == "no":
        query = query.where(Vendor.active.is_(False))
    return query.order_by(Vendor.name, Vendor.id)


def vendor_choices(include: int | None = None, kinds: tuple[str, ...] = ()) -> list[tuple]:
    """Active vendors as (id, name) for a select, plus `include` even if inactive."""
    query = sa.select(Vendor.id, Vendor.name, Vendor.active).order_by(Vendor.name)
    condition = Vendor.active.is_(True)
    if kinds:
        condition = sa.and_(condition, Vendor.kind.in_(kinds))
    if include:
        condition = sa.or_(condition, Vendor.id == include)
    rows = db.session.execute(query.where(condition)).all()
    return [(r.id, r.name if r.active else _("%(name)s (inactive)", name=r.name)) for r in rows]


# --- contracts --------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise VendorError(_("Enter the value in rupees, for example 125000."), "value") from exc


def _int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise VendorError(_("Enter a whole number of hours."), field) from exc


def _check_contract(contract: AmcContract) -> None:
    vendor = db.session.get(Vendor, contract.vendor_id) if contract.vendor_id else None
    if vendor is None:
        raise VendorError(_("Choose the vendor."), "vendor_id")
    if not contract.reference:
        raise VendorError(_("A contract needs its reference number."), "reference")
    if len(contract.reference) > 64:
        raise VendorError(_("The reference is too long (at most 64 characters)."), "reference")
    if not contract.title:
        raise VendorError(_("A contract needs a title."), "title")
    if len(contract.title) > 200:
        raise VendorError(_("The title is too long (at most 200 characters)."), "title")
    if not isinstance(contract.start_date, date):
        raise VendorError(_("Enter the date the contract starts."), "start_date")
    if not isinstance(contract.end_date, date):
        raise VendorError(_("Enter the date the contract ends."), "end_date")
    if contract.end_date <= contract.start_date:
        raise VendorError(_("The contract must end after it starts."), "end_date")
    if contract.value is not None and not (Decimal(0) < contract.value <= MAX_VALUE):
        raise VendorError(_("The value must be more than zero rupees."), "value")
    for field, hours in (
        ("response_hours", contract.response_hours),
        ("resolution_hours", contract.resolution_hours),
    ):
        if hours is None:
            raise VendorError(_("Enter the hours the contract allows."), field)
        if not (0 < hours <= MAX_HOURS):
            raise VendorError(_("Hours must be between 1 and %(max)d.", max=MAX_HOURS), field)
    if contract.resolution_hours < contract.response_hours:
        raise VendorError(
            _("The resolution time cannot be shorter than the response time."),
            "resolution_hours",
        )
    duplicate = db.session.scalar(
        sa.select(AmcContract.id).where(
            AmcContract.vendor_id == contract.vendor_id,
            AmcContract.reference == contract.reference,
            AmcContract.id != (contract.id or 0),
        )
    )
    if duplicate:
        raise VendorError(
            _(
                "%(vendor)s already has a contract %(reference)s.",
                vendor=vendor.name,
                reference=contract.reference,
            ),
            "reference",
        )


def _apply_contract(contract: AmcContract, fields: dict) -> None:
    for key in CONTRACT_FIELDS:
        if key not in fields:
            continue
        value = fields[key]
        if key in ("reference", "title", "notes"):
            value = _text(value)
        elif key == "value":
            value = _decimal(value)
        elif key in ("response_hours", "resolution_hours"):
            value = _int(value, key)
        elif key == "vendor_id":
            value = int(value) if value else None
        setattr(contract, key, value)


def create_contract(**fields) -> AmcContract:
    contract = AmcContract()
    with db.session.no_autoflush:
        _apply_contract(contract, fields)
        _check_contract(contract)
        vendor = db.session.get(Vendor, contract.vendor_id)
        if not vendor.active:
            raise VendorError(
                _("%(name)s is inactive: reactivate it before adding contracts.", name=vendor.name),
                "vendor_id",
            )
    db.session.add(contract)
    db.session.flush()
    return contract


def update_contract(contract: AmcContract, **fields) -> AmcContract:
    with db.session.no_autoflush:
        _apply_contract(contract, fields)
        _check_contract(contract)
    db.session.flush()
    return contract


def delete_contract(contract: AmcContract) -> None:
    db.session.delete(contract)
    db.session.flush()


def contract_state(contract: AmcContract, today: date) -> ContractState:
    return contract.state(today, notice_days())


# --- coverage ---------------------------------------------------------------------------


def split_tags(text: str) -> list[str]:
    """Tags typed or pasted one per line, or separated by commas or spaces."""
    seen: dict[str, None] = {}
    for tag in re.split(r"[\s,;]+", text or ""):
        tag = tag.strip().upper()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def add_assets(contract: AmcContract, tags: list[str]) -> int:
    """List assets on the contract by tag; all or nothing. Returns how many were new."""
    if not tags:
        raise VendorError(_("Enter at least one asset tag."), "tags")
    if len(tags) > MAX_TAGS:
        raise VendorError(_("Add at most %(n)d assets at a time.", n=MAX_TAGS), "tags")
    found = {a.tag: a for a in db.session.scalars(sa.select(Asset).where(Asset.tag.in_(tags)))}
    unknown = [tag for tag in tags if tag not in found]
    if unknown:
        shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
        raise VendorError(
            ngettext(
                "No asset has the tag %(tags)s. Nothing was added.",
                "No assets have the tags %(tags)s. Nothing was added.",
                len(unknown),
                tags=shown,
            ),
            "tags",
        )
    listed = set(
        db.session.scalars(
            sa.select(ContractAsset.asset_id).where(ContractAsset.contract_id == contract.id)
        )
    )
    added = 0
    for tag in tags:
        asset = found[tag]
        if asset.id in listed:
            continue
        db.session.add(ContractAsset(contract=contract, asset=asset))
        listed.add(asset.id)
        added += 1
    db.session.flush()
    return added


def remove_asset(contract: AmcContract, asset_id: int) -> bool:
    row = db.session.scalar(
        sa.select(ContractAsset).where(
            ContractAsset.contract_id == contract.id, ContractAsset.asset_id == asset_id
        )
    )
    if row is None:
        return False
    row.audit_label()  # loads what the history label names before the row goes
    db.session.delete(row)
    db.session.flush()
    return True


def add_rule(contract: AmcContract, category_id: int | None, site_id: int | None) -> ContractRule:
    category_id = category_id or None
    site_id = site_id or None
    if category_id is None and site_id is None:
        raise VendorError(_("Choose a category, a site, or both."), "category_id")
    category = db.session.get(Category, category_id) if category_id is not None else None
    if category_id is not None and category is None:
        raise VendorError(_("That category does not exist."), "category_id")
    site = db.session.get(Site, site_id) if site_id is not None else None
    if site_id is not None and site is None:
        raise VendorError(_("That site does not exist."), "site_id")
    for rule in contract.rules:
        if rule.category_id == category_id and rule.site_id == site_id:
            raise VendorError(_("The contract already has that rule."), "category_id")
    rule = ContractRule(contract=contract, category=category, site=site)
    db.session.add(rule)
    db.session.flush()
    return rule


def remove_rule(contract: AmcContract, rule_id: int) -> bool:
    rule = db.session.get(ContractRule, rule_id)
    if rule is None or rule.contract_id != contract.id:
        return False
    rule.audit_label()  # loads what the history label names before the row goes
    contract.rules.remove(rule)
    db.session.delete(rule)
    db.session.flush()
    return True


def _rule_sites(contract_id=None):
    """A recursive CTE of (rule_id, site_id): every site each rule reaches (its own site
    and all below). `contract_id` (a value or a column) narrows it to one contract's rules."""
    base = sa.select(ContractRule.id.label("rule_id"), ContractRule.site_id.label("site_id")).where(
        ContractRule.site_id.is_not(None)
    )
    if contract_id is not None:
        base = base.where(ContractRule.contract_id == contract_id)
    tree = base.cte("rule_sites", recursive=True)
    return tree.union_all(
        sa.select(tree.c.rule_id, Site.id).where(Site.parent_id == tree.c.site_id)
    )


def rule_condition(contract_id, asset=Asset):
    """WHERE: one of the contract's rules matches the asset (`asset` an Asset alias)."""
    reach = _rule_sites(contract_id)
    site_ok = sa.or_(
        ContractRule.site_id.is_(None),
        sa.exists()
        .where(reach.c.rule_id == ContractRule.id, reach.c.site_id == asset.site_id)
        .correlate_except(reach),  # two levels down: correlate to the outer asset too
    )
    category_ok = sa.or_(
        ContractRule.category_id.is_(None), ContractRule.category_id == asset.category_id
    )
    return sa.exists().where(ContractRule.contract_id == contract_id, category_ok, site_ok)


def covered_condition(contract_id, asset=Asset):
    """WHERE: the asset is listed on the contract or matches one of its rules (period aside)."""
    listed = sa.exists().where(
        ContractAsset.contract_id == contract_id, ContractAsset.asset_id == asset.id
    )
    return sa.or_(listed, rule_condition(contract_id, asset))


def covered_assets_query(contract: AmcContract):
    return sa.select(Asset).where(covered_condition(contract.id)).order_by(Asset.tag)


def covered_asset_ids(contract: AmcContract) -> list[int]:
    return list(db.session.scalars(sa.select(Asset.id).where(covered_condition(contract.id))))


def covered_asset_count(contract: AmcContract) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Asset).where(covered_condition(contract.id))
    )


def covered_assets_page(contract: AmcContract, page: int, per_page: int):
    """The assets the contract covers (listed or by rule), in tag order, one page."""
    return db.paginate(
        covered_assets_query(contract), page=page, per_page=per_page, error_out=False
    )


def listed_asset_ids(contract: AmcContract) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(ContractAsset.asset_id).where(ContractAsset.contract_id == contract.id)
        )
    )


def _ancestor_ids(site_id: int) -> list[int]:
    """site_id and every site above it (one recursive query)."""
    tree = sa.select(Site.id, Site.parent_id).where(Site.id == site_id).cte("up", recursive=True)
    tree = tree.union_all(sa.select(Site.id, Site.parent_id).where(Site.id == tree.c.parent_id))
    return list(db.session.scalars(sa.select(tree.c.id)))


def contracts_covering(asset: Asset, on: date) -> list[AmcContract]:
    """The contracts in force on `on` that cover the asset, ending soonest last."""
    sites = _ancestor_ids(asset.site_id)
    listed = sa.select(ContractAsset.contract_id).where(ContractAsset.asset_id == asset.id)
    by_rule = sa.select(ContractRule.contract_id).where(
        sa.or_(ContractRule.category_id.is_(None), ContractRule.category_id == asset.category_id),
        sa.or_(ContractRule.site_id.is_(None), ContractRule.site_id.in_(sites)),
    )
    query = (
        sa.select(AmcContract)
        .where(
            AmcContract.start_date <= on,
            AmcContract.end_date >= on,
            sa.or_(AmcContract.id.in_(listed), AmcContract.id.in_(by_rule)),
        )
        .order_by(AmcContract.end_date.desc(), AmcContract.id)
    )
    return list(db.session.scalars(query))


def contracts_expiring(within_days: int, today: date) -> list[AmcContract]:
    """Contracts in force today that end within `within_days` days (today included),
    soonest first. The notifications side may email these."""
    within_days = max(0, int(within_days))
    query = (
        sa.select(AmcContract)
        .join(Vendor)
        .where(
            AmcContract.start_date <= today,
            AmcContract.end_date >= today,
            AmcContract.end_date <= today + timedelta(days=within_days),
        )
        .order_by(AmcContract.end_date, Vendor.name, AmcContract.reference)
    )
    return list(db.session.scalars(query))


@dataclass
class ContractFilter:
    q: str = ""
    vendor_id: int | None = None
    state: str = ""  # a ContractState value, or "" for all
    within_days: int | None = None  # ending within N days (in force today)
    asset_id: int | None = None  # covering this asset (today)


def contract_query(flt: ContractFilter, today: date):
    query = sa.select(AmcContract).join(Vendor)
    if flt.q:
        query = query.where(
            sa.or_(
                _contains(AmcContract.reference, flt.q),
                _contains(AmcContract.title, flt.q),
                _contains(Vendor.name, flt.q),
            )
        )
    if flt.vendor_id:
        query = query.where(AmcContract.vendor_id == flt.vendor_id)
    soon = today + timedelta(days=notice_days())
    in_force = sa.and_(AmcContract.start_date <= today, AmcContract.end_date >= today)
    if flt.state == ContractState.UPCOMING.value:
        query = query.where(AmcContract.start_date > today)
    elif flt.state == ContractState.EXPIRED.value:
        query = query.where(AmcContract.end_date < today)
    elif flt.state == ContractState.EXPIRING.value:
        query = query.where(in_force, AmcContract.end_date <= soon)
    elif flt.state == ContractState.ACTIVE.value:
        query = query.where(in_force)
    if flt.within_days is not None:
        query = query.where(
            in_force, AmcContract.end_date <= today + timedelta(days=max(0, flt.within_days))
        )
    if flt.asset_id:
        asset = db.session.get(Asset, flt.asset_id)
        ids = [c.id for c in contracts_covering(asset, today)] if asset else []
        query = query.where(AmcContract.id.in_(ids))
    return query.order_by(AmcContract.end_date.desc(), Vendor.name, AmcContract.reference)


def contract_counts_by_vendor(today: date) -> dict[int, int]:
    """Contracts in force today, per vendor."""
    rows = db.session.execute(
        sa.select(AmcContract.vendor_id, sa.func.count())
        .where(AmcContract.start_date <= today, AmcContract.end_date >= today)
        .group_by(AmcContract.vendor_id)
    ).all()
    return dict(rows)
