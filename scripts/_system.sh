# Sourced by scripts/test and .ci/run: the Debian packages the tests use as real peers
# (Net-SNMP's snmpd and tools, OpenSSH's sshd, Chromium for the phone pages' browser tests,
# PostgreSQL's client tools), installed with apt-get when missing.
ensure_system_packages() {
  local missing=()
  command -v pg_isready >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/sbin/snmpd ] || missing+=(snmpd)  # real SNMP agents for the health tests
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)  # a real SSH peer for the SSH probe
  command -v snmpget >/dev/null 2>&1 || missing+=(snmp)  # Net-SNMP's tools, a second opinion
  [ -x /usr/bin/chromium ] || missing+=(chromium)  # the phone pages' browser tests (Playwright)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    return 1
  fi
  echo "Installing ${missing[*]} ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
