"""The scheduler's periodic jobs: each runs when its interval has passed, and one failing job
neither stops the others nor leaves a broken database session behind."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime

import pytest

from inventory.extensions import db
from inventory.jobs import Job, JobRunner

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


@pytest.fixture
def job_module():
    module = types.ModuleType("sampada_test_jobs")
    module.calls = []

    def ok(now):
        module.calls.append(("ok", now))
        return "did one thing"

    def quiet(now):
        module.calls.append(("quiet", now))
        return None

    def broken(now):
        module.calls.append(("broken", now))
        db.session.execute(db.text("SELECT * FROM no_such_table"))

    module.ok, module.quiet, module.broken = ok, quiet, broken
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_jobs_run_when_due_and_failures_are_contained(app, job_module):
    app.config.update(JOB_A_EVERY=60, JOB_B_EVERY=600)
    jobs = [
        Job("broken", "sampada_test_jobs:broken", "JOB_A_EVERY"),
        Job("ok", "sampada_test_jobs:ok", "JOB_A_EVERY"),
        Job("quiet", "sampada_test_jobs:quiet", "JOB_B_EVERY"),
    ]
    runner = JobRunner(app.config, jobs)
    said: list[str] = []

    runner.run_due(NOW, 1000.0, said.append)
    assert [name for name, _ in job_module.calls] == ["broken", "ok", "quiet"]
    assert said[0].startswith("Job broken failed: ")
    assert said[1:] == ["ok: did one thing"]  # a job with nothing to say prints nothing

    runner.run_due(NOW, 1030.0, said.append)  # 30 s later: nothing is due
    assert len(job_module.calls) == 3

    runner.run_due(NOW, 1061.0, said.append)  # 61 s: the 60-second jobs, not the 600 one
    assert [name for name, _ in job_module.calls[3:]] == ["broken", "ok"]

    # The failure left the session usable.
    assert db.session.execute(db.text("SELECT 1")).scalar() == 1
