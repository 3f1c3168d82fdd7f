"""Rules for projectors (PJLink state) and VC endpoints (reachability, test calls).

Planning picks the due devices and builds probe targets (passwords decrypted here, never
shown); recording turns probe results into the latest state plus one history row each.
Both take plain arguments and flush; the jobs (devices/jobs.py) commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from inventory.assets.models import Asset
from inventory.catalog.models import Category
from inventory.choices import AssetStatus, CategoryGroup, TestCallResult
from inventory.credentials.models import CredentialProfile
from inventory.devices.models import (
    ProjectorHourly,
    ProjectorSample,
    ProjectorState,
    VcCheck,
    VcHourly,
    VcReachability,
    VcTestCall,
)
from inventory.extensions import db
from inventory.health.services import as_hour, floor_hour, hour_bucket
from inventory.models_base import utcnow
from inventory.probes.pjlink import PjlinkResult, PjlinkTarget
from inventory.probes.tcp import TcpResult, TcpTarget

# Assets out in the field; in store and condemned ones are not polled (as the health sweep).
MONITORED_STATUSES = (
    AssetStatus.DEPLOYED.value,
    AssetStatus.UNDER_REPAIR.value,
    AssetStatus.NON_FUNCTIONAL.value,
)
# A device is due again a little before a whole interval has passed, so a job that runs
# every interval never skips one because of a few seconds of jitter.
SLACK_SECONDS = 15
REMARKS_MAX = 2000
FUTURE_SLACK = timedelta(minutes=5)
LEVEL_ORDER = {"ok": 0, "warning": 1, "error": 2}


class DeviceError(ValueError):
    """A record that cannot be saved as given; the message is shown to the user."""


def is_projector(asset: Asset) -> bool:
    return asset.category is not None and asset.category.group == CategoryGroup.PROJECTOR.value


def is_vc_endpoint(asset: Asset) -> bool:
    return asset.category is not None and asset.category.group == CategoryGroup.VC.value


def _due_assets(group: str, state_model, stamp, now: datetime, every_seconds: int):
    due_before = now - timedelta(seconds=max(0, every_seconds - SLACK_SECONDS))
    query = (
        sa.select(Asset.id, Asset.management_address, Asset.credential_profile_id)
        .join(Category, Category.id == Asset.category_id)
        .outerjoin(state_model, state_model.asset_id == Asset.id)
        .where(
            Category.group == group,
            Asset.status.in_(MONITORED_STATUSES),
            Asset.management_address != "",
            sa.or_(stamp.is_(None), stamp <= due_before),
        )
        .order_by(Asset.id)
    )
    return db.session.execute(query).all()


# --- projectors -----------------------------------------------------------------------------


def projector_targets(
    now: datetime, *, every_seconds: int, port: int = 4352, timeout: float = 5.0
) -> list[PjlinkTarget]:
    """PJLink targets for the projectors due a poll: the projector group, in the field, with
    a management address. The password is the credentials profile's `pjlink_password`."""
    from inventory.credentials.services import read_secrets

    rows = _due_assets(
        CategoryGroup.PROJECTOR.value, ProjectorState, ProjectorState.polled_at, now, every_seconds
    )
    passwords: dict[int, str] = {}
    profile_ids = {row.credential_profile_id for row in rows if row.credential_profile_id}
    for profile in db.session.scalars(
        sa.select(CredentialProfile).where(CredentialProfile.id.in_(profile_ids))
    ):
        try:
            passwords[profile.id] = read_secrets(profile).get("pjlink_password", "")
        except Exception:  # an unreadable key: try without a password (it will be refused)
            passwords[profile.id] = ""
    return [
        PjlinkTarget(
            row.id,
            row.management_address.strip(),
            port,
            password=passwords.get(row.credential_profile_id, ""),
            timeout=timeout,
        )
        for row in rows
    ]


def _state(model, asset_id: int):
    """The state row of an asset, made (race-safe) when it has none yet."""
    row = db.session.get(model, asset_id)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = model(asset_id=asset_id)
            _fill_defaults(row)
            db.session.add(row)
        return row
    except IntegrityError:  # another job made it at the same moment: use theirs
        return db.session.get(model, asset_id, populate_existing=True)


def _fill_defaults(row) -> None:
    if isinstance(row, ProjectorState):
        row.outcome = "unknown"
    else:
        row.reachable = False


def _worst(errors: dict[str, str]) -> str | None:
    if not errors:
        return None
    return max(errors.values(), key=lambda level: LEVEL_ORDER.get(level, 0))


def record_projector_results(results: list[PjlinkResult], now: datetime) -> int:
    """Store each result as the projector's state and one sample; returns how many."""
    for result in results:
        state = _state(ProjectorState, int(result.key))
        state.polled_at = now
        state.outcome = result.outcome.value
        state.error = (result.error or "")[:500]
        status = result.status
        if status is not None:
            lamps = [{"hours": lamp.hours, "on": lamp.on} for lamp in status.lamps]
            state.last_ok_at = now
            state.pjlink_class = status.pjlink_class
            state.power = status.power
            state.lamps = lamps
            if lamps:  # a refused LAMP keeps the hours last read
                state.lamp_hours = max(lamp["hours"] for lamp in lamps)
            state.errors = dict(status.errors)
            state.input = status.input
            state.name = status.name
            state.manufacturer = status.manufacturer
            state.model = status.model
        db.session.add(
            ProjectorSample(
                asset_id=state.asset_id,
                at=now,
                outcome=state.outcome,
                power=status.power if status else None,
                lamp_hours=state.lamp_hours if status and status.lamps else None,
                worst_error=_worst(status.errors) if status else None,
            )
        )
    db.session.flush()
    if results:
        roll_up_hours(floor_hour(now))
    return len(results)


def projector_state(asset_id: int) -> ProjectorState | None:
    return db.session.get(ProjectorState, asset_id)


def latest_lamp_hours(asset_id: int) -> int | None:
    return db.session.scalar(
        sa.select(ProjectorState.lamp_hours).where(ProjectorState.asset_id == asset_id)
    )


# --- VC endpoints ---------------------------------------------------------------------------


def vc_targets(
    now: datetime, *, every_seconds: int, ports: list[int], timeout: float = 3.0
) -> list[TcpTarget]:
    """TCP targets for the VC endpoints due a check (the VC group, in the field, with a
    management address), each tried on `ports`."""
    rows = _due_assets(
        CategoryGroup.VC.value, VcReachability, VcReachability.checked_at, now, every_seconds
    )
    port_list = tuple(int(p) for p in ports)
    return [
        TcpTarget(row.id, row.management_address.strip(), port_list, timeout=timeout)
        for row in rows
    ]


def record_vc_results(results: list[TcpResult], now: datetime) -> int:
    for result in results:
        state = _state(VcReachability, int(result.key))
        state.checked_at = now
        state.reachable = result.ok
        state.ports = [p.port for p in result.ports]
        state.open_ports = result.open_ports
        state.error = (result.error or "")[:500]
        if result.ok:
            state.last_reachable_at = now
        db.session.add(
            VcCheck(
                asset_id=state.asset_id,
                at=now,
                reachable=result.ok,
                open_ports=result.open_ports,
            )
        )
    db.session.flush()
    if results:
        roll_up_hours(floor_hour(now))
    return len(results)


def vc_reachability(asset_id: int) -> VcReachability | None:
    return db.session.get(VcReachability, asset_id)


def prune_history(before: datetime) -> int:
    """Delete projector samples and VC checks older than `before`, and the hours before its
    hour; returns how many rows."""
    removed = 0
    for model in (ProjectorSample, VcCheck):
        removed += db.session.execute(sa.delete(model).where(model.at < before)).rowcount or 0
    for model in (ProjectorHourly, VcHourly):
        stale = sa.delete(model).where(model.hour < floor_hour(before))
        removed += db.session.execute(stale).rowcount or 0
    return removed


# What makes a reading good, per history table.
GOOD_READING = {
    VcHourly: (VcCheck, lambda: VcCheck.reachable.is_(True)),
    ProjectorHourly: (
        ProjectorSample,
        lambda: sa.and_(
            ProjectorSample.outcome == "ok",
            sa.func.coalesce(ProjectorSample.worst_error, "ok") != "error",
        ),
    ),
}


def roll_up_hours(since: datetime) -> int:
    """Recompute VcHourly and ProjectorHourly for the hours from `since` (an hour boundary)
    from the raw checks and polls; an hour is replaced whole, so this is safe to repeat.
    The jobs call it for the current hour after recording; returns the hourly rows written."""
    written = 0
    for hourly, (raw, good) in GOOD_READING.items():
        bucket = hour_bucket(db.session, raw.at)
        rows = db.session.execute(
            sa.select(
                raw.asset_id,
                bucket.label("hour"),
                sa.func.count(),
                sa.func.sum(sa.case((good(), 1), else_=0)),
            )
            .where(raw.at >= since)
            .group_by(raw.asset_id, bucket)
        ).all()
        db.session.execute(sa.delete(hourly).where(hourly.hour >= since))
        values = [
            {"asset_id": a, "hour": as_hour(h), "readings": int(n), "good": int(g or 0)}
            for a, h, n, g in rows
        ]
        for i in range(0, len(values), 1000):
            db.session.execute(sa.insert(hourly), values[i : i + 1000])
        written += len(values)
    db.session.flush()
    return written


# --- test calls -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TestCallFilter:
    __test__ = False

    asset_id: int | None = None
    site_id: int | None = None
    result: str | None = None


def log_test_call(
    asset: Asset,
    *,
    at: datetime | None,
    result: str,
    remarks: str = "",
    logged_by=None,
    now: datetime | None = None,
) -> VcTestCall:
    """Record a test call made from a VC endpoint, at its site."""
    now = now or utcnow()
    if not is_vc_endpoint(asset):
        raise DeviceError(_("Test calls are logged for video conferencing equipment only."))
    if result not in TestCallResult.values():
        raise DeviceError(_("Choose how the test call went."))
    at = at or now
    if at.tzinfo is None:
        raise DeviceError(_("Give the time of the test call."))
    if at > now + FUTURE_SLACK:
        raise DeviceError(_("The test call cannot be in the future."))
    remarks = (remarks or "").strip()
    if len(remarks) > REMARKS_MAX:
        raise DeviceError(_("Remarks can be at most %(n)d characters long.", n=REMARKS_MAX))
    if result != TestCallResult.OK.value and not remarks:
        raise DeviceError(_("Say what went wrong in the remarks."))
    call = VcTestCall(
        asset_id=asset.id,
        site_id=asset.site_id,
        at=at,
        result=result,
        remarks=remarks,
        logged_by_id=getattr(logged_by, "id", None),
    )
    db.session.add(call)
    db.session.flush()
    return call


def test_call_query(filters: TestCallFilter | None = None) -> sa.Select:
    filters = filters or TestCallFilter()
    query = sa.select(VcTestCall).order_by(VcTestCall.at.desc(), VcTestCall.id.desc())
    if filters.asset_id:
        query = query.where(VcTestCall.asset_id == filters.asset_id)
    if filters.site_id:
        query = query.where(VcTestCall.site_id == filters.site_id)
    if filters.result:
        query = query.where(VcTestCall.result == filters.result)
    return query


test_call_query.__test__ = False  # type: ignore[attr-defined]


def recent_test_calls(asset_id: int, limit: int = 5) -> list[VcTestCall]:
    return list(db.session.scalars(test_call_query(TestCallFilter(asset_id=asset_id)).limit(limit)))
