#!/usr/bin/env python3
"""Benchmark the SNMP sweep against real Net-SNMP agents on loopback, with the CLI baseline.

    .venv/bin/python scripts/bench_sweep.py                  # 2,000 devices, the full table
    .venv/bin/python scripts/bench_sweep.py --repeat 3       # the median of 3 runs per row
    .venv/bin/python scripts/bench_sweep.py --devices 500 --concurrency 200 --processes 2
    .venv/bin/python scripts/bench_sweep.py --profile        # cProfile of one run
    .venv/bin/python scripts/bench_sweep.py --no-baseline
    .venv/bin/python scripts/bench_sweep.py --decoder pyasn1 # pyasn1 decodes every reply

What it does:

1. Starts an SnmpdFleet of Debian's snmpd on N distinct 127.x addresses (one process per 40
   addresses, so 2,000 devices are 50 agent processes: the agents are not the bottleneck).
2. Builds N v2c targets with the standard health set (groups HEALTH_GROUPS: one GET of the
   system group, ifNumber, hrSystemUptime, hrSystemProcesses and upsEstimatedChargeRemaining,
   then one GETBULK of ifOperStatus, ifInOctets and ifOutOctets).
3. Runs the product's own `run_batch` at each concurrency and process count, and checks
   every result: "lost" = no OK result, "incomplete" = OK but the interface table or the
   system group did not come back whole.
4. Runs the baseline an administrator would script: Net-SNMP's snmpget plus three
   snmpbulkwalk per device, fanned out with xargs -P 16.
5. Prints devices/s, varbinds/s, wall time, lost devices, the peak RSS of the sweeper (all
   its Python processes summed, sampled from /proc, with their PSS beside it; and
   ru_maxrss of self and children), the CPU time per device of the sweeper and of the
   agents, the timeout used and the ratio to the baseline.

Worker processes (processes > 1) fork from a forkserver that starts once per sweeper
process, as in the scheduler; its start is timed separately before the first such row.

Targets from issue 3: >= 250 devices/s for 2,000 devices with 0 lost at concurrency 50, 200
and 1000, peak RSS < 150 MB; stretch 500/s. The machine may be shared: run it twice before
believing one figure. --check exits 1 when a probe row misses the target.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory.probes import snmp
from inventory.probes.base import HEALTH_GROUPS, Outcome, SnmpCredentials, SnmpTarget
from inventory.probes.snmp import run_batch
from inventory.simulator.snmpd import SnmpdFleet, loopback_addresses

TARGET_RATE = 250.0
STRETCH_RATE = 500.0
TARGET_RSS_MB = 150.0
PORT = 16161
COMMUNITY = "public"
FIRST_ADDRESS = "127.40.0.1"

# The same work as the probe's standard health set, by numeric OID.
SCALARS = [
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.2.1.1.4.0",
    "1.3.6.1.2.1.1.5.0",
    "1.3.6.1.2.1.1.6.0",
    "1.3.6.1.2.1.2.1.0",
    "1.3.6.1.2.1.25.1.1.0",
    "1.3.6.1.2.1.25.1.6.0",
    "1.3.6.1.2.1.33.1.2.4.0",
]
COLUMNS = ["1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.2.2.1.16"]


@dataclass
class Row:
    label: str
    processes: int | str
    concurrency: int | str
    devices: int
    wall_s: float
    varbinds: int
    lost: int
    incomplete: int
    peak_rss_mb: float
    cpu_s: float = 0.0
    peak_pss_mb: float = 0.0
    agents_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.devices / self.wall_s if self.wall_s else 0.0


class Sampler:
    """Peak summed RSS of this process and its Python descendants (the probe's worker
    processes and their forkserver), and the CPU time those descendants used, sampled from
    /proc; the snmpd agents and the CLI baseline are left out."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self.child_cpu: dict[int, float] = {}  # pid -> the latest utime + stime seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu_before = 0.0
        self._own_cpu_s = 0.0
        self._child_cpu_before: dict[int, float] = {}
        self.cpu_s = 0.0

    def __enter__(self) -> Sampler:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu_before = usage.ru_utime + usage.ru_stime
        # Descendants already running (the forkserver) count from now, not from their start.
        self._child_cpu_before = python_tree()[2]
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu_s = usage.ru_utime + usage.ru_stime - self._cpu_before - self._own_cpu_s
        self.cpu_s += sum(
            cpu - self._child_cpu_before.get(pid, 0.0) for pid, cpu in self.child_cpu.items()
        )

    def _run(self) -> None:
        # The sampler's own CPU is not the sweeper's: measured here and taken off.
        started = time.thread_time()
        try:
            self._sample()
        finally:
            self._own_cpu_s = time.thread_time() - started

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss, pss, cpu = python_tree()
            self.peak_kb = max(self.peak_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.child_cpu.update(cpu)
            self._stop.wait(self.interval)


def python_tree() -> tuple[int, int, dict[int, float]]:
    """(summed RSS and PSS in KiB of this process and its Python descendants, and
    {descendant: CPU s}). RSS counts the pages worker processes share with their forkserver
    once per process; PSS splits them, so its sum is the memory really used."""
    me = os.getpid()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu: dict[int, float] = {}
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        names[int(entry)] = name
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    total = pss = 0
    for pid in parents:
        chain, node = pid, pid
        while node not in (0, 1, me) and node in parents:
            node = parents[node]
        if node != me or not (chain == me or names[chain].startswith("python")):
            continue
        if chain != me:
            cpu[chain] = times[chain]
        try:
            for line in Path(f"/proc/{chain}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for line in Path(f"/proc/{chain}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return total, pss, cpu


def make_targets(addresses: list[str], timeout: float, retries: int) -> list[SnmpTarget]:
    credentials = SnmpCredentials(version="v2c", community=COMMUNITY)
    return [
        SnmpTarget(
            key=number,
            address=address,
            credentials=credentials,
            port=PORT,
            timeout=timeout,
            retries=retries,
            groups=HEALTH_GROUPS,
        )
        for number, address in enumerate(addresses)
    ]


def check(results, targets) -> tuple[int, int, int]:
    """(lost, incomplete, varbinds): lost = no OK result; incomplete = OK but partial."""
    assert len(results) == len(targets)
    assert [r.key for r in results] == [t.key for t in targets], "results out of order"
    lost = incomplete = varbinds = 0
    for result in results:
        if result.outcome is not Outcome.OK or result.data is None:
            lost += 1
            continue
        data = result.data
        varbinds += data.varbinds
        complete = (
            not result.message
            and data.system.name
            and data.interfaces
            and all(i.oper_status is not None and i.in_octets is not None for i in data.interfaces)
        )
        if not complete:
            incomplete += 1
    return lost, incomplete, varbinds


def agents_cpu_s() -> float:
    """CPU seconds used so far by the snmpd agents this benchmark started."""
    me, ticks, total = os.getpid(), os.sysconf("SC_CLK_TCK"), 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if stat[stat.index("(") + 1 : stat.rindex(")")] == "snmpd" and int(fields[1]) == me:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_probe(targets, concurrency: int, processes: int) -> Row:
    agents_before = agents_cpu_s()
    with Sampler() as sampler:
        started = time.perf_counter()
        results = run_batch(targets, concurrency=concurrency, processes=processes)
        wall = time.perf_counter() - started
    agents = agents_cpu_s() - agents_before
    lost, incomplete, varbinds = check(results, targets)
    outcomes: dict[str, int] = {}
    for result in results:
        if not result.ok:
            outcomes[f"{result.outcome}: {result.message}"] = (
                outcomes.get(f"{result.outcome}: {result.message}", 0) + 1
            )
    if outcomes:
        print(f"    failures at c={concurrency} p={processes}: {outcomes}", flush=True)
    return Row(
        "run_batch",
        processes,
        concurrency,
        len(targets),
        wall,
        varbinds,
        lost,
        incomplete,
        sampler.peak_kb / 1024,
        sampler.cpu_s,
        sampler.peak_pss_kb / 1024,
        agents,
    )


BASELINE_SCRIPT = """\
a="$1"
out=$(snmpget -v2c -c {community} -On -Oq -t {timeout} -r {retries} "$a:{port}" {scalars} \
  && snmpbulkwalk -v2c -c {community} -On -Oq -t {timeout} -r {retries} "$a:{port}" {c0} \
  && snmpbulkwalk -v2c -c {community} -On -Oq -t {timeout} -r {retries} "$a:{port}" {c1} \
  && snmpbulkwalk -v2c -c {community} -On -Oq -t {timeout} -r {retries} "$a:{port}" {c2}) \
  && printf '%s\\n' "$out" | awk 'END {{ print "DEVICE-OK", NR }}'
"""


def run_baseline(addresses: list[str], jobs: int, timeout: float, retries: int) -> Row:
    """snmpget + 3 snmpbulkwalk per device, xargs -P jobs: what an administrator scripts."""
    agents_before = agents_cpu_s()
    script = BASELINE_SCRIPT.format(
        community=COMMUNITY,
        timeout=max(1, round(timeout)),
        retries=retries,
        port=PORT,
        scalars=" ".join(SCALARS),
        c0=COLUMNS[0],
        c1=COLUMNS[1],
        c2=COLUMNS[2],
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        started = time.perf_counter()
        completed = subprocess.run(
            ["xargs", "-P", str(jobs), "-n", "1", "sh", script_path],
            input="\n".join(addresses) + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    finally:
        os.unlink(script_path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    ok_lines = [line for line in completed.stdout.splitlines() if line.startswith("DEVICE-OK")]
    varbinds = sum(int(line.split()[1]) for line in ok_lines)
    return Row(
        f"net-snmp CLI, xargs -P {jobs}",
        "-",
        jobs,
        len(addresses),
        wall,
        varbinds,
        len(addresses) - len(ok_lines),
        0,
        0.0,
        cpu,
        0.0,
        agents_cpu_s() - agents_before,
    )


def print_table(rows: list[Row], baseline: Row | None, timeout: float, retries: int) -> None:
    print()
    print(
        f"timeout {timeout:g} s per request, {retries} retry; standard health set per device; "
        f"replies decoded by the {'fast BER reader' if snmp.FAST_DECODER else 'pyasn1'}"
    )
    print("CPU ms = the sweeper's CPU time per device (all its processes); agt ms = the")
    print("         snmpd agents' CPU time per device (they share the same 2 cores)")
    print("RSS/PSS = peak of the sweeper's Python processes summed (RSS counts shared pages")
    print("          once per process; PSS shares them out: the memory really in use)")
    header = (
        f"{'sweeper':<28} {'proc':>4} {'conc':>5} {'devices':>7} {'wall s':>7} "
        f"{'dev/s':>7} {'vb/s':>8} {'lost':>5} {'incompl':>7} {'RSS/PSS MB':>11} "
        f"{'CPU ms':>7} {'agt ms':>7} {'x base':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = f"{row.rate / baseline.rate:.1f}" if baseline and baseline.rate else "-"
        rss = f"{row.peak_rss_mb:.0f}/{row.peak_pss_mb:.0f}" if row.peak_rss_mb else "-"
        cpu = f"{1000 * row.cpu_s / row.devices:.2f}" if row.cpu_s else "-"
        agents = f"{1000 * row.agents_cpu_s / row.devices:.2f}" if row.agents_cpu_s else "-"
        print(
            f"{row.label:<28} {row.processes!s:>4} {row.concurrency!s:>5} {row.devices:>7} "
            f"{row.wall_s:>7.2f} {row.rate:>7.0f} {row.varbinds / row.wall_s:>8.0f} "
            f"{row.lost:>5} {row.incomplete:>7} {rss:>11} {cpu:>7} {agents:>7} {ratio:>6}"
        )
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"ru_maxrss: self {self_mb:.0f} MB, largest waited-for child {children_mb:.0f} MB "
        "(includes snmpd agents and CLI tools; the per-row figure sums the sweeper's Python "
        "processes)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--per-process", type=int, default=40, help="addresses per snmpd")
    parser.add_argument("--concurrency", default="50,200,1000")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the median")
    parser.add_argument("--jobs", type=int, default=16, help="xargs -P for the baseline")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process run")
    parser.add_argument(
        "--decoder",
        choices=("fast", "pyasn1"),
        default="fast",
        help="pyasn1: decode every reply with pyasn1, to compare with the fast BER reader",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a row misses")
    args = parser.parse_args()

    if not shutil.which("snmpget") or not Path("/usr/sbin/snmpd").exists():
        print("needs Debian's snmpd and snmp packages", file=sys.stderr)
        return 2
    # Worker processes read the variable when the forkserver imports the probe module.
    os.environ["INVENTORY_SNMP_DECODER"] = args.decoder
    snmp.FAST_DECODER = args.decoder == "fast"
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    process_counts = [int(p) for p in args.processes.split(",") if p]
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    addresses = loopback_addresses(args.devices, FIRST_ADDRESS)
    targets = make_targets(addresses, args.timeout, args.retries)
    started = time.perf_counter()
    fleet = SnmpdFleet(addresses, port=PORT, community=COMMUNITY, per_process=args.per_process)
    fleet.start(timeout=120)
    print(
        f"{-(-len(addresses) // args.per_process)} snmpd processes on {len(addresses)} addresses "
        f"started in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rows: list[Row] = []
    baseline: Row | None = None
    try:
        # Warm the agents (their first answers read /proc and fill caches).
        run_batch(targets, concurrency=200, processes=1)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            row = run_probe(targets, 200, 1)
            profiler.disable()
            print(f"profiled run: {row.rate:.0f} devices/s (slowed by the profiler)")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return 0
        for processes in sorted(process_counts):
            if processes > 1 and not any(r.processes != 1 for r in rows):
                # The forkserver starts once per sweeper process (the scheduler keeps it).
                cold = time.perf_counter()
                run_batch(targets[:200], concurrency=200, processes=processes)
                print(f"worker forkserver start: {time.perf_counter() - cold:.2f} s", flush=True)
            for concurrency in concurrencies:
                runs = [run_probe(targets, concurrency, processes) for _ in range(args.repeat)]
                row = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]  # the median
                row.lost = max(r.lost for r in runs)
                row.incomplete = max(r.incomplete for r in runs)
                row.peak_rss_mb = max(r.peak_rss_mb for r in runs)
                row.peak_pss_mb = max(r.peak_pss_mb for r in runs)
                rows.append(row)
                print(
                    f"  run_batch p={processes} c={concurrency}: "
                    + ", ".join(f"{r.rate:.0f}" for r in runs)
                    + f" devices/s, lost {row.lost}, incomplete {row.incomplete}, "
                    f"peak RSS {row.peak_rss_mb:.0f} MB (PSS {row.peak_pss_mb:.0f} MB)",
                    flush=True,
                )
        if not args.no_baseline:
            baseline = run_baseline(addresses, args.jobs, args.timeout, args.retries)
            rows.append(baseline)
            print(f"  baseline: {baseline.rate:.0f} devices/s, lost {baseline.lost}", flush=True)
    finally:
        fleet.stop()
    print_table(rows, baseline, args.timeout, args.retries)
    probe_rows = [r for r in rows if r.label == "run_batch"]
    best = max((r.rate for r in probe_rows), default=0.0)
    print(
        f"best {best:.0f} devices/s (target {TARGET_RATE:.0f}, stretch {STRETCH_RATE:.0f}); "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    misses = [
        f"p={r.processes} c={r.concurrency}: "
        + ", ".join(
            reason
            for reason, missed in (
                (f"{r.lost} lost", r.lost),
                (f"{r.incomplete} incomplete", r.incomplete),
                (f"{r.rate:.0f} devices/s", r.rate < TARGET_RATE),
                (f"peak RSS {r.peak_rss_mb:.0f} MB", r.peak_rss_mb > TARGET_RSS_MB),
            )
            if missed
        )
        for r in probe_rows
        if r.lost or r.incomplete or r.rate < TARGET_RATE or r.peak_rss_mb > TARGET_RSS_MB
    ]
    for miss in misses:
        print(f"misses the target: {miss}")
    if args.check:
        return 1 if misses else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
