"""The rules of the phone pages: reading a scanned or typed tag, reporting a fault from the
site, confirming that an asset is where the register says.

Tags are matched after normalising what field staff type or a camera reads: upper case,
Devanagari digits as ASCII digits, any dash as "-", spaces as "-", and the tag inside a
scanned label URL (``<any host>/a/<tag>``). Nothing here reads the request.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.assets.models import Asset
from inventory.choices import (
    CategoryGroup,
    ReporterKind,
    TicketCategory,
    TicketPriority,
)
from inventory.extensions import db
from inventory.health import reports as health_reports
from inventory.models_base import utcnow
from inventory.tickets import services as tickets
from inventory.tickets.models import Ticket

TAG_MAX = 32
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
DUPLICATE_WINDOW = timedelta(minutes=10)
# What a tag may be made of (inventory.assets.services.TAG_RE): checked before any lookup.
TAG_RE = re.compile(r"^[A-Z0-9][A-Z0-9/_-]{1,31}$")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
_DEVANAGARI_DIGITS = {0x0966 + n: str(n) for n in range(10)}  # Devanagari digits 0-9
# The label URL's path: /a/<tag> (possibly under a prefix such as /inventory/a/<tag>).
_LABEL_PATH = re.compile(r"(?:^|/)a/(?P<tag>[^?#]+?)/?$")


class FieldError(ValueError):
    """A phone action that breaks a rule; the message is shown to the user as is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalise_tag(text: str | None) -> str:
    """What someone typed, as the register writes tags: "gon prj 0001" -> "GON-PRJ-0001"."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.translate(_DASHES).translate(_DEVANAGARI_DIGITS).strip().upper()
    return re.sub(r"\s+", "-", text)


def tag_from_text(text: str | None) -> str | None:
    """The tag in a scanned or typed text: a label URL (any host, path /a/<tag>) or a bare
    tag. None when the text holds no well-formed tag."""
    text = (text or "").strip()
    if not text:
        return None
    if "://" in text or text.startswith("/"):
        parts = urlsplit(text)
        match = _LABEL_PATH.search(parts.path)
        if not match:
            return None
        text = unquote(match.group("tag"))
    tag = normalise_tag(text)
    return tag if TAG_RE.match(tag) else None


def find_asset(tag: str | None) -> Asset | None:
    """The asset with this tag (normalised first), or None."""
    tag = tag_from_text(tag)
    if tag is None:
        return None
    return db.session.scalar(sa.select(Asset).where(Asset.tag == tag))


# --- what the phone page shows ----------------------------------------------------------


@dataclass(frozen=True)
class HealthSummary:
    """The compact health line of the phone page (from the health domain's own data)."""

    monitored: bool
    state: str  # up, down or unknown
    state_since: datetime | None
    last_polled_at: datetime | None
    last_outcome: str | None
    last_ok_at: datetime | None
    sys_name: str  # device-reported: untrusted text


def health_summary(asset: Asset) -> HealthSummary | None:
    """None when the asset is neither monitored nor ever polled (no health to show)."""
    monitored = health_reports.is_monitored(asset)
    health = asset.health
    if not monitored and not (health and health.last_polled_at):
        return None
    state = health.state if health and health.state in health_reports.STATES else "unknown"
    return HealthSummary(
        monitored=monitored,
        state=state,
        state_since=health.state_since if health else None,
        last_polled_at=health.last_polled_at if health else None,
        last_outcome=health.last_outcome if health else None,
        last_ok_at=health.last_ok_at if health else None,
        sys_name=(health.sys_name or "") if health else "",
    )


def open_tickets(asset: Asset) -> list[Ticket]:
    return tickets.open_tickets_for_asset(asset.id)


# --- actions ----------------------------------------------------------------------------

_CATEGORY_FOR_GROUP = {
    CategoryGroup.NETWORKING.value: TicketCategory.NETWORK.value,
    CategoryGroup.PROJECTOR.value: TicketCategory.PROJECTOR.value,
    CategoryGroup.VC.value: TicketCategory.VC.value,
}


def default_fault_category(asset: Asset) -> str:
    """The ticket category a fault on this kind of equipment most likely is."""
    group = asset.category.group if asset.category else ""
    return _CATEGORY_FOR_GROUP.get(group, TicketCategory.HARDWARE.value)


def report_fault(
    asset: Asset,
    *,
    title: str,
    description: str = "",
    category: str | None = None,
    priority: str = TicketPriority.NORMAL.value,
    reporter=None,
) -> tuple[Ticket, bool]:
    """Open a maintenance ticket on the asset and its site, reported by a scan at the site.

    Returns (ticket, created). The same report sent again by the same person within
    DUPLICATE_WINDOW returns the ticket already opened, with created False.
    """
    title = " ".join((title or "").split())
    description = (description or "").strip()
    category = category or default_fault_category(asset)
    if not title:
        raise FieldError(_("Say in a few words what is wrong."), "title")
    if len(title) > TITLE_MAX:
        raise FieldError(
            _("The title is too long (at most %(n)d characters).", n=TITLE_MAX), "title"
        )
    if len(description) > DESCRIPTION_MAX:
        raise FieldError(
            _("The description is too long (at most %(n)d characters).", n=DESCRIPTION_MAX),
            "description",
        )
    if category not in TicketCategory.values():
        raise FieldError(_("Choose a category from the list."), "category")
    if priority not in TicketPriority.values():
        raise FieldError(_("Choose a priority from the list."), "priority")
    duplicate = _recent_duplicate(asset, title, reporter)
    if duplicate is not None:
        return duplicate, False
    ticket = tickets.open_ticket(
        site=asset.site,
        asset=asset,
        title=title,
        description=description,
        category=category,
        priority=priority,
        reporter=reporter,
        reporter_kind=ReporterKind.SCAN.value,
    )
    return ticket, True


def _recent_duplicate(asset: Asset, title: str, reporter) -> Ticket | None:
    """The same fault sent twice (a double tap, a resend on a poor link): the still-open
    ticket this reporter opened on this asset with this title in the last few minutes."""
    since = utcnow() - DUPLICATE_WINDOW
    query = (
        sa.select(Ticket)
        .where(
            Ticket.asset_id == asset.id,
            Ticket.reporter_kind == ReporterKind.SCAN.value,
            Ticket.reporter_id == (reporter.id if reporter is not None else None),
            Ticket.title == title,
            Ticket.opened_at >= since,
            Ticket.status.in_(tickets.OPEN_STATUSES),
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def mark_verified(asset: Asset, when: datetime | None = None) -> Asset:
    """Someone at the site saw the asset: its last-verified time becomes `when` (now).

    The change is recorded in the asset's history by the Audited mixin. A time in the
    future, or without a time zone, is refused; an earlier time than the one recorded
    leaves the newer one.
    """
    now = utcnow()
    when = when or now
    if when.tzinfo is None:
        raise FieldError(_("The verification time needs a time zone."))
    if when > now:
        raise FieldError(_("An asset cannot be verified in the future."))
    if asset.last_verified_at is None or asset.last_verified_at < when:
        asset.last_verified_at = when
        db.session.flush()
    return asset
