"""The SSH probe against real peers on loopback (tests/sshpeers.py): Debian's OpenSSH
server, fake-switches' Cisco IOS, a paramiko server that records authentication attempts,
a silent and a garbage-speaking socket; and its parsers on stored real device outputs
(inventory/probes/outputs/, from ntc-templates' test data)."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest
from fake_switches.cisco.command_processor.enabled import version_text
from fake_switches.transports.ssh_service import getRSAKeys
from sshpeers import (
    EnableSwitch,
    running_enable_switch,
)

from inventory.probes.base import Outcome
from inventory.probes.ssh import (
    SshCredentials,
    SshFacts,
    SshTarget,
    collect,
    host_key_fingerprint,
    parse_cisco_ios_facts,
    parse_linux_facts,
    parse_uptime,
    same_host_key,
)

OUTPUTS = Path(__file__).resolve().parent.parent / "inventory" / "probes" / "outputs"


def output(name: str) -> str:
    return (OUTPUTS / name).read_text()


def linux_target(peer, known=None, timeout=10.0, **credentials) -> SshTarget:
    credentials.setdefault("password", peer.password)
    return SshTarget(
        key=7,
        address=peer.address,
        port=peer.port,
        device_type="linux",
        credentials=SshCredentials(peer.username, **credentials),
        known_host_key=known,
        timeout=timeout,
    )


def switch_target(switch, known=None, enable_secret=None) -> SshTarget:
    return SshTarget(
        key=9,
        address=switch.address,
        port=switch.port,
        device_type="cisco_ios",
        credentials=SshCredentials(
            switch.username,
            switch.password,
            enable_secret=switch.password if enable_secret is None else enable_secret,
        ),
        known_host_key=known,
    )


@pytest.fixture(scope="module")
def enable_switch() -> Iterator[EnableSwitch]:
    with running_enable_switch() as switch:
        yield switch


def enable_target(switch: EnableSwitch, enable_secret: str) -> SshTarget:
    return SshTarget(
        key=11,
        address=switch.address,
        port=switch.port,
        device_type="cisco_ios",
        credentials=SshCredentials(switch.username, switch.password, enable_secret=enable_secret),
    )


def wait_for_client_transports() -> None:
    """Until paramiko's client transport threads have ended (and logged what they log)."""
    for thread in threading.enumerate():
        if isinstance(thread, paramiko.Transport) and not thread.server_mode:
            thread.join(timeout=15)


def other_key() -> str:
    key = paramiko.ECDSAKey.generate()
    return f"{key.get_name()} {key.get_base64()}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readable_by_others(path: str) -> str | None:
    """What the unprivileged test user can read of a DMI file (None: absent or root-only)."""
    try:
        if not os.stat(path).st_mode & 0o004:
            return None
        with open(path) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def os_release_name() -> str:
    with open("/etc/os-release") as handle:
        for line in handle:
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("no PRETTY_NAME")


# --- OpenSSH: trust on first use, pinning, outcomes -----------------------------------------


def test_first_contact_trusts_and_returns_the_host_key_and_linux_facts(sshd_peer):
    result = collect(linux_target(sshd_peer))

    assert result.outcome is Outcome.OK, result.error
    assert result.ok
    assert result.key == 7
    assert result.host_key == sshd_peer.host_key
    facts = result.facts
    assert facts.hostname == socket.gethostname()
    assert facts.os_version == f"{os_release_name()}, Linux {os.uname().release}"
    assert facts.uptime_seconds > 0
    assert facts.model == readable_by_others("/sys/class/dmi/id/product_name")
    assert facts.serial == readable_by_others("/sys/class/dmi/id/product_serial")
    assert result.config is None  # not asked for


def test_the_same_key_again_logs_in_with_a_private_key(sshd_peer):
    target = linux_target(
        sshd_peer,
        known=sshd_peer.host_key + " a comment",
        password="",
        private_key=sshd_peer.private_key,
    )
    result = collect(target, facts=False, config=True)

    assert result.outcome is Outcome.OK, result.error
    assert result.host_key == sshd_peer.host_key
    assert result.facts is None
    hostname = Path("/etc/hostname").read_text().strip()
    assert f"### /etc/hostname\n{hostname}\n" in result.config
    assert "### /etc/hosts\n" in result.config


def test_a_changed_host_key_fails_with_both_fingerprints(sshd_peer):
    stored = other_key()
    result = collect(linux_target(sshd_peer, known=stored))

    assert result.outcome is Outcome.HOST_KEY_CHANGED
    assert result.host_key == sshd_peer.host_key  # for an admin to accept
    assert result.facts is None
    assert host_key_fingerprint(sshd_peer.host_key) in result.error
    assert host_key_fingerprint(stored) in result.error
    assert "host key changed" in result.error


def test_a_changed_host_key_sends_no_credentials(recording_server, sshd_peer):
    server = recording_server()
    target = SshTarget(
        1,
        server.address,
        server.port,
        "linux",
        SshCredentials("admin", "do-not-send-me"),
        known_host_key=sshd_peer.host_key,
    )

    result = collect(target)

    assert result.outcome is Outcome.HOST_KEY_CHANGED
    assert result.host_key == server.host_key_line
    assert server.attempts == []


def test_the_recording_server_sees_credentials_when_the_key_matches(recording_server):
    """The control for the test above: the recorder does see a login that goes ahead."""
    server = recording_server()
    target = SshTarget(
        1,
        server.address,
        server.port,
        "linux",
        SshCredentials("admin", "send-me"),
        known_host_key=server.host_key_line,
    )

    result = collect(target)

    assert result.outcome is Outcome.AUTH_FAILED
    assert ("admin", "password", "send-me") in [
        (a.username, a.method, a.secret) for a in server.attempts
    ]


def test_a_key_swapped_between_check_and_login_is_refused_without_credentials(
    recording_server,
):
    server = recording_server(swap_keys=True)
    target = SshTarget(
        1, server.address, server.port, "linux", SshCredentials("admin", "do-not-send-me")
    )

    result = collect(target)

    assert server.connections == 2  # the key check, then the login attempt
    assert result.outcome is Outcome.HOST_KEY_CHANGED
    assert result.host_key == server.host_key_lines[0]
    assert server.attempts == []


def test_a_wrong_password_is_auth_failed(sshd_peer):
    result = collect(linux_target(sshd_peer, known=sshd_peer.host_key, password="wrong-guess"))

    assert result.outcome is Outcome.AUTH_FAILED
    assert result.host_key == sshd_peer.host_key
    assert result.facts is None
    assert "authentication failed" in result.error


def test_an_unknown_private_key_is_auth_failed(sshd_peer):
    target = linux_target(sshd_peer, password="", private_key=sshd_peer.other_private_key)
    assert collect(target).outcome is Outcome.AUTH_FAILED


def test_an_unreadable_private_key_is_an_error(sshd_peer):
    target = linux_target(sshd_peer, password="", private_key="not a key at all")
    result = collect(target)
    assert result.outcome is Outcome.ERROR
    assert "private key could not be read" in result.error
    assert "not a key at all" not in result.error


def test_a_closed_port_is_unreachable():
    target = SshTarget(1, "127.0.0.1", closed_port(), "linux", SshCredentials("u", "p"))
    result = collect(target)
    assert result.outcome is Outcome.UNREACHABLE
    assert result.host_key is None
    assert result.error == "connection refused"


def test_a_server_that_never_speaks_times_out(silent_server):
    address, port = silent_server
    target = SshTarget(1, address, port, "linux", SshCredentials("u", "p"), timeout=1.0)
    result = collect(target)
    assert result.outcome is Outcome.TIMEOUT
    assert result.host_key is None


def test_a_server_speaking_something_else_is_an_error(garbage_server):
    address, port = garbage_server
    target = SshTarget(1, address, port, "linux", SshCredentials("u", "p"), timeout=5.0)
    result = collect(target)
    assert result.outcome is Outcome.ERROR
    assert result.error.startswith("SSH protocol error")


def test_bad_targets_are_errors_without_network():
    port = closed_port()  # nothing listens: had the probe connected, it would be UNREACHABLE
    creds = SshCredentials("u", "p")
    telnet = collect(SshTarget(1, "127.0.0.1", port, "telnet_box", creds))
    assert telnet.outcome is Outcome.ERROR
    assert "unsupported device type" in telnet.error
    stored = collect(SshTarget(1, "127.0.0.1", port, "linux", creds, known_host_key="garbage"))
    assert stored.outcome is Outcome.ERROR
    assert "stored host key" in stored.error


def test_many_collects_in_a_thread_pool(sshd_peer):
    targets = [linux_target(sshd_peer, known=sshd_peer.host_key) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(collect, targets))
    assert [r.outcome for r in results] == [Outcome.OK] * 4
    assert {r.facts.hostname for r in results} == {socket.gethostname()}


def test_fingerprint_matches_ssh_keygen(sshd_peer, tmp_path):
    pub = tmp_path / "key.pub"
    pub.write_text(sshd_peer.host_key + "\n")
    listing = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert host_key_fingerprint(sshd_peer.host_key) == listing.split()[1]
    assert host_key_fingerprint("nonsense") == ""
    assert same_host_key(sshd_peer.host_key, sshd_peer.host_key + " comment")
    assert not same_host_key(sshd_peer.host_key, other_key())
    assert not same_host_key(None, None)


# --- fake-switches: Cisco IOS -----------------------------------------------------------------


def test_cisco_facts_and_running_config_from_the_fake_switch(fake_switch):
    shown = version_text(hostname=fake_switch.hostname, vlan_port_count=1, port_count=12)

    result = collect(switch_target(fake_switch), config=True)

    assert result.outcome is Outcome.OK, result.error
    assert result.host_key == " ".join(getRSAKeys()[0].split()[:2])
    facts = result.facts
    # The fake has no `show inventory`: model and serial come from `show version`.
    assert facts.model == re.search(r"^cisco (\S+) ", shown, re.M).group(1)
    assert facts.serial == re.search(r"^Processor board ID (\S+)", shown, re.M).group(1)
    assert facts.os_version == re.search(r", Version ([^,]+),", shown).group(1)
    assert facts.hostname == fake_switch.hostname
    # "1 year, 18 weeks, 5 days, 1 hour, 11 minutes"
    assert facts.uptime_seconds == ((365 + 18 * 7 + 5) * 24 + 1) * 3600 + 11 * 60
    assert f"hostname {fake_switch.hostname}\n" in result.config
    assert result.config.rstrip().endswith("end")


def test_cisco_pinned_key_accepted_and_changed_key_refused(fake_switch):
    known = " ".join(getRSAKeys()[0].split()[:2])
    assert collect(switch_target(fake_switch, known=known)).outcome is Outcome.OK
    changed = collect(switch_target(fake_switch, known=other_key()))
    assert changed.outcome is Outcome.HOST_KEY_CHANGED
    assert changed.host_key == known


def test_cisco_wrong_enable_secret_is_auth_failed(fake_switch):
    result = collect(switch_target(fake_switch, enable_secret="not-the-secret"), config=True)
    assert result.outcome is Outcome.AUTH_FAILED
    assert result.error == "enable secret rejected"


def test_cisco_without_an_enable_secret_the_password_doubles_as_it(fake_switch):
    # The switch's enable password is its login password: enable with the password works.
    result = collect(switch_target(fake_switch, enable_secret=""), config=True)
    assert result.outcome is Outcome.OK, result.error
    assert f"hostname {fake_switch.hostname}\n" in result.config


def test_cisco_separate_enable_secret_gives_the_running_config(enable_switch):
    result = collect(enable_target(enable_switch, enable_switch.enable_secret), config=True)

    assert result.outcome is Outcome.OK, result.error
    assert f"hostname {enable_switch.hostname}\n" in result.config
    assert result.config.rstrip().endswith("end")
    assert result.facts.hostname == enable_switch.hostname


def test_cisco_password_is_refused_where_a_separate_enable_secret_is_needed(enable_switch):
    fallback = collect(enable_target(enable_switch, ""), config=True)
    assert fallback.outcome is Outcome.AUTH_FAILED
    assert fallback.error == "enable refused the SSH password (is an enable secret needed?)"
    assert fallback.config is None
    # The login password given as the enable secret: refused as that.
    given = collect(enable_target(enable_switch, enable_switch.password), config=True)
    assert given.outcome is Outcome.AUTH_FAILED
    assert given.error == "enable secret rejected"


# --- parsers on stored real outputs -----------------------------------------------------------


def test_cisco_show_version_of_a_real_catalyst_4948e():
    facts = parse_cisco_ios_facts(output("cisco_ios_show_version_c4948e.txt"))
    assert facts == SshFacts(
        model="WS-C4948E",
        serial="CAT1451S15C",
        os_version="12.2(54)SG1",
        uptime_seconds=((2 * 365 + 31 * 7 + 6) * 24 + 9) * 3600 + 55 * 60,
        hostname="router1",
    )


def test_cisco_show_inventory_chassis_wins_for_model_and_serial():
    facts = parse_cisco_ios_facts(
        output("cisco_ios_show_version_c4948e.txt"),
        output("cisco_ios_show_inventory_c8000v.txt"),
    )
    assert (facts.model, facts.serial) == ("C8000V", "9XLWRY40A2V")
    assert facts.os_version == "12.2(54)SG1"  # versions come from show version only


def test_cisco_chassis_without_a_pid_keeps_its_serial():
    facts = parse_cisco_ios_facts("", output("cisco_ios_show_inventory_3640.txt"))
    assert facts == SshFacts(serial="FF1045C5")  # the 3640 chassis reports no PID


@pytest.mark.parametrize("garbage", ["", "\n\n", "% Invalid input detected at '^' marker.\n"])
def test_cisco_unparseable_output_gives_empty_facts(garbage):
    assert parse_cisco_ios_facts(garbage, garbage) == SshFacts()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1 year, 18 weeks, 5 days, 1 hour, 11 minutes", 42858660),
        ("3 days, 4 hours, 1 minute", (3 * 24 + 4) * 3600 + 60),
        ("45 seconds", 45),
        ("", None),
        ("unknown", None),
    ],
)
def test_uptime(text, seconds):
    assert parse_uptime(text) == seconds


def test_linux_facts_ignore_dmi_placeholders_and_missing_files():
    facts = parse_linux_facts(
        {
            "/proc/sys/kernel/hostname": "tehsil-gw\n",
            "/etc/os-release": 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
            "/proc/uptime": "12345.67 40000.00",
            "/sys/class/dmi/id/product_name": "To be filled by O.E.M.",
            "/sys/class/dmi/id/product_serial": "",
        }
    )
    assert facts == SshFacts(
        os_version="Debian GNU/Linux 12", uptime_seconds=12345, hostname="tehsil-gw"
    )
    assert parse_linux_facts({}) == SshFacts()
    assert parse_linux_facts({"/proc/uptime": "soon"}).uptime_seconds is None


# --- secrets ------------------------------------------------------------------------------


def test_secrets_stay_out_of_reprs_errors_and_logs(sshd_peer, fake_switch, enable_switch, caplog):
    caplog.set_level(logging.DEBUG)
    good = linux_target(sshd_peer)
    wrong = linux_target(sshd_peer, known=sshd_peer.host_key, password="wr0ng-" + "x" * 8)
    keyed = linux_target(sshd_peer, password="", private_key=sshd_peer.private_key)
    switch = switch_target(fake_switch)
    enabled = enable_target(enable_switch, enable_switch.enable_secret)
    bad_enable = enable_target(enable_switch, "wr0ng-enable-" + "y" * 8)
    targets = (good, wrong, keyed, switch, enabled, bad_enable)
    results = [collect(good), collect(wrong), collect(keyed)]
    results += [collect(t, config=True) for t in (switch, enabled, bad_enable)]

    assert [r.outcome for r in results] == [
        Outcome.OK,
        Outcome.AUTH_FAILED,
        Outcome.OK,
        Outcome.OK,
        Outcome.OK,
        Outcome.AUTH_FAILED,
    ]
    assert caplog.records  # netmiko and paramiko did log at debug level
    secrets = [
        sshd_peer.password,
        wrong.credentials.password,
        fake_switch.password,
        enable_switch.password,
        enable_switch.enable_secret,
        bad_enable.credentials.enable_secret,
    ]
    key_body = sshd_peer.private_key.splitlines()[1]
    texts = [caplog.text] + [repr(t) for t in targets]
    texts += [repr(r) + r.error for r in results]
    for text in texts:
        for secret in [*secrets, key_body]:
            assert secret not in text


# --- paramiko's log -------------------------------------------------------------------------


@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG], ids=["warning", "debug"])
def test_failures_returned_as_results_are_no_paramiko_errors(
    silent_server, garbage_server, caplog, level
):
    caplog.set_level(level)
    creds = SshCredentials("u", "p")
    silent = collect(SshTarget(1, *silent_server, "linux", creds, timeout=1.0))
    garbage = collect(SshTarget(2, *garbage_server, "cisco_ios", creds, timeout=5.0))
    wait_for_client_transports()

    assert silent.outcome is Outcome.TIMEOUT
    assert garbage.outcome is Outcome.ERROR
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    banner = [
        r
        for r in caplog.records
        if r.name == "paramiko.transport" and "Error reading SSH protocol banner" in r.getMessage()
    ]
    if level == logging.DEBUG:  # kept for whoever debugs, as DEBUG records
        assert len(banner) >= 2
        assert {r.levelname for r in banner} == {"DEBUG"}
    else:
        assert banner == []


def test_server_transports_still_log_their_errors(recording_server, caplog):
    """The filter is for the probe's client connections only: a server's errors pass."""
    caplog.set_level(logging.WARNING)
    server = recording_server()
    with socket.create_connection((server.address, server.port), timeout=5) as sock:
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not caplog.records:
        time.sleep(0.05)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[0].name == "paramiko.transport"
    assert errors[0].getMessage().startswith("Exception (server): Error reading SSH protocol")
