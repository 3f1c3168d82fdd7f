"""PJLink peers on loopback for tests: pjlink-advance's emulator and a hostile fake projector.

Loaded by tests/conftest.py (``pytest_plugins = [..., "pjlinkpeers"]``).

- `pjlink_emulators`: one child process (inventory.simulator.pjlink, in the emulator's own
  Python 3.13 venv, made on first use) serving the projectors of PROJECTORS on 127.0.0.1.
  Passwords are random per session (`pjlink_password`). Where no Python 3.13 can be found the
  fixture fails with the reason: these tests are never skipped silently.
- `projector`: the emulators with the mutable "open1" and "open2" projectors reset to their
  starting state for each test (tests change them with ``.update(key, ...)``).
- `hostile_pjlink`: an asyncio server in a thread of its own with one port per misbehaviour
  (HOSTILE): garbage, endless lines, megabyte replies, refusals, silence, a connection cut
  in the middle of a reply, control characters in the name, ...
- `closed_port`: a loopback port that is bound but not listening (connections are refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from inventory.simulator.pjlink import EmulatorUnavailable, PjlinkEmulators, ProjectorSpec

HOST = "127.0.0.1"

# Name -> a fresh spec, so the session's projectors can be reset to it.
PROJECTORS: dict[str, Callable[[str], ProjectorSpec]] = {
    # Class 1, no password, changed by tests (reset before each one).
    "open1": lambda _pw: ProjectorSpec(pj_class=1, power="on", lamps=[1520], input="11"),
    # Class 2, no password, two lamps, changed by tests.
    "open2": lambda _pw: ProjectorSpec(
        pj_class=2,
        power="on",
        lamps=[2750, 310],
        input="32",
        name="DM VC Hall",
        manufacturer="NEC",
        model="NP-P525UL",
        other_info="laser",
        serial="7Y0123456",
        software_version="R1.06.041",
        filter_hours=1234,
        errors={"filter": "warning"},
    ),
    "secured1": lambda pw: ProjectorSpec(pj_class=1, password=pw, power="off"),
    "secured2": lambda pw: ProjectorSpec(pj_class=2, password=pw, power="on", lamps=[42]),
}
MUTABLE = ("open1", "open2")


@pytest.fixture(scope="session")
def pjlink_password() -> str:
    return "pj" + secrets.token_hex(6)


@pytest.fixture(scope="session")
def pjlink_emulators(pjlink_password) -> Iterator[PjlinkEmulators]:
    specs = {key: make(pjlink_password) for key, make in PROJECTORS.items()}
    fleet = PjlinkEmulators(specs, host=HOST)
    problem = ""
    try:
        fleet.start()
    except EmulatorUnavailable as exc:
        problem = str(exc)
    if problem:  # outside the except: the message alone, without a chained traceback
        pytest.fail(f"PJLink emulator unavailable: {problem}", pytrace=False)
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture
def projector(pjlink_emulators) -> PjlinkEmulators:
    for key in MUTABLE:
        pjlink_emulators.reset(key)
    return pjlink_emulators


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))  # bound, never listening: a connect is refused
        yield sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# The hostile projector

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

GOOD = {
    "CLSS": "1",
    "POWR": "1",
    "LAMP": "100 1",
    "ERST": "000000",
    "INPT": "31",
    "NAME": "Hall",
    "INF1": "Maker",
    "INF2": "Model",
    "INFO": "",
    "SNUM": "S1",
    "SVER": "1.0",
    "FILT": "10",
}
CLOSE = b"<close>"  # as a reply: hang up instead of answering


async def _commands(reader: asyncio.StreamReader) -> AsyncIterator[str]:
    while True:
        try:
            line = await reader.readuntil(b"\r")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        yield line.decode("ascii", errors="replace").strip()


def scripted(
    replies: dict[str, str | bytes] | None = None,
    *,
    greeting: bytes = b"PJLINK 0\r",
    end: bytes = b"\r",
) -> Handler:
    """A projector that answers each command from GOOD overridden by `replies`.

    A str reply is sent as "%1CMD=<reply><end>"; a bytes reply is sent exactly as it is, and
    the connection is closed after it unless it ends with "\r"; the reply CLOSE closes the
    connection instead of answering.
    """
    table: dict[str, str | bytes] = {**GOOD, **(replies or {})}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        await writer.drain()
        async for line in _commands(reader):
            command = line[2:6]
            reply = table.get(command, "ERR1")
            if reply is CLOSE:
                return
            if isinstance(reply, bytes):
                writer.write(reply)
                if not reply.endswith(b"\r"):  # a reply cut short: hang up in the middle
                    await writer.drain()
                    return
            else:
                writer.write(f"{line[:2]}{command}={reply}".encode() + end)
            await writer.drain()

    return handle


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.Event().wait()  # accepts, then says nothing until the server stops


async def _silent_after_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    writer.write(b"PJLINK 0\r")
    await writer.drain()
    await asyncio.Event().wait()


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A greeting that never ends: 64 KiB chunks without a "\\r" until the client leaves."""
    writer.write(b"PJLINK 0")
    chunk = b"A" * 65536
    for _ in range(1024):  # 64 MiB at most
        writer.write(chunk)
        await writer.drain()


HOSTILE: dict[str, Handler] = {
    "garbage_greeting": scripted(greeting=b"\x00\xffHELLO <script>\r"),
    "http_greeting": scripted(greeting=b"HTTP/1.1 400 Bad Request\r\n\r\n"),
    "greeting_erra": scripted(greeting=b"PJLINK ERRA\r"),
    "endless_line": _endless,
    "huge_reply": scripted({"CLSS": b"%1CLSS=" + b"1" * (4 << 20) + b"\r"}),
    "long_reply": scripted({"NAME": "N" * 300}),
    "refusals": scripted(
        {
            "POWR": "ERR4",
            "LAMP": "ERR1",
            "ERST": "ERR2",
            "INPT": "ERR3",
            "INF1": "ERR1",
            "INF2": "ERR4",
        }
    ),
    "class2_refusals": scripted({"CLSS": "2", "SNUM": "ERR1", "SVER": "ERR3", "FILT": "ERR4"}),
    "erra_reply": scripted({"POWR": "ERRA"}),
    "pjlink_erra_reply": scripted({"LAMP": b"PJLINK ERRA\r"}),
    "malformed": scripted(
        {
            "CLSS": "9",
            "POWR": "7",
            "LAMP": "12 1 abc",
            "ERST": "0123",
            "INPT": "../",
            "NAME": "",
        }
    ),
    "wrong_reply": scripted({"POWR": b"%1NAME=Hall\r"}),
    "control_chars": scripted(
        {
            "CLSS": "2",
            "NAME": "Hall\x1b[31m\x00\x07 A\u202e\u200bB\tC",
            "INF1": "\x7fMaker\x08",
            "SNUM": "S\x001",
        }
    ),
    "crlf": scripted(end=b"\r\n"),
    "cut_mid_reply": scripted({"POWR": b"%1POWR=", "LAMP": CLOSE}),
    "close_after_greeting": scripted({"CLSS": CLOSE}),
    "silent": _silent,
    "silent_after_greeting": _silent_after_greeting,
}


class HostilePeers:
    """Every HOSTILE behaviour on a loopback port of its own, served from a thread."""

    def __init__(self) -> None:
        self.ports: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task] = set()

    def address(self, name: str) -> tuple[str, int]:
        return HOST, self.ports[name]

    def start(self) -> HostilePeers:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        for name, handler in HOSTILE.items():
            server = await asyncio.start_server(self._guard(handler), HOST, 0)
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]

    def _guard(self, handler: Handler) -> Handler:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                self._tasks.discard(task)
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

        return run

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for server in self._servers:
            await server.wait_closed()
        while self._tasks:
            await asyncio.sleep(0.01)


@pytest.fixture(scope="session")
def hostile_pjlink() -> Iterator[HostilePeers]:
    peers = HostilePeers().start()
    try:
        yield peers
    finally:
        peers.stop()
