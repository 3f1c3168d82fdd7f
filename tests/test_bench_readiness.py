"""scripts/bench_readiness.py at a tiny size on SQLite: it seeds what it says, times every
row of its table through the real app and the bare SQL, leaves no database behind, and its
bulk-inserted hourly rows are the ones roll_up_hours() computes from the raw rows."""

from __future__ import annotations

import importlib.util
import random
import re
import sys
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_readiness.py"
ROWS = (
    "board page  GET /vc/",
    "board(), now only",
    "board() with history",
    "office page GET /vc/<site>",
    "roll_up_hours(this hour)",
    "roll_up_hours(from hour before)",
    "bare SQL: history queries",
    "bare SQL: GROUP BY raw rows (before 0009)",
)
NUMBER = r"\d+\.\d"


def load_script():
    spec = importlib.util.spec_from_file_location("bench_readiness", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bench_readiness_prints_its_table(tmp_path, monkeypatch, capsys):
    bench = load_script()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the script's temporary folders

    argv = ["--offices", "5", "--days", "2", "--requests", "2", "--cscs", "2"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out

    # seeded: 5 offices x 2 days x 288 checks (and polls) a day, 5 parts per office
    assert "vc_checks 2,880" in out
    assert "projector_samples 2,880" in out
    assert "assets 25," in out
    assert "vc_reachability 5," in out
    assert "asset_health 10," in out
    # rolled up by roll_up_hours(): 2 days and a part hour or two, per codec and projector
    rolled = re.search(r"roll-up of 5,760 raw rows into (\d+) hours: \d+\.\d s", out)
    assert rolled is not None, out
    assert 5 * 2 * 48 <= int(rolled.group(1)) <= 5 * 2 * 50
    # every office of the board has a verdict
    now = re.search(r"The board now: (\d+) ready, (\d+) not ready, (\d+) cannot tell", out)
    assert now is not None, out
    assert sum(int(n) for n in now.groups()) == 5
    # every row timed: statements per call, p50, p95, max and the ratio to the bare SQL
    for name in ROWS:
        line = re.search(
            rf"^{re.escape(name)}\s+(\d+) \|\s+{NUMBER}\s+{NUMBER}\s+{NUMBER} \|\s+{NUMBER}",
            out,
            re.MULTILINE,
        )
        assert line is not None, f"no row {name!r} in:\n{out}"
        assert int(line.group(1)) > 0
    assert re.search(rf"board\(\) with history / bare SQL \(p50\): {NUMBER}", out)
    # the baselines split by table: now the hourly tables, before 0009 the raw rows
    now_split = re.search(r"^  bare SQL: history queries: (.*)$", out, re.MULTILINE)
    raw_split = re.search(r"^  bare SQL: GROUP BY raw rows \(before 0009\): (.*)$", out, re.M)
    assert now_split is not None and raw_split is not None, out
    assert "vc_hourly" in now_split.group(1) and "vc_checks" not in now_split.group(1)
    assert "vc_checks" in raw_split.group(1) and "vc_hourly" not in raw_split.group(1)
    for split in (now_split.group(1), raw_split.group(1)):
        assert "health_events" in split and "tickets" in split
    assert "sqlite 3." in out
    # the temporary database and instance folders are gone
    assert list(tmp_path.iterdir()) == []


def test_bulk_hourly_rows_are_what_roll_up_hours_computes(tmp_path):
    bench = load_script()
    from inventory.extensions import db

    app = bench.make_app(f"sqlite:///{tmp_path / 'bench.db'}", tmp_path)
    with app.app_context():
        bench.upgrade_schema()
        seeder = bench.seed(6, 3, 0, random.Random(7), hourly="bulk")
        bulk = bench.hourly_rows()
        written, _seconds = bench.roll_up(seeder)
        rolled = bench.hourly_rows()
        db.engine.dispose()

    assert written == sum(len(rows) for rows in rolled.values())
    for table, raw in (("vc_hourly", "vc_checks"), ("projector_hourly", "projector_samples")):
        assert bulk[table] == rolled[table], table
        # every raw reading counted once, and some hours with bad readings among them
        assert sum(readings for _a, _h, readings, _g in rolled[table]) == seeder.rows[raw]
        assert any(0 < good < readings for _a, _h, readings, good in rolled[table]), table
        assert any(good == 0 for _a, _h, _r, good in rolled[table]), table
