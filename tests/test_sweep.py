"""The sweep end to end: lease, runs, batches, poll now, retention, commands, real agents.

Most tests inject a probe that answers from a table, so the orchestration is exact; the
last ones sweep real Net-SNMP agents (v2c and v3) on loopback addresses.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory.extensions import db
from inventory.health import services, sweep
from inventory.health.models import (
    AssetHealth,
    HealthEvent,
    HealthHourly,
    HealthSample,
    InterfaceHourly,
    InterfaceSample,
    InterfaceState,
    Lease,
    SweepResult,
    SweepRun,
)
from inventory.health.sweep import SweepSettings, job_session, run_retention, run_sweep
from inventory.probes.base import (
    InterfaceInfo,
    Outcome,
    ProbeResult,
    SnmpData,
    SystemInfo,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start=T0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


class FakeProbe:
    """Answers every target OK unless told otherwise; remembers what it was asked."""

    def __init__(self, outcomes=None, clock=None, step=None):
        self.outcomes = outcomes or {}
        self.calls: list[list[int]] = []
        self.clock = clock
        self.step = step
        self.uptime = 1000

    def __call__(self, targets):
        self.calls.append([t.key for t in targets])
        if self.clock and self.step:
            self.clock.advance(**self.step)
        self.uptime += 300
        results = []
        for target in targets:
            outcome = self.outcomes.get(target.key, Outcome.OK)
            if outcome is Outcome.OK:
                data = SnmpData(
                    system=SystemInfo(name=f"dev{target.key}", uptime_ticks=self.uptime * 100),
                    interfaces=[
                        InterfaceInfo(1, name="eth0", in_octets=self.uptime, oper_status=1)
                    ],
                )
                results.append(ProbeResult(target.key, Outcome.OK, elapsed_ms=3, data=data))
            else:
                results.append(ProbeResult(target.key, outcome, "no answer", elapsed_ms=500))
        return results


@pytest.fixture
def profile(app):
    from inventory.credentials.services import save_profile

    saved = save_profile(None, {"name": "v2c", "snmp_version": "v2c"}, {"snmp_community": "public"})
    db.session.commit()
    return saved


@pytest.fixture
def device(make_site, make_asset, profile):
    site = make_site("SWEEP-HQ")

    def make(category="RTR", address="127.0.0.1", **fields):
        fields.setdefault("credential_profile_id", profile.id)
        return make_asset(fields.pop("site", site), category, management_address=address, **fields)

    make.site = site
    return make


def settings(**changes) -> SweepSettings:
    base = SweepSettings(timeout=0.5, retries=0, lease_seconds=60)
    return SweepSettings(**{**base.__dict__, **changes})


def results_of(run_id) -> dict[int, tuple[str, str]]:
    rows = db.session.execute(
        sa.select(SweepResult.asset_id, SweepResult.outcome, SweepResult.message).where(
            SweepResult.run_id == run_id
        )
    ).all()
    assert len(rows) == len({r.asset_id for r in rows})
    return {r.asset_id: (r.outcome, r.message) for r in rows}


def lease_row() -> Lease | None:
    db.session.expire_all()
    return db.session.get(Lease, services.SWEEP_LEASE)


# -- runs and batches ------------------------------------------------------------------------


def test_a_sweep_probes_due_devices_and_records_a_run(device):
    assets = [device("RTR", f"127.0.0.{i}") for i in range(1, 6)]
    clock = Clock()
    probe = FakeProbe({assets[4].id: Outcome.TIMEOUT})
    summary = run_sweep(probe=probe, clock=clock, settings=settings())
    assert summary.status == "finished" and summary.targets == 5
    assert summary.counts == {"ok": 4, "timeout": 1} and (summary.ok, summary.failed) == (4, 1)
    run = db.session.get(SweepRun, summary.run_id)
    assert (run.status, run.trigger, run.scope, run.targets, run.ok, run.failed) == (
        "finished",
        "manual",
        "due",
        5,
        4,
        1,
    )
    assert run.started_at == T0 and run.finished_at == T0 and run.duration_ms == 0
    assert set(results_of(run.id)) == {a.id for a in assets}
    assert lease_row().holder == ""  # released

    # A minute later only the device that failed is due (it is re-checked, and is down
    # after this second failure); five minutes on, the four that answered are due again.
    clock.advance(minutes=1)
    assert run_sweep(probe=probe, clock=clock, settings=settings()).targets == 1
    clock.advance(minutes=4)
    assert run_sweep(probe=probe, clock=clock, settings=settings()).targets == 4


def test_scopes_poll_regardless_of_due(device, make_site):
    router = device("RTR", "127.0.0.1")
    branch = make_site("SWEEP-BLK", "block", device.site)
    switch = device("SWT", "127.0.0.2", site=branch)
    probe = FakeProbe()
    run_sweep(probe=probe, settings=settings())
    by_site = run_sweep(probe=probe, site_code="sweep-blk", settings=settings())
    by_tag = run_sweep(probe=probe, asset_tag=router.tag, settings=settings())
    assert probe.calls[1:] == [[switch.id], [router.id]]
    runs = [db.session.get(SweepRun, s.run_id) for s in (by_site, by_tag)]
    assert [r.scope for r in runs] == ["site SWEEP-BLK", f"asset {router.tag}"]
    with pytest.raises(services.HealthError, match="No site"):
        run_sweep(probe=probe, site_code="NOPE", settings=settings())
    with pytest.raises(services.HealthError, match="No asset"):
        run_sweep(probe=probe, asset_tag="GON-XXX-9999", settings=settings())


def test_chunks_and_batches_still_give_one_result_per_target(device):
    assets = [device("SWT", f"127.0.1.{i}") for i in range(1, 11)]
    clock = Clock()
    probe = FakeProbe(clock=clock, step={"seconds": 40})
    summary = run_sweep(
        probe=probe,
        clock=clock,
        settings=settings(probe_chunk=4, batch_size=3, concurrency=4, lease_seconds=60),
    )
    assert [len(c) for c in probe.calls] == [4, 4, 2]
    assert summary.counts == {"ok": 10}
    assert set(results_of(summary.run_id)) == {a.id for a in assets}
    # 120 s of probing under a 60 s lease: it was renewed on the way, and released.
    assert db.session.get(SweepRun, summary.run_id).status == "finished"
    assert lease_row().holder == ""


def test_chunk_size_keeps_a_chunk_within_half_the_lease():
    assert SweepSettings().chunk_size == 3750  # 200 lanes * 150 s / (2 s * 2 tries * 2)
    assert SweepSettings(probe_chunk=1000).chunk_size == 1000
    assert SweepSettings(concurrency=50, lease_seconds=10).chunk_size == 50


def test_a_misbehaving_probe_loses_no_target(device):
    a, b, c, d = (device("RTR", f"127.0.2.{i}") for i in range(1, 5))

    def sloppy(targets):
        good = ProbeResult(a.id, Outcome.OK, data=SnmpData())
        # a twice, c missing, a stranger, d with a non-result
        return [good, good, ProbeResult(b.id, Outcome.TIMEOUT), ProbeResult(999, Outcome.OK), None]

    summary = run_sweep(probe=sloppy, settings=settings())
    results = results_of(summary.run_id)
    assert results[a.id][0] == "ok" and results[b.id][0] == "timeout"
    assert results[c.id] == ("error", "the probe returned no result for this device")
    assert results[d.id][0] == "error" and len(results) == 4

    def broken(targets):
        raise RuntimeError("socket exploded")

    for _ in range(3):
        summary = run_sweep(probe=broken, all_assets=True, settings=settings())
        assert summary.status == "finished" and summary.counts == {"error": 4}
        assert all("socket exploded" in m for _, m in results_of(summary.run_id).values())
    # A broken probe is the sweep's failure, not the devices': nobody is reported down.
    db.session.expire_all()
    states = {h.asset_id: h for h in db.session.scalars(sa.select(AssetHealth))}
    assert states[a.id].state == "up" and states[a.id].consecutive_failures == 0
    assert states[b.id].consecutive_failures == 1 and states[c.id].state == "unknown"
    assert "socket exploded" in states[a.id].last_error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HealthEvent)) == 0


def test_a_batch_that_cannot_be_written_is_written_one_by_one(device, monkeypatch):
    assets = [device("RTR", f"127.0.3.{i}") for i in range(1, 6)]
    poison = assets[2].id
    real = services.record_results

    def fragile(session, run_id, items, **kw):
        if any(planned.asset_id == poison for planned, _ in items):
            session.execute(sa.insert(SweepResult.__table__), [{"run_id": run_id, "asset_id": 1}])
        return real(session, run_id, items, **kw)

    monkeypatch.setattr(services, "record_results", fragile)
    summary = run_sweep(probe=FakeProbe(), settings=settings(batch_size=5))
    results = results_of(summary.run_id)
    assert len(results) == 5 and summary.status == "finished"
    assert results[poison][0] == "error" and results[poison][1].startswith("not recorded:")
    assert [results[a.id][0] for a in assets if a.id != poison] == ["ok"] * 4
    assert db.session.get(AssetHealth, poison) is None  # its state was not touched


def test_stopping_between_chunks_records_the_rest_as_not_polled(device):
    assets = [device("RTR", f"127.0.4.{i}") for i in range(1, 7)]
    probe = FakeProbe()
    summary = run_sweep(
        probe=probe,
        should_stop=lambda: len(probe.calls) >= 1,
        settings=settings(probe_chunk=2, concurrency=2),
    )
    assert summary.status == "finished" and "Stopped early: 4" in summary.message
    results = results_of(summary.run_id)
    assert len(results) == 6
    assert [results[a.id][0] for a in assets] == ["ok", "ok"] + ["error"] * 4
    # The ones not polled stay due.
    assert services.count_due(db.session, T0 + timedelta(days=1000)) == 6
    assert services.count_due(db.session, datetime.now(UTC)) == 4


# -- the lease -------------------------------------------------------------------------------


def test_lease_take_renew_release_and_expiry(app):
    with job_session() as s:
        assert services.acquire_lease(s, "sweep", "A", 60, T0)
        s.commit()
        assert not services.acquire_lease(s, "sweep", "B", 60, T0 + timedelta(seconds=59))
        s.rollback()
        assert services.acquire_lease(s, "sweep", "A", 60, T0 + timedelta(seconds=30))  # ours
        assert services.renew_lease(s, "sweep", "A", 60, T0 + timedelta(seconds=80))
        assert not services.renew_lease(s, "sweep", "B", 60, T0)
        s.commit()
        assert services.lease_holder(s, "sweep", T0 + timedelta(seconds=100)).holder == "A"
        # A died without releasing: its lease runs out and B takes it.
        later = T0 + timedelta(seconds=141)
        assert services.lease_holder(s, "sweep", later) is None
        assert services.acquire_lease(s, "sweep", "B", 60, later)
        assert not services.renew_lease(s, "sweep", "A", 60, later)
        assert services.release_lease(s, "sweep", "B")
        assert not services.release_lease(s, "sweep", "B")
        assert services.acquire_lease(s, "sweep", "C", 60, later)
        s.commit()


def test_threads_racing_for_the_lease_one_wins(app):
    rounds, contenders = 8, 6
    for round_number in range(rounds):
        barrier = threading.Barrier(contenders)
        won: list[str] = []
        errors: list[BaseException] = []

        def contend(name, barrier=barrier, won=won, errors=errors):
            try:
                with app.app_context(), job_session() as s:
                    barrier.wait(timeout=10)
                    if services.acquire_lease(s, "sweep", name, 60):
                        won.append(name)
                    s.commit()
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=contend, args=(f"t{round_number}-{i}",))
            for i in range(contenders)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == [] and len(won) == 1, (won, errors)
        with job_session() as s:
            assert services.release_lease(s, "sweep", won[0])
            s.commit()


RACER = textwrap.dedent(
    """
    import sys, time
    from inventory import create_app
    from inventory.extensions import db
    from inventory.health import services
    from inventory.health.sweep import job_session

    url, start, name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        with job_session() as s:
            s.execute(db.text("SELECT 1"))
            s.rollback()
            time.sleep(max(0.0, start - time.time()))
            won = services.acquire_lease(s, "sweep", name, 60)
            s.commit()
    print("won" if won else "lost")
    """
)


def test_processes_racing_for_the_lease_one_wins(app, database_url):
    for round_number in range(3):
        start = time.time() + 4
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, database_url, str(start), f"p{round_number}-{n}"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        outputs = [r.communicate(timeout=60) for r in racers]
        assert all(r.returncode == 0 for r in racers), outputs
        assert sorted(out.strip() for out, _ in outputs) == ["lost", "lost", "lost", "won"]
        with job_session() as s:
            s.execute(sa.update(Lease.__table__).values(holder="", expires_at=T0))
            s.commit()


def test_a_held_lease_makes_a_sweep_busy_and_a_dead_holder_is_cleaned_up(device):
    device("RTR")
    clock = Clock()
    with job_session() as s:
        assert services.acquire_lease(s, "sweep", "dead-host:123:ab", 300, T0)
        services.start_run(
            s, trigger="schedule", scope="due", holder="dead-host:123:ab", started_at=T0
        )
        s.commit()
    clock.advance(minutes=2)
    busy = run_sweep(probe=FakeProbe(), clock=clock, settings=settings())
    assert busy.status == "busy" and busy.run_id is None
    assert "dead-host:123:ab" in busy.message
    # The holder never comes back: its lease expires, the next sweep runs and closes its run.
    clock.advance(minutes=4)
    summary = run_sweep(probe=FakeProbe(), clock=clock, settings=settings())
    assert summary.status == "finished"
    statuses = dict(db.session.execute(sa.select(SweepRun.holder, SweepRun.status)).all())
    assert statuses["dead-host:123:ab"] == "abandoned"
    assert list(statuses.values()).count("finished") == 1


def test_a_sweep_that_loses_its_lease_stops_writing(device):
    a, b = device("RTR", "127.0.5.1"), device("RTR", "127.0.5.2")

    def stolen(targets):
        with job_session() as s:  # the lease expired and another sweeper took it
            s.execute(sa.update(Lease.__table__).values(holder="thief"))
            s.commit()
        return FakeProbe()(targets)

    summary = run_sweep(probe=stolen, settings=settings())
    assert summary.status == "failed" and "lease" in summary.message
    results = results_of(summary.run_id)
    assert set(results) == {a.id, b.id}
    assert {outcome for outcome, _ in results.values()} == {"error"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AssetHealth)) == 0
    assert lease_row().holder == "thief"  # not released from under its new holder


def test_a_crash_fails_the_run_and_frees_the_lease(device, monkeypatch):
    device("RTR")

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "plan_targets", crash)
    summary = run_sweep(probe=FakeProbe(), settings=settings())
    assert summary.status == "failed" and "database went away" in summary.message
    assert db.session.get(SweepRun, summary.run_id).status == "failed"
    assert lease_row().holder == ""


# -- poll now --------------------------------------------------------------------------------


def test_poll_now_runs_at_once_when_free(device, make_user, monkeypatch):
    router = device("RTR")
    engineer = make_user("engineer", "eng-poll")
    probe = FakeProbe()
    monkeypatch.setattr(sweep, "default_probe", lambda _settings: probe)
    result = services.poll_now(router.id, engineer)
    assert (result.ran, result.code, result.outcome) == (True, "polled", "ok")
    run = db.session.get(SweepRun, result.run_id)
    assert (run.trigger, run.scope, run.message) == (
        "poll_now",
        f"asset {router.tag}",
        "requested by eng-poll",
    )
    assert probe.calls == [[router.id]]
    db.session.expire_all()
    assert db.session.get(AssetHealth, router.id).state == "up"


def test_poll_now_while_a_sweep_runs_marks_the_asset_due(device, make_user, monkeypatch):
    router = device("RTR")
    monkeypatch.setattr(sweep, "default_probe", lambda _settings: FakeProbe())
    services.poll_now(router.id, None)
    with job_session() as s:
        assert services.acquire_lease(s, "sweep", "someone-else", 300)
        s.commit()
    before = datetime.now(UTC)
    result = services.poll_now(router.id, make_user("engineer"))
    db.session.commit()  # what the view does
    assert (result.ran, result.code) == (False, "queued")
    db.session.expire_all()
    assert before <= db.session.get(AssetHealth, router.id).next_due_at <= datetime.now(UTC)


def test_poll_now_refuses_unmonitored_assets(device):
    stored = device("RTR", status="in_store")
    result = services.poll_now(stored.id, None)
    assert (result.ran, result.code) == (False, "not_monitored")


# -- retention ---------------------------------------------------------------------------------


def _old_run(asset_id, at, outcome="ok"):
    run = services.start_run(db.session, trigger="schedule", scope="due", holder="h", started_at=at)
    run.status = "finished"
    db.session.add(SweepResult(run_id=run.id, asset_id=asset_id, outcome=outcome))
    return run


def test_retention_rolls_up_then_deletes_and_is_idempotent(app, device):
    router = device("RTR")
    now = datetime(2026, 3, 20, 12, 30, tzinfo=UTC)
    ten_days = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    two_days = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)
    _old_run(router.id, ten_days + timedelta(minutes=1))
    _old_run(router.id, ten_days + timedelta(minutes=6), "timeout")
    _old_run(router.id, ten_days + timedelta(minutes=11))
    _old_run(router.id, two_days + timedelta(minutes=2))
    current = _old_run(router.id, now - timedelta(minutes=20))  # this hour is not over yet
    for minute, cpu, bps in ((1, 10.0, 100.0), (11, 30.0, 300.0)):
        at = ten_days + timedelta(minutes=minute)
        db.session.add(HealthSample(asset_id=router.id, at=at, cpu_pct=cpu, mem_pct=50.0))
        db.session.add(InterfaceSample(asset_id=router.id, if_index=1, at=at, in_bps=bps))
    db.session.add(HealthSample(asset_id=router.id, at=two_days + timedelta(minutes=2), cpu_pct=70))
    db.session.add(HealthSample(asset_id=router.id, at=now - timedelta(minutes=20), cpu_pct=90))
    ancient = now - timedelta(days=400)
    db.session.add(HealthHourly(asset_id=router.id, hour=services.floor_hour(ancient), polls=12))
    db.session.add(HealthEvent(asset_id=router.id, kind="down", at=ancient))
    db.session.commit()

    def hourly():
        db.session.expire_all()
        return {
            h.hour: (h.polls, h.ok_polls, h.cpu_avg, h.cpu_max, h.mem_max)
            for h in db.session.scalars(sa.select(HealthHourly).order_by(HealthHourly.hour))
        }

    def interface_hourly():
        return [
            (h.hour, h.samples, h.in_avg, h.in_max, h.out_avg)
            for h in db.session.scalars(sa.select(InterfaceHourly))
        ]

    first = run_retention(clock=lambda: now)
    assert first.status == "finished"
    expected = {
        ten_days: (3, 2, 20.0, 30.0, 50.0),
        two_days: (1, 1, 70.0, 70.0, None),
    }
    assert hourly() == expected  # the 400-day-old hour went, the current hour waits
    assert interface_hourly() == [(ten_days, 2, 200.0, 300.0, None)]
    assert first.hourly_deleted == 1 and first.events_deleted == 1
    # Raw rows older than 7 days are gone (after being rolled up); newer ones stay.
    runs = set(db.session.scalars(sa.select(SweepRun.started_at)))
    assert runs == {two_days + timedelta(minutes=2), current.started_at}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SweepResult)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InterfaceSample)) == 0
    assert [s.cpu_pct for s in db.session.scalars(sa.select(HealthSample))] == [70, 90]

    # Again, and again an hour later: nothing counted twice; the finished hour joins.
    assert run_retention(clock=lambda: now).status == "finished"
    assert hourly() == expected
    later = run_retention(clock=lambda: now + timedelta(hours=1))
    assert later.status == "finished"
    assert hourly() == {**expected, services.floor_hour(now): (1, 1, 90.0, 90.0, None)}
    assert later.raw_deleted == 0
    assert interface_hourly() == [(ten_days, 2, 200.0, 300.0, None)]


def test_retention_on_real_recorded_data(device):
    """Samples written by the record path roll up the same way."""
    assets = [device("SWT", f"127.0.6.{i}") for i in range(1, 4)]
    clock = Clock(datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC))
    probe = FakeProbe({assets[2].id: Outcome.TIMEOUT})
    for _ in range(12):
        run_sweep(probe=probe, clock=clock, settings=settings())
        clock.advance(minutes=5)
    summary = run_retention(clock=clock)
    assert summary.rollup.health_rows == 3
    rows = {h.asset_id: h for h in db.session.scalars(sa.select(HealthHourly))}
    assert {(h.polls, h.ok_polls) for h in rows.values()} == {(12, 12), (12, 0)}
    assert rows[assets[2].id].ok_polls == 0
    per_interface = db.session.scalars(sa.select(InterfaceHourly)).all()
    assert sorted(h.samples for h in per_interface) == [11, 11]  # the first poll has no rate


# -- commands ----------------------------------------------------------------------------------


def test_sweep_command(runner, device, monkeypatch):
    router = device("RTR")
    device("SWT", "127.0.7.2")
    monkeypatch.setattr(sweep, "default_probe", lambda _settings: FakeProbe())
    result = runner.invoke(args=["sweep", "--asset", router.tag])
    assert result.exit_code == 0, result.output
    assert "finished: 1 devices, 1 ok, 0 failed" in result.output
    assert "  ok           1" in result.output
    result = runner.invoke(args=["sweep"])  # only the switch is due
    assert "finished: 1 devices" in result.output
    result = runner.invoke(args=["sweep", "--all"])
    assert "finished: 2 devices, 2 ok" in result.output
    result = runner.invoke(args=["sweep", "--site", "NOWHERE"])
    assert result.exit_code != 0 and "No site has the code NOWHERE" in result.output


def test_sweep_command_when_busy(runner, app):
    with job_session() as s:
        services.acquire_lease(s, "sweep", "other", 300)
        s.commit()
    result = runner.invoke(args=["sweep"])
    assert result.exit_code != 0 and "Another sweep is running" in result.output


def test_retention_and_scheduler_once(runner, device, monkeypatch):
    device("RTR")
    monkeypatch.setattr(sweep, "default_probe", lambda _settings: FakeProbe())
    result = runner.invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Scheduler started")
    run = db.session.scalars(sa.select(SweepRun)).one()
    assert f"Sweep {run.id} finished: 1 devices, 1 ok" in lines[1]
    assert lines[2].startswith("Retention:") and lines[-1] == "Scheduler stopped."
    assert run.trigger == "schedule"
    result = runner.invoke(args=["retention"])
    assert result.exit_code == 0 and result.output.startswith("Retention: ")


def test_the_scheduler_process_stops_cleanly_on_sigterm(app, database_url, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INVENTORY_SECRET_KEY": "scheduler-test-secret",
        "INVENTORY_HEALTH_TICK_SECONDS": "0.2",
        "INVENTORY_CREDENTIALS_KEY_FILE": str(tmp_path / "key"),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from inventory.cli import main; main()", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("Scheduler started"), first
        time.sleep(1)  # a few ticks
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert rest.splitlines()[-1] == "Scheduler stopped."
    assert "Traceback" not in rest


# -- real agents -------------------------------------------------------------------------------

SNMPD = Path("/usr/sbin/snmpd")
needs_snmpd = pytest.mark.skipif(not SNMPD.exists(), reason="Net-SNMP snmpd is not installed")


def free_agent_port(addresses: list[str]) -> int:
    """A UDP port free on every address (another test run may have agents up)."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        sockets = []
        try:
            for address in addresses:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind((address, port))
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free UDP port")


@needs_snmpd
def test_sweeps_of_real_agents_v2c_and_v3_down_and_up(app, device, make_user):
    from inventory.credentials.services import save_profile
    from inventory.simulator.snmpd import SnmpdFleet, V3User

    app.config.update(HEALTH_TIMEOUT=0.5, HEALTH_RETRIES=0)
    prefix = f"127.{random.randint(64, 250)}.{random.randint(1, 200)}"
    steady, flappy = [f"{prefix}.1", f"{prefix}.2"], f"{prefix}.3"
    dead_address = f"{prefix}.250"  # nothing listens there
    port = free_agent_port([*steady, flappy, dead_address])
    user = V3User("sampada", "SHA", "auth-pass-123", "AES", "priv-pass-123")
    v2c = save_profile(
        None,
        {"name": "fleet v2c", "snmp_version": "v2c", "snmp_port": str(port)},
        {"snmp_community": "fleet-community"},
    )

    def v3_profile(name, auth_key):
        return save_profile(
            None,
            {
                "name": name,
                "snmp_version": "v3",
                "snmp_port": str(port),
                "snmp_username": "sampada",
                "snmp_auth_protocol": "sha",
                "snmp_priv_protocol": "aes",
            },
            {"snmp_auth_key": auth_key, "snmp_priv_key": "priv-pass-123"},
        )

    v3 = v3_profile("fleet v3", "auth-pass-123")
    wrong = v3_profile("fleet v3 wrong key", "not-the-key-1")
    db.session.commit()
    router = device("RTR", steady[0], credential_profile_id=v2c.id)
    switch = device("SWT", steady[1], credential_profile_id=v3.id)
    locked = device("SWT", steady[1], credential_profile_id=wrong.id)
    dead = device("RTR", dead_address, credential_profile_id=v2c.id)
    flaky = device("RTR", flappy, credential_profile_id=v2c.id)

    def agents(addresses):
        return SnmpdFleet(
            addresses, port=port, community="fleet-community", users=[user], sys_name="fleet"
        )

    def sweep_all():
        summary = run_sweep(all_assets=True)
        assert summary.status == "finished", summary.message
        db.session.expire_all()
        return results_of(summary.run_id), summary

    def state(asset):
        return db.session.get(AssetHealth, asset.id)

    with agents(steady):
        flaky_agent = agents([flappy]).start()
        try:
            results, first = sweep_all()
            assert first.targets == 5
            assert results[router.id][0] == "ok" and results[switch.id][0] == "ok"
            assert results[flaky.id][0] == "ok"
            assert results[locked.id][0] == "auth_failed"
            assert results[dead.id][0] in ("timeout", "unreachable")
            for asset in (router, switch):
                h = state(asset)
                assert (h.state, h.sys_name) == ("up", "fleet") and h.uptime_seconds is not None
                assert "Linux" in h.sys_descr and h.sys_location == "Simulated rack, loopback"
            interfaces = db.session.scalars(
                sa.select(InterfaceState).where(InterfaceState.asset_id == router.id)
            ).all()
            assert any(i.name == "lo" and i.in_octets is not None for i in interfaces)
            assert state(dead).state == "unknown"

            flaky_agent.stop()
            results, second = sweep_all()
            assert results[flaky.id][0] in ("timeout", "unreachable")
            assert state(dead).state == "down" and state(flaky).state == "up"
            assert (dead.id, "down") in second.events
            # Counters read in two polls give a rate (snmpd caches them a few seconds: >= 0).
            lo = db.session.get(
                InterfaceState, (router.id, next(i.if_index for i in interfaces if i.name == "lo"))
            )
            assert lo.in_bps is not None and lo.in_bps >= 0

            results, third = sweep_all()
            assert state(flaky).state == "down" and (flaky.id, "down") in third.events
            assert state(flaky).last_ok_at is not None
        finally:
            flaky_agent.stop()

        with agents([flappy]):
            result = services.poll_now(flaky.id, make_user("engineer"))
            assert (result.ran, result.outcome) == (True, "ok"), result
        db.session.expire_all()
        assert state(flaky).state == "up"
        kinds = [
            e.kind
            for e in db.session.scalars(
                sa.select(HealthEvent)
                .where(HealthEvent.asset_id == flaky.id)
                .order_by(HealthEvent.id)
            )
        ]
        assert kinds == ["down", "up"]
        up = db.session.scalars(sa.select(HealthEvent).where(HealthEvent.kind == "up")).one()
        assert up.message.startswith("answering again after")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HealthSample)) >= 2
