"""The sweep: plan (due targets from the database) -> probe (no database) -> record (batches).

This is a job, not a request: it runs on database sessions of its own and commits them
(once per batch of results), so the scheduler, the `inventory sweep` command and "poll
now" on a web page all run it unchanged. The probe is one callable taking a list of
targets and returning one result per target; it can be swapped (tests, a worker).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from inventory.assets.models import Asset
from inventory.extensions import db
from inventory.health import services
from inventory.health.services import (
    FAILED,
    FINISHED,
    MANUAL,
    RETENTION_LEASE,
    SCHEDULE,
    SWEEP_LEASE,
    HealthError,
    PlannedTarget,
    RollupCounts,
)
from inventory.jobs import JobRunner
from inventory.models_base import utcnow
from inventory.probes.base import Outcome, ProbeResult, SnmpTarget

log = logging.getLogger("inventory.health")

ProbeFn = Callable[[list[SnmpTarget]], list[ProbeResult]]
Clock = Callable[[], datetime]

BUSY = "busy"


@dataclass(frozen=True)
class SweepSettings:
    """The HEALTH_* configuration a sweep runs with."""

    interval_seconds: int = 300
    down_after: int = 2
    recheck_seconds: int = 60
    concurrency: int = 200
    processes: int = 1
    timeout: float = 2.0
    retries: int = 1
    lease_seconds: float = 300
    batch_size: int = 500
    probe_chunk: int = 5000
    raw_days: float = 7
    hourly_days: float = 365

    @classmethod
    def from_config(cls, config: Any) -> SweepSettings:
        return cls(
            interval_seconds=int(config["HEALTH_INTERVAL_SECONDS"]),
            down_after=int(config["HEALTH_DOWN_AFTER"]),
            recheck_seconds=max(10, int(config.get("HEALTH_RECHECK_SECONDS", 60))),
            concurrency=max(1, int(config["HEALTH_CONCURRENCY"])),
            processes=max(1, int(config["HEALTH_PROCESSES"])),
            timeout=float(config["HEALTH_TIMEOUT"]),
            retries=max(0, int(config["HEALTH_RETRIES"])),
            lease_seconds=float(config["HEALTH_LEASE_SECONDS"]),
            batch_size=max(1, int(config["HEALTH_BATCH_SIZE"])),
            probe_chunk=max(1, int(config["HEALTH_PROBE_CHUNK"])),
            raw_days=float(config["HEALTH_RAW_DAYS"]),
            hourly_days=float(config["HEALTH_HOURLY_DAYS"]),
        )

    @property
    def chunk_size(self) -> int:
        """Targets probed between two lease renewals: even if every one of them times out
        (with all retries, twice over for slow multi-request devices), a chunk takes at
        most half the lease."""
        worst = max(0.1, self.timeout) * (self.retries + 1) * 2
        lanes = self.concurrency  # run_batch shares it between its processes
        fits = int(lanes * (self.lease_seconds / 2) / worst)
        return max(1, min(self.probe_chunk, max(lanes, fits)))


def default_probe(settings: SweepSettings) -> ProbeFn:
    """inventory.probes.snmp.run_batch with the configured concurrency (imported when used)."""

    def probe(targets: list[SnmpTarget]) -> list[ProbeResult]:
        from inventory.probes.snmp import run_batch

        return run_batch(targets, concurrency=settings.concurrency, processes=settings.processes)

    return probe


@dataclass
class SweepSummary:
    """What a sweep did; status is finished, failed or busy (another sweep held the lease)."""

    status: str
    run_id: int | None = None
    targets: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    duration_ms: int = 0
    message: str = ""
    events: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.counts.get(Outcome.OK.value, 0)

    @property
    def failed(self) -> int:
        return sum(self.counts.values()) - self.ok


class LeaseLost(RuntimeError):
    """Our lease expired and another sweep took it: stop writing."""


@contextmanager
def job_session() -> Iterator[Session]:
    """A session of the job's own (never a request's), closed on leaving."""
    session = Session(db.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


def resolve_scope(
    session: Session,
    *,
    site_code: str | None = None,
    asset_tag: str | None = None,
    asset_id: int | None = None,
    all_assets: bool = False,
) -> tuple[int | None, int | None, str, bool]:
    """(site id, asset id, scope text, due only) for the options of a sweep."""
    from inventory.sites.models import Site

    site_id = None
    if site_code:
        site = session.scalar(sa.select(Site).where(Site.code == site_code.strip().upper()))
        if site is None:
            raise HealthError(f"No site has the code {site_code}.")
        site_id = site.id
    tag = None
    if asset_tag:
        found = session.execute(
            sa.select(Asset.id, Asset.tag).where(Asset.tag == asset_tag.strip().upper())
        ).first()
        if found is None:
            raise HealthError(f"No asset is tagged {asset_tag}.")
        asset_id, tag = found
    elif asset_id is not None:
        tag = session.scalar(sa.select(Asset.tag).where(Asset.id == asset_id))
        if tag is None:
            raise HealthError(f"No asset has the id {asset_id}.")
    parts = []
    if site_code:
        parts.append(f"site {site_code.strip().upper()}")
    if tag:
        parts.append(f"asset {tag}")
    if not parts:
        parts.append("all" if all_assets else "due")
    due_only = not (site_id or asset_id or all_assets)
    return site_id, asset_id, " ".join(parts), due_only


class _Sweep:
    """One run, from the lease to the last batch (see run_sweep)."""

    def __init__(self, run_id, holder, started, settings, probe, clock, should_stop):
        self.run_id = run_id
        self.holder = holder
        self.started = started
        self.settings = settings
        self.probe = probe
        self.clock = clock
        self.should_stop = should_stop
        self.planned: list[PlannedTarget] = []
        self.events: list[tuple[int, str]] = []
        self.not_polled: set[int] = set()

    def renew(self) -> None:
        with job_session() as session:
            ok = services.renew_lease(
                session, SWEEP_LEASE, self.holder, self.settings.lease_seconds, self.clock()
            )
            session.commit()
        if not ok:
            raise LeaseLost("The sweep's lease expired and another sweep took it over.")

    def plan(self, *, site_id, asset_id, due_only) -> None:
        with job_session() as session:
            planned = services.plan_targets(
                session,
                now=self.started,
                default_interval=self.settings.interval_seconds,
                timeout=self.settings.timeout,
                retries=self.settings.retries,
                site_id=site_id,
                asset_id=asset_id,
                due_only=due_only,
            )
            unique: dict[int, PlannedTarget] = {}
            for item in planned:
                unique.setdefault(item.asset_id, item)
            self.planned = list(unique.values())
            services.set_run_targets(session, self.run_id, len(self.planned))
            session.commit()
        # The session is closed here: no database connection is held while probing.

    def probe_chunk(self, chunk: list[PlannedTarget]) -> list[tuple[PlannedTarget, ProbeResult]]:
        """One result per planned target, whatever the probe returned or raised (the ones
        it failed to give are remembered in self.not_polled: not the devices' fault)."""
        targets = [item.target for item in chunk if item.target is not None]
        crash = ""
        results: list[ProbeResult] = []
        if targets:
            try:
                results = list(self.probe(targets) or [])
            except Exception as exc:  # a probe bug must not lose the chunk's outcomes
                log.exception("the probe failed on a chunk of %d targets", len(targets))
                crash = f"the probe failed: {type(exc).__name__}: {exc}"
        wanted = {target.key for target in targets}
        by_key: dict[int, ProbeResult] = {}
        for result in results:
            key = getattr(result, "key", None)
            if key in wanted and key not in by_key:
                by_key[key] = result
        pairs = []
        for item in chunk:
            if item.target is None:
                result = ProbeResult(item.asset_id, Outcome.ERROR, item.error)
            else:
                result = by_key.get(item.asset_id)
                if result is None:
                    self.not_polled.add(item.asset_id)
                    result = ProbeResult(
                        item.asset_id,
                        Outcome.ERROR,
                        crash or "the probe returned no result for this device",
                    )
            pairs.append((item, result))
        return pairs

    def record(self, pairs: list[tuple[PlannedTarget, ProbeResult]], at: datetime) -> None:
        """Write a batch; if that fails, each target alone, so one bad value loses nothing."""
        try:
            with job_session() as session:
                done = services.record_results(
                    session,
                    self.run_id,
                    pairs,
                    at=at,
                    planned_at=self.started,
                    down_after=self.settings.down_after,
                    recheck_seconds=self.settings.recheck_seconds,
                    not_polled=self.not_polled,
                )
                session.commit()
            self.events += done.events
            return
        except Exception as exc:
            if len(pairs) > 1:
                log.warning("recording a batch failed (%s); recording one by one", exc)
                for pair in pairs:
                    self.record([pair], at)
                return
            log.exception("recording asset %s failed", pairs[0][0].asset_id)
            why = f"not recorded: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
        with job_session() as session:
            services.record_unpolled(session, self.run_id, [(pairs[0][0].asset_id, why)])
            session.commit()

    def execute(self, **scope) -> str:
        """Plan, then probe and record chunk by chunk; returns a message for the run."""
        self.plan(**scope)
        size = self.settings.chunk_size
        batch = self.settings.batch_size
        for start in range(0, len(self.planned), size):
            if self.should_stop():
                rest = self.planned[start:]
                with job_session() as session:
                    services.record_unpolled(
                        session,
                        self.run_id,
                        [
                            (item.asset_id, "not polled: the scheduler was stopping")
                            for item in rest
                        ],
                    )
                    session.commit()
                return f"Stopped early: {len(rest)} devices not polled."
            pairs = self.probe_chunk(self.planned[start : start + size])
            at = self.clock()
            self.renew()
            for first in range(0, len(pairs), batch):
                self.record(pairs[first : first + batch], at)
                self.renew()
        return ""

    def fill_unrecorded(self, why: str) -> None:
        """After a failure: every planned target still gets its one result for this run."""
        try:
            with job_session() as session:
                done = services.recorded_asset_ids(session, self.run_id)
                missing = [(i.asset_id, why) for i in self.planned if i.asset_id not in done]
                services.record_unpolled(session, self.run_id, missing)
                session.commit()
        except Exception:
            log.exception("could not record the unrecorded targets of run %s", self.run_id)


def run_sweep(
    *,
    trigger: str = MANUAL,
    site_code: str | None = None,
    asset_tag: str | None = None,
    asset_id: int | None = None,
    all_assets: bool = False,
    probe: ProbeFn | None = None,
    clock: Clock = utcnow,
    should_stop: Callable[[], bool] | None = None,
    requested_by: str = "",
    settings: SweepSettings | None = None,
) -> SweepSummary:
    """Run one sweep now, if no other sweep holds the lease (then status is "busy").

    Without a scope only due devices are polled; a site (with the sites below it), an
    asset or `all_assets` polls them whether due or not. Raises HealthError for an
    unknown site or asset; every other problem ends as a "failed" run.
    """
    settings = settings or SweepSettings.from_config(current_app.config)
    probe = probe or default_probe(settings)
    should_stop = should_stop or (lambda: False)
    holder = services.new_holder()
    with job_session() as session:
        site_id, asset_id, scope, due_only = resolve_scope(
            session,
            site_code=site_code,
            asset_tag=asset_tag,
            asset_id=asset_id,
            all_assets=all_assets,
        )
    started = clock()
    with job_session() as session:
        if not services.acquire_lease(
            session, SWEEP_LEASE, holder, settings.lease_seconds, started
        ):
            session.rollback()
            lease = services.lease_holder(session, SWEEP_LEASE, started)
            who = f" ({lease.holder}, until {lease.expires_at:%H:%M:%S} UTC)" if lease else ""
            return SweepSummary(BUSY, message=f"Another sweep is running{who}.")
        abandoned = services.abandon_stale_runs(session, holder, started)
        run = services.start_run(
            session,
            trigger=trigger,
            scope=scope,
            holder=holder,
            started_at=started,
            message=f"requested by {requested_by}" if requested_by else "",
        )
        session.commit()
        run_id = run.id
    if abandoned:
        log.warning("marked %d sweep runs of a dead process as abandoned", abandoned)
    sweep = _Sweep(run_id, holder, started, settings, probe, clock, should_stop)
    status, message = FINISHED, ""
    try:
        message = sweep.execute(site_id=site_id, asset_id=asset_id, due_only=due_only)
    except LeaseLost as exc:
        status, message = FAILED, str(exc)
        sweep.fill_unrecorded("not recorded: the sweep lost its lease")
    except BaseException as exc:
        status, message = FAILED, f"{type(exc).__name__}: {exc}"
        log.exception("sweep %s failed", run_id)
        sweep.fill_unrecorded(f"not recorded: the sweep failed ({type(exc).__name__})")
        if not isinstance(exc, Exception):
            _close(run_id, holder, status, message, clock)
            raise
    return _close(run_id, holder, status, message, clock, sweep.events)


def _close(run_id, holder, status, message, clock, events=()) -> SweepSummary:
    finished = clock()
    summary = SweepSummary(status, run_id=run_id, message=message, events=list(events))
    try:
        with job_session() as session:
            run = services.finish_run(
                session, run_id, status=status, finished_at=finished, message=message
            )
            summary.targets = run.targets
            summary.duration_ms = run.duration_ms or 0
            summary.counts = services.outcome_counts(session, run_id)
            session.commit()
    finally:
        with job_session() as session:
            services.release_lease(session, SWEEP_LEASE, holder)
            session.commit()
    return summary


# -- retention -----------------------------------------------------------------------------


@dataclass
class RetentionSummary:
    status: str  # finished or busy
    rollup: RollupCounts = field(default_factory=RollupCounts)
    raw_deleted: int = 0
    hourly_deleted: int = 0
    events_deleted: int = 0
    message: str = ""


def run_retention(*, clock: Clock = utcnow, settings: SweepSettings | None = None):
    """Roll finished hours up, then delete raw history past HEALTH_RAW_DAYS and hourly
    history (and events) past HEALTH_HOURLY_DAYS, committing in small steps so that a
    sweep writing at the same time is never held up for long."""
    settings = settings or SweepSettings.from_config(current_app.config)
    holder = services.new_holder()
    now = clock()
    with job_session() as session:
        if not services.acquire_lease(session, RETENTION_LEASE, holder, 3600, now):
            session.rollback()
            return RetentionSummary(BUSY, message="Retention is already running elsewhere.")
        session.commit()
    summary = RetentionSummary(FINISHED)
    try:
        with job_session() as session:
            windows = services.rollup_windows(session, now)
        for start, end in windows:
            with job_session() as session:
                summary.rollup.add(services.rollup_window(session, start, end))
                session.commit()
        cutoff = services.raw_cutoff(now, settings.raw_days)
        while True:
            with job_session() as session:
                deleted = services.delete_raw_before(session, cutoff)
                session.commit()
            summary.raw_deleted += deleted
            if not deleted:
                break
        old = services.floor_hour(now - timedelta(days=settings.hourly_days))
        with job_session() as session:
            summary.hourly_deleted = services.delete_hourly_before(session, old)
            summary.events_deleted = services.delete_events_before(session, old)
            session.commit()
    finally:
        with job_session() as session:
            services.release_lease(session, RETENTION_LEASE, holder)
            session.commit()
    return summary


# -- the scheduler -------------------------------------------------------------------------


class Scheduler:
    """The separate process that sweeps what is due every tick, runs retention hourly and
    the periodic jobs of inventory/jobs.py (notifications, maintenance plans) when due.

    Never started inside the web server: `inventory scheduler` runs it. SIGTERM or
    SIGINT stops it after the current chunk of the current sweep.
    """

    def __init__(
        self,
        *,
        tick_seconds: float,
        retention_every: float,
        probe: ProbeFn | None = None,
        clock: Clock = utcnow,
        echo: Callable[[str], None] = print,
    ):
        self.tick_seconds = tick_seconds
        self.retention_every = retention_every
        self.probe = probe
        self.clock = clock
        self.echo = echo
        self.stop_event = threading.Event()
        self.last_retention: float | None = None
        self.sweeps = 0
        self.jobs = JobRunner(current_app.config)

    def stop(self, *_args) -> None:
        """First signal: stop after the current chunk. A second one: stop at once."""
        if self.stop_event.is_set():
            raise KeyboardInterrupt
        self.stop_event.set()

    def tick(self) -> SweepSummary | None:
        """One look: sweep if anything is due, retention if it is time."""
        summary = None
        with job_session() as session:
            due = services.count_due(session, self.clock())
        if due:
            summary = run_sweep(
                trigger=SCHEDULE,
                probe=self.probe,
                clock=self.clock,
                should_stop=self.stop_event.is_set,
            )
            if summary.status != BUSY:  # a manual sweep is running; look again next tick
                self.sweeps += 1
                self.echo(describe(summary))
        now = time.monotonic()
        if not self.stop_event.is_set() and (
            self.last_retention is None or now - self.last_retention >= self.retention_every
        ):
            result = run_retention(clock=self.clock)
            if result.status == FINISHED:
                self.last_retention = now
                self.echo(describe_retention(result))
        if not self.stop_event.is_set():
            self.jobs.run_due(self.clock(), time.monotonic(), self.echo)
        return summary

    def run(self, *, once: bool = False) -> None:
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                handlers[sig] = signal.signal(sig, self.stop)
        self.echo(f"Scheduler started: a look every {self.tick_seconds:g} s.")
        try:
            while not self.stop_event.is_set():
                began = time.monotonic()
                try:
                    self.tick()
                except Exception as exc:  # a database hiccup must not end the scheduler
                    log.exception("scheduler tick failed")
                    self.echo(f"Tick failed: {type(exc).__name__}: {exc}")
                finally:
                    db.session.remove()
                if once:
                    break
                self.stop_event.wait(max(0.0, self.tick_seconds - (time.monotonic() - began)))
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        self.echo("Scheduler stopped.")


def describe(summary: SweepSummary) -> str:
    if summary.status == BUSY:
        return summary.message
    counts = ", ".join(f"{outcome} {n}" for outcome, n in sorted(summary.counts.items()))
    text = (
        f"Sweep {summary.run_id} {summary.status}: {summary.targets} devices, "
        f"{summary.ok} ok, {summary.failed} failed in {summary.duration_ms / 1000:.1f} s"
    )
    if counts:
        text += f" ({counts})"
    if summary.message:
        text += f". {summary.message}"
    return text


def describe_retention(summary: RetentionSummary) -> str:
    if summary.status == BUSY:
        return summary.message
    return (
        f"Retention: {summary.rollup.health_rows} device-hours and "
        f"{summary.rollup.interface_rows} interface-hours rolled up; "
        f"{summary.raw_deleted} raw rows, {summary.hourly_deleted} hourly rows and "
        f"{summary.events_deleted} events deleted."
    )
