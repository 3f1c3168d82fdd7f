"""Real SSH peers on loopback for tests: Debian's OpenSSH server, fake-switches, and two
small servers of our own (one that records every authentication attempt, one that never
speaks).

Loaded by tests/conftest.py (``pytest_plugins = [..., "sshpeers"]``). Every fixture is
session-scoped and starts its peer only when a test asks for it; ports are drawn free on
127.0.0.1 and every secret is random per session.

- `sshd_peer`: /usr/sbin/sshd (OpenSSH, Debian's openssh-server) with a generated ed25519
  host key, without PAM, allowing one dedicated system user created for the session (so
  root only: the fixture skips otherwise) who logs in by password or by a generated key.
  The user is deleted again at the end.
- `fake_switch`: fake-switches' Cisco IOS switch, started in a child process through its
  library classes (its command-line launcher encodes the enable password to bytes, which
  then never matches on Python 3).
- `recording_server`: a factory of paramiko servers with host keys of their own that record
  every authentication attempt and refuse them all (optionally swapping their host key
  from one connection to the next).
- `silent_server`: a socket that accepts TCP connections and never says a word.

Run as a script (`python tests/sshpeers.py fake-switch PORT HOSTNAME USER PASSWORD`) it is
the fake switch's child process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
LOOPBACK = "127.0.0.1"


def free_tcp_port(address: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_for_port(address: str, port: int, process: subprocess.Popen, what: str) -> None:
    """Wait until the peer accepts connections (fail if it exits or takes over 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on {address}:{port}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def public_key_line(path: Path) -> str:
    """ "type base64" of an OpenSSH public key file (the comment dropped)."""
    kind, b64 = path.read_text().split()[:2]
    return f"{kind} {b64}"


@dataclass
class SshdPeer:
    address: str
    port: int
    host_key: str  # "ssh-ed25519 AAAA..."
    username: str
    password: str = field(repr=False)
    private_key: str = field(repr=False)  # OpenSSH text of a key the server accepts
    other_private_key: str = field(repr=False)  # a key the server does not know
    log_path: Path = Path()


@dataclass
class FakeSwitch:
    address: str
    port: int
    hostname: str
    username: str
    password: str = field(repr=False)  # the login and the enable password


@dataclass
class Attempt:
    username: str
    method: str
    secret: str = field(repr=False, default="")


# --- OpenSSH ------------------------------------------------------------------------------


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
        check=True,
    )


def _sshd_config(folder: Path, port: int, username: str) -> str:
    return f"""\
Port {port}
ListenAddress {LOOPBACK}
HostKey {folder / "host_ed25519"}
PidFile {folder / "sshd.pid"}
AuthorizedKeysFile {folder / "authorized_keys"}/%u
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers {username}
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
LogLevel VERBOSE
MaxStartups 50
"""


def start_sshd(folder: Path, username: str, password: str) -> tuple[subprocess.Popen, SshdPeer]:
    """Create the user, keys and config in `folder` and start sshd in the foreground."""
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            str(folder / "home"),
            "--shell",
            "/bin/sh",
            username,
        ],
        check=True,
    )
    subprocess.run(["chpasswd"], input=f"{username}:{password}\n", text=True, check=True)
    home = folder / "home"
    home.mkdir()
    shutil.chown(home, user=username)
    _keygen(folder / "host_ed25519")
    _keygen(folder / "client")
    _keygen(folder / "stranger")
    (folder / "authorized_keys").mkdir()
    (folder / "authorized_keys" / username).write_text((folder / "client.pub").read_text())
    port = free_tcp_port()
    config = folder / "sshd_config"
    config.write_text(_sshd_config(folder, port, username))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    log_path = folder / "sshd.log"
    process = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(log_path)])
    wait_for_port(LOOPBACK, port, process, "sshd")
    peer = SshdPeer(
        address=LOOPBACK,
        port=port,
        host_key=public_key_line(folder / "host_ed25519.pub"),
        username=username,
        password=password,
        private_key=(folder / "client").read_text(),
        other_private_key=(folder / "stranger").read_text(),
        log_path=log_path,
    )
    return process, peer


# --- fake-switches ------------------------------------------------------------------------


def run_fake_switch(port: int, hostname: str, username: str, password: str) -> None:
    """The child process: a cisco_generic fake switch on 127.0.0.1:port until killed."""
    from fake_switches import switch_factory
    from fake_switches.transports.ssh_service import SwitchSshService
    from twisted.internet import reactor

    # The enable password stays a str (compared with the typed line); the login's is bytes.
    core = switch_factory.SwitchFactory().get("cisco_generic", hostname, password)
    service = SwitchSshService(
        ip=LOOPBACK, port=port, switch_core=core, users={username: password.encode()}
    )
    service.hook_to_reactor(reactor)
    reactor.run()


# --- servers of our own -------------------------------------------------------------------


class RecordingServer:
    """A paramiko SSH server that records every authentication attempt and refuses it."""

    def __init__(self, swap_keys: bool = False) -> None:
        import paramiko

        # With swap_keys, every second connection gets another host key: a server whose key
        # changes between the probe's key check and its login.
        self.host_keys = [paramiko.ECDSAKey.generate()]
        if swap_keys:
            self.host_keys.append(paramiko.ECDSAKey.generate())
        self.host_key_lines = [f"{k.get_name()} {k.get_base64()}" for k in self.host_keys]
        self.host_key_line = self.host_key_lines[0]
        self.connections = 0
        self.attempts: list[Attempt] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.address, self.port = self.listener.getsockname()
        self._stopping = threading.Event()
        self._transports: list = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import paramiko

        server = self

        class Recorder(paramiko.ServerInterface):
            def get_allowed_auths(self, username):
                return "password,publickey"

            def check_auth_none(self, username):
                server.attempts.append(Attempt(username, "none"))
                return paramiko.AUTH_FAILED

            def check_auth_password(self, username, password):
                server.attempts.append(Attempt(username, "password", password))
                return paramiko.AUTH_FAILED

            def check_auth_publickey(self, username, key):
                server.attempts.append(Attempt(username, "publickey", key.get_base64()))
                return paramiko.AUTH_FAILED

        while not self._stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            transport = paramiko.Transport(sock)
            transport.add_server_key(self.host_keys[self.connections % len(self.host_keys)])
            self.connections += 1
            self._transports.append(transport)
            try:
                transport.start_server(server=Recorder())
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        for transport in self._transports:
            transport.close()
        self.listener.close()


# --- fixtures -----------------------------------------------------------------------------

if __name__ != "__main__":
    import pytest

    @pytest.fixture(scope="session")
    def sshd_peer() -> Iterator[SshdPeer]:
        if os.geteuid() != 0:
            pytest.skip(
                "the OpenSSH peer needs root: it creates a dedicated system user for the "
                "session (run the tests as root, as CI does)"
            )
        if not os.access(SSHD, os.X_OK):
            raise RuntimeError(f"{SSHD} is missing: apt-get install openssh-server")
        username = "smpd" + secrets.token_hex(4)
        folder = Path(tempfile.mkdtemp(prefix="sampada-sshd-"))
        os.chmod(folder, 0o711)  # noqa: S103 - the test user must reach its home inside
        process = None
        try:
            process, peer = start_sshd(folder, username, secrets.token_urlsafe(12))
            yield peer
        finally:
            if process is not None:
                stop(process)
            subprocess.run(["userdel", "--force", username], check=False, capture_output=True)
            shutil.rmtree(folder, ignore_errors=True)

    @pytest.fixture(scope="session")
    def fake_switch() -> Iterator[FakeSwitch]:
        switch = FakeSwitch(
            address=LOOPBACK,
            port=free_tcp_port(),
            hostname="gonda-sw1",
            username="netops",
            password=secrets.token_urlsafe(12),
        )
        process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "fake-switch",
                str(switch.port),
                switch.hostname,
                switch.username,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            process.stdin.write(switch.password + "\n")  # not on the command line (ps)
            process.stdin.close()
            wait_for_port(LOOPBACK, switch.port, process, "fake-switches")
            yield switch
        finally:
            stop(process)

    @pytest.fixture
    def recording_server() -> Iterator[Callable[..., RecordingServer]]:
        """A factory: recording_server(swap_keys=False) starts a fresh RecordingServer."""
        servers: list[RecordingServer] = []

        def make(swap_keys: bool = False) -> RecordingServer:
            servers.append(RecordingServer(swap_keys=swap_keys))
            return servers[-1]

        try:
            yield make
        finally:
            for server in servers:
                server.close()

    @pytest.fixture(scope="session")
    def silent_server() -> Iterator[tuple[str, int]]:
        """Accepts TCP (the kernel completes the handshake from the backlog), says nothing."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((LOOPBACK, 0))
        sock.listen(16)
        try:
            yield sock.getsockname()
        finally:
            sock.close()

    @pytest.fixture(scope="session")
    def garbage_server() -> Iterator[tuple[str, int]]:
        """Answers every connection with an HTTP error instead of an SSH banner and hangs up."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((LOOPBACK, 0))
        sock.listen(16)
        sock.settimeout(0.2)
        stopping = threading.Event()

        def serve() -> None:
            while not stopping.is_set():
                try:
                    conn, _ = sock.accept()
                except (TimeoutError, OSError):
                    continue
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield sock.getsockname()
        finally:
            stopping.set()
            thread.join(timeout=5)
            sock.close()


if __name__ == "__main__" and sys.argv[1:2] == ["fake-switch"]:
    run_fake_switch(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.stdin.readline().strip())


# A fake-switches Cisco IOS whose enable password differs from the login password (the
# session's `fake_switch` uses one password for both). Both passwords come on stdin.
_ENABLE_SWITCH = """
import sys
from fake_switches import switch_factory
from fake_switches.transports.ssh_service import SwitchSshService
from twisted.internet import reactor

address, port, hostname, username = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
password, enable = sys.stdin.readline().strip(), sys.stdin.readline().strip()
core = switch_factory.SwitchFactory().get("cisco_generic", hostname, enable)
SwitchSshService(
    ip=address, port=port, switch_core=core, users={username: password.encode()}
).hook_to_reactor(reactor)
reactor.run()
"""


@dataclass
class EnableSwitch(FakeSwitch):
    enable_secret: str = field(default="", repr=False)  # differs from `password`


@contextlib.contextmanager
def running_enable_switch() -> Iterator[EnableSwitch]:
    """Start a fake switch that needs a separate enable secret; stop it on exit."""
    switch = EnableSwitch(
        address=LOOPBACK,
        port=free_tcp_port(),
        hostname="gonda-sw2",
        username="netops",
        password="login-" + secrets.token_urlsafe(9),
        enable_secret="enable-" + secrets.token_urlsafe(9),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _ENABLE_SWITCH,
            switch.address,
            str(switch.port),
            switch.hostname,
            switch.username,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        process.stdin.write(f"{switch.password}\n{switch.enable_secret}\n")  # not in ps
        process.stdin.close()
        wait_for_port(switch.address, switch.port, process, "fake-switches (enable secret)")
        yield switch
    finally:
        stop(process)
