"""TCP reachability probe: can a connection be opened to a device's service ports?

`await check(target)` tries every port of one target (at once, each with the target's
timeout); `run_batch(targets, concurrency=...)` (or `await check_all(...)` inside a loop)
gives exactly one TcpResult per target, in input order. Nothing is sent: the connection is
opened and closed again. Network problems are results, never exceptions.

Each port ends up as one of PORT_STATES: "open" (the handshake completed), "closed" (the
connection was refused), "timeout" (no answer within `target.timeout` seconds),
"unreachable" (no route, a name that does not resolve) or "error" (anything else, e.g. an
invalid port). The target's outcome is OK when at least one port is open, TIMEOUT when
none is open and at least one timed out, UNREACHABLE when every port was refused or had
no route, and ERROR otherwise (an invalid target).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from inventory.probes.base import Outcome

__all__ = ["PORT_STATES", "PortCheck", "TcpResult", "TcpTarget", "check", "check_all", "run_batch"]

OPEN, CLOSED, TIMEOUT, UNREACHABLE, ERROR = "open", "closed", "timeout", "unreachable", "error"
PORT_STATES = (OPEN, CLOSED, TIMEOUT, UNREACHABLE, ERROR)
CLOSE_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class TcpTarget:
    """One device: its address and the ports to try."""

    key: int | str
    address: str
    ports: tuple[int, ...]
    timeout: float = 3.0


@dataclass(frozen=True, slots=True)
class PortCheck:
    port: int
    state: str  # one of PORT_STATES
    error: str = ""


@dataclass(slots=True)
class TcpResult:
    key: int | str
    outcome: Outcome
    ports: list[PortCheck] = field(default_factory=list)
    error: str = ""
    elapsed: float = 0.0  # seconds

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def open_ports(self) -> list[int]:
        return [p.port for p in self.ports if p.state == OPEN]


def _failure(exc: OSError) -> tuple[str, str]:
    if isinstance(exc, socket.gaierror):
        return UNREACHABLE, "the address does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return CLOSED, "connection refused"
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL):
        return UNREACHABLE, "no route to the device"
    return ERROR, f"connection failed: {exc.strerror or type(exc).__name__}"


async def _port(address: str, port: int, timeout: float) -> PortCheck:
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(address, port)
        return PortCheck(port, OPEN)
    except TimeoutError:
        return PortCheck(port, TIMEOUT, f"no answer within {timeout:g} s")
    except OSError as exc:
        state, message = _failure(exc)
        return PortCheck(port, state, message)
    except (ValueError, OverflowError, TypeError) as exc:  # an invalid port or address
        return PortCheck(port, ERROR, f"invalid target: {type(exc).__name__}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)


def _outcome(ports: list[PortCheck]) -> tuple[Outcome, str]:
    states = {p.state for p in ports}
    if OPEN in states:
        return Outcome.OK, ""
    if not ports:
        return Outcome.ERROR, "no ports to check"
    if TIMEOUT in states:
        return Outcome.TIMEOUT, "no port answered"
    if states <= {CLOSED, UNREACHABLE}:
        if UNREACHABLE in states:
            return Outcome.UNREACHABLE, next(p.error for p in ports if p.state == UNREACHABLE)
        return Outcome.UNREACHABLE, "every port refused the connection"
    return Outcome.ERROR, next(p.error for p in ports if p.state == ERROR)


async def check(target: TcpTarget) -> TcpResult:
    """Try every port of one target. Never raises for anything the network does."""
    started = time.monotonic()
    ports = list(
        await asyncio.gather(
            *(_port(target.address, port, float(target.timeout)) for port in target.ports)
        )
    )
    outcome, error = _outcome(ports)
    return TcpResult(target.key, outcome, ports, error, time.monotonic() - started)


async def check_all(targets: Sequence[TcpTarget], *, concurrency: int = 50) -> list[TcpResult]:
    """Check the targets, at most `concurrency` at a time: one result each, in input order."""
    gate = asyncio.Semaphore(max(1, int(concurrency)))

    async def one(target: TcpTarget) -> TcpResult:
        async with gate:
            try:
                return await check(target)
            except Exception as exc:  # a bug must not cost the other targets their results
                return TcpResult(target.key, Outcome.ERROR, error=type(exc).__name__)

    return list(await asyncio.gather(*(one(t) for t in targets)))


def run_batch(targets: Sequence[TcpTarget], *, concurrency: int = 50) -> list[TcpResult]:
    """`check_all` from synchronous code (a thread without a running event loop)."""
    targets = list(targets)
    if not targets:
        return []
    return asyncio.run(check_all(targets, concurrency=concurrency))
