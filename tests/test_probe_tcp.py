"""The TCP reachability probe against real sockets on loopback."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from inventory.probes.base import Outcome
from inventory.probes.tcp import TcpTarget, run_batch

HOST = "127.0.0.1"


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def refused() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))  # bound, never listening: a connect is refused
        yield sock.getsockname()[1]


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A loopback port whose accept queue is full: Linux drops further SYNs, so a connect
    gets no answer at all (the loopback stand-in for a host that does not reply)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((HOST, 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect((HOST, port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def test_a_port_that_never_answers_times_out(full_backlog, listening):
    (silent,) = run_batch([TcpTarget(1, HOST, (full_backlog,), timeout=0.5)])
    assert silent.outcome is Outcome.TIMEOUT and silent.error == "no port answered"
    assert silent.ports[0].state == "timeout" and "0.5 s" in silent.ports[0].error
    (mixed,) = run_batch([TcpTarget(2, HOST, (full_backlog, listening), timeout=0.5)])
    assert mixed.outcome is Outcome.OK and mixed.open_ports == [listening]


def test_open_and_closed_ports(listening, refused):
    (result,) = run_batch([TcpTarget("vc", HOST, (refused, listening), timeout=5)])
    assert result.outcome is Outcome.OK and result.ok and result.error == ""
    assert result.key == "vc"
    assert result.open_ports == [listening]
    states = {p.port: p.state for p in result.ports}
    assert states == {refused: "closed", listening: "open"}
    closed = next(p for p in result.ports if p.port == refused)
    assert closed.error == "connection refused"


def test_every_port_closed_is_unreachable(refused):
    (result,) = run_batch([TcpTarget(1, HOST, (refused,), timeout=5)])
    assert result.outcome is Outcome.UNREACHABLE
    assert result.open_ports == []
    assert result.error == "every port refused the connection"


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (TcpTarget(1, HOST, (70000,)), "invalid target"),
        (TcpTarget(1, HOST, ()), "no ports"),
    ],
)
def test_invalid_targets_are_error_results(target, words):
    (result,) = run_batch([target])
    assert result.outcome is Outcome.ERROR
    assert words in result.error


def test_batch_keeps_order_and_one_result_each(listening, refused):
    targets = [TcpTarget(i, HOST, (listening if i % 2 else refused,), timeout=5) for i in range(7)]
    results = run_batch(targets, concurrency=2)
    assert [r.key for r in results] == list(range(7))
    assert [r.ok for r in results] == [bool(i % 2) for i in range(7)]


def test_empty_batch():
    assert run_batch([]) == []
