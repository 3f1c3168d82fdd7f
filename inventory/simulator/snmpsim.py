"""snmpsim's command responder serving real device recordings on 127.x loopback addresses.

    with SnmpsimAgent(DATA_DIR, [("127.20.0.1", 16161)]) as agent:
        ...  # snmpget -v2c -c <community> 127.20.0.1:16161 ...

    agent = SnmpsimAgent.serving(
        {("127.20.1.1", 16161): CISCO, ("127.20.1.2", 16161): UPS}, community="public"
    ).start()  # different recordings on different addresses, same community
    ...
    agent.stop()

How snmpsim 1.2.2 picks the recording (read from its source, checked against pysnmp 7.1.30)
-------------------------------------------------------------------------------------------
- Every data file under a ``--data-dir`` (``*.snmprec``, ``*.snmprec.bz2``, ``*.snmpwalk``,
  ...) is one simulated agent. Its path relative to the data dir, without the extension and
  with "/" separators, is its SNMPv1/v2c **community** and its SNMPv3 **context name** (the
  MD5 hex digest of that name when it is longer than 32 characters):
  ``data/public.snmprec`` answers community ``public``; ``data/site/cisco.snmprec`` answers
  ``site/cisco``. A request with a community that names no file gets no answer at all (the
  agent is silent, as a real one is for a wrong community). A file named ``self.snmprec``
  gets the empty name: that is what an SNMPv3 request without a context name reads.
- snmpsim's documentation also describes choosing by transport endpoint and by the manager's
  source address (``data/<community>/<transport id>/<source ip>.snmprec``, transport ids
  ``1.3.6.1.6.1.1.<n>`` in endpoint order). In 1.2.2 that code is dead with pysnmp 7: snmpsim
  overrides ``handleMgmtOperation`` but pysnmp 7 calls ``handle_management_operation``, so
  the selection is by community / context name only. (Its ``--v2c-arch`` responder, which
  does select by endpoint, does not start with pysnmp 7 at all.)
- Data files that are symbolic links get a wrong community: snmpsim computes the name from
  the link *target's* path. Recordings are therefore laid out as hard links (or copies when
  the file system refuses).
- What does give per-address recordings: one process may run several SNMP engines
  (``--v3-engine-id`` sections), each with its own data dirs, v3 users and endpoints. So
  `layout_by_endpoint` makes one folder per recording holding ``<community>.snmprec`` and
  `SnmpsimAgent.serving` runs one engine per folder with that recording's endpoints: the
  same community reads a different device on each address. Every engine also answers the
  default v3 user snmpsim creates (``simulator``, MD5 ``auctoritas`` / DES ``privatus``)
  unless `users` are given.

Practical notes
---------------
- snmpsim refuses to run as root: as root the agent is started with
  ``--process-user=nobody --process-group=nogroup``. After it drops privileges a Python
  installed under /root (mode 0700) can no longer import the parts of its standard library
  that are loaded lazily (dbm.dumb for the index, the latin-1 codec for the records, bz2),
  so the agent is started through a tiny launcher (`BOOT`) that imports them first and then
  calls snmpsim's own ``main``. Everything the agent reads must be readable by that user and
  its cache dir writable: the work dir is made world-readable and the cache dir is chowned.
- Serve recordings uncompressed: snmpsim reads ``.snmprec.bz2`` files, but every GETNEXT
  that is not an exact match seeks backwards in the file, which for bz2 means decompressing
  it again from the start (seconds per request on a big recording). `layout_by_endpoint`
  decompresses them; a plain `data_dir` is served as it is.
- Each agent has its own ``--cache-dir`` (the record indexes). Indexing is slow (pure-Python
  dbm.dumb, ~3,500 records/s). Indexes are named after the data file's path and reused while
  newer than the file, so a persistent `cache_dir` with a stable layout root (or data dir)
  skips the indexing on the next start.
- The ``delay`` variation module sleeps inside the agent's event loop: while one request is
  delayed, every endpoint of that process waits. Give slow agents a process of their own.
- snmpsim's ``index`` community (its list of data files) crashes on reads with pysnmp 7, so
  readiness is checked with an SNMPv3 engine-discovery request, which every engine answers.
- Variation modules (delay, error, numeric, ...) come from snmpsim's package and are always
  available; a record uses one as ``<oid>|<tag>:<module>|<options>``.
- Keys of `users` go into a file read with ``--args-from-file``, not onto the command line;
  snmpsim itself logs them at log level "info" (the default here is "error").
"""

from __future__ import annotations

import bz2
import ipaddress
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inventory.simulator.snmpd import V3User

Endpoint = tuple[str, int]

# The agent's entry point: import what is loaded lazily, then snmpsim's own main.
BOOT = (
    "import sys\n"
    "import bz2, dbm, dbm.dumb\n"
    "import encodings.ascii, encodings.idna, encodings.latin_1, encodings.utf_8\n"
    "from snmpsim.commands.responder import main\n"
    "sys.argv[0] = 'snmpsim-command-responder'\n"
    "sys.exit(main())\n"
)
PROCESS_USER = "nobody"
PROCESS_GROUP = "nogroup"
# Data file extensions snmpsim reads, longest first (".snmprec.bz2" before ".snmprec").
RECORD_SUFFIXES = (".snmprec.bz2", ".snmprec", ".snmpwalk", ".sapwalk", ".dump", ".MVC")


@dataclass(frozen=True)
class Engine:
    """One SNMP engine of the agent: its data dir (communities) and the endpoints it serves."""

    data_dir: Path
    endpoints: tuple[Endpoint, ...]


def _check_endpoint(endpoint: Endpoint) -> Endpoint:
    address, port = endpoint
    if ipaddress.ip_address(address) not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise ValueError(f"{address} is not a loopback address")
    if not 0 < int(port) < 65536:
        raise ValueError(f"bad port {port}")
    return str(address), int(port)


def _record_suffix(path: Path) -> str:
    for suffix in RECORD_SUFFIXES:
        if path.name.endswith(suffix):
            return suffix
    raise ValueError(f"{path.name} is not a recording snmpsim reads ({', '.join(RECORD_SUFFIXES)})")


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (snmpsim mis-names symlinked files), or a copy across file systems."""
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _place(source: Path, folder: Path, name: str) -> Path:
    """`source` as `folder/name.<ext>`; a .snmprec.bz2 is decompressed to a .snmprec: snmpsim
    seeks in the recording for every GETNEXT that is not an exact match, and seeking
    backwards in a bz2 stream decompresses it again from the start (a GETBULK of the
    interface columns of a Cisco recording took 8 s compressed, milliseconds plain).

    The file keeps the recording's modification time and is left alone when already in
    place, so that an index in a persistent cache dir stays valid across restarts (snmpsim
    rebuilds an index older than its recording)."""
    suffix = _record_suffix(source)
    info = source.stat()
    if suffix == ".snmprec.bz2":
        target = folder / f"{name}.snmprec"
        if target.is_file() and not target.is_symlink() and target.stat().st_mtime == info.st_mtime:
            return target
        partial = target.with_name(target.name + ".part")
        with bz2.open(source, "rb") as packed, open(partial, "wb") as plain:
            shutil.copyfileobj(packed, plain, 1024 * 1024)
        partial.chmod(0o644)
        os.utime(partial, (info.st_atime, info.st_mtime))
        partial.replace(target)
        return target
    target = folder / f"{name}{suffix}"
    if target.is_file() and not target.is_symlink():
        now = target.stat()
        if os.path.samefile(source, target) or (
            now.st_size == info.st_size and now.st_mtime == info.st_mtime
        ):
            return target
    _link_or_copy(source, target)
    return target


def layout_by_endpoint(
    root: Path | str,
    recordings: Mapping[Endpoint, Path | str],
    community: str = "public",
    *,
    default_context: bool = False,
) -> list[Engine]:
    """Lay out `root` so that each endpoint serves its own recording under one community.

    One folder per distinct recording, holding ``<community>.<ext>`` (a hard link or copy;
    compressed recordings are decompressed, see `_place`); the engines returned serve each
    folder on the endpoints mapped to that recording. With
    `default_context`, ``self.<ext>`` is added too, so SNMPv3 requests without a context name
    read the same recording (it also makes the empty v1/v2c community answer).
    """
    if (
        not community
        or "/" in community
        or community in (".", "..")
        or community.strip() != community
    ):
        raise ValueError("the community must be a plain name (it becomes a file name)")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    grouped: dict[Path, list[Endpoint]] = {}
    for endpoint, recording in recordings.items():
        path = Path(recording).resolve()
        if not path.is_file():
            raise FileNotFoundError(path)
        grouped.setdefault(path, []).append(_check_endpoint(endpoint))
    engines: list[Engine] = []
    for number, (path, endpoints) in enumerate(grouped.items()):
        suffix = _record_suffix(path)
        stem = path.name[: -len(suffix)]
        folder = root / f"{number:03d}-{stem}"
        folder.mkdir(exist_ok=True)
        wanted = {_place(path, folder, community)}
        if default_context:
            wanted.add(_place(path, folder, "self"))
        for old in folder.iterdir():  # left over from an earlier layout in the same root
            if old not in wanted:
                old.unlink()
        engines.append(Engine(folder, tuple(endpoints)))
    return engines


# Net-SNMP (and the probe) mean the Blumenthal key extension by AES-192/AES-256 and Cisco's
# (Reeder) one by AES-192-C/AES-256-C; snmpsim calls them AES192BLMT/AES256BLMT and AES192/256.
_SNMPSIM_NAMES = {
    "SHA1": "SHA",
    "AES128": "AES",
    "AES192": "AES192BLMT",
    "AES256": "AES256BLMT",
    "AES192C": "AES192",
    "AES256C": "AES256",
}


def _snmpsim_protocol(name: str) -> str:
    """A Net-SNMP style protocol name (SHA-256, AES-256) as snmpsim spells it."""
    key = name.upper().replace("-", "").replace("_", "")
    return _SNMPSIM_NAMES.get(key, key)


def _ber(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes((tag, size)) + body
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(raw))) + raw + body


def _ber_int(value: int) -> bytes:
    return _ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def discovery_request(request_id: int) -> bytes:
    """An SNMPv3 engine-discovery GET (no user, reportable): any SNMP engine answers it
    with a Report, whatever its communities, users or data."""
    header = _ber(0x30, _ber_int(request_id) + _ber_int(65507) + _ber(0x04, b"\x04") + _ber_int(3))
    usm = _ber(
        0x30,
        _ber(0x04, b"") + _ber_int(0) + _ber_int(0) + _ber(0x04, b"") * 3,
    )
    pdu = _ber(0xA0, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + _ber(0x30, b""))
    scoped = _ber(0x30, _ber(0x04, b"") + _ber(0x04, b"") + pdu)
    return _ber(0x30, _ber_int(3) + header + _ber(0x04, usm) + scoped)


def _closed_to(path: Path, user: str, group: str) -> Path | None:
    """The first folder on the way to `path` that `user` cannot enter, if any (pytest's
    tmp_path, for one, lives under a 0700 folder that the agent's user cannot read)."""
    import grp
    import pwd

    uid = pwd.getpwnam(user).pw_uid
    gid = grp.getgrnam(group).gr_gid
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if not folder.exists():
            break
        info = folder.stat()
        if info.st_uid == uid:
            allowed = info.st_mode & 0o100
        elif info.st_gid == gid:
            allowed = info.st_mode & 0o010
        else:
            allowed = info.st_mode & 0o001
        if not allowed:
            return folder
    return None


def _kill(process: subprocess.Popen) -> None:
    """Last-resort cleanup (garbage collection or interpreter exit) for a forgotten agent."""
    if process.poll() is None:
        process.kill()
        process.wait()


class SnmpsimAgent:
    """One snmpsim command-responder process; start()/stop() or a context manager.

    `data_dir` + `endpoints` is the simple form: one engine, every data file of the dir on
    every endpoint. `engines` adds engines with data dirs of their own (see
    `layout_by_endpoint` and `serving`). `users` are the SNMPv3 users of every engine
    (V3User from inventory.simulator.snmpd; snmpsim's default user when empty).
    `variation_options` are passed as ``--variation-module-options`` (e.g. "sql:dbtype:...").
    The work dir (a temporary one unless given) holds the cache, the log and, for `serving`,
    the data layout; a temporary one is removed by stop(), so such an agent starts once.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        endpoints: Iterable[Endpoint] = (),
        *,
        engines: Iterable[Engine] = (),
        users: Sequence[V3User] = (),
        workdir: Path | str | None = None,
        cache_dir: Path | str | None = None,
        variation_options: Sequence[str] = (),
        log_level: str = "error",
        max_var_binds: int = 64,
    ) -> None:
        all_engines = list(engines)
        if data_dir is not None:
            all_engines.insert(0, Engine(Path(data_dir), tuple(endpoints)))
        elif tuple(endpoints):
            raise ValueError("endpoints without a data_dir: use engines=")
        if not all_engines:
            raise ValueError("nothing to serve")
        self.engines = [
            Engine(Path(e.data_dir).resolve(), tuple(_check_endpoint(x) for x in e.endpoints))
            for e in all_engines
        ]
        for engine in self.engines:
            if not engine.endpoints:
                raise ValueError(f"engine for {engine.data_dir} has no endpoint")
        seen = [x for e in self.engines for x in e.endpoints]
        if len(seen) != len(set(seen)):
            raise ValueError("an endpoint is listed twice")
        for item in [str(e.data_dir) for e in self.engines] + [
            value for user in users for value in (user.name, user.auth_key, user.priv_key)
        ]:
            if any(c.isspace() for c in item):
                raise ValueError("paths, user names and keys must not contain white space")
        self.users = list(users)
        self.variation_options = list(variation_options)
        self.log_level = log_level
        self.max_var_binds = int(max_var_binds)
        self.workdir = Path(workdir) if workdir is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._owned_dir = False
        self._process: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None

    @classmethod
    def serving(
        cls,
        recordings: Mapping[Endpoint, Path | str],
        community: str = "public",
        *,
        workdir: Path | str | None = None,
        default_context: bool = False,
        **options,
    ) -> SnmpsimAgent:
        """An agent where each endpoint serves its own recording under the same community."""
        owned = workdir is None
        base = Path(tempfile.mkdtemp(prefix="snmpsim-")) if owned else Path(workdir)
        engines = layout_by_endpoint(
            base / "data", recordings, community, default_context=default_context
        )
        agent = cls(engines=engines, workdir=base, **options)
        agent._owned_dir = owned
        return agent

    # -- properties

    @property
    def endpoints(self) -> list[Endpoint]:
        return [x for e in self.engines for x in e.endpoints]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path | None:
        return self.workdir / "snmpsim.log" if self.workdir is not None else None

    def log_text(self) -> str:
        path = self.log_path
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    # -- life cycle

    def _arguments(self, cache: Path) -> tuple[list[str], str]:
        """The command line (no secrets) and the engine configuration file's text."""
        command = [
            sys.executable,
            "-c",
            BOOT,
            f"--log-level={self.log_level}",
            f"--cache-dir={cache}",
            f"--max-var-binds={self.max_var_binds}",
            *(f"--variation-module-options={option}" for option in self.variation_options),
        ]
        if os.geteuid() == 0:
            command += [f"--process-user={PROCESS_USER}", f"--process-group={PROCESS_GROUP}"]
        lines: list[str] = []
        for engine in self.engines:
            lines.append("--v3-engine-id=auto")
            lines.append(f"--data-dir={engine.data_dir}")
            for user in self.users:
                lines.append(f"--v3-user={user.name}")
                if user.auth_key:
                    lines.append(f"--v3-auth-key={user.auth_key}")
                    lines.append(f"--v3-auth-proto={_snmpsim_protocol(user.auth_protocol)}")
                if user.priv_protocol:
                    lines.append(f"--v3-priv-key={user.priv_key}")
                    lines.append(f"--v3-priv-proto={_snmpsim_protocol(user.priv_protocol)}")
            lines += [f"--agent-udpv4-endpoint={a}:{p}" for a, p in engine.endpoints]
        return command, "\n".join(lines) + "\n"

    def start(self, timeout: float = 120.0) -> SnmpsimAgent:
        """Start the agent and wait until every endpoint answers (indexing big recordings
        for the first time takes a while: ~10 s for 35,000 records)."""
        if self.running:
            return self
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="snmpsim-"))
            self._owned_dir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        privileged = os.geteuid() == 0
        if privileged:
            self.workdir.chmod(0o755)  # the agent's user reads its data layout from here
        cache = self.cache_dir if self.cache_dir is not None else self.workdir / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        if privileged:
            shutil.chown(cache, PROCESS_USER, PROCESS_GROUP)
            for needed in [cache] + [engine.data_dir for engine in self.engines]:
                closed = _closed_to(needed, PROCESS_USER, PROCESS_GROUP)
                if closed is not None:
                    raise RuntimeError(
                        f"snmpsim runs as {PROCESS_USER} after dropping root, and {closed} is "
                        f"closed to that user: it could not read {needed} (use a work dir "
                        "and data dirs under a folder others can enter, such as /tmp)"
                    )
        command, engine_config = self._arguments(cache.resolve())
        config_file = self.workdir / "engines.args"
        config_file.write_text(engine_config)
        config_file.chmod(0o600)  # read before privileges are dropped; holds the v3 keys
        command.append(f"--args-from-file={config_file}")
        with open(self.workdir / "snmpsim.log", "wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        self._finalizer = weakref.finalize(self, _kill, self._process)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Ready when every endpoint has answered an SNMPv3 discovery request."""
        assert self._process is not None
        deadline = time.monotonic() + timeout
        waiting = set(self.endpoints)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            request = discovery_request(0x5A5A)
            while waiting:
                if self._process.poll() is not None:
                    raise RuntimeError(f"snmpsim exited: {self.log_text()[-1500:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"snmpsim did not answer on {sorted(waiting)[:3]} within {timeout} s: "
                        f"{self.log_text()[-800:]}"
                    )
                for endpoint in waiting:
                    sock.sendto(request, endpoint)
                end = time.monotonic() + 0.25
                while (left := end - time.monotonic()) > 0:
                    ready, _, _ = select.select([sock], [], [], left)
                    if not ready:
                        break
                    try:
                        _data, source = sock.recvfrom(65535)
                    except ConnectionRefusedError:  # ICMP: that endpoint is not bound yet
                        continue
                    waiting.discard((source[0], source[1]))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # snmpsim shuts down cleanly on it
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._owned_dir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
            self._owned_dir = False

    def __enter__(self) -> SnmpsimAgent:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
