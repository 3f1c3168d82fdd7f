"""Simulated PJLink projectors on loopback: pjlink-advance's emulator, run in its own venv.

    with PjlinkEmulators({"hall": ProjectorSpec(power="on", lamps=[1520])}) as fleet:
        host, port = fleet.address("hall")
        ...  # a PJLink client talks to host:port
        fleet.update("hall", power="cooling", errors={"lamp": "warning"})

pjlink-advance (PyPI, MIT) ships a PJLink class 1 and class 2 projector emulator
(``pjlink_advance.emulator.PJLinkEmulator``) but needs Python 3.13, newer than the app's.
So it runs in a venv of its own (`ensure_emulator_venv`, default ``.venv-pjlink/`` in the
repository root, made with the first Python 3.13 found: $PJLINK_EMULATOR_PYTHON,
``python3.13`` on PATH, then pyenv's versions). This file is that process's program too:
``<venv>/bin/python -I inventory/simulator/pjlink.py --serve`` reads one JSON line with the
projectors to serve (and where: a free port on one host, or each projector's own address and
port, as the demo's projectors) from stdin, answers ``{"ports": {...}}`` (or ``{"error":
"..."}`` when an address is taken), then takes JSON lines
``{"key": ..., "changes": {...}}`` to change a projector's state (each answered by
``{"ok": true}`` or ``{"error": "..."}``) and stops when stdin closes, so a projector never
outlives the test or demo that started it. Only the standard library is imported at the
top, so the file runs under either Python.

What the emulator (0.2.0, read from its source) does:
- greeting ``PJLINK 0`` or ``PJLINK 1 <8 hex digits>`` when a password is set; the MD5
  digest is checked on the first command only; a wrong one gets ``PJLINK ERRA`` and the
  connection is closed;
- answers POWR, LAMP (hours with lit = power is on), ERST, INPT (ERR3 unless the power is
  on), NAME, INF1, INF2, INFO, CLSS, and for class 2 SNUM, SVER, FILT, INNM, RLMP, RFIL,
  IRES, ...; a class 2 command to a class 1 projector gets ERR1;
- `unsupported` commands answer ERR1 and `unavailable` ones ERR3; `fail_next` answers the
  next command with the given error (ERR1-ERR4); `silent` reads but never answers;
  `drop_after_greeting` closes the connection right after the greeting;
- its own command line (``python -m pjlink_advance.emulator``) offers only port, password,
  class and transition delay, hence this launcher for lamp hours, errors and the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

PACKAGE = "pjlink-advance==0.2.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".venv-pjlink"
PYTHON_ENV = "PJLINK_EMULATOR_PYTHON"
START_TIMEOUT = 20.0


class EmulatorUnavailable(RuntimeError):
    """The emulator cannot run here (no Python 3.13, or its venv could not be made)."""


@dataclass
class ProjectorSpec:
    """One emulated projector. Lamps are hours per lamp; they are lit when power is "on"."""

    pj_class: int = 1
    password: str | None = field(default=None, repr=False)
    power: str = "off"  # off, on, cooling, warming
    lamps: list[int] = field(default_factory=lambda: [1200])
    errors: dict[str, str] = field(default_factory=dict)  # fan/lamp/... -> ok/warning/error
    input: str = "31"  # the two-character INPT code
    name: str = "EB-L735U"
    manufacturer: str = "EPSON"
    model: str = "EB-L735U"
    other_info: str = ""
    serial: str = "X8JK0000001"
    software_version: str = "1.00"
    filter_hours: int = 300
    unsupported: list[str] = field(default_factory=list)  # answered with ERR1
    unavailable: list[str] = field(default_factory=list)  # answered with ERR3
    fail_next: str | None = None  # "ERR1" ... "ERR4" for the next command
    silent: bool = False
    drop_after_greeting: bool = False


def _is_python313(candidate: str) -> bool:
    try:
        done = subprocess.run(
            [candidate, "-c", "import sys; sys.exit(sys.version_info < (3, 13))"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def find_python313() -> str:
    """A working Python 3.13 or newer interpreter, else EmulatorUnavailable saying what to do."""
    candidates: list[str] = []
    if os.environ.get(PYTHON_ENV):
        candidates.append(os.environ[PYTHON_ENV])
    for name in ("python3.13", "python3.14"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        candidates.extend(
            str(p) for p in sorted(Path(root).glob("versions/3.1[3-9]*/bin/python3"), reverse=True)
        )
    for candidate in candidates:  # a pyenv shim exists but fails when 3.13 is not selected
        if _is_python313(candidate):
            return candidate
    raise EmulatorUnavailable(
        "The PJLink emulator (pjlink-advance) needs Python 3.13 or newer and none was found "
        f"(tried ${PYTHON_ENV}, python3.13 on PATH, pyenv versions). Install one "
        "(e.g. `pyenv install 3.13`) or set "
        f"{PYTHON_ENV} to its interpreter."
    )


def ensure_emulator_venv(venv: Path = DEFAULT_VENV) -> Path:
    """Make (once) the venv with pjlink-advance and return its Python."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == PACKAGE:
        return python
    if not python.exists():
        base = find_python313()
        done = subprocess.run(
            [base, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise EmulatorUnavailable(f"Could not make {venv}: {done.stderr.strip()[-500:]}")
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", PACKAGE],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise EmulatorUnavailable(
            f"Could not install {PACKAGE} into {venv}: {done.stderr.strip()[-500:]}"
        )
    stamp.write_text(PACKAGE + "\n")
    return python


class PjlinkEmulators:
    """Several emulated projectors served by one child process, each on a port of its own:
    on `host` at a free port, or at the (address, port) `binds` names for it."""

    def __init__(
        self,
        projectors: Mapping[str, ProjectorSpec],
        *,
        host: str = "127.0.0.1",
        binds: Mapping[str, tuple[str, int]] | None = None,
        python: str | Path | None = None,
    ) -> None:
        self.projectors = dict(projectors)
        self.host = host
        self.binds = {key: (str(h), int(p)) for key, (h, p) in (binds or {}).items()}
        self.python = python
        self.ports: dict[str, int] = {}
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> PjlinkEmulators:
        python = str(self.python or ensure_emulator_venv())
        self._process = subprocess.Popen(
            [python, "-I", str(Path(__file__).resolve()), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        specs = {key: asdict(spec) for key, spec in self.projectors.items()}
        setup = {"host": self.host, "binds": self.binds, "projectors": specs}
        try:
            answer = self._ask(setup, START_TIMEOUT)
        except ValueError:  # a bind failed (an address or port taken): the child has ended
            self.stop()
            raise
        self.ports = {key: int(port) for key, port in answer["ports"].items()}
        return self

    def address(self, key: str) -> tuple[str, int]:
        return self.binds.get(key, (self.host, 0))[0], self.ports[key]

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def update(self, key: str, **changes: object) -> None:
        """Change a running projector: any ProjectorSpec field but the class and password."""
        self._ask({"key": key, "changes": changes}, 10.0)

    def reset(self, key: str) -> None:
        """Put a projector back into the state it was started with."""
        spec = asdict(self.projectors[key])
        del spec["pj_class"], spec["password"]
        self.update(key, **spec)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> PjlinkEmulators:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _ask(self, message: dict, timeout: float) -> dict:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise EmulatorUnavailable("the PJLink emulator is not running")
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except OSError:
            pass  # the process died: reported below with its stderr
        deadline = time.monotonic() + timeout
        ready: list = []
        while not ready and process.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([process.stdout], [], [], min(left, 0.5))
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            process.wait()
            stderr = process.stderr.read()[-2000:] if process.stderr else ""
            self.stop()
            raise EmulatorUnavailable(f"the PJLink emulator did not answer: {stderr}")
        answer = json.loads(line)
        if "error" in answer:
            raise ValueError(answer["error"])
        return answer


# ---------------------------------------------------------------------------------------------
# The child process (Python 3.13 with pjlink-advance): nothing above is needed from here on.


def _apply(emulator, changes: dict) -> None:  # pragma: no cover - runs in the child
    from pjlink_advance.models import ErrorLevel, ErrorStatus, InputSource, Lamp, PowerState

    state = emulator.state
    for name, value in changes.items():
        if name == "power":
            emulator._set_power(PowerState(value))  # power-off also clears mute and freeze
        elif name == "lamps":
            state.lamps = [Lamp(int(hours), False) for hours in value]
        elif name == "errors":
            levels = {key: ErrorLevel(level) for key, level in value.items()}
            state.errors = ErrorStatus.ok().replace(**levels)
        elif name == "input":
            source = InputSource.from_code(value)
            if source not in state.inputs:
                state.inputs.append(source)
            state.input = source
        elif name in ("unsupported", "unavailable"):
            setattr(emulator, name, set(value))
        elif name in ("fail_next", "silent", "drop_after_greeting"):
            setattr(emulator, name, value)
        elif name in (
            "name",
            "manufacturer",
            "model",
            "other_info",
            "serial",
            "software_version",
            "filter_hours",
        ):
            setattr(state, name, value)
        elif name not in ("pj_class", "password"):
            raise ValueError(f"unknown projector setting {name!r}")


async def _serve() -> None:  # pragma: no cover - runs in the child
    import asyncio

    from pjlink_advance.emulator import PJLinkEmulator

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    def say(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    setup = json.loads(await stdin.readline())
    emulators = {}
    try:
        for key, spec in setup["projectors"].items():
            host, port = setup.get("binds", {}).get(key, (setup["host"], 0))
            emulator = PJLinkEmulator(
                pj_class=int(spec["pj_class"]),
                password=spec["password"] or None,
                host=host,
                port=int(port),
                udp_port=None,
                transition_delay=0.0,
            )
            _apply(emulator, {k: v for k, v in spec.items() if k not in ("pj_class", "password")})
            emulators[key] = emulator
            await emulator.start()
    except OSError as exc:  # an address or port taken
        say({"error": f"{key} on {host}:{port}: {exc}"})
        for emulator in emulators.values():
            await emulator.stop()
        return
    say({"ports": {key: emulator.port for key, emulator in emulators.items()}})
    try:
        while line := await stdin.readline():
            try:
                request = json.loads(line)
                _apply(emulators[request["key"]], request["changes"])
            except (KeyError, ValueError, TypeError) as exc:
                say({"error": f"{type(exc).__name__}: {exc}"})
            else:
                say({"ok": True})
    finally:
        for emulator in emulators.values():
            await emulator.stop()


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--serve"]:
        import asyncio
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the parent; it closes stdin
        asyncio.run(_serve())
    elif sys.argv[1:] == ["--ensure-venv"]:
        try:
            print(ensure_emulator_venv())
        except EmulatorUnavailable as exc:
            sys.exit(str(exc))
    else:
        sys.exit("usage: pjlink.py --serve | --ensure-venv")
