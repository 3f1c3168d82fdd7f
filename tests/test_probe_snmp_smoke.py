"""Quick sanity checks of the SNMP probe against real Net-SNMP agents on loopback.

The thorough probe tests live elsewhere; these only make sure the API holds together:
one result per target in order, the main outcomes, the lean health set, the fast BER
reader agreeing with pyasn1, and no secret in a result.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.proto import api

from inventory.probes import snmp
from inventory.probes.base import (
    ALL_GROUPS,
    HEALTH_GROUPS,
    Outcome,
    SnmpCredentials,
    SnmpTarget,
)
from inventory.simulator.snmpd import SnmpdFleet, V3User

pytestmark = pytest.mark.skipif(
    not Path("/usr/sbin/snmpd").exists() or not shutil.which("snmpget"),
    reason="needs Debian's snmpd",
)

PORT = 16193
ADDRESSES = ["127.93.0.1", "127.93.0.2"]
NO_AGENT = "127.93.0.9"
COMMUNITY = "smoke-community-s3cret"
AUTH_KEY = "smoke-auth-s3cret"
PRIV_KEY = "smoke-priv-s3cret"
USERS = [V3User("smoke_priv", "SHA", AUTH_KEY, "AES", PRIV_KEY)]


@pytest.fixture(scope="module")
def agents():
    with SnmpdFleet(ADDRESSES, port=PORT, community=COMMUNITY, users=USERS) as fleet:
        yield fleet


def v2c(key, address=ADDRESSES[0], community=COMMUNITY, **options) -> SnmpTarget:
    credentials = SnmpCredentials(version="v2c", community=community)
    return SnmpTarget(key, address, credentials, port=PORT, **options)


def v3(key, auth_key=AUTH_KEY, **options) -> SnmpTarget:
    credentials = SnmpCredentials(
        version="v3",
        username="smoke_priv",
        auth_protocol="sha",
        auth_key=auth_key,
        priv_protocol="aes",
        priv_key=PRIV_KEY,
    )
    return SnmpTarget(key, ADDRESSES[1], credentials, port=PORT, **options)


def test_one_result_per_target_in_order_with_the_main_outcomes(agents):
    fast = {"timeout": 0.5, "retries": 0}
    targets = [
        v2c(10),
        SnmpTarget(11, ADDRESSES[1], SnmpCredentials("v1", COMMUNITY), port=PORT),
        v2c(12, community="wrong", **fast),  # v1/v2c agents ignore a wrong community
        v2c(13, address=NO_AGENT, **fast),  # ICMP port unreachable
        v3(14),
        v3(15, auth_key="not-the-auth-key", **fast),
        SnmpTarget(16, ADDRESSES[0], SnmpCredentials("v9", COMMUNITY), port=PORT),
    ]
    started = time.monotonic()
    results = snmp.run_batch(targets)
    assert time.monotonic() - started < 10
    assert [r.key for r in results] == [10, 11, 12, 13, 14, 15, 16]
    outcomes = [r.outcome for r in results]
    assert outcomes == [
        Outcome.OK,
        Outcome.OK,
        Outcome.TIMEOUT,
        Outcome.UNREACHABLE,
        Outcome.OK,
        Outcome.AUTH_FAILED,
        Outcome.ERROR,
    ], [(r.outcome, r.message) for r in results]

    full = results[0].data
    assert full.system.name == "sim-agent"
    assert full.system.object_id.startswith("1.3.6.1.4.1.8072")
    assert full.system.uptime_ticks is not None
    assert full.interfaces and all(i.descr and i.oper_status for i in full.interfaces)
    assert {i.counter_bits for i in full.interfaces} == {64}
    assert any(s.kind == "ram" and s.size_bytes for s in full.storage)
    assert full.host_uptime_ticks and full.process_count
    assert full.ups is None  # snmpd has no UPS-MIB: absent, not an error
    assert full.varbinds > 20
    assert {i.counter_bits for i in results[1].data.interfaces} == {32}  # SNMPv1: no Counter64
    assert results[4].data.system.name == "sim-agent"


def test_the_lean_health_set_reads_status_and_octets_only(agents):
    [result] = snmp.run_batch([v2c(1, groups=HEALTH_GROUPS)])
    assert result.ok, result.message
    data = result.data
    assert data.system.descr and data.process_count
    assert data.interfaces and data.storage == []
    first = data.interfaces[0]
    assert first.oper_status in (1, 2) and first.in_octets is not None
    assert first.descr == "" and first.counter_bits == 32
    # one GET (10 values) and one GETBULK of ifNumber + 1 rows of 3 columns
    assert data.varbinds == 10 + 3 * (len(data.interfaces) + 1)


def test_processes_split_the_batch_and_keep_the_order(agents):
    targets = [v2c(n, address=ADDRESSES[n % 2], groups=HEALTH_GROUPS) for n in range(120)]
    results = snmp.run_batch(targets, concurrency=40, processes=2)
    assert [r.key for r in results] == list(range(120))
    assert all(r.ok for r in results), {r.message for r in results if not r.ok}


def test_no_secret_in_results_or_messages(agents):
    results = snmp.run_batch([v2c(1, groups=ALL_GROUPS), v3(2), v3(3, auth_key="x" * 12)])
    text = repr(results) + "".join(r.message for r in results) + repr(v3(4))
    for secret in (COMMUNITY, AUTH_KEY, PRIV_KEY):
        assert secret not in text


def _response(varbinds, request_id=4242) -> bytes:
    """A v2c response message built with pysnmp, for comparing the two decoders."""
    module = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = module.GetResponsePDU()
    module.apiPDU.set_defaults(pdu)
    module.apiPDU.set_request_id(pdu, request_id)
    module.apiPDU.set_varbinds(pdu, varbinds)
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, b"public")
    module.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def test_the_fast_reader_agrees_with_pyasn1():
    v2 = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    base = (1, 3, 6, 1, 4, 1, 99999)
    values = [
        v2.Integer(-5),
        v2.Integer(2**31 - 1),
        v2.OctetString(b"\x00<script>\xff"),
        v2.ObjectIdentifier((1, 3, 6, 1, 4, 1, 2**32 - 1, 0)),
        v2.IpAddress("10.1.2.3"),
        v2.Counter32(2**32 - 1),
        v2.Gauge32(7),
        v2.TimeTicks(123456),
        v2.Opaque(b"\x9f\x78\x04"),
        v2.Counter64(2**64 - 1),
        v2.NoSuchObject(""),
        v2.NoSuchInstance(""),
        v2.EndOfMibView(""),
        v2.OctetString(b"x" * 300),  # long-form length
    ]
    data = _response([((*base, n), value) for n, value in enumerate(values)])
    assert snmp._decode_fast(data) == snmp._decode_pyasn1(data)
    version, request_id, status, index, varbinds = snmp._decode_fast(data)
    assert (version, request_id, status, index) == (1, 4242, 0, 0)
    assert varbinds[5][1] == 2**32 - 1 and varbinds[9][1] == 2**64 - 1
    assert varbinds[10][1] is snmp.ABSENT and varbinds[12][1] is snmp.END


def test_broken_datagrams_raise_and_a_quirky_counter_is_read():
    good = _response([((1, 3, 6, 1, 2, 1, 1, 5, 0), api.v2c.OctetString(b"name"))])
    for broken in (b"", b"\x30", good[:-3], b"\x30\x03\x02\x01", b"junk" * 10):
        with pytest.raises(Exception):  # noqa: B017 - pyasn1 and the fast reader differ
            snmp._decode(broken)
    # Some agents send Counter32 4294967295 as four 0xff bytes, without the leading zero.
    quirky = good.replace(b"\x04\x04name", b"\x41\x04\xff\xff\xff\xff")  # same length
    assert snmp._decode_fast(quirky)[4][0][1] == 2**32 - 1
