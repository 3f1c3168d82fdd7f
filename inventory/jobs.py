"""Periodic jobs that the scheduler process runs beside the health sweeps.

Each entry names a function "module:function" and the configuration key holding how
often it runs (seconds). The function takes the current time (UTC), does its work in the
app context the scheduler provides, commits its own transactions, and returns a one-line
summary to print (or None when there was nothing to do). It must be safe to run twice at
the same moment (two schedulers by mistake): claim work with unique keys or row updates,
never with "read, then write".

Add a job by adding a line to JOBS (and its interval to config.Defaults).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    target: str  # "package.module:function"
    every_key: str  # config key: seconds between runs

    def load(self) -> Callable[[datetime], str | None]:
        module, _, function = self.target.partition(":")
        return getattr(importlib.import_module(module), function)


JOBS: list[Job] = [
    Job("tickets-health", "inventory.tickets.jobs:health_tickets", "TICKET_HEALTH_EVERY_SECONDS"),
    Job("maintenance", "inventory.maintenance.jobs:run", "MAINTENANCE_EVERY_SECONDS"),
    Job("notify-scan", "inventory.notifications.jobs:scan_tickets", "NOTIFY_SCAN_EVERY_SECONDS"),
    Job(
        "notify-digest", "inventory.notifications.jobs:daily_digest", "NOTIFY_DIGEST_EVERY_SECONDS"
    ),
    Job("notify-send", "inventory.notifications.jobs:send_outbox", "NOTIFY_SEND_EVERY_SECONDS"),
    Job("notify-prune", "inventory.notifications.jobs:prune", "NOTIFY_PRUNE_EVERY_SECONDS"),
    Job("pjlink-poll", "inventory.devices.jobs:pjlink_poll", "PJLINK_EVERY_SECONDS"),
    Job("vc-reachability", "inventory.devices.jobs:vc_reachability", "VC_EVERY_SECONDS"),
    Job("netconfig-backup", "inventory.netconfig.jobs:backup", "NETCONFIG_EVERY_SECONDS"),
]


class JobRunner:
    """Runs each job when its interval has passed (monotonic clock), one failure never
    stopping the others."""

    def __init__(self, config, jobs: list[Job] | None = None):
        self.config = config
        self.jobs = JOBS if jobs is None else jobs
        self.last_run: dict[str, float] = {}

    def run_due(self, now: datetime, monotonic: float, echo: Callable[[str], None]) -> None:
        from inventory.extensions import db

        for job in self.jobs:
            every = float(self.config[job.every_key])
            last = self.last_run.get(job.name)
            if last is not None and monotonic - last < every:
                continue
            self.last_run[job.name] = monotonic
            try:
                summary = job.load()(now)
            except Exception as exc:  # one broken job must not stop the scheduler
                db.session.rollback()
                log.exception("job %s failed", job.name)
                echo(f"Job {job.name} failed: {type(exc).__name__}: {exc}")
            else:
                if summary:
                    echo(f"{job.name}: {summary}")
            finally:
                db.session.remove()
