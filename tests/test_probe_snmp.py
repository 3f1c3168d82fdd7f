"""The SNMP probe against real agents on loopback.

- Net-SNMP's snmpd (Debian) with v2c and SNMPv3 users made by the tests: the probe's data is
  checked against what Net-SNMP's own snmpget/snmpbulkwalk read from the same agent.
- snmpsim serving real device recordings from the snmpsim-data package (Cisco, UPS, Linux)
  and our own (printer, hostile, slow and broken ones in inventory/simulator/recordings);
  expected values are read from the recordings themselves.
Agents are session fixtures from tests/agents.py.
"""

from __future__ import annotations

import bz2
import os
import subprocess
import time
import unicodedata
from dataclasses import fields, is_dataclass

import pytest
from agents import (
    REAL_RECORDINGS,
    SnmpdAgents,
    SnmpsimAgents,
    free_udp_port,
    read_snmprec,
    session_subnet,
)

from inventory.probes.base import (
    SYSTEM,
    Outcome,
    ProbeResult,
    SnmpCredentials,
    SnmpTarget,
)
from inventory.probes.snmp import probe_all, run_batch
from inventory.simulator.snmpd import V3User
from inventory.simulator.snmpsim import SnmpsimAgent, layout_by_endpoint

MAX_TEXT = 1000  # the probe caps device strings (a sysDescr is a few hundred characters)
SYS = (1, 3, 6, 1, 2, 1, 1)


# --------------------------------------------------------------------------------- helpers


def v2c_target(address, port, community, key=1, **options) -> SnmpTarget:
    options.setdefault("timeout", 3.0)
    return SnmpTarget(
        key=key,
        address=address,
        port=port,
        credentials=SnmpCredentials(version="v2c", community=community),
        **options,
    )


def v3_target(address, port, user: V3User, key=1, **options) -> SnmpTarget:
    """A target for a Net-SNMP style V3User (protocol names "SHA-256", "AES")."""
    options.setdefault("timeout", 3.0)
    credentials = SnmpCredentials(
        version="v3",
        username=user.name,
        auth_protocol=user.auth_protocol.lower().replace("-", ""),
        auth_key=user.auth_key,
        priv_protocol=(user.priv_protocol or "none").lower(),
        priv_key=user.priv_key,
    )
    return SnmpTarget(key=key, address=address, port=port, credentials=credentials, **options)


def probe(target: SnmpTarget) -> ProbeResult:
    results = run_batch([target])
    assert len(results) == 1
    assert results[0].key == target.key
    return results[0]


def probe_ok(target: SnmpTarget) -> ProbeResult:
    result = probe(target)
    assert result.outcome is Outcome.OK, result.message
    assert result.data is not None
    return result


def net_snmp(command: str, agents: SnmpdAgents, address: str, oid: str) -> dict[tuple, str]:
    """What Net-SNMP's own tools read: {oid: value as text} (numeric OIDs and enums)."""
    completed = subprocess.run(
        [
            *(command, "-v2c", "-c", agents.community, "-Oqn", "-Oe", "-Ot", "-t", "3", "-r", "1"),
            f"{address}:{agents.port}",
            oid,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    out: dict[tuple, str] = {}
    for line in completed.stdout.splitlines():
        name, _, value = line.partition(" ")
        if "No Such" in value or not name.startswith("."):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[tuple(int(x) for x in name[1:].split("."))] = value
    return out


def column(values: dict[tuple, str], prefix: tuple) -> dict[int, str]:
    return {oid[-1]: value for oid, value in values.items() if oid[:-1] == prefix}


def text_of(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def recording(role: str) -> dict:
    roles = {**REAL_RECORDINGS, "printer_v3": REAL_RECORDINGS["printer"]}
    return read_snmprec(roles[role])


def all_strings(value):
    """Every str inside a result's data (dataclasses and lists, recursively)."""
    if isinstance(value, str):
        yield value
    elif is_dataclass(value):
        for item in fields(value):
            yield from all_strings(getattr(value, item.name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from all_strings(item)


def secrets_of(target: SnmpTarget) -> list[str]:
    credentials = target.credentials
    return [s for s in (credentials.community, credentials.auth_key, credentials.priv_key) if s]


def assert_no_secret(target: SnmpTarget, result: ProbeResult) -> None:
    for secret in secrets_of(target):
        assert secret not in repr(target)
        assert secret not in str(target)
        assert secret not in result.message
        assert secret not in repr(result)


# --------------------------------------------------------------------------------- snmpd


def test_v2c_reads_what_net_snmp_reads(snmpd_agents):
    agents = snmpd_agents
    address = agents.addresses[0]
    result = probe_ok(v2c_target(address, agents.port, agents.community))
    data = result.data

    system = net_snmp("snmpbulkwalk", agents, address, "1.3.6.1.2.1.1")
    assert data.system.descr == system[(*SYS, 1, 0)]
    assert data.system.object_id == system[(*SYS, 2, 0)].lstrip(".")
    assert data.system.name == agents.sys_name == system[(*SYS, 5, 0)]
    assert data.system.location == system[(*SYS, 6, 0)] == "Simulated rack, loopback"
    assert data.system.contact == system[(*SYS, 4, 0)]
    assert data.system.uptime_ticks is not None and data.system.uptime_ticks >= 0
    assert data.host_uptime_ticks and data.host_uptime_ticks > 0
    assert data.process_count and data.process_count > 0

    interfaces = net_snmp("snmpbulkwalk", agents, address, "1.3.6.1.2.1.2")
    if_number = int(interfaces[(1, 3, 6, 1, 2, 1, 2, 1, 0)])
    assert len(data.interfaces) == if_number >= 1
    descr = column(interfaces, (1, 3, 6, 1, 2, 1, 2, 2, 1, 2))
    admin = column(interfaces, (1, 3, 6, 1, 2, 1, 2, 2, 1, 7))
    oper = column(interfaces, (1, 3, 6, 1, 2, 1, 2, 2, 1, 8))
    assert [i.index for i in data.interfaces] == sorted(descr)
    for interface in data.interfaces:
        assert interface.descr == descr[interface.index]
        assert interface.admin_status == int(admin[interface.index])
        assert interface.oper_status == int(oper[interface.index])
        assert interface.counter_bits == 64  # Net-SNMP has ifHCIn/OutOctets
        assert interface.in_octets is not None and interface.out_octets is not None
    assert any(i.descr == "lo" and i.oper_status == 1 for i in data.interfaces)

    storage = net_snmp("snmpbulkwalk", agents, address, "1.3.6.1.2.1.25.2.3.1")
    prefix = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
    names = column(storage, (*prefix, 3))
    units = column(storage, (*prefix, 4))
    sizes = column(storage, (*prefix, 5))
    used = column(storage, (*prefix, 6))
    assert sorted(s.index for s in data.storage) == sorted(names)
    for item in data.storage:
        assert item.descr == names[item.index]
        size = int(sizes[item.index]) * int(units[item.index])
        assert item.size_bytes == size
        # usage moves between the two reads (memory, /tmp): close, not equal
        assert abs(item.used_bytes - int(used[item.index]) * int(units[item.index])) <= max(
            size // 20, 64 * 1024 * 1024
        )
    kinds = {s.descr: s.kind for s in data.storage}
    assert kinds["Physical memory"] == "ram"
    assert kinds["Virtual memory"] == "virtual"
    assert kinds["/"] == "disk"
    root = next(s for s in data.storage if s.descr == "/")
    assert 0 < root.used_pct <= 100

    # snmpd only reports hrProcessorLoad after its first minute of samples: whatever it
    # reports, the probe reads the same number of CPUs, each a percentage.
    cpus = net_snmp("snmpbulkwalk", agents, address, "1.3.6.1.2.1.25.3.3.1.2")
    assert len(data.cpu_loads) == len(cpus)
    assert all(0 <= load <= 100 for load in data.cpu_loads)
    assert data.ups is None and data.supplies == []
    assert data.varbinds > 0


@pytest.mark.parametrize("role", ["auth_sha", "priv_aes", "sha256_aes"])
def test_v3_users(snmpd_agents, role):
    """authNoPriv SHA, authPriv SHA+AES and SHA-256+AES read the same agent."""
    agents = snmpd_agents
    address = agents.addresses[1]
    result = probe_ok(v3_target(address, agents.port, agents.users[role]))
    assert result.data.system.name == agents.sys_name
    interfaces = net_snmp("snmpbulkwalk", agents, address, "1.3.6.1.2.1.2.2.1.2")
    assert [i.descr for i in result.data.interfaces] == list(interfaces.values())
    assert result.data.storage


def test_wrong_community_times_out_within_the_timeout_given(snmpd_agents):
    agents = snmpd_agents
    target = v2c_target(
        agents.addresses[0], agents.port, "wrong-" + agents.community, timeout=0.4, retries=1
    )
    started = time.monotonic()
    result = probe(target)
    wall = time.monotonic() - started
    assert result.outcome is Outcome.TIMEOUT
    # two tries of 0.4 s: not cut short, and not much longer (slack for a loaded machine)
    assert 0.75 <= result.elapsed_ms / 1000 <= 2.0
    assert wall < 5
    assert result.data is None
    assert_no_secret(target, result)


@pytest.mark.parametrize(
    "change",
    ["auth_key", "username", "priv_key"],
    ids=["wrong-auth-key", "unknown-user", "wrong-priv-key"],
)
def test_v3_credential_problems_are_auth_failures(snmpd_agents, change):
    """USM reports (usmStatsWrongDigests, usmStatsUnknownUserNames) are AUTH_FAILED."""
    agents = snmpd_agents
    user = agents.users["priv_aes"]
    if change == "auth_key":
        user = V3User(user.name, user.auth_protocol, "x" + user.auth_key[1:], "AES", user.priv_key)
    elif change == "username":
        user = V3User(
            "nobody-" + user.name, user.auth_protocol, user.auth_key, "AES", user.priv_key
        )
    else:
        user = V3User(user.name, user.auth_protocol, user.auth_key, "AES", "y" + user.priv_key[1:])
    target = v3_target(agents.addresses[0], agents.port, user, timeout=1.0, retries=0)
    result = probe(target)
    if change == "priv_key":
        # Net-SNMP decrypts with the wrong key, cannot parse the result and drops the
        # message without a report (its own snmpget says "Timeout" too)
        assert result.outcome in (Outcome.AUTH_FAILED, Outcome.TIMEOUT), result.message
    else:
        assert result.outcome is Outcome.AUTH_FAILED, (result.outcome, result.message)
    assert result.elapsed_ms < 5000
    assert_no_secret(target, result)


def test_closed_port(snmpd_agents):
    """Nothing listens: the kernel answers ICMP port unreachable, which the probe reports as
    UNREACHABLE for v1/v2c (documented); SNMPv3 may only see silence (TIMEOUT)."""
    address = snmpd_agents.addresses[0]
    port = free_udp_port([address])
    v2 = probe(v2c_target(address, port, "public", timeout=1.0, retries=1))
    assert v2.outcome is Outcome.UNREACHABLE, v2.message
    assert v2.elapsed_ms < 1000  # the ICMP error arrives at once: no waiting for the timeout
    v3 = probe(v3_target(address, port, snmpd_agents.users["auth_sha"], timeout=0.5, retries=0))
    assert v3.outcome in (Outcome.TIMEOUT, Outcome.UNREACHABLE), v3.message
    assert v3.elapsed_ms < 3000


def test_a_batch_of_good_and_dead_targets_gives_one_result_each_in_order(snmpd_agents):
    agents = snmpd_agents
    first, second = agents.addresses
    closed = free_udp_port([first])
    kinds = []
    targets = []
    for n in range(40):
        key = 1000 - 7 * n  # keys unrelated to positions
        kind = n % 8
        if kind in (0, 3):
            target = v2c_target(first if n % 2 else second, agents.port, agents.community, key)
        elif kind == 1:
            target = v2c_target(first, closed, agents.community, key, timeout=0.5)
        elif kind == 2:
            target = v2c_target(second, agents.port, "nope", key, timeout=0.3, retries=0)
        elif kind == 4:
            target = v3_target(first, agents.port, agents.users["priv_aes"], key)
        elif kind == 5:
            user = V3User("ghost", "SHA", "ghost-pass-1")
            target = v3_target(second, agents.port, user, key, timeout=1.0, retries=0)
        elif kind == 6:
            target = SnmpTarget(
                key=key,
                address=first,
                port=agents.port,
                credentials=SnmpCredentials(version="v9", community=agents.community),
            )
        else:
            target = v2c_target(second, agents.port, agents.community, key, groups={SYSTEM})
        kinds.append(kind)
        targets.append(target)
    results = run_batch(targets, concurrency=5)
    assert len(results) == len(targets)
    assert [r.key for r in results] == [t.key for t in targets]
    expected = {
        0: Outcome.OK,
        1: Outcome.UNREACHABLE,
        2: Outcome.TIMEOUT,
        3: Outcome.OK,
        4: Outcome.OK,
        5: Outcome.AUTH_FAILED,
        6: Outcome.ERROR,
        7: Outcome.OK,
    }
    assert [r.outcome for r in results] == [expected[k] for k in kinds]
    for target, result in zip(targets, results, strict=True):
        assert (result.data is not None) == (result.outcome is Outcome.OK)
        assert_no_secret(target, result)
        if result.ok:
            assert result.data.system.name == agents.sys_name


def test_worker_processes_keep_one_result_per_target_in_order(snmpd_agents):
    agents = snmpd_agents
    closed = free_udp_port([agents.addresses[0]])
    targets = []
    for n in range(130):
        if n % 13 == 5:
            targets.append(v2c_target(agents.addresses[0], closed, agents.community, n * 3 + 1))
        else:
            address = agents.addresses[n % 2]
            targets.append(
                v2c_target(address, agents.port, agents.community, n * 3 + 1, groups={SYSTEM})
            )
    targets.append(v3_target(agents.addresses[1], agents.port, agents.users["auth_sha"], 9999))
    results = run_batch(targets, concurrency=40, processes=2)
    assert [r.key for r in results] == [t.key for t in targets]
    for n, result in enumerate(results[:-1]):
        wanted = Outcome.UNREACHABLE if n % 13 == 5 else Outcome.OK
        assert result.outcome is wanted, (n, result.message)
    assert results[-1].outcome is Outcome.OK


def test_probe_all_inside_an_event_loop(snmpd_agents):
    import asyncio

    agents = snmpd_agents
    targets = [
        v2c_target(agents.addresses[0], agents.port, agents.community, 1),
        v3_target(agents.addresses[1], agents.port, agents.users["sha256_aes"], 2),
    ]
    results = asyncio.run(probe_all(targets, concurrency=2))
    assert [(r.key, r.outcome) for r in results] == [(1, Outcome.OK), (2, Outcome.OK)]


def test_secrets_stay_out_of_reprs_and_messages(snmpd_agents):
    agents = snmpd_agents
    community_target = v2c_target(
        agents.addresses[0], agents.port, agents.community + "-wrong", timeout=0.3, retries=0
    )
    good = agents.users["priv_aes"]
    bad_key = V3User(good.name, "SHA", "k" + good.auth_key, "AES", good.priv_key)
    v3_bad = v3_target(agents.addresses[0], agents.port, bad_key, timeout=1.0, retries=0)
    v3_good = v3_target(agents.addresses[0], agents.port, good)
    results = run_batch([community_target, v3_bad, v3_good])
    assert [r.outcome for r in results] == [Outcome.TIMEOUT, Outcome.AUTH_FAILED, Outcome.OK]
    for target, result in zip([community_target, v3_bad, v3_good], results, strict=True):
        assert_no_secret(target, result)
        assert "community=" not in repr(target.credentials)
        assert "auth_key=" not in repr(target.credentials)
        assert "priv_key=" not in repr(target.credentials)


# --------------------------------------------------------------------------------- snmpsim


def snmpsim_target(agents: SnmpsimAgents, role: str, community=None, **options) -> SnmpTarget:
    address, port = agents.endpoints[role]
    return v2c_target(address, port, community or agents.community, **options)


def test_one_community_reads_a_different_recording_on_each_address(snmpsim_agents):
    agents = snmpsim_agents
    roles = list(agents.endpoints)
    targets = [snmpsim_target(agents, role, key=n, groups={SYSTEM}) for n, role in enumerate(roles)]
    results = run_batch(targets)
    for role, result in zip(roles, results, strict=True):
        assert result.outcome is Outcome.OK, (role, result.message)
        if role != "hostile":  # its sysName has control characters the probe removes
            expected = text_of(recording(role)[(*SYS, 5, 0)][1])
            assert result.data.system.name == expected.strip(), role
    names = {role: r.data.system.name for role, r in zip(roles, results, strict=True)}
    assert names["printer"] == names["printer_again"] == "NPI3F2A1C"
    assert len({names[r] for r in ("cisco", "ups", "linux", "printer", "apc_pdu")}) == 5
    # a community that names no recording: silence, as on a real agent
    wrong = probe(snmpsim_target(agents, "cisco", community="public", timeout=0.5, retries=0))
    assert wrong.outcome is Outcome.TIMEOUT


def test_layout_by_endpoint_links_one_folder_per_recording(tmp_path):
    printer = REAL_RECORDINGS["printer"]
    cisco = REAL_RECORDINGS["cisco"]
    engines = layout_by_endpoint(
        tmp_path,
        {("127.9.0.1", 161): printer, ("127.9.0.2", 161): cisco, ("127.9.0.3", 1161): printer},
        community="district",
    )
    assert [e.endpoints for e in engines] == [
        (("127.9.0.1", 161), ("127.9.0.3", 1161)),
        (("127.9.0.2", 161),),
    ]
    first, second = (sorted(p.name for p in e.data_dir.iterdir()) for e in engines)
    assert first == second == ["district.snmprec"]  # the .bz2 one decompressed
    linked = engines[0].data_dir / "district.snmprec"
    assert not linked.is_symlink()  # snmpsim names symlinked files after their target
    assert linked.read_bytes() == printer.read_bytes()
    assert (
        bz2.decompress(cisco.read_bytes())
        == (engines[1].data_dir / "district.snmprec").read_bytes()
    )
    (again,) = layout_by_endpoint(
        tmp_path / "v3", {("127.9.0.4", 161): printer}, "district", default_context=True
    )
    assert sorted(p.name for p in again.data_dir.iterdir()) == ["district.snmprec", "self.snmprec"]
    with pytest.raises(ValueError):
        layout_by_endpoint(tmp_path, {("10.0.0.1", 161): printer})
    with pytest.raises(ValueError):
        layout_by_endpoint(tmp_path, {("127.9.0.1", 161): printer}, community="a/b")
    with pytest.raises(ValueError):
        SnmpsimAgent(tmp_path, [("192.168.1.1", 161)])


def test_cisco_switch_entity_and_64_bit_counters(snmpsim_agents):
    rec = recording("cisco")
    data = probe_ok(snmpsim_target(snmpsim_agents, "cisco")).data
    assert data.system.descr.startswith("Cisco IOS Software, C3750 Software")
    assert data.system.object_id == "1.3.6.1.4.1.9.1.516"
    assert data.system.uptime_ticks == int(rec[(*SYS, 3, 0)][1])
    # ENTITY-MIB: the chassis row (entPhysicalClass 3), not the empty stack row before it
    assert data.entity_model == "WS-C3750G-12S-S"
    assert data.entity_serial == "FDO1622Y10H"

    if_entry = (1, 3, 6, 1, 2, 1, 2, 2, 1)
    ifx_entry = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
    indexes = sorted(oid[-1] for oid in rec if oid[:-1] == (*if_entry, 1))
    assert len(data.interfaces) == int(rec[(1, 3, 6, 1, 2, 1, 2, 1, 0)][1]) == len(indexes) == 19
    assert [i.index for i in data.interfaces] == indexes
    wide = 0
    for interface in data.interfaces:
        n = interface.index
        assert interface.oper_status == int(rec[(*if_entry, 8, n)][1])
        assert interface.admin_status == int(rec[(*if_entry, 7, n)][1])
        assert interface.descr == text_of(rec[(*if_entry, 2, n)][1]).strip()
        assert interface.name == text_of(rec[(*ifx_entry, 1, n)][1]).strip()
        hc_in, hc_out = rec.get((*ifx_entry, 6, n)), rec.get((*ifx_entry, 10, n))
        if hc_in and hc_out:
            wide += 1
            assert interface.counter_bits == 64
            assert interface.in_octets == int(hc_in[1])
            assert interface.out_octets == int(hc_out[1])
        else:
            assert interface.counter_bits == 32
            in_octets = rec.get((*if_entry, 10, n))
            assert interface.in_octets == (int(in_octets[1]) if in_octets else None)
        high = rec.get((*ifx_entry, 15, n))
        if high and int(high[1]):
            assert interface.speed_bps == int(high[1]) * 1_000_000
    assert wide == 15
    big = next(i for i in data.interfaces if i.index == 10106)
    assert big.in_octets == 356892003718487 > 2**32  # a 64-bit value, whole
    assert big.speed_bps == 1_000_000_000


def test_ups_battery_from_ups_mib(snmpsim_agents):
    data = probe_ok(snmpsim_target(snmpsim_agents, "ups")).data
    assert data.system.descr == "EATON 93E 80"
    ups = data.ups
    assert ups is not None
    assert ups.battery_status == 2  # normal
    assert ups.charge_pct == 100
    assert ups.minutes_remaining == 1092
    assert ups.seconds_on_battery == 0
    assert ups.output_source == 3  # normal


def test_apc_rack_pdu_is_not_made_into_a_ups(snmpsim_agents):
    """snmpsim-data's APC recordings are rack PDUs (sysObjectID 318.1.3.4.x) without
    UPS-MIB: no battery data may be invented for them."""
    data = probe_ok(snmpsim_target(snmpsim_agents, "apc_pdu")).data
    assert data.system.object_id.startswith("1.3.6.1.4.1.318.1.3.4")
    assert data.system.descr.startswith("APC Web/SNMP Management Card")
    assert data.ups is None


def test_out_of_range_ups_values_are_not_reported_as_readings(snmpsim_agents):
    """A real Huawei UPS answers -1 for charge and minutes (UPS-MIB: 0..100 and a positive
    number); the hostile one 250 %. Neither is a reading to chart."""
    huawei = probe_ok(snmpsim_target(snmpsim_agents, "ups_unknowns")).data.ups
    assert huawei is not None and huawei.battery_status == 2
    assert huawei.charge_pct is None
    assert huawei.minutes_remaining is None
    hostile = probe_ok(snmpsim_target(snmpsim_agents, "hostile")).data.ups
    assert hostile is not None
    assert hostile.charge_pct is None
    assert hostile.minutes_remaining is None


def test_linux_host_cpu_storage_and_interfaces(snmpsim_agents):
    data = probe_ok(snmpsim_target(snmpsim_agents, "linux")).data
    assert data.system.descr.startswith("Linux cray 2.6.21.5-smp")
    assert data.cpu_loads == [13, 9]
    assert data.host_uptime_ticks == 233512142
    assert data.process_count == 165
    by_name = {s.descr: s for s in data.storage}
    assert set(by_name) == {
        "Physical memory",
        "Virtual memory",
        "Memory buffers",
        "Cached memory",
        "Swap space",
        "/",
        "/usr/local",
        "/export",
    }
    root = by_name["/"]
    assert (root.kind, root.size_bytes, root.used_bytes) == (
        "disk",
        2164327 * 4096,
        1667935 * 4096,
    )
    assert root.used_pct == 77.1
    assert by_name["Physical memory"].kind == "ram"
    assert by_name["Physical memory"].size_bytes == 1021976 * 1024
    assert by_name["Virtual memory"].kind == "virtual"
    assert by_name["Memory buffers"].kind == "other"
    assert [(i.name, i.oper_status, i.counter_bits) for i in data.interfaces] == [
        ("lo", 1, 64),
        ("eth0", 1, 64),
    ]
    assert data.interfaces[1].in_octets == 24167091249
    assert data.interfaces[1].speed_bps == 100_000_000


def test_printer_supplies_and_the_negative_special_values(snmpsim_agents):
    data = probe_ok(snmpsim_target(snmpsim_agents, "printer")).data
    supplies = {s.index: s for s in data.supplies}
    assert len(supplies) == 7
    black, cyan, magenta, yellow, waste, drum, fuser = (supplies[n] for n in range(1, 8))
    assert (black.descr, black.colour, black.kind) == ("Black Cartridge HP 414A W2020A", "black", 3)
    assert black.level_pct == 46.0
    assert (cyan.colour, cyan.level, cyan.level_pct) == ("cyan", -3, None)  # some remaining
    assert (magenta.colour, magenta.level, magenta.level_pct) == ("magenta", -2, None)  # unknown
    assert (yellow.colour, yellow.level, yellow.max_capacity) == ("yellow", 315, 2100)
    assert yellow.level_pct == 15.0
    assert (waste.kind, waste.colour, waste.max_capacity, waste.level_pct) == (4, "", -2, None)
    assert drum.level_pct == 95.0
    assert (fuser.level, fuser.level_pct) == (-1, None)  # other
    assert data.system.name == "NPI3F2A1C"
    assert [(i.descr, i.counter_bits) for i in data.interfaces] == [
        ("HP ETHERNET MULTI-ENVIRONMENT", 32)
    ]
    assert data.entity_model == "" and data.ups is None


@pytest.mark.parametrize("number", [0, 1], ids=["sha-aes128", "sha256-aes256"])
def test_snmpv3_against_snmpsim(snmpsim_agents, number):
    """The launcher's v3 users on every engine; without a context name SNMPv3 reads the
    recording laid out with default_context (the "printer_v3" endpoint), and nothing on an
    endpoint laid out without it."""
    agents = snmpsim_agents
    user = agents.users[number]
    address, port = agents.endpoints["printer_v3"]
    data = probe_ok(v3_target(address, port, user)).data
    assert data.system.name == "NPI3F2A1C" and len(data.supplies) == 7
    address, port = agents.endpoints["printer"]
    other = probe(v3_target(address, port, user, timeout=0.5, retries=0))
    assert other.outcome is not Outcome.OK


def test_hostile_strings_are_plain_capped_text_and_wrong_types_do_not_crash(snmpsim_agents):
    result = probe_ok(snmpsim_target(snmpsim_agents, "hostile"))
    data = result.data
    strings = list(all_strings(data))
    assert strings
    for value in strings:
        assert len(value) <= MAX_TEXT
        for char in value:
            category = unicodedata.category(char)
            assert category != "Cc", repr(value[:80])
            assert char not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b"

    system = data.system
    # the 5,000 characters arrive capped; the markup stays text (pages escape it)
    assert len(system.descr) == MAX_TEXT
    assert system.descr.startswith("<script>alert('sysDescr')</script><img src=x onerror=")
    assert system.name.startswith("<svg/onload=alert(5)>")
    assert system.location == '"><iframe src=javascript:alert(6)>'
    assert "\ufffd" in system.contact and "admin" in system.contact  # invalid UTF-8
    # wrong types: an OCTET STRING for sysObjectID and sysUpTime
    assert system.object_id == ""
    assert system.uptime_ticks is None

    first, second, third = data.interfaces
    assert first.alias == "<script>alert('ifAlias')</script>"
    assert first.name == "<script>alert('ifName')</script>"
    assert first.oper_status is None  # "up" as an OCTET STRING
    assert first.admin_status == 1
    assert (first.counter_bits, first.in_octets, first.out_octets) == (
        64,
        2**64 - 6,
        2**64 - 1,
    )
    assert first.in_errors == 2**32 - 1
    assert second.oper_status == 7 and second.admin_status is None and second.speed_bps is None
    assert second.counter_bits == 32 and second.in_octets == 0  # no ifHCOutOctets pair
    assert second.descr.startswith("eth1") and second.alias.startswith('"><img src=x')
    assert third.oper_status == 99 and len(third.descr) == MAX_TEXT

    assert data.cpu_loads == [42]  # 150 % and "high" are not loads
    ram, disk = data.storage
    assert ram.descr == "<i>RAM</i>" and ram.used_pct is not None and ram.used_pct <= 100
    assert disk.size_bytes is None and disk.used_pct is None  # units as a string
    assert data.entity_model == "" and data.entity_serial == "<script>SN</script>"
    (supply,) = data.supplies
    assert supply.descr == "<img src=x onerror=alert(3)>Toner"
    assert supply.level is None and supply.level_pct is None
    assert data.ups is not None and data.ups.battery_status is None


def test_error_variation_gives_partial_data_not_a_crash(snmpsim_agents):
    """broken.snmprec: genErr on sysContact, noAccess on sysLocation, genErr inside the
    interface table. The device answered, so it is up, with what could be read and a note."""
    result = probe(snmpsim_target(snmpsim_agents, "broken"))
    assert result.outcome is Outcome.OK, result.message
    assert result.message.startswith("partial") and "interfaces" in result.message
    assert result.data.system.contact == "" and result.data.system.location == ""


def test_error_variation_does_not_cost_the_good_objects(snmpsim_agents):
    """pysnmp-based agents (snmpsim among them) put error-index 1 on every error that is not
    on the last varbind (pysnmp 7.1 cmdrsp); real agents get it wrong too. The objects the
    agent does serve must still be read: sysDescr, sysObjectID, sysUpTime and sysName."""
    result = probe(snmpsim_target(snmpsim_agents, "broken", groups={SYSTEM}))
    assert result.outcome is Outcome.OK, result.message
    system = result.data.system
    assert system.name == "broken-agent"
    assert system.descr == "Broken agent (snmpsim error variation)"
    assert system.object_id == "1.3.6.1.4.1.8072.3.2.10"
    assert system.uptime_ticks == 4200
    assert system.contact == "" and system.location == ""


def test_delay_variation_slower_than_the_timeout_is_a_timeout(recordings_agent):
    """slow.snmprec delays sysDescr by 1.5 s inside the agent: a 0.5 s timeout gives
    TIMEOUT in about 0.5 s; a 6 s timeout reads it."""
    _agent, (address, port) = recordings_agent
    fast = probe(v2c_target(address, port, "slow", timeout=0.5, retries=0, groups={SYSTEM}))
    assert fast.outcome is Outcome.TIMEOUT
    assert 480 <= fast.elapsed_ms <= 1400
    # the agent is still sleeping on the request above: allow for it
    patient = probe_ok(v2c_target(address, port, "slow", timeout=6, retries=0, groups={SYSTEM}))
    assert patient.data.system.descr == "Slow agent (snmpsim delay variation)"
    assert patient.elapsed_ms >= 1400


def test_plain_data_dir_selects_the_recording_by_community(recordings_agent):
    """SnmpsimAgent(data_dir, endpoints): each data file is a community named after it."""
    agent, (address, port) = recordings_agent
    assert agent.running and agent.endpoints == [(address, port)]
    names = {
        community: probe_ok(
            v2c_target(address, port, community, timeout=6, groups={SYSTEM})
        ).data.system.name
        for community in ("printer", "broken")
    }
    assert names == {"printer": "NPI3F2A1C", "broken": "broken-agent"}
    assert probe(v2c_target(address, port, "README", timeout=0.4, retries=0)).outcome is (
        Outcome.TIMEOUT
    )


def test_agent_start_and_stop():
    """The launcher's life cycle: ready when it answers, gone after stop(), its temporary
    work dir removed."""
    address = f"{session_subnet()}.9"
    endpoint = (address, free_udp_port([address]))
    with SnmpsimAgent.serving({endpoint: REAL_RECORDINGS["printer"]}, community="life") as agent:
        assert agent.running and agent.pid
        workdir = agent.workdir
        assert probe_ok(v2c_target(*endpoint, "life", groups={SYSTEM})).data.system.name
        assert "Listening at UDP/IPv4 endpoint" in agent.log_text()
    assert not agent.running and not workdir.exists()
    after = probe(v2c_target(*endpoint, "life", timeout=0.5, retries=0))
    assert after.outcome in (Outcome.UNREACHABLE, Outcome.TIMEOUT)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's agent changes user")
def test_agent_refuses_a_data_dir_its_user_cannot_read(tmp_path):
    """As root the agent runs as nobody: a data dir under pytest's 0700 tmp_path would leave
    it answering nothing. start() says so instead."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "public.snmprec").write_bytes(REAL_RECORDINGS["printer"].read_bytes())
    address = f"{session_subnet()}.9"
    agent = SnmpsimAgent(folder, [(address, free_udp_port([address]))])
    with pytest.raises(RuntimeError, match="closed to that user"):
        agent.start()
    assert not agent.running
