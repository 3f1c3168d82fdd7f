"""Verification visits: start, record scans, move an asset here, finish or abandon; reports.

What a visit expects: the assets registered at the visit's site itself (not the sites
below it: an office visit covers that office), except condemned ones. A scanned tag is

- found: an asset registered at this site;
- unexpected: an asset registered at another site (it can be moved here, which the
  asset's own history records);
- unknown: no asset has this tag;
- duplicate: the asset (or unknown tag) was already scanned in this visit; not counted.

Finishing freezes the report (counts and lists) on the visit and sets last_verified_at of
every asset seen and registered here (found, or moved here) to the time it was scanned.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.assets.services import AssetError, update_asset
from inventory.choices import AssetStatus, ScanOutcome, VisitStatus
from inventory.extensions import db
from inventory.field import services as field_services
from inventory.models_base import utcnow
from inventory.sites.models import Site
from inventory.verification.models import VerificationVisit, VisitScan

TAG_MAX = 64
URL_TAG = re.compile(r"/a/([^/?#\s]+)")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class VerificationError(ValueError):
    """A visit action that breaks a rule; the message is shown to the user as is.

    `code` tells a program what happened: "closed" (the visit no longer takes scans),
    "invalid" (the request itself is wrong), "conflict" (another visit is in progress).
    """

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


# --- input ------------------------------------------------------------------------------


def normalise_tag(text: str | None) -> str:
    """The tag in scanned or typed text, as the register writes tags.

    A label URL (.../a/<tag>) or a bare tag gives that tag ("gon prj 0001" ->
    "GON-PRJ-0001", as the phone pages read it). Any other text is kept, cleaned the same
    way and cut to 64 characters: it is recorded as an unknown tag, never refused, so
    nothing scanned is lost.
    """
    text = CONTROL.sub("", text or "").strip()
    tag = field_services.tag_from_text(text)
    if tag:
        return tag
    match = URL_TAG.search(text)
    if match:
        text = unquote(match.group(1))
    return field_services.normalise_tag(text)[:TAG_MAX]


def parse_client_id(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise VerificationError(_("The scan has no valid identifier.")) from None


def parse_client_time(value) -> datetime | None:
    """An ISO 8601 time (or milliseconds since 1970) from the phone; None if unreadable."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


# --- visits -----------------------------------------------------------------------------


def open_visit_at(site_id: int) -> VerificationVisit | None:
    return db.session.scalar(
        sa.select(VerificationVisit).where(VerificationVisit.open_site_id == site_id)
    )


def start_visit(site: Site, user, notes: str = "") -> VerificationVisit:
    """A new visit in progress at `site`; refused while another one is in progress there."""
    existing = open_visit_at(site.id)
    if existing is not None:
        raise VerificationError(
            _(
                "A verification visit is already in progress at %(site)s (%(number)s). "
                "Continue it, or finish or abandon it first.",
                site=site.name_en,
                number=existing.number,
            ),
            code="conflict",
        )
    visit = VerificationVisit(
        site_id=site.id,
        open_site_id=site.id,
        status=VisitStatus.IN_PROGRESS.value,
        started_by_id=user.id if user is not None else None,
        started_at=utcnow(),
        notes=(notes or "").strip(),
    )
    db.session.add(visit)
    db.session.flush()
    return visit


def _lock(visit: VerificationVisit) -> VerificationVisit:
    """Re-read the visit under a row lock (PostgreSQL), so a finish and a scan serialise."""
    return db.session.scalars(
        sa.select(VerificationVisit)
        .where(VerificationVisit.id == visit.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _require_open(visit: VerificationVisit) -> None:
    if visit.status == VisitStatus.IN_PROGRESS.value:
        return
    if visit.status == VisitStatus.FINISHED.value:
        message = _(
            "This visit is finished; it takes no more scans. Start a new visit to scan again."
        )
    else:
        message = _(
            "This visit was abandoned; it takes no more scans. Start a new visit to scan again."
        )
    raise VerificationError(message, code="closed")


def _sane_time(claimed: datetime | None, visit: VerificationVisit, now: datetime) -> datetime:
    """The phone's time of a scan, kept between the visit's start and now."""
    if claimed is None or claimed > now:
        return now
    return max(claimed, visit.started_at)


def record_scan(
    visit: VerificationVisit,
    *,
    client_id: str,
    tag: str,
    scanned_at: datetime | None = None,
    user=None,
) -> tuple[VisitScan, bool]:
    """Record one scan; returns (scan, created). The same client_id again returns the first.

    A concurrent insert of the same client_id or of the same asset makes the flush fail
    with IntegrityError; the caller rolls back and calls again, and the second call sees
    the first one's row.
    """
    client_id = parse_client_id(client_id)
    existing = db.session.scalar(
        sa.select(VisitScan).where(VisitScan.visit_id == visit.id, VisitScan.client_id == client_id)
    )
    if existing is not None:
        return existing, False
    visit = _lock(visit)
    _require_open(visit)
    tag = normalise_tag(tag)
    if not tag:
        raise VerificationError(_("Nothing was scanned or typed."))
    now = utcnow()
    scan = VisitScan(
        visit_id=visit.id,
        client_id=client_id,
        tag=tag,
        scanned_at=_sane_time(scanned_at, visit, now),
        received_at=now,
        scanned_by_id=user.id if user is not None else None,
    )
    asset = db.session.scalar(sa.select(Asset).where(Asset.tag == tag))
    if asset is None:
        scan.outcome = ScanOutcome.UNKNOWN.value
        key = f"t:{tag}"
    else:
        scan.asset_id = asset.id
        key = f"a:{asset.id}"
        if asset.site_id == visit.site_id:
            scan.outcome = ScanOutcome.FOUND.value
        else:
            scan.outcome = ScanOutcome.UNEXPECTED.value
            scan.registered_site_id = asset.site_id
    seen = db.session.scalar(
        sa.select(VisitScan.id).where(VisitScan.visit_id == visit.id, VisitScan.count_key == key)
    )
    if seen is None:
        scan.count_key = key
    else:
        scan.outcome = ScanOutcome.DUPLICATE.value
        scan.registered_site_id = None
    db.session.add(scan)
    db.session.flush()
    return scan, True


def get_scan(visit: VerificationVisit, scan_id: int) -> VisitScan | None:
    return db.session.scalar(
        sa.select(VisitScan).where(VisitScan.id == scan_id, VisitScan.visit_id == visit.id)
    )


def move_here(visit: VerificationVisit, scan: VisitScan) -> Asset:
    """Register the asset of an unexpected scan at the visit's site (the asset's history
    records the change of site)."""
    visit = _lock(visit)
    if not visit.is_open:
        raise VerificationError(_("The visit is over; assets can no longer be moved from it."))
    if scan.visit_id != visit.id or scan.outcome != ScanOutcome.UNEXPECTED.value:
        raise VerificationError(_("Only an asset registered at another site can be moved here."))
    asset = scan.asset
    if asset is None:
        raise VerificationError(_("That asset no longer exists."))
    if scan.moved_here:
        raise VerificationError(_("%(tag)s was already moved here.", tag=asset.tag))
    if asset.site_id != visit.site_id:
        try:
            update_asset(asset, site_id=visit.site_id)
        except AssetError as exc:
            raise VerificationError(
                _("%(tag)s cannot be moved: %(reason)s", tag=asset.tag, reason=str(exc))
            ) from exc
    scan.moved_here = True
    db.session.flush()
    return asset


def finish_visit(
    visit: VerificationVisit, user=None, notes: str | None = None
) -> VerificationVisit:
    """Save the report, mark the assets seen here as verified, close the visit."""
    visit = _lock(visit)
    _require_open(visit)
    lists = visit_lists(visit)
    verified = {
        row["asset_id"]: row["scanned_at_dt"]
        for row in (*lists["found"], *lists["unexpected"])
        if row["asset_id"] and (row["outcome"] == ScanOutcome.FOUND.value or row["moved_here"])
    }
    if verified:
        for asset in db.session.scalars(sa.select(Asset).where(Asset.id.in_(verified))):
            when = verified[asset.id]
            if asset.last_verified_at is None or asset.last_verified_at < when:
                asset.last_verified_at = when
    counts = lists["counts"]
    visit.expected_count = counts["expected"]
    visit.found_count = counts["found"]
    visit.missing_count = counts["missing"]
    visit.unexpected_count = counts["unexpected"]
    visit.unknown_count = counts["unknown"]
    visit.report = _frozen(lists)
    visit.status = VisitStatus.FINISHED.value
    visit.open_site_id = None
    visit.finished_at = utcnow()
    visit.finished_by_id = user.id if user is not None else None
    if notes is not None and notes.strip():
        visit.notes = notes.strip()
    db.session.flush()
    return visit


def abandon_visit(
    visit: VerificationVisit, user=None, notes: str | None = None
) -> VerificationVisit:
    """Close the visit without a report; nothing is marked verified. Its scans are kept."""
    visit = _lock(visit)
    _require_open(visit)
    visit.status = VisitStatus.ABANDONED.value
    visit.open_site_id = None
    visit.finished_at = utcnow()
    visit.finished_by_id = user.id if user is not None else None
    if notes is not None and notes.strip():
        visit.notes = notes.strip()
    db.session.flush()
    return visit


# --- the lists --------------------------------------------------------------------------


def _asset_row(asset: Asset) -> dict:
    return {
        "asset_id": asset.id,
        "tag": asset.tag,
        "category_en": asset.category.name_en if asset.category else "",
        "category_hi": asset.category.name_hi if asset.category else "",
        "model": str(asset.model) if asset.model else "",
        "serial": asset.serial or "",
        "status": asset.status,
        "location": asset.location,
    }


def _site_ref(site: Site | None) -> dict | None:
    if site is None:
        return None
    return {"id": site.id, "code": site.code, "name_en": site.name_en, "name_hi": site.name_hi}


def visit_lists(visit: VerificationVisit) -> dict:
    """The visit's four lists and counts, live from the register and the scans.

    Rows are plain dicts (the same shape the frozen report keeps). `found` and `unexpected`
    are in scan order; `missing` (expected and not yet found) in tag order.
    """
    scans = db.session.scalars(
        sa.select(VisitScan).where(VisitScan.visit_id == visit.id).order_by(VisitScan.id)
    ).all()
    assets = {
        a.id: a
        for a in db.session.scalars(
            sa.select(Asset).where(Asset.id.in_({s.asset_id for s in scans if s.asset_id}))
        )
    }
    sites = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Site).where(
                Site.id.in_({s.registered_site_id for s in scans if s.registered_site_id})
            )
        )
    }
    found: list[dict] = []
    unexpected: list[dict] = []
    unknown: list[dict] = []
    duplicates = 0
    moved: set[int] = set()
    found_ids: set[int] = set()
    for scan in scans:
        base = {
            "scan_id": scan.id,
            "tag": scan.tag,
            "outcome": scan.outcome,
            "moved_here": scan.moved_here,
            "scanned_at": scan.scanned_at.isoformat(),
            "scanned_at_dt": scan.scanned_at,
            "asset_id": scan.asset_id,
        }
        asset = assets.get(scan.asset_id) if scan.asset_id else None
        if scan.outcome == ScanOutcome.DUPLICATE.value:
            duplicates += 1
        elif scan.outcome == ScanOutcome.UNKNOWN.value:
            unknown.append(base)
        elif asset is None:
            # The asset was deleted since it was scanned: keep the tag, as unknown now.
            unknown.append(base)
        elif scan.outcome == ScanOutcome.FOUND.value:
            found.append({**_asset_row(asset), **base})
            found_ids.add(asset.id)
        else:
            if scan.moved_here:
                moved.add(asset.id)
            unexpected.append(
                {
                    **_asset_row(asset),
                    **base,
                    "registered_site": _site_ref(sites.get(scan.registered_site_id)),
                }
            )
    expected_assets = db.session.scalars(
        sa.select(Asset)
        .where(Asset.site_id == visit.site_id, Asset.status != AssetStatus.CONDEMNED.value)
        .order_by(Asset.tag)
    ).all()
    expected = [a for a in expected_assets if a.id not in moved]
    missing = [_asset_row(a) for a in expected if a.id not in found_ids]
    counts = {
        "expected": len(expected),
        "found": len(found),
        "missing": len(missing),
        "unexpected": len(unexpected),
        "unknown": len(unknown),
        "duplicates": duplicates,
        "scans": len(scans),
    }
    return {
        "counts": counts,
        "missing": missing,
        "found": found,
        "unexpected": unexpected,
        "unknown": unknown,
    }


def _frozen(lists: dict) -> dict:
    """The lists as JSON-safe values, to keep on the finished visit."""

    def plain(row: dict) -> dict:
        return {k: v for k, v in row.items() if k != "scanned_at_dt"}

    return {
        "counts": dict(lists["counts"]),
        **{
            name: [plain(r) for r in lists[name]]
            for name in ("missing", "found", "unexpected", "unknown")
        },
    }


def report_lists(visit: VerificationVisit) -> dict:
    """What a visit's page shows: the frozen report of a finished visit, else the live lists."""
    if visit.status == VisitStatus.FINISHED.value and visit.report:
        return visit.report
    return _frozen(visit_lists(visit))


# --- reading ----------------------------------------------------------------------------


def visits_query(site_id: int | None = None, status: str | None = None) -> sa.Select:
    query = sa.select(VerificationVisit)
    if site_id:
        query = query.where(VerificationVisit.site_id == site_id)
    if status:
        query = query.where(VerificationVisit.status == status)
    return query.order_by(VerificationVisit.started_at.desc(), VerificationVisit.id.desc())


def site_visits(site_id: int, limit: int = 10) -> list[VerificationVisit]:
    return list(db.session.scalars(visits_query(site_id).limit(limit)))


def last_finished(site_id: int) -> VerificationVisit | None:
    return db.session.scalar(
        visits_query(site_id, VisitStatus.FINISHED.value)
        .order_by(None)
        .order_by(VerificationVisit.finished_at.desc(), VerificationVisit.id.desc())
        .limit(1)
    )


def not_verified_query(
    days: int, kind: str | None = None, with_assets: bool = True, now: datetime | None = None
) -> sa.Select:
    """Sites whose last finished visit is older than `days` days, or that never had one.

    Rows: (Site, last finished_at or None, number of assets registered at the site). The
    sites never verified come first, then the longest unverified.
    """
    cutoff = (now or utcnow()) - timedelta(days=max(days, 0))
    last = (
        sa.select(
            VerificationVisit.site_id.label("site_id"),
            sa.func.max(VerificationVisit.finished_at).label("last_at"),
        )
        .where(VerificationVisit.status == VisitStatus.FINISHED.value)
        .group_by(VerificationVisit.site_id)
        .subquery()
    )
    held = (
        sa.select(Asset.site_id.label("site_id"), sa.func.count().label("assets"))
        .where(Asset.status != AssetStatus.CONDEMNED.value)
        .group_by(Asset.site_id)
        .subquery()
    )
    assets = sa.func.coalesce(held.c.assets, 0)
    query = (
        sa.select(Site, last.c.last_at, assets.label("assets"))
        .outerjoin(last, last.c.site_id == Site.id)
        .outerjoin(held, held.c.site_id == Site.id)
        .where(sa.or_(last.c.last_at.is_(None), last.c.last_at < cutoff))
    )
    if kind:
        query = query.where(Site.kind == kind)
    if with_assets:
        query = query.where(assets > 0)
    return query.order_by(last.c.last_at.is_not(None), last.c.last_at.asc(), Site.name_en, Site.id)


def expected_count(site_id: int) -> int:
    """How many assets a visit to this site would expect (registered there, not condemned)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Asset)
            .where(Asset.site_id == site_id, Asset.status != AssetStatus.CONDEMNED.value)
        )
        or 0
    )
