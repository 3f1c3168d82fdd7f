"""Facts and configuration over SSH (netmiko), with the server's host key checked first.

`collect(target)` is blocking and never raises: every failure is a result. Callers run many
in a thread pool.

Host keys: netmiko accepts any host key by default. Here the key is fetched first with a
bare paramiko transport (key exchange only, no authentication), compared with the key the
caller knows, and:

- known and different: HOST_KEY_CHANGED, with the presented key, and no credentials sent;
- unknown (trust on first use): the login goes ahead and the result carries the presented
  key for the caller to store.

The login itself is pinned to that exact key (netmiko with ssh_strict=True and a temporary
known_hosts file holding only it), so a key swapped between the check and the login is
refused too, again before any credentials are sent.

What is collected (`SshFacts`, and with config=True the text a configuration backup keeps):

- cisco_ios: `show version` and `show inventory`, parsed with ntc-templates' TextFSM
  templates (the chassis row of `show inventory` wins for model and serial; `show version`'s
  hardware and processor board ID are the fall-back). Config: `show running-config`, after
  `enable` with the enable secret, or with the login password when no enable secret is
  given (a no-op for users who log in privileged).
- linux: /proc/sys/kernel/hostname, /etc/os-release (PRETTY_NAME) with the kernel release,
  /proc/uptime, and DMI's product_name / product_serial (None when unreadable: the serial
  is root-only on most systems, and placeholder strings such as "To be filled by O.E.M."
  count as absent). Config: the files in LINUX_CONFIG_FILES that exist and are readable,
  each under a "### <path>" header line.

Secrets (password, private key, enable secret) are left out of every repr and are scrubbed
from error messages; netmiko's own secrets filter keeps them out of its debug log.

paramiko's transport thread logs the exception that ends a client connection (a banner
timeout, a reset, a refused channel) at ERROR, traceback line by line, although `collect`
returns every such failure as a result. A filter on the "paramiko.transport" logger,
installed once on import, turns those records into DEBUG ones (kept only where that
logger's DEBUG is on); server transports and every other record pass as they are.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import io
import logging
import os
import re
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field

import paramiko

from inventory.probes.base import Outcome

log = logging.getLogger(__name__)

DEVICE_TYPES = ("cisco_ios", "linux")

# Files kept as a Linux host's "configuration" (backups diff them): small, stable, telling.
LINUX_CONFIG_FILES = ("/etc/hostname", "/etc/hosts", "/etc/network/interfaces")

# DMI strings that vendors leave in place of a real value.
_DMI_PLACEHOLDERS = frozenset(
    {
        "",
        "to be filled by o.e.m.",
        "to be filled by oem",
        "default string",
        "not specified",
        "not applicable",
        "system product name",
        "system serial number",
        "none",
        "0",
        "123456789",
        "0123456789",
    }
)

# RSA host keys are one key type but three signature algorithms in the key exchange.
_KEY_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}

_MARK = "@@sampada@@"
_END = "@@sampada-end@@"


# --- paramiko's log ------------------------------------------------------------------------


class _ClientFailureRecords(logging.Filter):
    """ERROR records logged on a client transport's own thread become DEBUG records.

    Such a thread is only ever one of `collect`'s connections (nothing else here is an SSH
    client), and what it logs at ERROR is the failure that ends the connection: paramiko hands
    it to the caller, and `collect` returns it as a result. Dropped unless DEBUG is on for the
    logger."""

    sampada_probe = True  # found again by _install_log_filter, even across module reloads

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        thread = threading.current_thread()
        if not isinstance(thread, paramiko.Transport) or thread.server_mode:
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


def _install_log_filter() -> None:
    transport_log = logging.getLogger("paramiko.transport")
    if not any(getattr(f, "sampada_probe", False) for f in transport_log.filters):
        transport_log.addFilter(_ClientFailureRecords())


_install_log_filter()


@dataclass(frozen=True, slots=True)
class SshCredentials:
    """A username and a password and/or a private key (PEM or OpenSSH text, unencrypted).
    `enable_secret` is Cisco IOS's; when empty, the password is tried as it.
    The secret fields are left out of repr()."""

    username: str
    password: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    enable_secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class SshTarget:
    """One device: `key` is the caller's id for it (the asset id). `known_host_key` is the
    host key stored for it ("ssh-ed25519 AAAA..."), or None to trust on first use."""

    key: int
    address: str
    port: int
    device_type: str  # one of DEVICE_TYPES
    credentials: SshCredentials
    known_host_key: str | None = None
    timeout: float = 10.0  # seconds, for each step (connect, key exchange, login, reads)


@dataclass(slots=True)
class SshFacts:
    model: str | None = None
    serial: str | None = None
    os_version: str | None = None
    uptime_seconds: int | None = None
    hostname: str | None = None


@dataclass(slots=True)
class SshResult:
    """The outcome for one target: always exactly one per call of collect()."""

    key: int
    outcome: Outcome
    host_key: str | None = None  # the key the server presented ("type base64"), when it did
    facts: SshFacts | None = None
    config: str | None = None
    error: str = ""
    elapsed: float = 0.0  # seconds

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


# --- host keys ---------------------------------------------------------------------------


def split_host_key(text: str | None) -> tuple[str, str] | None:
    """("ssh-ed25519", "AAAA...") from "ssh-ed25519 AAAA... [comment]", or None."""
    parts = (text or "").split()
    if len(parts) < 2:
        return None
    try:
        base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    return parts[0], parts[1]


def same_host_key(a: str | None, b: str | None) -> bool:
    """Whether two "type base64 [comment]" strings are the same key (comments ignored)."""
    ka, kb = split_host_key(a), split_host_key(b)
    return ka is not None and ka == kb


def host_key_fingerprint(text: str | None) -> str:
    """OpenSSH's SHA256 fingerprint ("SHA256:...") of a "type base64" key, or ""."""
    parts = split_host_key(text)
    if parts is None:
        return ""
    digest = hashlib.sha256(base64.b64decode(parts[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def fetch_host_key(
    address: str, port: int, timeout: float = 10.0, prefer: str | None = None
) -> str:
    """The host key the server presents ("type base64"), from a key exchange only: no
    authentication is attempted. `prefer` (a key type such as "ssh-ed25519") is offered
    first, so a server with several host keys shows the one the caller knows. Raises
    OSError or paramiko.SSHException."""
    sock = socket.create_connection((address, port), timeout=timeout)
    transport = None
    try:
        transport = paramiko.Transport(sock)
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        if prefer:
            options = transport.get_security_options()
            first = [a for a in _KEY_ALGORITHMS.get(prefer, (prefer,)) if a in options.key_types]
            if first:
                options.key_types = first + [a for a in options.key_types if a not in first]
        transport.start_client(timeout=timeout)
        if transport.host_key is None:  # start_client gives up quietly at its timeout
            failure = transport.get_exception()
            if failure is not None:
                raise failure
            raise TimeoutError("no SSH key exchange within the timeout")
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    finally:
        if transport is not None:
            transport.close()
        sock.close()


def _known_hosts_line(address: str, port: int, host_key: str) -> str:
    host = address if port == 22 else f"[{address}]:{port}"
    kind, b64 = split_host_key(host_key) or ("", "")
    return f"{host} {kind} {b64}\n"


# --- parsing (pure functions, tested on stored real outputs) ------------------------------

_UPTIME_UNITS = {
    "year": 365 * 86400,
    "week": 7 * 86400,
    "day": 86400,
    "hour": 3600,
    "minute": 60,
    "second": 1,
}
_UPTIME_RE = re.compile(r"(\d+)\s+(year|week|day|hour|minute|second)s?\b", re.IGNORECASE)


def parse_uptime(text: str | None) -> int | None:
    """Seconds from "1 year, 18 weeks, 5 days, 1 hour, 11 minutes" (a year is 365 days)."""
    matches = _UPTIME_RE.findall(text or "")
    if not matches:
        return None
    return sum(int(n) * _UPTIME_UNITS[unit.lower()] for n, unit in matches)


def _textfsm(command: str, text: str) -> list[dict]:
    """Rows from ntc-templates' cisco_ios template for `command`; [] when nothing parses."""
    if not text or not text.strip():
        return []
    from ntc_templates.parse import parse_output  # loads the template index: only when used

    try:
        rows = parse_output(platform="cisco_ios", command=command, data=text)
    except Exception:  # textfsm's errors on output it cannot read: no facts, not a crash
        return []
    return rows if isinstance(rows, list) else []


def _first(value) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else ""
    value = (value or "").strip()
    return value or None


def _chassis(rows: list[dict]) -> dict:
    for row in rows:
        if "chassis" in (row.get("name", "") + " " + row.get("descr", "")).lower():
            return row
    return rows[0] if rows else {}


def parse_cisco_ios_facts(version_text: str, inventory_text: str = "") -> SshFacts:
    """Facts from `show version` and `show inventory` output (either may be empty)."""
    version = (_textfsm("show version", version_text) or [{}])[0]
    chassis = _chassis(_textfsm("show inventory", inventory_text))
    pid = _first(chassis.get("pid"))
    if pid:
        pid = pid.rstrip("=").strip() or None  # spare-part PIDs end in "="
    return SshFacts(
        model=pid or _first(version.get("hardware")),
        serial=_first(chassis.get("sn")) or _first(version.get("serial")),
        os_version=_first(version.get("version")),
        uptime_seconds=parse_uptime(version.get("uptime")),
        hostname=_first(version.get("hostname")),
    )


def _sections(text: str) -> dict[str, str]:
    """{path: content} from the marked output of the Linux facts command."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = re.fullmatch(rf"{_MARK} (/\S+)\s*", line)
        if match:
            current = sections.setdefault(match.group(1), [])
        elif line.strip() == _END:
            current = None
        elif current is not None:
            current.append(line)
    return {path: "\n".join(lines).strip() for path, lines in sections.items()}


def _dmi(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value.lower() in _DMI_PLACEHOLDERS else value


def _os_release_name(text: str) -> str | None:
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip().strip("\"'")
    return values.get("PRETTY_NAME") or values.get("NAME") or None


def parse_linux_facts(sections: dict[str, str]) -> SshFacts:
    """Facts from {path: content} of the files in _LINUX_FACT_FILES (missing ones absent)."""
    name = _os_release_name(sections.get("/etc/os-release", ""))
    kernel = sections.get("/proc/sys/kernel/osrelease", "").strip()
    if name and kernel:
        os_version = f"{name}, Linux {kernel}"
    else:
        os_version = name or (f"Linux {kernel}" if kernel else None)
    uptime = None
    first = sections.get("/proc/uptime", "").split()
    if first:
        try:
            uptime = int(float(first[0]))
        except ValueError:
            uptime = None
    return SshFacts(
        model=_dmi(sections.get("/sys/class/dmi/id/product_name")),
        serial=_dmi(sections.get("/sys/class/dmi/id/product_serial")),
        os_version=os_version,
        uptime_seconds=uptime,
        hostname=sections.get("/proc/sys/kernel/hostname", "").strip() or None,
    )


_LINUX_FACT_FILES = (
    "/proc/sys/kernel/hostname",
    "/etc/os-release",
    "/proc/sys/kernel/osrelease",
    "/proc/uptime",
    "/sys/class/dmi/id/product_name",
    "/sys/class/dmi/id/product_serial",
)


def _cat_marked(paths: tuple[str, ...]) -> str:
    """One shell command printing each file under a marker line, then an end marker.

    No "$" in it: netmiko's prompt search also reads the command's echo, and a plain sh
    prompt is just "$". The end marker is written with an empty "" inside, so that only the
    command's output matches _END, not its echo."""
    cats = "; ".join(f"echo {_MARK} {path}; cat {path} 2>/dev/null" for path in paths)
    return f'{cats}; echo {_END[:9]}""{_END[9:]}'


# --- the probe ---------------------------------------------------------------------------


def _load_private_key(text: str) -> paramiko.PKey:
    last: Exception | None = None
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError, TypeError) as exc:
            last = exc
    raise ValueError("the private key could not be read (unencrypted PEM/OpenSSH needed)") from (
        last
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _classify(exc: BaseException, timeout: float) -> tuple[Outcome, str]:
    """The outcome and a short message for an exception from paramiko, netmiko or a socket."""
    from netmiko.exceptions import (
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadTimeout,
    )

    chain = _chain(exc)

    def first(*types):
        return next((e for e in chain if isinstance(e, types)), None)

    if first(paramiko.BadHostKeyException) or any(
        isinstance(e, paramiko.SSHException) and "known_hosts" in str(e) for e in chain
    ):
        return Outcome.HOST_KEY_CHANGED, "host key changed between the check and the login"
    if first(paramiko.AuthenticationException, NetmikoAuthenticationException):
        return Outcome.AUTH_FAILED, "authentication failed (username, password or key rejected)"
    if first(ConnectionRefusedError):
        return Outcome.UNREACHABLE, "connection refused"
    unreachable = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL)
    if any(isinstance(e, OSError) and e.errno in unreachable for e in chain):
        return Outcome.UNREACHABLE, "host unreachable"
    if first(socket.gaierror):
        return Outcome.UNREACHABLE, "address not resolvable"
    if first(TimeoutError, ReadTimeout) or any(
        isinstance(e, paramiko.SSHException) and "timed out" in str(e).lower() for e in chain
    ):
        return Outcome.TIMEOUT, f"no answer within {timeout:g} s"
    ssh_error = first(paramiko.SSHException, EOFError)
    if ssh_error is not None:
        return Outcome.ERROR, f"SSH protocol error: {_one_line(ssh_error) or 'connection closed'}"
    if first(NetmikoTimeoutException):
        return Outcome.TIMEOUT, f"no answer within {timeout:g} s"
    return Outcome.ERROR, f"{type(exc).__name__}: {_one_line(exc)}"


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:  # shorter ones would mangle words, and guess in a moment anyway
            text = text.replace(secret, "********")
    return text


class _EnableFailed(Exception):
    pass


class _CommandRefused(Exception):
    pass


def _run_cisco_ios(conn, read_timeout: float, facts: bool, config: bool, secret: str):
    if secret and not conn.check_enable_mode():
        try:
            conn.enable()
        except ValueError as exc:
            raise _EnableFailed from exc
    found = None
    if facts:
        version = conn.send_command("show version", read_timeout=read_timeout)
        inventory = conn.send_command("show inventory", read_timeout=read_timeout)
        found = parse_cisco_ios_facts(version, inventory)
    text = None
    if config:
        text = conn.send_command("show running-config", read_timeout=read_timeout)
        # A whole IOS configuration ends with "end"; anything else is an error message
        # ("% Invalid input ..." when not privileged) or a cut-off transfer.
        if not re.search(r"^end\s*$", text, re.MULTILINE):
            first = (text.strip().splitlines() or ["no output"])[0][:200]
            raise _CommandRefused(f"show running-config gave no configuration: {first}")
    return found, text


def _run_linux(conn, read_timeout: float, facts: bool, config: bool):
    found = None
    if facts:
        output = conn.send_command(
            _cat_marked(_LINUX_FACT_FILES), expect_string=_END, read_timeout=read_timeout
        )
        found = parse_linux_facts(_sections(output))
    text = None
    if config:
        output = conn.send_command(
            _cat_marked(LINUX_CONFIG_FILES), expect_string=_END, read_timeout=read_timeout
        )
        text = "".join(f"### {path}\n{body}\n" for path, body in _sections(output).items() if body)
    return found, text


def collect(target: SshTarget, *, facts: bool = True, config: bool = False) -> SshResult:
    """Check the host key, log in and collect facts and/or the configuration. Never raises."""
    started = time.monotonic()
    creds = target.credentials
    secrets = [creds.password, creds.private_key, creds.enable_secret]
    presented: str | None = None

    def result(outcome: Outcome, error: str = "", found=None, text=None) -> SshResult:
        outcome_result = SshResult(
            key=target.key,
            outcome=outcome,
            host_key=presented,
            facts=found,
            config=text,
            error=_scrub(error, secrets),
            elapsed=round(time.monotonic() - started, 3),
        )
        log.debug(
            "ssh %s:%s %s: %s", target.address, target.port, outcome.value, outcome_result.error
        )
        return outcome_result

    if target.device_type not in DEVICE_TYPES:
        return result(Outcome.ERROR, f"unsupported device type {target.device_type!r}")
    known = split_host_key(target.known_host_key)
    if target.known_host_key and known is None:
        return result(Outcome.ERROR, "the stored host key is not a valid 'type base64' key")

    # 1. The host key, before any credentials leave this machine.
    try:
        presented = fetch_host_key(
            target.address, target.port, target.timeout, prefer=known[0] if known else None
        )
    except Exception as exc:
        return result(*_classify(exc, target.timeout))
    if known is not None and not same_host_key(presented, target.known_host_key):
        return result(
            Outcome.HOST_KEY_CHANGED,
            f"host key changed: the server presented {presented.split()[0]} "
            f"{host_key_fingerprint(presented)}, expected {known[0]} "
            f"{host_key_fingerprint(target.known_host_key)}",
        )

    # 2. Log in, pinned to exactly that key.
    try:
        pkey = _load_private_key(creds.private_key) if creds.private_key else None
    except ValueError as exc:
        return result(Outcome.ERROR, str(exc))
    read_timeout = max(target.timeout, 30.0)
    enable_secret = creds.enable_secret
    if target.device_type == "cisco_ios" and not enable_secret:
        enable_secret = creds.password  # no separate enable secret: the password doubles
    try:
        from netmiko import ConnectHandler

        with tempfile.TemporaryDirectory(prefix="sampada-ssh-") as folder:
            known_hosts = os.path.join(folder, "known_hosts")
            with open(known_hosts, "w", encoding="ascii") as handle:
                handle.write(_known_hosts_line(target.address, target.port, presented))
            conn = ConnectHandler(
                device_type=target.device_type,
                host=target.address,
                port=target.port,
                username=creds.username,
                password=creds.password or None,
                secret=enable_secret,
                pkey=pkey,
                use_keys=False,
                allow_agent=False,
                ssh_strict=True,
                system_host_keys=False,
                alt_host_keys=True,
                alt_key_file=known_hosts,
                conn_timeout=target.timeout,
                auth_timeout=target.timeout,
                banner_timeout=target.timeout,
                session_timeout=read_timeout,
            )
        try:
            if target.device_type == "cisco_ios":
                found, text = _run_cisco_ios(conn, read_timeout, facts, config, enable_secret)
            else:
                found, text = _run_linux(conn, read_timeout, facts, config)
        finally:
            try:
                conn.disconnect()
            except Exception:  # already gone: nothing to release
                log.debug("ssh %s:%s: disconnect failed", target.address, target.port)
    except _EnableFailed:
        if creds.enable_secret:
            return result(Outcome.AUTH_FAILED, "enable secret rejected")
        return result(
            Outcome.AUTH_FAILED, "enable refused the SSH password (is an enable secret needed?)"
        )
    except _CommandRefused as exc:
        return result(Outcome.ERROR, f"{exc} (is an enable secret needed?)")
    except Exception as exc:
        return result(*_classify(exc, target.timeout))
    return result(Outcome.OK, found=found, text=text)
