# Sourced by scripts/run and scripts/test: make .venv and install the project into it
# (again only when pyproject.toml has changed since the last install).
pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 or newer is needed (apt-get install python3 python3-venv)." >&2
  return 1
}

ensure_venv() {
  local extras="$1"
  local stamp=".venv/.installed-$extras"
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing Sampada and its dependencies into .venv ..."
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    # fake-switches (the SSH tests' and the demo's Cisco IOS peer) pins Twisted<17: installed
    # without its dependencies, next to the current twisted[conch] of the test and run extras.
    case ",$extras," in
      *,test,* | *,run,*) .venv/bin/python -m pip install --quiet --no-deps "fake-switches==1.5.0" ;;
    esac
    echo "$want" > "$stamp"
  fi
}

# The PJLink emulator (pjlink-advance) needs Python 3.13: it gets a venv of its own,
# .venv-pjlink/ (inventory/simulator/pjlink.py finds python3.13 on PATH or in pyenv, or
# $PJLINK_EMULATOR_PYTHON). The tests' fixture makes it too when missing; without a Python
# 3.13 only a warning here: the PJLink tests fail saying why, the demo's projectors are silent.
ensure_pjlink_emulator() {
  if [ ! -f .venv-pjlink/.installed ]; then
    echo "Installing the PJLink emulator into .venv-pjlink ..."
  fi
  .venv/bin/python inventory/simulator/pjlink.py --ensure-venv >/dev/null ||
    echo "warning: no PJLink emulator venv (see above): the PJLink tests fail and the demo's projectors stay silent" >&2
}
