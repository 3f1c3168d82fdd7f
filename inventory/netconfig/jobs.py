"""The `netconfig-backup` job (every NETCONFIG_EVERY_SECONDS): facts and a configuration
backup of each enabled SSH device whose last backup is older than NETCONFIG_BACKUP_HOURS.

Plan and claim (a conditional UPDATE of `last_attempt_at`, committed), then collect in a
thread pool of NETCONFIG_CONCURRENCY with no database session open, then record each result
and commit it on its own. Timeouts, refused logins and changed host keys are results.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from flask import current_app

from inventory.audit.services import acting_as
from inventory.extensions import db
from inventory.netconfig import services

log = logging.getLogger(__name__)


def backup(now: datetime) -> str | None:
    config = current_app.config
    hours = float(config["NETCONFIG_BACKUP_HOURS"])
    retry = float(config["NETCONFIG_EVERY_SECONDS"]) / 2
    timeout = float(config["NETCONFIG_TIMEOUT_SECONDS"])
    targets = []
    skipped = 0
    cache: dict = {}
    for device in services.due_devices(now, hours, retry):
        try:
            target = services.target_of(device, timeout, cache)
        except (services.NetconfigError, ValueError) as exc:
            log.warning("netconfig: asset %s skipped: %s", device.asset_id, exc)
            skipped += 1
            continue
        if services.claim(device, now, retry):
            targets.append(target)
    db.session.commit()
    db.session.remove()  # no session held while the devices answer
    if not targets and not skipped:
        return None
    results = services.run_collections(targets, int(config["NETCONFIG_CONCURRENCY"]))
    outcomes: Counter = Counter()
    changed = 0
    for result in results:
        try:
            with acting_as(None):
                before = services.latest_version(result.key)
                services.record_result(result, now)
                after = services.latest_version(result.key)
            db.session.commit()
        except Exception:  # one device's bad record must not stop the others
            db.session.rollback()
            log.exception("netconfig: recording asset %s failed", result.key)
            outcomes["failed"] += 1
            continue
        outcomes[result.outcome.value] += 1
        changed += (after is not None) and (before is None or after.id != before.id)
    parts = [f"{len(targets)} devices", f"{changed} new configurations"]
    parts += [f"{n} {name}" for name, n in sorted(outcomes.items()) if name != "ok"]
    if skipped:
        parts.append(f"{skipped} skipped (no address or SSH credentials)")
    return ", ".join(parts)
