"""SNMP probe: v1/v2c at sweep speed over one shared UDP socket, SNMPv3 through pysnmp's v3arch.

`run_batch(targets)` (or `await probe_all(targets)`) gives exactly one ProbeResult per target,
in input order; device problems are results, never exceptions.

How a device is read (/work/shared/docs/SNMP-NOTES.md has the measurements behind this):

- one GET carries every scalar the target's groups need (system group, ifNumber, ...);
- then one GETBULK per table carries all of its columns at once, with max-repetitions sized
  from ifNumber + 1 for the interfaces, continuing where a table is longer;
- v1/v2c requests are pysnmp.proto.api messages, encoded once per request shape and then
  reused with a new request-id; they go out on one non-blocking UDP socket per address
  family with an 8 MiB receive buffer, and replies are matched by request-id and address;
- replies are read by a small BER reader straight into Python values (pyasn1 decoding was
  80 % of a pysnmp sweeper's CPU); pyasn1 still decides whatever the reader does not take;
- OIDs are plain tuples: no MIB lookups anywhere;
- SNMPv3 targets go through pysnmp's v3arch (USM, engine discovery) with one SnmpEngine
  for the batch. v3arch costs tens of milliseconds of CPU per device, so v3 devices are
  meant to be the smaller part of a sweep.

What a result can say: OK (with a "partial: ..." message when a table could not be read
whole), TIMEOUT (also what a wrong v1/v2c community or a wrong v3 privacy key looks like:
the agent drops the request silently), AUTH_FAILED (SNMPv3 USM reports: unknown user,
wrong digest, not in time window, decryption error), UNREACHABLE (ICMP port/host/network
unreachable, no route, a name that does not resolve) and ERROR (anything odd, with a
short message).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import math
import multiprocessing
import os
import random
import re
import socket
import struct
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api, rfc1905

from inventory.probes.base import (
    ENTITY,
    HEALTH,
    HOST,
    INTERFACES,
    PRINTER,
    UPS,
    InterfaceInfo,
    Outcome,
    ProbeResult,
    SnmpData,
    SnmpTarget,
    StorageInfo,
    SupplyInfo,
    SystemInfo,
    UpsInfo,
)

__all__ = ["probe_all", "run_batch"]

log = logging.getLogger(__name__)

Oid = tuple[int, ...]

# ---------------------------------------------------------------------------------------------
# Tuning. Each value is a trade-off measured on loopback; see the comments.

# 8 MiB: the default ~208 KB receive buffer overflows at 200+ requests in flight, and every
# dropped reply costs a whole timeout (SNMP-NOTES: no drops from 50 to 1,000 in flight).
RECEIVE_BUFFER = 8 * 1024 * 1024
MAX_DATAGRAM = 65535
# Per reader wake-up: enough to empty a burst, few enough that timers still run in between.
READS_PER_WAKEUP = 256
# Cap per GETBULK (columns x repetitions). Bigger responses fragment on real networks and some
# embedded agents answer tooBig or nothing; a longer table simply takes another request.
MAX_BULK_VARBINDS = 120
# Tables without a row count to size from: a guess that fits typical devices in one request.
DEFAULT_REPETITIONS = 12
# A walk stops here even if the agent keeps answering (agents that loop, routers with tens
# of thousands of sub-interfaces): what was read is kept and the result says it is partial.
MAX_ROWS = 5000
# Untrusted strings from devices are capped: a sysDescr is a few hundred characters at most.
MAX_TEXT = 1000
# ENTITY-MIB: the chassis is nearly always among the first entries, and a big modular switch
# has thousands of rows; reading them all for one model and serial number is not worth it.
ENTITY_ROWS = 64

# ---------------------------------------------------------------------------------------------
# OIDs, as plain tuples (no MIB lookups).

MIB2 = (1, 3, 6, 1, 2, 1)
SYS_DESCR = (*MIB2, 1, 1, 0)
SYS_OBJECT_ID = (*MIB2, 1, 2, 0)
SYS_UPTIME = (*MIB2, 1, 3, 0)
SYS_CONTACT = (*MIB2, 1, 4, 0)
SYS_NAME = (*MIB2, 1, 5, 0)
SYS_LOCATION = (*MIB2, 1, 6, 0)
SYSTEM_SCALARS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION)
IF_NUMBER = (*MIB2, 2, 1, 0)
HR_SYSTEM_UPTIME = (*MIB2, 25, 1, 1, 0)
HR_SYSTEM_PROCESSES = (*MIB2, 25, 1, 6, 0)
UPS_BATTERY_STATUS = (*MIB2, 33, 1, 2, 1, 0)
UPS_SECONDS_ON_BATTERY = (*MIB2, 33, 1, 2, 2, 0)
UPS_MINUTES_REMAINING = (*MIB2, 33, 1, 2, 3, 0)
UPS_CHARGE_REMAINING = (*MIB2, 33, 1, 2, 4, 0)
UPS_OUTPUT_SOURCE = (*MIB2, 33, 1, 4, 1, 0)
UPS_SCALARS = (
    UPS_BATTERY_STATUS,
    UPS_SECONDS_ON_BATTERY,
    UPS_MINUTES_REMAINING,
    UPS_CHARGE_REMAINING,
    UPS_OUTPUT_SOURCE,
)

IF_ENTRY = (*MIB2, 2, 2, 1)
IF_X_ENTRY = (*MIB2, 31, 1, 1, 1)
IF_DESCR = (*IF_ENTRY, 2)
IF_SPEED = (*IF_ENTRY, 5)
IF_ADMIN_STATUS = (*IF_ENTRY, 7)
IF_OPER_STATUS = (*IF_ENTRY, 8)
IF_IN_OCTETS = (*IF_ENTRY, 10)
IF_IN_DISCARDS = (*IF_ENTRY, 13)
IF_IN_ERRORS = (*IF_ENTRY, 14)
IF_OUT_OCTETS = (*IF_ENTRY, 16)
IF_OUT_DISCARDS = (*IF_ENTRY, 19)
IF_OUT_ERRORS = (*IF_ENTRY, 20)
IF_NAME = (*IF_X_ENTRY, 1)
IF_HC_IN_OCTETS = (*IF_X_ENTRY, 6)
IF_HC_OUT_OCTETS = (*IF_X_ENTRY, 10)
IF_HIGH_SPEED = (*IF_X_ENTRY, 15)
IF_ALIAS = (*IF_X_ENTRY, 18)

HR_STORAGE_ENTRY = (*MIB2, 25, 2, 3, 1)
HR_STORAGE_TYPE = (*HR_STORAGE_ENTRY, 2)
HR_STORAGE_DESCR = (*HR_STORAGE_ENTRY, 3)
HR_STORAGE_UNITS = (*HR_STORAGE_ENTRY, 4)
HR_STORAGE_SIZE = (*HR_STORAGE_ENTRY, 5)
HR_STORAGE_USED = (*HR_STORAGE_ENTRY, 6)
HR_PROCESSOR_LOAD = (*MIB2, 25, 3, 3, 1, 2)
HR_STORAGE_TYPES = (*MIB2, 25, 2, 1)
# hrStorageType -> kind. Removable media, floppies and CDs are "other": they read 100 % full
# and would only raise false alarms.
STORAGE_KINDS = {2: "ram", 3: "virtual", 4: "disk", 8: "ram", 9: "disk", 10: "disk"}

PRT_SUPPLIES_ENTRY = (*MIB2, 43, 11, 1, 1)
PRT_SUPPLIES_COLORANT = (*PRT_SUPPLIES_ENTRY, 3)
PRT_SUPPLIES_TYPE = (*PRT_SUPPLIES_ENTRY, 5)
PRT_SUPPLIES_DESCR = (*PRT_SUPPLIES_ENTRY, 6)
PRT_SUPPLIES_MAX = (*PRT_SUPPLIES_ENTRY, 8)
PRT_SUPPLIES_LEVEL = (*PRT_SUPPLIES_ENTRY, 9)
PRT_COLORANT_VALUE = (*MIB2, 43, 12, 1, 1, 4)

ENT_PHYSICAL_ENTRY = (*MIB2, 47, 1, 1, 1, 1)
ENT_PHYSICAL_CLASS = (*ENT_PHYSICAL_ENTRY, 5)
ENT_PHYSICAL_SERIAL = (*ENT_PHYSICAL_ENTRY, 11)
ENT_PHYSICAL_MODEL = (*ENT_PHYSICAL_ENTRY, 13)
ENT_CLASS_CHASSIS = 3


@dataclass(frozen=True)
class _Walk:
    """One table read: its columns go in the same GETBULK requests."""

    name: str
    columns: tuple[Oid, ...]
    max_rows: int = MAX_ROWS


IF_WALK = _Walk(
    "interfaces",
    (
        IF_DESCR,
        IF_SPEED,
        IF_ADMIN_STATUS,
        IF_OPER_STATUS,
        IF_IN_OCTETS,
        IF_IN_DISCARDS,
        IF_IN_ERRORS,
        IF_OUT_OCTETS,
        IF_OUT_DISCARDS,
        IF_OUT_ERRORS,
        IF_NAME,
        IF_HC_IN_OCTETS,
        IF_HC_OUT_OCTETS,
        IF_HIGH_SPEED,
        IF_ALIAS,
    ),
)
# The standard health set: just what up/down and traffic graphs need.
IF_HEALTH_WALK = _Walk("interfaces", (IF_OPER_STATUS, IF_IN_OCTETS, IF_OUT_OCTETS))
HOST_WALK = _Walk(
    "host",
    (
        HR_PROCESSOR_LOAD,
        HR_STORAGE_TYPE,
        HR_STORAGE_DESCR,
        HR_STORAGE_UNITS,
        HR_STORAGE_SIZE,
        HR_STORAGE_USED,
    ),
)
PRINTER_WALK = _Walk(
    "printer",
    (
        PRT_SUPPLIES_COLORANT,
        PRT_SUPPLIES_TYPE,
        PRT_SUPPLIES_DESCR,
        PRT_SUPPLIES_MAX,
        PRT_SUPPLIES_LEVEL,
        PRT_COLORANT_VALUE,
    ),
)
ENTITY_WALK = _Walk(
    "entity", (ENT_PHYSICAL_CLASS, ENT_PHYSICAL_SERIAL, ENT_PHYSICAL_MODEL), ENTITY_ROWS
)


@dataclass(frozen=True)
class _Plan:
    """What to read from one device: one GET of scalars, then table walks."""

    scalars: tuple[Oid, ...]
    walks: tuple[_Walk, ...]


def _plan(groups: frozenset[str]) -> _Plan:
    """The requests for a set of groups; the system group is always read."""
    scalars: list[Oid] = list(SYSTEM_SCALARS)
    walks: list[_Walk] = []
    if INTERFACES in groups or HEALTH in groups:
        scalars.append(IF_NUMBER)
        walks.append(IF_WALK if INTERFACES in groups else IF_HEALTH_WALK)
    if HOST in groups or HEALTH in groups:
        scalars += [HR_SYSTEM_UPTIME, HR_SYSTEM_PROCESSES]
    if HOST in groups:
        walks.append(HOST_WALK)
    if UPS in groups:
        scalars += UPS_SCALARS
    elif HEALTH in groups:
        scalars.append(UPS_CHARGE_REMAINING)
    if PRINTER in groups:
        walks.append(PRINTER_WALK)
    if ENTITY in groups:
        walks.append(ENTITY_WALK)
    return _Plan(tuple(scalars), tuple(walks))


# ---------------------------------------------------------------------------------------------
# Values: pyasn1 objects become int, bytes or OID tuples once, right after decoding.


class _Absent:
    """noSuchObject / noSuchInstance: the agent does not have it."""

    __slots__ = ()


class _End:
    """endOfMibView: a walk ran off the end of the agent's MIB."""

    __slots__ = ()


ABSENT = _Absent()
END = _End()
Value = int | bytes | Oid | _Absent | _End


def _python(value) -> Value:
    """A decoded pyasn1 value as plain Python (Counter32, Gauge32, TimeTicks... are ints)."""
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.Null):  # before OctetString: pyasn1's Null is one
        # noSuchObject, noSuchInstance (and an unexpected plain Null) mean "not there"
        return END if isinstance(value, rfc1905.EndOfMibView) else ABSENT
    if isinstance(value, univ.OctetString):  # also IpAddress and Opaque
        return value.asOctets()
    if isinstance(value, univ.ObjectIdentifier):
        return value.asTuple()
    return ABSENT


# C0/C1 controls, zero-width characters and bidirectional overrides (they can make a name
# read as something else on a page).
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)
_SPACE = re.compile(r"[\t\n\r]+")


def _text(value: Value | None) -> str:
    """An untrusted device string: UTF-8 with replacement, control characters gone, capped.

    Tabs and line breaks become spaces (Cisco's sysDescr spans several lines); other control
    and bidirectional-override characters are dropped. A non-string value gives "".
    """
    if not isinstance(value, bytes):
        return ""
    text = value[: MAX_TEXT * 4].decode("utf-8", "replace")
    text = _CONTROL.sub("", _SPACE.sub(" ", text)).strip()
    return text[:MAX_TEXT]


def _int(value: Value | None) -> int | None:
    """An integer value, or None for a missing or wrongly typed one."""
    return value if type(value) is int else None


def _ranged(value: Value | None, low: int, high: int | None = None) -> int | None:
    """An integer inside [low, high], or None."""
    number = _int(value)
    if number is None or number < low or (high is not None and number > high):
        return None
    return number


def _oid_text(value: Value | None) -> str:
    """An OID value in dotted form, or "" for a wrongly typed one."""
    if isinstance(value, tuple):
        return ".".join(map(str, value))[:MAX_TEXT]
    return ""


# ---------------------------------------------------------------------------------------------
# Failures inside a probe; each becomes a ProbeResult outcome at the top.


class _Failed(Exception):
    """The device could not be read: an outcome and a short message (never a secret)."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class _AgentError(Exception):
    """The agent answered with a non-zero error-status (noSuchName, tooBig, genErr, ...)."""

    def __init__(self, status: int, index: int) -> None:
        super().__init__(status, index)
        self.status = status
        self.index = index  # 1-based position of the varbind at fault, 0 when none


ERROR_STATUS_NAMES = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
}
TOO_BIG, NO_SUCH_NAME = 1, 2

UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED: "port unreachable (no SNMP agent listening)",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTDOWN: "host down",
    errno.EADDRNOTAVAIL: "address not available",
}


def _os_failure(exc: OSError | int) -> _Failed:
    """A socket error as UNREACHABLE (routing, ICMP) or ERROR (anything else)."""
    number = exc if isinstance(exc, int) else exc.errno
    if number in UNREACHABLE_ERRNOS:
        return _Failed(Outcome.UNREACHABLE, UNREACHABLE_ERRNOS[number])
    name = errno.errorcode.get(number or 0, "socket error")
    return _Failed(Outcome.ERROR, f"socket error {name}")


# ---------------------------------------------------------------------------------------------
# A session is what the collector talks to: GET and GETBULK on one device.


class _Session:
    """GET and GETBULK for one device; the varbinds come back as (oid tuple, Python value)."""

    bulk_supported = True
    varbinds = 0  # values received, for SnmpData.varbinds

    async def get(self, oids: Sequence[Oid]) -> list[tuple[Oid, Value]]:
        raise NotImplementedError

    async def bulk(self, oids: Sequence[Oid], repetitions: int) -> list[tuple[Oid, Value]]:
        """GETBULK, or one GETNEXT (a single row) for SNMPv1."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# v1/v2c: one UDP socket per address family for the whole batch.

IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
SOL_IPV6 = getattr(socket, "SOL_IPV6", 41)
_V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
_V1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
# Every response is decoded with the v2c message spec: it is a superset of v1's for
# responses, and the request it answers says which version was meant.
_MESSAGE_SPEC = _V2C.Message()
_RESPONSE_TAG = _V2C.ResponsePDU.tagSet
# Request-ids stay in 0x01000000..0x7fffffff so each encodes in exactly four bytes and a
# cached request template can take a new id by splicing.
_RID_LOW = 0x01000000
_RID_SPAN = 0x7FFFFFFF - _RID_LOW
_GET, _NEXT, _BULK = "get", "next", "bulk"
FAST_DECODER = os.environ.get("INVENTORY_SNMP_DECODER", "fast") != "pyasn1"


class _Request:
    """One v1/v2c request in flight: retransmitted on timeout, same bytes, same request-id."""

    __slots__ = ("address", "future", "garbled", "payload", "request_id", "timeout", "timer")

    def __init__(self, request_id, address, payload, future, timeout) -> None:
        self.request_id = request_id
        self.address = address
        self.payload = payload
        self.future = future
        self.timeout = timeout
        self.timer: asyncio.TimerHandle | None = None
        self.garbled = ""  # set when the device sent something that did not decode


class _UdpClient:
    """All v1/v2c requests of a batch: one non-blocking socket per address family.

    Replies are matched by request-id and source address. The socket is read with
    loop.add_reader rather than a DatagramProtocol so that a timer can drain it before
    declaring a timeout: at 1,000 in flight a reply may be waiting in the buffer while the
    client is busy decoding others, and that is not a lost reply. IP_RECVERR makes ICMP
    errors (port/host/network unreachable) readable per destination on the unconnected socket.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._sockets: dict[int, socket.socket] = {}
        self._pending: dict[int, _Request] = {}
        self._templates: dict[tuple, tuple[bytes, bytes]] = {}

    # -- sockets

    def _socket(self, family: int) -> socket.socket:
        sock = self._sockets.get(family)
        if sock is None:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            _grow_receive_buffer(sock)
            try:
                if family == socket.AF_INET:
                    sock.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
                else:
                    sock.setsockopt(SOL_IPV6, IPV6_RECVERR, 1)
            except OSError:
                pass  # not Linux: unreachable devices then simply time out
            # Any local address, an ephemeral port: this is a client.
            local = ("0.0.0.0", 0) if family == socket.AF_INET else ("::", 0)  # noqa: S104
            sock.bind(local)
            self._loop.add_reader(sock.fileno(), self._on_readable, sock)
            self._sockets[family] = sock
        return sock

    def close(self) -> None:
        for request in self._pending.values():
            if request.timer is not None:
                request.timer.cancel()
            if not request.future.done():
                request.future.set_exception(_Failed(Outcome.ERROR, "probe stopped"))
        self._pending.clear()
        for sock in self._sockets.values():
            self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()
        self._templates.clear()

    # -- sending

    def _payload(self, version: int, community: bytes, kind: str, oids, repetitions: int):
        """The request encoded once per shape; a request-id is spliced in per send."""
        key = (version, community, kind, tuple(oids), repetitions)
        template = self._templates.get(key)
        if template is None:
            first = _encode(version, community, kind, oids, repetitions, 0x11111111)
            second = _encode(version, community, kind, oids, repetitions, 0x22222222)
            at = next(i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b)
            if first[at : at + 4] != b"\x11" * 4 or first[at + 4 :] != second[at + 4 :]:
                raise RuntimeError("request template: request-id not found")
            template = (first[:at], first[at + 4 :])
            if len(self._templates) > 4096:  # a batch has a handful of shapes; stay bounded
                self._templates.clear()
            self._templates[key] = template
        return template

    async def request(
        self,
        address: tuple,
        family: int,
        version: int,
        community: bytes,
        kind: str,
        oids: Sequence[Oid],
        repetitions: int,
        timeout: float,
        retries: int,
    ):
        """Send one request and wait for its response: (error status, index, varbinds)."""
        head, tail = self._payload(version, community, kind, oids, repetitions)
        request_id = _RID_LOW + random.randrange(_RID_SPAN)
        while request_id in self._pending:
            request_id = _RID_LOW + random.randrange(_RID_SPAN)
        payload = head + request_id.to_bytes(4, "big") + tail
        request = _Request(request_id, address, payload, self._loop.create_future(), timeout)
        sock = self._socket(family)
        self._pending[request_id] = request
        try:
            self._send(sock, request)
            request.timer = self._loop.call_later(timeout, self._on_timer, request, retries, sock)
            return await request.future
        finally:
            self._pending.pop(request_id, None)
            if request.timer is not None:
                request.timer.cancel()

    def _send(self, sock: socket.socket, request: _Request) -> None:
        # With IP_RECVERR, an ICMP error for *another* destination can surface on this send:
        # read the error queue (which names the real destination) and try again.
        for _attempt in range(3):
            try:
                sock.sendto(request.payload, request.address)
                return
            except (BlockingIOError, InterruptedError):
                return  # the kernel's send buffer is full: the timer's retry resends it
            except OSError as exc:
                last = exc
                self._read_error_queue(sock)
        raise _os_failure(last)

    def _on_timer(self, request: _Request, retries_left: int, sock: socket.socket) -> None:
        if request.future.done():
            return
        # The reply may be sitting in the receive buffer while the loop was busy decoding
        # others: read everything first, so a slow client is never mistaken for a dead device.
        for each in self._sockets.values():
            self._drain(each, limit=None)
        if request.future.done():
            return
        if retries_left > 0:
            try:
                self._send(sock, request)
            except _Failed as failure:
                request.future.set_exception(failure)
                return
            request.timer = self._loop.call_later(
                request.timeout, self._on_timer, request, retries_left - 1, sock
            )
        elif request.garbled:
            request.future.set_exception(_Failed(Outcome.ERROR, request.garbled))
        else:
            request.future.set_exception(_Failed(Outcome.TIMEOUT, "no response"))

    # -- receiving

    def _on_readable(self, sock: socket.socket) -> None:
        if not self._drain(sock, limit=READS_PER_WAKEUP):
            # Woken with no datagram: an ICMP error may be waiting in the error queue.
            self._read_error_queue(sock)

    def _drain(self, sock: socket.socket, limit: int | None) -> int:
        """Read and dispatch waiting datagrams; returns how many were read."""
        count = 0
        while limit is None or count < limit:
            try:
                data, source = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # IP_RECVERR: an ICMP error is pending; the error queue says for whom.
                self._read_error_queue(sock)
                continue
            count += 1
            self._on_datagram(data, source[:2])
        return count

    def _on_datagram(self, data: bytes, source: tuple) -> None:
        try:
            version, request_id, status, index, varbinds = _decode(data)
        except Exception:  # a hostile or broken packet must never stop the reader
            # Remember it against the device: if no good reply follows, the result says
            # "malformed response" rather than a bare timeout.
            for request in self._pending.values():
                if request.address[:2] == source:
                    request.garbled = "malformed response"
            return
        request = self._pending.get(request_id)
        if request is None or request.future.done() or request.address[:2] != source:
            return  # a late duplicate after a retry, or not ours
        request.future.set_result((version, status, index, varbinds))

    def _read_error_queue(self, sock: socket.socket) -> None:
        """Fail the requests to each destination the kernel reported an ICMP error for."""
        while True:
            try:
                _data, ancillary, _flags, destination = sock.recvmsg(512, 512, socket.MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            number = None
            for level, kind, payload in ancillary:
                if (level, kind) in ((socket.SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)):
                    number = struct.unpack_from("=I", payload)[0]
            if not number or not destination:
                continue
            failure = _os_failure(number)
            for request in list(self._pending.values()):
                if request.address[:2] == destination[:2] and not request.future.done():
                    request.future.set_exception(failure)


def _grow_receive_buffer(sock: socket.socket) -> None:
    """8 MiB receive buffer: SO_RCVBUFFORCE as root, else as much as net.core.rmem_max lets."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, RECEIVE_BUFFER)
            return
        except OSError:
            pass  # not privileged
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)


def _encode(version, community, kind, oids, repetitions, request_id) -> bytes:
    """A v1/v2c request with pysnmp's message classes; varbinds are plain (oid, Null)."""
    module = _V1 if version == api.SNMP_VERSION_1 else _V2C
    if kind == _BULK:
        pdu = module.GetBulkRequestPDU()
        module.apiBulkPDU.set_defaults(pdu)
        module.apiBulkPDU.set_non_repeaters(pdu, 0)
        module.apiBulkPDU.set_max_repetitions(pdu, repetitions)
    else:
        pdu = module.GetRequestPDU() if kind == _GET else module.GetNextRequestPDU()
        module.apiPDU.set_defaults(pdu)
    module.apiPDU.set_request_id(pdu, request_id)
    module.apiPDU.set_varbinds(pdu, [(oid, module.null) for oid in oids])
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, community)
    module.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def _decode(data: bytes):
    """A response datagram: (version, request-id, error status, error index, varbinds).

    The fast reader takes the encodings agents actually send; anything it does not take
    (indefinite lengths, unknown tags, trailing garbage inside a varbind...) goes to pyasn1,
    which decides. Set INVENTORY_SNMP_DECODER=pyasn1 to use pyasn1 for everything.
    """
    if FAST_DECODER:
        try:
            return _decode_fast(data)
        except (ValueError, IndexError, KeyError):
            pass
    return _decode_pyasn1(data)


def _decode_pyasn1(data: bytes):
    """The reference decoder: pysnmp's v2c message spec through pyasn1's BER decoder."""
    message, _rest = decoder.decode(data, asn1Spec=_MESSAGE_SPEC)
    pdu = message.getComponentByPosition(2).getComponent()
    if pdu.tagSet != _RESPONSE_TAG:
        raise ValueError("not a response PDU")
    varbinds = [
        (name.asTuple(), _python(value.getComponent(True)))
        for name, value in (
            (varbind.getComponentByPosition(0), varbind.getComponentByPosition(1))
            for varbind in pdu.getComponentByPosition(3)
        )
    ]
    return (
        int(message.getComponentByPosition(0)),
        int(pdu.getComponentByPosition(0)),
        int(pdu.getComponentByPosition(1)),
        int(pdu.getComponentByPosition(2)),
        varbinds,
    )


# The fast reader. pyasn1 builds a tree of typed objects per message (several milliseconds
# for a 25-varbind response); an SNMP response is a fixed nesting of a dozen BER types, and
# reading it straight into Python values takes about a hundredth of that.
_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID, _RESPONSE = 0x30, 0x02, 0x04, 0x05, 0x06, 0xA2
_IP_ADDRESS, _OPAQUE, _COUNTER64 = 0x40, 0x44, 0x46
_UNSIGNED32 = frozenset({0x41, 0x42, 0x43, 0x47})  # Counter32, Gauge32, TimeTicks, UInteger32
_NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB_VIEW = 0x80, 0x81, 0x82
_OID_CACHE: dict[bytes, Oid] = {}


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start, end) of the BER element at `at`; definite lengths only, as SNMP requires."""
    tag = data[at]
    length = data[at + 1]
    start = at + 2
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4:
            raise ValueError("unsupported BER length")
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    end = start + length
    if end > len(data):
        raise ValueError("truncated BER element")
    return tag, start, end


def _oid_from(raw: bytes) -> Oid:
    """The arcs of a BER-encoded OID (cached: the same column OIDs recur across a fleet)."""
    oid = _OID_CACHE.get(raw)
    if oid is not None:
        return oid
    arcs: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not raw or raw[-1] & 0x80:
        raise ValueError("bad OID")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    oid = head + tuple(arcs[1:])
    if len(_OID_CACHE) > 100_000:  # stay bounded
        _OID_CACHE.clear()
    _OID_CACHE[raw] = oid
    return oid


def _decode_fast(data: bytes):
    """Message -> version, community, Response-PDU -> request-id, error status and index,
    varbinds; raises ValueError or IndexError on anything unexpected."""
    tag, at, _end = _tlv(data, 0)
    if tag != _SEQUENCE:
        raise ValueError("not an SNMP message")
    tag, start, at = _tlv(data, at)
    if tag != _INTEGER:
        raise ValueError("bad version")
    version = int.from_bytes(data[start:at], "big", signed=True)
    tag, _start, at = _tlv(data, at)  # community: not checked, the request-id is
    if tag != _OCTETS:
        raise ValueError("bad community")
    tag, at, _end = _tlv(data, at)
    if tag != _RESPONSE:
        raise ValueError("not a response PDU")
    header = []
    for _field in range(3):  # request-id, error-status, error-index
        tag, start, at = _tlv(data, at)
        if tag != _INTEGER:
            raise ValueError("bad PDU header")
        header.append(int.from_bytes(data[start:at], "big", signed=True))
    tag, at, stop = _tlv(data, at)
    if tag != _SEQUENCE:
        raise ValueError("bad varbind list")
    varbinds: list[tuple[Oid, Value]] = []
    while at < stop:
        tag, start, at = _tlv(data, at)
        if tag != _SEQUENCE:
            raise ValueError("bad varbind")
        tag, name_start, name_end = _tlv(data, start)
        if tag != _OID:
            raise ValueError("bad varbind name")
        tag, start, end = _tlv(data, name_end)
        if end != at:
            raise ValueError("bad varbind length")
        raw = data[start:end]
        if tag == _INTEGER:
            value: Value = int.from_bytes(raw, "big", signed=True)
        elif tag in _UNSIGNED32:
            # Some agents drop the leading zero byte of unsigned values above 2**31: mask.
            value = int.from_bytes(raw, "big", signed=True) & 0xFFFFFFFF
        elif tag == _COUNTER64:
            value = int.from_bytes(raw, "big", signed=True) & 0xFFFFFFFFFFFFFFFF
        elif tag in (_OCTETS, _IP_ADDRESS, _OPAQUE):
            value = raw
        elif tag == _OID:
            value = _oid_from(raw)
        elif tag in (_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE):
            value = ABSENT
        elif tag == _END_OF_MIB_VIEW:
            value = END
        else:
            raise ValueError("unknown value type")
        varbinds.append((_oid_from(data[name_start:name_end]), value))
    return version, header[0], header[1], header[2], varbinds


class _V2Session(_Session):
    """One v1 or v2c device over the shared _UdpClient."""

    def __init__(self, client: _UdpClient, target: SnmpTarget, address: tuple, family: int):
        self._client = client
        self._address = address
        self._family = family
        v1 = target.credentials.version == "v1"
        self._version = api.SNMP_VERSION_1 if v1 else api.SNMP_VERSION_2C
        self.bulk_supported = self._version != api.SNMP_VERSION_1
        self._community = target.credentials.community.encode()
        self._timeout = max(0.05, float(target.timeout))
        self._retries = max(0, int(target.retries))

    async def _send(self, kind, oids, repetitions=0):
        version, status, index, varbinds = await self._client.request(
            self._address,
            self._family,
            self._version,
            self._community,
            kind,
            oids,
            repetitions,
            self._timeout,
            self._retries,
        )
        self.varbinds += len(varbinds)
        if version != self._version:
            raise _Failed(Outcome.ERROR, "response in another SNMP version")
        if status:
            raise _AgentError(status, index)
        return varbinds

    async def get(self, oids):
        return await self._send(_GET, oids)

    async def bulk(self, oids, repetitions):
        if self._version == api.SNMP_VERSION_1:
            return await self._send(_NEXT, oids)
        return await self._send(_BULK, oids, repetitions)


# ---------------------------------------------------------------------------------------------
# SNMPv3: pysnmp's v3arch engine (USM keys, engine discovery, time windows).


# pysnmp's v3arch modules are imported where they are used: a sweep without SNMPv3 targets
# (and each v1/v2c worker process) does not load the SNMP engine and its MIB modules.
class _V3Client:
    """The SNMPv3 side of a batch: pysnmp's SnmpEngine, configured per user and target.

    Configured through pysnmp.entity.config directly (not the hlapi, whose import pulls in
    the MIB compiler): plain OIDs, no MIB lookups. pysnmp keeps one USM row per user name,
    so two credential sets with the same user name (different keys on different devices)
    cannot share an engine: the second set gets a second engine. A usual fleet has one key
    set per user name: one engine for the whole batch.
    """

    def __init__(self) -> None:
        self._engines: list = []
        self._transports: set[tuple[int, int]] = set()  # (engine slot, address family)
        self._params: dict[tuple, tuple[int, str]] = {}  # credentials -> (slot, params name)
        self._targets = 0

    def _params_for(self, credentials) -> tuple[int, str]:
        """The engine slot and target-parameters name for one credential set."""
        from pysnmp.entity import config
        from pysnmp.entity.engine import SnmpEngine

        key = (
            credentials.username,
            credentials.auth_protocol,
            credentials.auth_key,
            credentials.priv_protocol,
            credentials.priv_key,
        )
        if key in self._params:
            return self._params[key]
        auth, priv, level = _usm_protocols(credentials)
        taken = {slot for k, (slot, _) in self._params.items() if k[0] == credentials.username}
        slot = next(i for i in range(len(taken) + 1) if i not in taken)
        while len(self._engines) <= slot:
            self._engines.append(SnmpEngine())
        engine = self._engines[slot]
        params = f"p{len(self._params)}"
        try:
            config.add_v3_user(
                engine,
                credentials.username,
                auth,
                credentials.auth_key if level != "noAuthNoPriv" else None,
                priv,
                credentials.priv_key if level == "authPriv" else None,
            )
            config.add_target_parameters(engine, params, credentials.username, level)
        except Exception as exc:
            raise _Failed(Outcome.ERROR, "invalid SNMPv3 credentials") from exc
        self._params[key] = (slot, params)
        return slot, params

    async def session(self, target: SnmpTarget, address: tuple, family: int) -> _V3Session:
        from pysnmp.carrier.asyncio.dgram import udp, udp6
        from pysnmp.entity import config

        slot, params = self._params_for(target.credentials)
        engine = self._engines[slot]
        carrier = udp if family == socket.AF_INET else udp6
        if (slot, family) not in self._transports:
            transport = (
                carrier.UdpAsyncioTransport if carrier is udp else carrier.Udp6AsyncioTransport
            )
            config.add_transport(engine, carrier.DOMAIN_NAME, transport().open_client_mode())
            self._transports.add((slot, family))
        self._targets += 1
        name = f"t{self._targets}"
        config.add_target_address(
            engine,
            name,
            carrier.DOMAIN_NAME,
            address[:2],
            params,
            # pysnmp counts in hundredths of a second
            timeout=max(5, int(float(target.timeout) * 100)),
            retryCount=max(0, int(target.retries)),
        )
        return _V3Session(engine, name)

    def close(self) -> None:
        for engine in self._engines:
            engine.close_dispatcher()
        self._engines.clear()


AUTH_PROTOCOLS = {
    "md5": "USM_AUTH_HMAC96_MD5",
    "sha": "USM_AUTH_HMAC96_SHA",
    "sha1": "USM_AUTH_HMAC96_SHA",
    "sha224": "USM_AUTH_HMAC128_SHA224",
    "sha256": "USM_AUTH_HMAC192_SHA256",
    "sha384": "USM_AUTH_HMAC256_SHA384",
    "sha512": "USM_AUTH_HMAC384_SHA512",
}
# "aes256" is the Blumenthal key extension that Net-SNMP and most agents use; "aes256c" is
# Cisco's (Reeder) variant. They only differ when the auth hash is shorter than the key.
PRIV_PROTOCOLS = {
    "des": "USM_PRIV_CBC56_DES",
    "3des": "USM_PRIV_CBC168_3DES",
    "aes": "USM_PRIV_CFB128_AES",
    "aes128": "USM_PRIV_CFB128_AES",
    "aes192": "USM_PRIV_CFB192_AES_BLUMENTHAL",
    "aes256": "USM_PRIV_CFB256_AES_BLUMENTHAL",
    "aes192c": "USM_PRIV_CFB192_AES",
    "aes256c": "USM_PRIV_CFB256_AES",
}


def _protocol_key(name: str) -> str:
    """Protocol names compared loosely: "SHA-256", "sha_256" and "sha256" are the same."""
    return (name or "none").strip().lower().replace("-", "").replace("_", "")


def _usm_protocols(credentials) -> tuple[tuple, tuple, str]:
    """(auth protocol, privacy protocol, security level) in pysnmp's terms; bad settings
    are an ERROR result, and the message never contains a key."""
    from pysnmp.entity import config

    auth = _protocol_key(credentials.auth_protocol)
    priv = _protocol_key(credentials.priv_protocol)
    if not credentials.username:
        raise _Failed(Outcome.ERROR, "SNMPv3 user name missing")
    if auth == "none" and priv != "none":
        raise _Failed(Outcome.ERROR, "SNMPv3 privacy needs authentication")
    if auth != "none" and auth not in AUTH_PROTOCOLS:
        raise _Failed(Outcome.ERROR, f"unsupported SNMPv3 auth protocol {auth[:20]!r}")
    if priv != "none" and priv not in PRIV_PROTOCOLS:
        raise _Failed(Outcome.ERROR, f"unsupported SNMPv3 privacy protocol {priv[:20]!r}")
    # RFC 3414 passphrases are at least 8 characters; agents refuse shorter ones anyway.
    if auth != "none" and len(credentials.auth_key) < 8:
        raise _Failed(Outcome.ERROR, "SNMPv3 auth key shorter than 8 characters")
    if priv != "none" and len(credentials.priv_key) < 8:
        raise _Failed(Outcome.ERROR, "SNMPv3 privacy key shorter than 8 characters")
    if auth == "none":
        return config.USM_AUTH_NONE, config.USM_PRIV_NONE, "noAuthNoPriv"
    auth_protocol = getattr(config, AUTH_PROTOCOLS[auth])
    if priv == "none":
        return auth_protocol, config.USM_PRIV_NONE, "authNoPriv"
    return auth_protocol, getattr(config, PRIV_PROTOCOLS[priv]), "authPriv"


def _v3_failure(indication) -> _Failed:
    """A pysnmp error indication as an outcome: USM reports are authentication failures."""
    from pysnmp.proto import errind

    auth_failures = (
        errind.UnknownUserName,
        errind.WrongDigest,
        errind.NotInTimeWindow,
        errind.DecryptionError,
        errind.UnknownEngineID,
        errind.UnsupportedSecurityLevel,
        errind.UnknownSecurityName,
        errind.AuthenticationFailure,
        errind.AuthenticationError,
    )
    if isinstance(indication, errind.RequestTimedOut):
        return _Failed(Outcome.TIMEOUT, "no response")
    if isinstance(indication, auth_failures):
        return _Failed(Outcome.AUTH_FAILED, str(indication)[:200])
    return _Failed(Outcome.ERROR, str(indication)[:200])


class _V3Session(_Session):
    """One SNMPv3 device through the shared engine (no MIB lookups: plain varbinds)."""

    def __init__(self, engine, target_name: str) -> None:
        self._engine = engine
        self._target_name = target_name

    async def _send(self, oids, repetitions: int | None):
        from pysnmp.entity.rfc3413 import cmdgen

        future = asyncio.get_running_loop().create_future()

        def done(_engine, _handle, indication, status, index, varbinds, _context):
            if future.done():
                return
            if indication:
                future.set_exception(_v3_failure(indication))
            elif status:
                future.set_exception(_AgentError(int(status), int(index)))
            else:
                try:
                    converted = [(name.asTuple(), _python(value)) for name, value in varbinds]
                except Exception:
                    future.set_exception(_Failed(Outcome.ERROR, "malformed response"))
                else:
                    self.varbinds += len(converted)
                    future.set_result(converted)

        request = [(univ.ObjectIdentifier(oid), univ.Null("")) for oid in oids]
        try:
            if repetitions is None:
                cmdgen.GetCommandGenerator().send_varbinds(
                    self._engine, self._target_name, None, b"", request, done
                )
            else:
                cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
                    self._engine, self._target_name, None, b"", 0, repetitions, request, done
                )
        except Exception as exc:
            raise _Failed(Outcome.ERROR, f"SNMPv3 request failed: {type(exc).__name__}") from exc
        return await future

    async def get(self, oids):
        return await self._send(oids, None)

    async def bulk(self, oids, repetitions):
        return await self._send(oids, repetitions)


# ---------------------------------------------------------------------------------------------
# Collection: the same for every version, on top of a session.


async def _get_scalars(
    session: _Session, oids: Sequence[Oid], skipped: list[str]
) -> dict[Oid, Value]:
    """GET the scalars; an object the agent will not give is left out (and noted in `skipped`).

    SNMPv1's noSuchName says which object is missing, by its index. For other errors
    (genErr, noAccess, tooBig) the error-index is not reliable on every agent (snmpsim and
    some printers point at the wrong one), so the request is split in halves until the
    objects at fault are alone.
    """
    if not oids:
        return {}
    try:
        varbinds = await session.get(oids)
    except _AgentError as error:
        if error.status == NO_SUCH_NAME and 1 <= error.index <= len(oids):
            rest = [*oids[: error.index - 1], *oids[error.index :]]
            return await _get_scalars(session, rest, skipped)
        if len(oids) == 1:
            skipped.append(_agent_error_text(error))
            return {}
        half = len(oids) // 2
        values = await _get_scalars(session, oids[:half], skipped)
        values.update(await _get_scalars(session, oids[half:], skipped))
        return values
    if len(varbinds) != len(oids):
        raise _Failed(Outcome.ERROR, "response does not match the request")
    return {
        oid: value
        for oid, (name, value) in zip(oids, varbinds, strict=True)
        if name == oid and not isinstance(value, _Absent | _End)
    }


def _agent_error_text(error: _AgentError) -> str:
    return f"agent error {ERROR_STATUS_NAMES.get(error.status, error.status)}"


async def _walk(
    session: _Session, walk: _Walk, expected_rows: int | None
) -> tuple[dict[Oid, dict[Oid, Value]], str]:
    """Read the walk's columns with GETBULK: {column: {row index: value}} and a problem, if any.

    The first request asks for expected_rows + 1 rows, so a table of the expected length
    ends in one round trip; longer tables continue with requests as full as the cap allows.
    """
    table: dict[Oid, dict[Oid, Value]] = {column: {} for column in walk.columns}
    current = {column: column for column in walk.columns}
    rows = expected_rows + 1 if expected_rows is not None else DEFAULT_REPETITIONS
    problems: list[str] = []
    await _walk_columns(session, walk, list(walk.columns), rows, table, current, problems)
    return table, ", ".join(dict.fromkeys(problems))


async def _walk_columns(session, walk, active, rows, table, current, problems) -> None:
    """Walk `active` columns together until each has passed its end.

    The response to a GETBULK is row-major: repetition by repetition, column by column; each
    column stops on its own when the agent answers past its end. A column whose OIDs fail
    to increase (an agent bug that would loop forever), and a response that advances
    nothing, end the walk with what was read. An agent error on one column (genErr on one
    row, say) is isolated by walking the columns in halves, so the others are still read.
    """
    budget = MAX_BULK_VARBINDS  # varbinds per request; halved when the agent says tooBig
    while active:
        width = len(active)
        repetitions = max(1, min(rows, budget // width))
        try:
            varbinds = await session.bulk([current[c] for c in active], repetitions)
        except _AgentError as error:
            if error.status == TOO_BIG and repetitions > 1:
                budget = max(width, repetitions * width // 2)
                continue
            if error.status == NO_SUCH_NAME and 1 <= error.index <= width:
                del active[error.index - 1]  # SNMPv1 GETNEXT past the end of the MIB
                continue
            if width > 1:
                half = width // 2
                for part in (active[:half], active[half:]):
                    await _walk_columns(session, walk, part, rows, table, current, problems)
                return
            if repetitions > 1:  # one column left: read it row by row up to the bad row
                rows = budget = 1
                continue
            problems.append(_agent_error_text(error))
            return
        finished: set[Oid] = set()
        advanced = False
        for position, (oid, value) in enumerate(varbinds):
            column = active[position % width]
            if column in finished:
                continue
            size = len(column)
            if value is END or len(oid) <= size or oid[:size] != column:
                finished.add(column)
            elif oid <= current[column]:
                finished.add(column)
                problems.append("agent returned OIDs out of order")
            elif len(table[column]) >= walk.max_rows:
                finished.add(column)
                if walk.max_rows >= MAX_ROWS:
                    problems.append(f"stopped after {MAX_ROWS} rows")
            else:
                advanced = True
                current[column] = oid
                if not isinstance(value, _Absent):
                    table[column][oid[size:]] = value
        if not finished and not advanced:
            problems.append("agent returned nothing usable")
            return
        active = [column for column in active if column not in finished]
        rows = budget


def _column(table, column) -> dict[Oid, Value]:
    """One column of a walked table: {row index: value}."""
    return table.get(column, {})


def _interfaces(table: dict[Oid, dict[Oid, Value]]) -> list[InterfaceInfo]:
    """IF-MIB rows (ifTable + ifXTable, both by ifIndex) as InterfaceInfo, by ifIndex."""
    columns = [(column, values) for column, values in table.items() if values]
    indexes = {index for _column, values in columns for index in values if len(index) == 1}
    out: list[InterfaceInfo] = []
    for index in sorted(indexes):
        row = {column: values.get(index) for column, values in columns}
        hc_in, hc_out = _int(row.get(IF_HC_IN_OCTETS)), _int(row.get(IF_HC_OUT_OCTETS))
        # 64-bit counters only as a pair: mixing widths would break the rate computation.
        if hc_in is not None and hc_out is not None:
            in_octets, out_octets, bits = hc_in, hc_out, 64
        else:
            in_octets, out_octets, bits = (
                _int(row.get(IF_IN_OCTETS)),
                _int(row.get(IF_OUT_OCTETS)),
                32,
            )
        high_speed, speed = _int(row.get(IF_HIGH_SPEED)), _int(row.get(IF_SPEED))
        # ifSpeed saturates at 4,294,967,295 (4.3 Gb/s); ifHighSpeed (Mb/s) reads 0 below 1 Mb/s.
        speed_bps = high_speed * 1_000_000 if high_speed else speed
        out.append(
            InterfaceInfo(
                index=index[0],
                name=_text(row.get(IF_NAME)),
                descr=_text(row.get(IF_DESCR)),
                alias=_text(row.get(IF_ALIAS)),
                admin_status=_int(row.get(IF_ADMIN_STATUS)),
                oper_status=_int(row.get(IF_OPER_STATUS)),
                speed_bps=speed_bps,
                in_octets=in_octets,
                out_octets=out_octets,
                counter_bits=bits,
                in_errors=_int(row.get(IF_IN_ERRORS)),
                out_errors=_int(row.get(IF_OUT_ERRORS)),
                in_discards=_int(row.get(IF_IN_DISCARDS)),
                out_discards=_int(row.get(IF_OUT_DISCARDS)),
            )
        )
    return out


def _unsigned32(value: int | None) -> int | None:
    # hrStorageSize/Used are Integer32: agents on disks past 2 TiB units wrap them negative.
    if value is not None and value < 0:
        return value + 2**32
    return value


def _host(table: dict[Oid, dict[Oid, Value]]) -> tuple[list[int], list[StorageInfo]]:
    """hrProcessorLoad per CPU, and hrStorage rows with sizes in bytes."""
    loads = [
        load
        for _index, load in sorted(_column(table, HR_PROCESSOR_LOAD).items())
        if type(load) is int and 0 <= load <= 100
    ]
    storage: list[StorageInfo] = []
    types = _column(table, HR_STORAGE_TYPE)
    indexes = sorted(
        {index for column in HOST_WALK.columns[1:] for index in _column(table, column)}
    )
    for index in indexes:
        if len(index) != 1:
            continue
        kind_oid = types.get(index)
        kind = "other"
        if isinstance(kind_oid, tuple) and kind_oid[:-1] == HR_STORAGE_TYPES:
            kind = STORAGE_KINDS.get(kind_oid[-1], "other")
        units = _int(_column(table, HR_STORAGE_UNITS).get(index))
        size = _unsigned32(_int(_column(table, HR_STORAGE_SIZE).get(index)))
        used = _unsigned32(_int(_column(table, HR_STORAGE_USED).get(index)))
        has_units = units is not None and units > 0
        storage.append(
            StorageInfo(
                index=index[0],
                kind=kind,
                descr=_text(_column(table, HR_STORAGE_DESCR).get(index)),
                size_bytes=size * units if has_units and size is not None else None,
                used_bytes=used * units if has_units and used is not None else None,
            )
        )
    return loads, storage


def _supplies(table: dict[Oid, dict[Oid, Value]]) -> list[SupplyInfo]:
    """Printer-MIB supplies (index: hrDeviceIndex.supplyIndex); the colour comes from the
    colorant table. Negative levels (-1 other, -2 unknown, -3 some remaining) are kept."""
    colorants = _column(table, PRT_COLORANT_VALUE)
    indexes = sorted(
        {index for column in PRINTER_WALK.columns[:5] for index in _column(table, column)}
    )
    out: list[SupplyInfo] = []
    for index in indexes:
        if len(index) != 2:
            continue
        colorant = _int(_column(table, PRT_SUPPLIES_COLORANT).get(index))
        colour = _text(colorants.get((index[0], colorant))) if colorant else ""
        out.append(
            SupplyInfo(
                index=index[1],
                descr=_text(_column(table, PRT_SUPPLIES_DESCR).get(index)),
                kind=_int(_column(table, PRT_SUPPLIES_TYPE).get(index)),
                colour=colour,
                level=_int(_column(table, PRT_SUPPLIES_LEVEL).get(index)),
                max_capacity=_int(_column(table, PRT_SUPPLIES_MAX).get(index)),
            )
        )
    return out


def _entity(table: dict[Oid, dict[Oid, Value]]) -> tuple[str, str]:
    """Model and serial of the chassis: the first chassis(3) entry, else the first non-empty."""
    classes = _column(table, ENT_PHYSICAL_CLASS)
    models = _column(table, ENT_PHYSICAL_MODEL)
    serials = _column(table, ENT_PHYSICAL_SERIAL)
    indexes = sorted(set(classes) | set(models) | set(serials))
    found = [(_text(models.get(i)), _text(serials.get(i)), classes.get(i)) for i in indexes]
    for model, serial, kind in found:
        if kind == ENT_CLASS_CHASSIS and (model or serial):
            return model, serial
    for model, serial, _kind in found:
        if model or serial:
            return model, serial
    return "", ""


async def _collect(session: _Session, target: SnmpTarget) -> tuple[SnmpData, str]:
    """Read everything the target's groups ask for: (data, a note when partial).

    Once the device has answered the first GET it is up: a later table walk that fails
    leaves the result OK with what was read and a note, so one bad table does not mark a
    working device down.
    """
    plan = _plan(frozenset(target.groups))
    data = SnmpData()
    skipped: list[str] = []
    scalars = await _get_scalars(session, plan.scalars, skipped)
    data.system = SystemInfo(
        descr=_text(scalars.get(SYS_DESCR)),
        object_id=_oid_text(scalars.get(SYS_OBJECT_ID)),
        uptime_ticks=_int(scalars.get(SYS_UPTIME)),
        name=_text(scalars.get(SYS_NAME)),
        location=_text(scalars.get(SYS_LOCATION)),
        contact=_text(scalars.get(SYS_CONTACT)),
    )
    data.host_uptime_ticks = _int(scalars.get(HR_SYSTEM_UPTIME))
    data.process_count = _int(scalars.get(HR_SYSTEM_PROCESSES))
    if any(oid in scalars for oid in UPS_SCALARS):
        # Values outside UPS-MIB's ranges are firmware bugs: dropped, not graphed.
        data.ups = UpsInfo(
            battery_status=_ranged(scalars.get(UPS_BATTERY_STATUS), 1, 4),
            seconds_on_battery=_ranged(scalars.get(UPS_SECONDS_ON_BATTERY), 0),
            minutes_remaining=_ranged(scalars.get(UPS_MINUTES_REMAINING), 0),
            charge_pct=_ranged(scalars.get(UPS_CHARGE_REMAINING), 0, 100),
            output_source=_ranged(scalars.get(UPS_OUTPUT_SOURCE), 1, 7),
        )
    notes: list[str] = []
    if skipped:
        notes.append(f"{len(skipped)} scalars: " + ", ".join(dict.fromkeys(skipped)))
    if_number = _int(scalars.get(IF_NUMBER))
    for walk in plan.walks:
        expected = None
        if walk.name == "interfaces" and if_number is not None:
            expected = min(max(if_number, 0), MAX_BULK_VARBINDS)
        try:
            table, problem = await _walk(session, walk, expected)
        except _Failed as failure:
            notes.append(f"{walk.name}: {failure.message}")
            continue
        if problem:
            notes.append(f"{walk.name}: {problem}")
        if walk.name == "interfaces":
            data.interfaces = _interfaces(table)
        elif walk.name == "host":
            data.cpu_loads, data.storage = _host(table)
        elif walk.name == "printer":
            data.supplies = _supplies(table)
        elif walk.name == "entity":
            data.entity_model, data.entity_serial = _entity(table)
    data.varbinds = session.varbinds
    return data, ("partial: " + "; ".join(notes) if notes else "")


# ---------------------------------------------------------------------------------------------
# The batch.


class _Resolver:
    """Addresses for targets: literals parsed, names resolved once per batch."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, int], asyncio.Future] = {}

    async def resolve(self, host: str, port: int) -> tuple[tuple, int]:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            if address.version == 4:
                return (str(address), port), socket.AF_INET
            return (str(address), port, 0, 0), socket.AF_INET6
        key = (host, port)
        if key not in self._names:
            self._names[key] = asyncio.ensure_future(self._lookup(host, port))
        return await self._names[key]

    @staticmethod
    async def _lookup(host: str, port: int) -> tuple[tuple, int]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except (OSError, UnicodeError):
            raise _Failed(Outcome.UNREACHABLE, "name does not resolve") from None
        if not infos:
            raise _Failed(Outcome.UNREACHABLE, "name does not resolve")
        family, _type, _proto, _name, sockaddr = infos[0]
        return sockaddr, family


class _Batch:
    """Shared state for one run: the UDP client, the v3 engine(s), the resolver."""

    def __init__(self) -> None:
        self.udp = _UdpClient()
        self.resolver = _Resolver()
        self._v3: _V3Client | None = None

    @property
    def v3(self) -> _V3Client:
        if self._v3 is None:
            self._v3 = _V3Client()
        return self._v3

    def close(self) -> None:
        self.udp.close()
        if self._v3 is not None:
            self._v3.close()

    async def probe(self, target: SnmpTarget) -> ProbeResult:
        """One target, start to finish; every failure becomes the result's outcome."""
        started = time.perf_counter()
        try:
            data, note = await self._probe(target)
        except _Failed as failure:
            return _result(target, failure.outcome, failure.message, started)
        except _AgentError as error:
            return _result(target, Outcome.ERROR, _agent_error_text(error), started)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a response shape nobody foresaw: still one result
            # Only the type: an exception's text could quote a response or a credential.
            log.warning("SNMP probe of target %s failed: %s", target.key, type(exc).__name__)
            return _result(target, Outcome.ERROR, f"probe failed: {type(exc).__name__}", started)
        return _result(target, Outcome.OK, note, started, data)

    async def _probe(self, target: SnmpTarget) -> tuple[SnmpData, str]:
        version = target.credentials.version
        if version not in ("v1", "v2c", "v3"):
            raise _Failed(Outcome.ERROR, f"unsupported SNMP version {str(version)[:10]!r}")
        address, family = await self.resolver.resolve(target.address, target.port)
        if version == "v3":
            session: _Session = await self.v3.session(target, address, family)
        else:
            session = _V2Session(self.udp, target, address, family)
        return await _collect(session, target)


def _result(target, outcome, message, started, data=None) -> ProbeResult:
    elapsed = round((time.perf_counter() - started) * 1000.0, 1)
    return ProbeResult(target.key, outcome, message, elapsed, data)


async def probe_all(targets: Sequence[SnmpTarget], *, concurrency: int = 200) -> list[ProbeResult]:
    """Probe every target with at most `concurrency` devices in flight; results in order.

    A fixed pool of `concurrency` worker coroutines pulls targets from one iterator: the
    same bound as a semaphore, without one task per device.
    """
    targets = list(targets)
    results: list[ProbeResult | None] = [None] * len(targets)
    if not targets:
        return []
    batch = _Batch()
    queue = iter(enumerate(targets))

    async def worker() -> None:
        for position, target in queue:
            results[position] = await batch.probe(target)

    try:
        workers = max(1, min(int(concurrency), len(targets)))
        await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        batch.close()
    return [r for r in results if r is not None]


# ---------------------------------------------------------------------------------------------
# Several processes: the client is CPU-bound (BER decoding), so two cores need two processes.


def _probe_chunk(targets: list[SnmpTarget], concurrency: int) -> list[ProbeResult]:
    """Worker process entry: its own event loop over its share of the targets."""
    return asyncio.run(probe_all(targets, concurrency=concurrency))


def _context():
    """forkserver where available (workers fork from a small preloaded server, which is quick
    and safe in a threaded parent such as a web or scheduler process), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def run_batch(
    targets: Sequence[SnmpTarget], *, concurrency: int = 200, processes: int = 1
) -> list[ProbeResult]:
    """Probe the targets from synchronous code: one ProbeResult per target, in input order.

    `concurrency` is the total number of devices in flight, shared between `processes`.
    With processes > 1 the v1/v2c targets are dealt round-robin to worker processes, each
    with its own loop and socket, while the SNMPv3 targets run in this process meanwhile.
    One process already reads several hundred to a thousand devices a second on loopback
    (scripts/bench_sweep.py); more processes help only when the client's CPU is the limit.
    Call it from a thread without a running event loop (use probe_all inside one).
    """
    targets = list(targets)
    udp = [i for i, t in enumerate(targets) if t.credentials.version in ("v1", "v2c")]
    # Below a few dozen devices per worker a second process costs more than it saves.
    processes = min(max(1, int(processes)), max(1, len(udp) // 50))
    if processes == 1:
        return asyncio.run(probe_all(targets, concurrency=concurrency))

    results: list[ProbeResult | None] = [None] * len(targets)
    udp_set = set(udp)
    v3 = [i for i in range(len(targets)) if i not in udp_set]
    shares = [udp[n::processes] for n in range(processes)]
    per_process = max(1, math.ceil(concurrency / processes))
    try:
        with ProcessPoolExecutor(max_workers=processes, mp_context=_context()) as pool:
            futures = [
                pool.submit(_probe_chunk, [targets[i] for i in share], per_process)
                for share in shares
            ]
            if v3:
                done = asyncio.run(probe_all([targets[i] for i in v3], concurrency=concurrency))
                for position, result in zip(v3, done, strict=True):
                    results[position] = result
            for share, future in zip(shares, futures, strict=True):
                for position, result in zip(share, future.result(), strict=True):
                    results[position] = result
    except Exception as exc:  # no worker could start, or one died: finish in this process
        log.warning("SNMP probe workers failed (%s); probing in-process", type(exc).__name__)
        left = [i for i, result in enumerate(results) if result is None]
        done = asyncio.run(probe_all([targets[i] for i in left], concurrency=concurrency))
        for position, result in zip(left, done, strict=True):
            results[position] = result
    return [r for r in results if r is not None]
