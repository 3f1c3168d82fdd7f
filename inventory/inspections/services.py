"""Inspection rules: the checklist, recording inspections, and the weekly quota report.

Weeks run Monday 00:00 to Sunday 23:59:59 in the society's time zone (Asia/Kolkata), and an
inspection counts in the week of its `inspected_at` (when the visit took place).

Who counts as an inspector in a week's report: every active user whose role is
"engineer" (field staff, such as the District Service Provider's people), plus anyone,
whatever the role or state, who recorded at least one inspection in the weeks shown.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.audit.models import ChangeLog
from inventory.auth.models import User
from inventory.choices import InspectionAnswerValue, Role
from inventory.extensions import db
from inventory.inspections.models import ChecklistItem, Inspection, InspectionAnswer
from inventory.models_base import utcnow
from inventory.sites.models import Site


class InspectionError(ValueError):
    """An inspection or checklist change that breaks a rule; the message is shown to the user."""


# A CSC surprise inspection, as the DSP and the DeGS run it (English, Hindi).
DEFAULT_CHECKLIST = (
    ("Operator present at the centre", "केन्द्र पर संचालक उपस्थित"),
    ("Citizen charter and rate list displayed", "नागरिक चार्टर और दर सूची प्रदर्शित"),
    ("CSC board and ID displayed outside", "सीएससी बोर्ड और आईडी बाहर प्रदर्शित"),
    ("Biometric device working", "बायोमेट्रिक उपकरण कार्यरत"),
    ("Receipts issued for services", "सेवाओं की रसीद दी जा रही है"),
    ("Charges as per the rate list", "दर सूची के अनुसार शुल्क"),
    ("Internet link working", "इंटरनेट कनेक्शन कार्यरत"),
    ("Computer, printer and scanner working", "कम्प्यूटर, प्रिंटर और स्कैनर कार्यरत"),
    ("Complaint register available", "शिकायत पंजिका उपलब्ध"),
    ("Cleanliness and seating for citizens", "स्वच्छता और नागरिकों के बैठने की व्यवस्था"),
)

TEXT_MAX = 300
NOTE_MAX = 500
REMARKS_MAX = 4000
FUTURE_SLACK = timedelta(minutes=10)  # a phone's clock may run a little ahead
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
ACCURACY_MAX_M = 100_000


# --- the checklist -----------------------------------------------------------------------


def checklist(include_inactive: bool = True) -> list[ChecklistItem]:
    query = sa.select(ChecklistItem).order_by(ChecklistItem.position, ChecklistItem.id)
    if not include_inactive:
        query = query.where(ChecklistItem.active.is_(True))
    return list(db.session.scalars(query))


def active_items() -> list[ChecklistItem]:
    return checklist(include_inactive=False)


def _clean_text(text_en: str, text_hi: str) -> tuple[str, str]:
    text_en = " ".join((text_en or "").split())
    text_hi = " ".join((text_hi or "").split())
    if not text_en:
        raise InspectionError(_("Write the question in English."))
    if len(text_en) > TEXT_MAX or len(text_hi) > TEXT_MAX:
        raise InspectionError(_("A question can be at most %(n)d characters long.", n=TEXT_MAX))
    return text_en, text_hi


def _check_duplicate(text_en: str, item_id: int | None) -> None:
    clash = db.session.scalar(
        sa.select(ChecklistItem.id).where(
            sa.func.lower(ChecklistItem.text_en) == text_en.lower(),
            ChecklistItem.id != (item_id or 0),
        )
    )
    if clash:
        raise InspectionError(_("The checklist already has the question “%(text)s”.", text=text_en))


def create_item(text_en: str, text_hi: str = "") -> ChecklistItem:
    text_en, text_hi = _clean_text(text_en, text_hi)
    _check_duplicate(text_en, None)
    last = db.session.scalar(sa.select(sa.func.max(ChecklistItem.position))) or 0
    item = ChecklistItem(text_en=text_en, text_hi=text_hi, active=True, position=last + 1)
    db.session.add(item)
    db.session.flush()
    return item


def update_item(item: ChecklistItem, text_en: str, text_hi: str = "") -> ChecklistItem:
    text_en, text_hi = _clean_text(text_en, text_hi)
    _check_duplicate(text_en, item.id)
    item.text_en, item.text_hi = text_en, text_hi
    db.session.flush()
    return item


def set_item_active(item: ChecklistItem, active: bool) -> None:
    item.active = bool(active)
    db.session.flush()


def move_item(item: ChecklistItem, direction: str) -> bool:
    """Move an item one place up or down; False when it is already at that end."""
    if direction not in ("up", "down"):
        raise InspectionError(_("Move an item up or down."))
    items = checklist()
    index = next(i for i, other in enumerate(items) if other.id == item.id)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    for position, each in enumerate(items, start=1):
        if each.position != position:
            each.position = position
    db.session.flush()
    return True


def answer_count(item: ChecklistItem) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(InspectionAnswer.item_id == item.id))


def answer_counts() -> dict[int, int]:
    return dict(
        db.session.execute(
            sa.select(InspectionAnswer.item_id, sa.func.count()).group_by(InspectionAnswer.item_id)
        ).all()
    )


def delete_item(item: ChecklistItem) -> None:
    """Only an item no inspection answered; the others are deactivated instead."""
    used = answer_count(item)
    if used:
        raise InspectionError(
            _(
                "“%(text)s” is answered in %(n)d inspections, so it cannot be deleted. "
                "Deactivate it instead: it is no longer asked, and old answers stay readable.",
                text=item.text_en,
                n=used,
            )
        )
    db.session.delete(item)
    db.session.flush()


def ensure_default_checklist() -> int:
    """Add the standard CSC checklist when there is no checklist at all; returns items added."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistItem)):
        return 0
    for position, (text_en, text_hi) in enumerate(DEFAULT_CHECKLIST, start=1):
        db.session.add(ChecklistItem(text_en=text_en, text_hi=text_hi, position=position))
    db.session.flush()
    return len(DEFAULT_CHECKLIST)


# --- recording inspections ---------------------------------------------------------------


@dataclass
class Location:
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None


def check_location(latitude, longitude, accuracy_m) -> Location:
    """Both coordinates or neither, in range, finite; accuracy only with coordinates."""

    def number(value, label):
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InspectionError(_("%(field)s is not a number.", field=label)) from None
        if not math.isfinite(number):
            raise InspectionError(_("%(field)s is not a number.", field=label))
        return number

    lat = number(latitude, _("Latitude"))
    lon = number(longitude, _("Longitude"))
    acc = number(accuracy_m, _("Accuracy"))
    if (lat is None) != (lon is None):
        raise InspectionError(_("Give both latitude and longitude, or neither."))
    if lat is not None and not -90 <= lat <= 90:
        raise InspectionError(_("Latitude must be between -90 and 90 degrees."))
    if lon is not None and not -180 <= lon <= 180:
        raise InspectionError(_("Longitude must be between -180 and 180 degrees."))
    if acc is not None:
        if lat is None:
            raise InspectionError(_("An accuracy needs a latitude and longitude."))
        if not 0 <= acc <= ACCURACY_MAX_M:
            raise InspectionError(
                _("Accuracy must be between 0 and %(max)d metres.", max=ACCURACY_MAX_M)
            )
    return Location(lat, lon, acc)


def _check_answers(
    answers: dict[int, tuple[str, str]], required: list[ChecklistItem]
) -> dict[int, tuple[str, str]]:
    valid = set(InspectionAnswerValue.values())
    cleaned: dict[int, tuple[str, str]] = {}
    for item_id, (value, note) in answers.items():
        if not value:
            continue
        if value not in valid:
            raise InspectionError(_("Answer each question with yes, no or not applicable."))
        note = " ".join((note or "").split())
        if len(note) > NOTE_MAX:
            raise InspectionError(_("A note can be at most %(n)d characters long.", n=NOTE_MAX))
        cleaned[int(item_id)] = (value, note)
    missing = [item for item in required if item.id not in cleaned]
    if missing:
        raise InspectionError(
            _(
                "Answer every question of the checklist: “%(text)s” is not answered.",
                text=missing[0].text_en,
            )
        )
    known = set(
        db.session.scalars(sa.select(ChecklistItem.id).where(ChecklistItem.id.in_(cleaned)))
    )
    if set(cleaned) - known:
        raise InspectionError(_("The checklist changed meanwhile. Reload the page and try again."))
    return cleaned


def _check_common(site_id, inspected_at: datetime, remarks: str, feedback: str, now: datetime):
    if not site_id or db.session.get(Site, site_id) is None:
        raise InspectionError(_("Choose the site you inspected."))
    if inspected_at is None or inspected_at.tzinfo is None:
        raise InspectionError(_("Give the date and time of the visit."))
    if inspected_at > now + FUTURE_SLACK:
        raise InspectionError(_("The visit cannot be in the future."))
    if inspected_at < EARLIEST:
        raise InspectionError(_("The date of the visit is too far in the past."))
    if len(remarks or "") > REMARKS_MAX or len(feedback or "") > REMARKS_MAX:
        raise InspectionError(
            _("Remarks and feedback can be at most %(n)d characters each.", n=REMARKS_MAX)
        )


def record_inspection(
    *,
    site_id: int,
    inspector: User,
    inspected_at: datetime,
    answers: dict[int, tuple[str, str]],
    remarks: str = "",
    feedback: str = "",
    photo=None,
    latitude=None,
    longitude=None,
    accuracy_m=None,
    now: datetime | None = None,
) -> Inspection:
    """A new inspection. `answers` maps checklist item id -> (yes/no/na, note); every active
    item needs one. Everything is checked before anything is added to the session."""
    now = now or utcnow()
    _check_common(site_id, inspected_at, remarks, feedback, now)
    location = check_location(latitude, longitude, accuracy_m)
    cleaned = _check_answers(answers, active_items())
    inspection = Inspection(
        site_id=site_id,
        inspector_id=inspector.id,
        inspected_at=inspected_at,
        remarks=(remarks or "").strip(),
        feedback=(feedback or "").strip(),
        photo_id=photo.id if photo is not None else None,
        latitude=location.latitude,
        longitude=location.longitude,
        accuracy_m=location.accuracy_m,
    )
    inspection.answers = [
        InspectionAnswer(item_id=item_id, answer=value, note=note)
        for item_id, (value, note) in cleaned.items()
    ]
    db.session.add(inspection)
    db.session.flush()
    return inspection


KEEP = object()  # update_inspection(photo=KEEP): leave the photo as it is


def update_inspection(
    inspection: Inspection,
    *,
    site_id: int,
    inspected_at: datetime,
    answers: dict[int, tuple[str, str]],
    remarks: str = "",
    feedback: str = "",
    photo=KEEP,
    latitude=None,
    longitude=None,
    accuracy_m=None,
    now: datetime | None = None,
) -> Inspection:
    """Correct an inspection. Items it answered stay required; items added to the checklist
    since may be answered now. `photo`: KEEP, None (remove) or a StoredFile."""
    now = now or utcnow()
    _check_common(site_id, inspected_at, remarks, feedback, now)
    location = check_location(latitude, longitude, accuracy_m)
    existing = {answer.item_id: answer for answer in inspection.answers}
    required = [answer.item for answer in inspection.answers]
    cleaned = _check_answers(answers, required)
    with db.session.no_autoflush:
        inspection.site_id = site_id
        inspection.inspected_at = inspected_at
        inspection.remarks = (remarks or "").strip()
        inspection.feedback = (feedback or "").strip()
        inspection.latitude = location.latitude
        inspection.longitude = location.longitude
        inspection.accuracy_m = location.accuracy_m
        if photo is not KEEP:
            inspection.photo_id = photo.id if photo is not None else None
        for item_id, (value, note) in cleaned.items():
            if item_id in existing:
                existing[item_id].answer = value
                existing[item_id].note = note
            else:
                inspection.answers.append(
                    InspectionAnswer(item_id=item_id, answer=value, note=note)
                )
    db.session.flush()
    return inspection


def delete_inspection(inspection: Inspection) -> None:
    db.session.delete(inspection)
    db.session.flush()


def sorted_answers(inspection: Inspection) -> list[InspectionAnswer]:
    """Answers in checklist order (deactivated items too)."""
    return sorted(inspection.answers, key=lambda a: (a.item.position, a.item.id))


def answer_summary(inspection: Inspection) -> Counter:
    return Counter(answer.answer for answer in inspection.answers)


def history(inspection: Inspection, limit: int = 200) -> list[ChangeLog]:
    """Changes to the inspection and later changes to its answers, newest first."""
    answer_ids = [answer.id for answer in inspection.answers if answer.id]
    condition = sa.and_(
        ChangeLog.object_type == "inspections", ChangeLog.object_id == inspection.id
    )
    if answer_ids:
        condition = sa.or_(
            condition,
            sa.and_(
                ChangeLog.object_type == "inspection_answers",
                ChangeLog.object_id.in_(answer_ids),
                ChangeLog.action != "create",  # the answers as first given are on the page
            ),
        )
    return list(
        db.session.scalars(
            sa.select(ChangeLog).where(condition).order_by(ChangeLog.id.desc()).limit(limit)
        )
    )


# --- lists -------------------------------------------------------------------------------


def inspection_query(
    *,
    inspector_id: int | None = None,
    site_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
):
    """Inspections, newest visit first; start inclusive, end exclusive (UTC datetimes)."""
    query = sa.select(Inspection).order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
    if inspector_id:
        query = query.where(Inspection.inspector_id == inspector_id)
    if site_id:
        query = query.where(Inspection.site_id == site_id)
    if start is not None:
        query = query.where(Inspection.inspected_at >= start)
    if end is not None:
        query = query.where(Inspection.inspected_at < end)
    return query


def recent_for_site(site_id: int, limit: int = 5) -> tuple[list[Inspection], int]:
    """A site's latest inspections and how many it has in all."""
    items = list(db.session.scalars(inspection_query(site_id=site_id).limit(limit)))
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(Inspection).where(Inspection.site_id == site_id)
    )
    return items, total


def inspector_choices() -> list[User]:
    """Users offered in the list's filter: engineers and anyone who has inspected."""
    recorded = sa.select(Inspection.inspector_id).distinct()
    return list(
        db.session.scalars(
            sa.select(User)
            .where(sa.or_(User.role == Role.ENGINEER.value, User.id.in_(recorded)))
            .order_by(User.full_name, User.username)
        )
    )


# --- weeks and the quota -----------------------------------------------------------------


def week_start(day: date) -> date:
    """The Monday of the week of `day`."""
    return day - timedelta(days=day.weekday())


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(tz).date()


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC [start, end) covering the local days first..last."""
    start = datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def week_bounds(monday: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return day_bounds(monday, monday + timedelta(days=6), tz)


def _inspectors(start: datetime, end: datetime) -> list[User]:
    """Active engineers, and whoever recorded an inspection between start and end."""
    recorded = sa.select(Inspection.inspector_id).where(
        Inspection.inspected_at >= start, Inspection.inspected_at < end
    )
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                sa.or_(
                    sa.and_(User.role == Role.ENGINEER.value, User.is_active.is_(True)),
                    User.id.in_(recorded),
                )
            )
            .order_by(User.full_name, User.username)
        )
    )


def _counts_by_week(start: datetime, end: datetime, tz: ZoneInfo) -> Counter:
    """(inspector id, Monday) -> inspections, counted in local time."""
    counts: Counter = Counter()
    rows = db.session.execute(
        sa.select(Inspection.inspector_id, Inspection.inspected_at).where(
            Inspection.inspected_at >= start, Inspection.inspected_at < end
        )
    )
    for inspector_id, inspected_at in rows:
        counts[(inspector_id, week_start(inspected_at.astimezone(tz).date()))] += 1
    return counts


@dataclass
class WeekRow:
    user: User
    count: int
    met: bool


@dataclass
class WeekReport:
    monday: date
    sunday: date
    quota: int
    rows: list[WeekRow]
    is_current: bool
    is_future: bool

    @property
    def met(self) -> int:
        return sum(1 for row in self.rows if row.met)

    @property
    def not_met(self) -> int:
        return len(self.rows) - self.met

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)


def weekly_report(day: date, *, quota: int, tz: ZoneInfo, today: date | None = None) -> WeekReport:
    """Each inspector's inspections in the week of `day` against the quota."""
    monday = week_start(day)
    start, end = week_bounds(monday, tz)
    counts = _counts_by_week(start, end, tz)
    rows = [
        WeekRow(user, counts[(user.id, monday)], counts[(user.id, monday)] >= quota)
        for user in _inspectors(start, end)
    ]
    rows.sort(key=lambda row: (row.met, row.count, row.user.display_name.lower()))
    this_monday = week_start(today or local_today(tz))
    return WeekReport(
        monday, monday + timedelta(days=6), quota, rows, monday == this_monday, monday > this_monday
    )


@dataclass
class WeeksRow:
    user: User
    counts: list[int]
    met: int = 0  # finished weeks in which the quota was met


@dataclass
class WeeksReport:
    mondays: list[date]
    quota: int
    rows: list[WeeksRow] = field(default_factory=list)
    current: date | None = None  # the Monday of this week, if shown (not yet over)

    @property
    def finished_weeks(self) -> int:
        return sum(1 for monday in self.mondays if monday != self.current)


def weeks_report(
    last_day: date, weeks: int, *, quota: int, tz: ZoneInfo, today: date | None = None
) -> WeeksReport:
    """Inspections per inspector in each of `weeks` weeks ending with the week of last_day."""
    last_monday = week_start(last_day)
    mondays = [last_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    start, _unused = week_bounds(mondays[0], tz)
    _unused, end = week_bounds(last_monday, tz)
    counts = _counts_by_week(start, end, tz)
    this_monday = week_start(today or local_today(tz))
    report = WeeksReport(mondays, quota, current=this_monday if this_monday in mondays else None)
    for user in _inspectors(start, end):
        row = WeeksRow(user, [counts[(user.id, monday)] for monday in mondays])
        row.met = sum(
            1
            for monday, count in zip(mondays, row.counts, strict=True)
            if count >= quota and monday != report.current
        )
        report.rows.append(row)
    return report


# --- the demo ----------------------------------------------------------------------------

# (site code, username, days before today, local time, answers "no" by checklist position
#  with a note, remarks, feedback, (latitude, longitude, accuracy) or None)
DEMO_VISITS = (
    (
        "CSC-MNK-01",
        "engineer",
        1,
        (11, 20),
        {4: "Mantra MFS100 not detected; VLE uses his own phone OTP."},
        "Biometric device faulty; ticket to be raised with the vendor. Rate list displayed.",
        "Two citizens waiting for income certificates said service was quick.",
        (27.0612, 82.0157, 18.0),
    ),
    (
        "CSC-CLG-01",
        "engineer",
        8,
        (10, 5),
        {},
        "Centre in good order. Receipts issued for every service seen.",
        "VLE asked for a second printer cartridge.",
        (27.1829, 81.7312, 25.0),
    ),
    (
        "CSC-NWB-01",
        "engineer",
        10,
        (15, 40),
        {
            2: "Rate list missing; told the VLE to put it up today.",
            7: "Link down since morning (4G dongle).",
        },
        "Rate list not displayed. Internet down; services paused.",
        "A citizen was charged ₹50 for a ₹30 service; refund made in front of us.",
        None,
    ),
    (
        "CSC-WZG-01",
        "manager",
        16,
        (12, 0),
        {10: "Waiting area dusty."},
        "Surprise visit with the e-District Manager.",
        "",
        (26.9551, 81.8432, 40.0),
    ),
)


def load_demo_inspections(today: date, tz: ZoneInfo) -> int:
    """The demo's checklist answers for a few CSC visits; nothing when any inspection exists."""
    from inventory.audit.services import acting_as
    from inventory.auth.services import get_user_by_username
    from inventory.sites.services import get_site_by_code

    if db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)):
        return 0
    items = active_items()
    made = 0
    for code, username, days, (hour, minute), noes, remarks, feedback, where in DEMO_VISITS:
        site, user = get_site_by_code(code), get_user_by_username(username)
        if site is None or user is None:
            continue
        when = datetime.combine(today - timedelta(days=days), time(hour, minute), tzinfo=tz)
        answers = {
            item.id: ("no", noes[position]) if position in noes else ("yes", "")
            for position, item in enumerate(items, start=1)
        }
        latitude, longitude, accuracy = where or (None, None, None)
        with acting_as(user):
            record_inspection(
                site_id=site.id,
                inspector=user,
                inspected_at=when.astimezone(UTC),
                answers=answers,
                remarks=remarks,
                feedback=feedback,
                latitude=latitude,
                longitude=longitude,
                accuracy_m=accuracy,
            )
        made += 1
    return made
