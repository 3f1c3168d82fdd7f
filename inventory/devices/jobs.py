"""The device jobs the scheduler runs (inventory/jobs.py): PJLink polls and VC reachability.

Each job plans the due devices, ends that transaction, probes them with no transaction
open (a slow device never holds a database lock), then records every result and commits
once. Old history (projector samples, VC checks) is trimmed after DEVICES_KEEP_DAYS.
Two runs at once cannot make two state rows for a device (asset_id is the key; the
loser of the insert race updates the winner's row).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from inventory.devices import services
from inventory.extensions import db
from inventory.probes import pjlink, tcp


def _prune(now: datetime) -> int:
    keep = float(current_app.config["DEVICES_KEEP_DAYS"])
    return services.prune_history(now - timedelta(days=keep))


def pjlink_poll(now: datetime) -> str | None:
    """Poll the due projectors over PJLink (`pjlink-poll`, PJLINK_EVERY_SECONDS)."""
    config = current_app.config
    targets = services.projector_targets(
        now,
        every_seconds=int(config["PJLINK_EVERY_SECONDS"]),
        port=int(config["PJLINK_PORT"]),
        timeout=float(config["PJLINK_TIMEOUT"]),
    )
    db.session.rollback()  # nothing written: end the read transaction before the network
    results = pjlink.run_batch(targets, concurrency=int(config["DEVICES_CONCURRENCY"]))
    services.record_projector_results(results, now)
    pruned = _prune(now)
    db.session.commit()
    if not results and not pruned:
        return None
    ok = sum(1 for r in results if r.ok)
    return f"polled {len(results)} projectors, {ok} answered"


def vc_reachability(now: datetime) -> str | None:
    """Check the due VC endpoints' service ports (`vc-reachability`, VC_EVERY_SECONDS)."""
    config = current_app.config
    targets = services.vc_targets(
        now,
        every_seconds=int(config["VC_EVERY_SECONDS"]),
        ports=list(config["VC_PORTS"]),
        timeout=float(config["VC_TIMEOUT"]),
    )
    db.session.rollback()
    results = tcp.run_batch(targets, concurrency=int(config["DEVICES_CONCURRENCY"]))
    services.record_vc_results(results, now)
    pruned = _prune(now)
    db.session.commit()
    if not results and not pruned:
        return None
    ok = sum(1 for r in results if r.ok)
    return f"checked {len(results)} VC endpoints, {ok} reachable"
