"""The preventive maintenance job the scheduler runs every MAINTENANCE_EVERY_SECONDS.

Each plan is brought up to date and committed on its own, so one broken plan never holds
back the others. Two runs at the same moment cannot open two tickets for one asset and
plan: open_ticket's open_key is unique while a ticket is open, and PlanState rows are
unique per plan and asset (see maintenance/services.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from inventory.audit.services import acting_as
from inventory.extensions import db
from inventory.maintenance import services
from inventory.maintenance.models import MaintenancePlan

log = logging.getLogger(__name__)


def run_one(plan_id: int, now: datetime) -> services.PlanRun | None:
    """Run one plan and commit; None if the plan no longer exists."""
    plan = db.session.get(MaintenancePlan, plan_id)
    if plan is None:
        return None
    with acting_as(None):  # the system opens these tickets
        result = services.run_plan(plan, now)
    db.session.commit()
    return result


def run(now: datetime, plan_id: int | None = None) -> str | None:
    """Every active plan (and inactive ones still waiting on a ticket), or just `plan_id`.
    Returns a one-line summary, or None when nothing changed."""
    ids = (
        [plan_id]
        if plan_id is not None
        else sorted(set(services.active_plan_ids()) | set(services.plan_ids_with_pending()))
    )
    opened = advanced = started = failed = refused = 0
    for pid in ids:
        try:
            result = run_one(pid, now)
        except Exception:  # one broken plan must not stop the others
            db.session.rollback()
            log.exception("maintenance plan %s failed", pid)
            failed += 1
            continue
        if result is not None:
            opened += len(result.opened)
            advanced += result.advanced
            started += result.started
            refused += len(result.refused)
            for reason in result.refused:
                log.warning("maintenance plan %s: ticket refused: %s", pid, reason)
    if not (opened or advanced or started or failed or refused):
        return None
    parts = [f"{opened} tickets opened", f"{advanced} due dates moved on"]
    if started:
        parts.append(f"{started} assets newly scheduled")
    if refused:
        parts.append(f"{refused} tickets refused (see the log)")
    if failed:
        parts.append(f"{failed} plans failed")
    return ", ".join(parts)
