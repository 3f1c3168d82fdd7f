"""PJLink probe: a projector's power, lamps, errors, input and identity over TCP port 4352.

`await query(target)` reads one projector; `run_batch(targets, concurrency=...)` (or `await
query_all(...)` inside a loop) gives exactly one PjlinkResult per target, in input order.
Device problems are results, never exceptions; the password never appears in a result, a
repr or a log.

The exchange (PJLink class 1 specification 1.04 and class 2 specification 2.00, JBMIA):

- on connect the projector greets with ``PJLINK 0\\r`` (no authentication), ``PJLINK 1
  <random>\\r`` (authentication: the first command is prefixed with the 32 hex digits of
  md5(random + password); later commands on the same connection are not) or ``PJLINK
  ERRA\\r``. A wrong digest is answered ``PJLINK ERRA`` (then the projector hangs up);
- one connection carries every query: ``%1CLSS ?`` first (class "1" or "2"), then POWR,
  LAMP, ERST, INPT, NAME, INF1, INF2 and INFO, and for class 2 also SNUM, SVER and FILT;
- a reply is ``%1POWR=1\\r``; ``=ERR1`` (undefined command), ``ERR2`` (out of parameter),
  ``ERR3`` (unavailable time, e.g. INPT while the projector is off) and ``ERR4`` (projector
  failure) leave that field None and are listed in `PjlinkStatus.refusals`; a reply value
  that cannot be read does the same with "malformed". The query as a whole is still OK.

What a result can say: OK; AUTH_FAILED (ERRA, or a projector that asks for a password
when none is configured); TIMEOUT (no connection, or not all replies, within
`target.timeout` seconds: one deadline for the whole query); UNREACHABLE (connection
refused, no route, a name that does not resolve); ERROR (not a PJLink greeting, a reply
that does not answer the command sent, a line longer than MAX_LINE bytes or without its
"\\r", the connection closed mid-exchange).

Device strings (name, manufacturer, model, ...) are untrusted: decoded as UTF-8 with
replacement, control and format characters (bidi overrides included) removed, and cut to the
lengths the specification allows. Nothing a device sends is ever evaluated.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import re
import socket
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from inventory.probes.base import Outcome

__all__ = [
    "ERROR_CATEGORIES",
    "LampState",
    "PjlinkResult",
    "PjlinkStatus",
    "PjlinkTarget",
    "describe_input",
    "query",
    "query_all",
    "run_batch",
]

PORT = 4352
# The specification's longest reply line is 136 bytes with its "\r"; a little margin for
# projectors that pad, and anything longer is refused rather than read.
MAX_LINE = 160
CLOSE_TIMEOUT = 1.0

ERROR_CATEGORIES = ("fan", "lamp", "temperature", "cover", "filter", "other")
POWER = {"0": "off", "1": "on", "2": "cooling", "3": "warming"}
LEVELS = {"0": "ok", "1": "warning", "2": "error"}
REFUSALS = {
    "ERR1": "undefined command",
    "ERR2": "out of parameter",
    "ERR3": "unavailable time",
    "ERR4": "projector failure",
}
INPUT_TYPES = {
    "1": "RGB",
    "2": "Video",
    "3": "Digital",
    "4": "Storage",
    "5": "Network",
    "6": "Internal",
}

_GREETING = re.compile(r"PJLINK (?:0|1 (?P<random>[0-9A-Za-z]{1,32}))")
_REPLY = re.compile(r"%(?P<cls>[12])(?P<cmd>[A-Za-z0-9]{4})=(?P<value>.*)", re.DOTALL)
_INPUT = re.compile(r"[1-6][1-9A-Z]")
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@dataclass(slots=True)
class PjlinkTarget:
    """One projector to read: `key` is the caller's id for it (the asset id)."""

    key: int | str
    address: str
    port: int = PORT
    password: str = field(default="", repr=False)
    timeout: float = 5.0


@dataclass(slots=True)
class LampState:
    hours: int
    on: bool


@dataclass(slots=True)
class PjlinkStatus:
    """What the projector told. None (or empty) where it did not answer that question."""

    pjlink_class: str = "1"  # "1" or "2"
    power: str | None = None  # off, on, cooling, warming
    lamps: list[LampState] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # fan, lamp, ... -> ok/warning/error
    input: str | None = None  # the two-character code, e.g. "31": describe_input() reads it
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    other_info: str | None = None  # INFO
    serial_number: str | None = None  # class 2 SNUM
    software_version: str | None = None  # class 2 SVER
    filter_hours: int | None = None  # class 2 FILT
    refusals: dict[str, str] = field(default_factory=dict)  # "INPT" -> "unavailable time"

    @property
    def input_label(self) -> str | None:
        return describe_input(self.input)

    @property
    def problems(self) -> dict[str, str]:
        """The error categories that are not "ok"."""
        return {name: level for name, level in self.errors.items() if level != "ok"}


@dataclass(slots=True)
class PjlinkResult:
    """The outcome for one target of one run: always exactly one per target."""

    key: int | str
    outcome: Outcome
    status: PjlinkStatus | None = None
    error: str = ""
    elapsed: float = 0.0  # seconds

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def elapsed_ms(self) -> float:
        return round(self.elapsed * 1000.0, 1)


def describe_input(code: str | None) -> str | None:
    """ "31" -> "Digital 1"; None for None, the code itself when it is not a known kind."""
    if not code:
        return None
    kind = INPUT_TYPES.get(code[0])
    return f"{kind} {code[1:]}" if kind else code


def clean_text(raw: str, limit: int = 64) -> str:
    """An untrusted device string without control/format characters, stripped and cut."""
    kept = "".join(" " if ch == "\t" else ch for ch in raw)
    kept = "".join(ch for ch in kept if unicodedata.category(ch) not in _UNPRINTABLE)
    return " ".join(kept.split())[:limit]


class _Failed(Exception):
    """Ends a query early with an outcome (internal: never leaves this module)."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class _Session:
    """One TCP connection to a projector: greeting, authentication, command and reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.digest = ""  # sent with the first command only

    async def read_line(self) -> str:
        try:
            raw = await self.reader.readuntil(b"\r")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise _Failed(Outcome.ERROR, "connection closed in the middle of a reply") from None
            raise _Failed(Outcome.ERROR, "connection closed by the projector") from None
        except asyncio.LimitOverrunError:
            raise _Failed(
                Outcome.ERROR, f"reply line longer than {MAX_LINE} bytes (refused)"
            ) from None
        if len(raw) > MAX_LINE:
            raise _Failed(Outcome.ERROR, f"reply line longer than {MAX_LINE} bytes (refused)")
        # A projector that ends lines with "\r\n" leaves the "\n" before the next line.
        return raw[:-1].lstrip(b"\n").decode("utf-8", errors="replace")

    async def greet(self, password: str) -> None:
        line = await self.read_line()
        if line.strip().upper() == "PJLINK ERRA":
            raise _Failed(Outcome.AUTH_FAILED, "the projector refused the connection (ERRA)")
        match = _GREETING.fullmatch(line.strip())
        if not match:
            raise _Failed(Outcome.ERROR, f"not a PJLink greeting: {clean_text(line, 40)!r}")
        random = match["random"]
        if random is None:
            return
        if not password:
            raise _Failed(Outcome.AUTH_FAILED, "the projector asks for a PJLink password")
        digest = hashlib.md5((random + password).encode("utf-8"), usedforsecurity=False)
        self.digest = digest.hexdigest()

    async def ask(self, pj_class: str, command: str) -> tuple[str, str | None]:
        """Send "%<class><command> ?": (value, None), or ("", the reason) for ERR1-ERR4."""
        request = f"{self.digest}%{pj_class}{command} ?\r"
        self.digest = ""
        self.writer.write(request.encode("ascii"))
        await self.writer.drain()
        line = await self.read_line()
        if line.strip().upper() == "PJLINK ERRA":
            raise _Failed(Outcome.AUTH_FAILED, "wrong PJLink password (ERRA)")
        match = _REPLY.fullmatch(line)
        if not match or match["cmd"].upper() != command:
            raise _Failed(Outcome.ERROR, f"unexpected reply to {command}: {clean_text(line, 40)!r}")
        value = match["value"]
        code = value.strip().upper()
        if code == "ERRA":
            raise _Failed(Outcome.AUTH_FAILED, "wrong PJLink password (ERRA)")
        if code in REFUSALS:
            return "", REFUSALS[code]
        return value, None


def _parse_lamps(value: str) -> list[LampState] | None:
    parts = value.split()
    if not parts or len(parts) % 2 or len(parts) > 16:
        return None
    lamps = []
    for hours, on in zip(parts[::2], parts[1::2], strict=True):
        if not hours.isdigit() or len(hours) > 5 or on not in ("0", "1"):
            return None
        lamps.append(LampState(hours=int(hours), on=on == "1"))
    return lamps


def _parse_errors(value: str) -> dict[str, str] | None:
    value = value.strip()
    if len(value) != 6 or any(ch not in LEVELS for ch in value):
        return None
    return {name: LEVELS[ch] for name, ch in zip(ERROR_CATEGORIES, value, strict=True)}


async def _read_status(session: _Session) -> PjlinkStatus:
    status = PjlinkStatus()

    async def ask(pj_class: str, command: str) -> str | None:
        value, refusal = await session.ask(pj_class, command)
        if refusal:
            status.refusals[command] = refusal
            return None
        return value

    def malformed(command: str) -> None:
        status.refusals[command] = "malformed reply"

    value = await ask("1", "CLSS")
    if value is not None and value.strip() not in ("1", "2"):
        malformed("CLSS")
    status.pjlink_class = "2" if value is not None and value.strip() == "2" else "1"
    cls = status.pjlink_class

    if (value := await ask("1", "POWR")) is not None:
        status.power = POWER.get(value.strip())
        if status.power is None:
            malformed("POWR")
    if (value := await ask("1", "LAMP")) is not None:
        lamps = _parse_lamps(value)
        if lamps is None:
            malformed("LAMP")
        status.lamps = lamps or []
    if (value := await ask("1", "ERST")) is not None:
        errors = _parse_errors(value)
        if errors is None:
            malformed("ERST")
        status.errors = errors or {}
    if (value := await ask(cls, "INPT")) is not None:
        code = value.strip().upper()
        if _INPUT.fullmatch(code):
            status.input = code
        else:
            malformed("INPT")
    for command, attribute, limit in (
        ("NAME", "name", 64),
        ("INF1", "manufacturer", 32),
        ("INF2", "model", 32),
        ("INFO", "other_info", 32),
    ):
        if (value := await ask("1", command)) is not None:
            setattr(status, attribute, clean_text(value, limit))
    if cls == "2":
        if (value := await ask("2", "SNUM")) is not None:
            status.serial_number = clean_text(value, 32)
        if (value := await ask("2", "SVER")) is not None:
            status.software_version = clean_text(value, 32)
        if (value := await ask("2", "FILT")) is not None:
            hours = value.strip()
            if hours.isdigit() and len(hours) <= 6:
                status.filter_hours = int(hours)
            else:
                malformed("FILT")
    return status


def _connection_failure(exc: OSError) -> tuple[Outcome, str]:
    if isinstance(exc, socket.gaierror):
        return Outcome.UNREACHABLE, "the address does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return Outcome.UNREACHABLE, "connection refused"
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL):
        return Outcome.UNREACHABLE, "no route to the projector"
    return Outcome.ERROR, f"connection failed: {exc.strerror or type(exc).__name__}"


async def query(target: PjlinkTarget) -> PjlinkResult:
    """Read one projector. Never raises for anything the network or the device does."""
    started = time.monotonic()
    writer: asyncio.StreamWriter | None = None
    connected = False

    def result(outcome: Outcome, status: PjlinkStatus | None = None, error: str = ""):
        return PjlinkResult(
            key=target.key,
            outcome=outcome,
            status=status,
            error=error,
            elapsed=time.monotonic() - started,
        )

    try:
        async with asyncio.timeout(target.timeout):
            reader, writer = await asyncio.open_connection(
                target.address, target.port, limit=MAX_LINE
            )
            connected = True
            session = _Session(reader, writer)
            await session.greet(target.password)
            status = await _read_status(session)
        return result(Outcome.OK, status)
    except TimeoutError:
        what = "no complete answer" if connected else "no connection"
        return result(Outcome.TIMEOUT, error=f"{what} within {target.timeout:g} s")
    except _Failed as failed:
        return result(failed.outcome, error=failed.message)
    except OSError as exc:
        if connected:
            return result(Outcome.ERROR, error="connection lost in the middle of the exchange")
        outcome, message = _connection_failure(exc)
        return result(outcome, error=message)
    except (ValueError, OverflowError) as exc:  # e.g. an invalid port or address
        return result(Outcome.ERROR, error=f"invalid target: {type(exc).__name__}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)


async def query_all(
    targets: Sequence[PjlinkTarget], *, concurrency: int = 50
) -> list[PjlinkResult]:
    """Read the projectors, at most `concurrency` at a time: one result each, in input order."""
    gate = asyncio.Semaphore(max(1, int(concurrency)))

    async def one(target: PjlinkTarget) -> PjlinkResult:
        async with gate:
            try:
                return await query(target)
            except Exception as exc:  # a bug must not cost the other targets their results
                return PjlinkResult(target.key, Outcome.ERROR, error=type(exc).__name__)

    return list(await asyncio.gather(*(one(t) for t in targets)))


def run_batch(targets: Sequence[PjlinkTarget], *, concurrency: int = 50) -> list[PjlinkResult]:
    """`query_all` from synchronous code (a thread without a running event loop)."""
    targets = list(targets)
    if not targets:
        return []
    return asyncio.run(query_all(targets, concurrency=concurrency))
