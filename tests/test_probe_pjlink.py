"""The PJLink probe against pjlink-advance's emulator and a hostile fake projector (loopback)."""

from __future__ import annotations

import asyncio

import pytest

from inventory.probes.base import Outcome
from inventory.probes.pjlink import (
    MAX_LINE,
    LampState,
    PjlinkTarget,
    clean_text,
    describe_input,
    query,
    run_batch,
)


def read(address: tuple[str, int], password: str = "", timeout: float = 5.0, key="p"):
    host, port = address
    return asyncio.run(query(PjlinkTarget(key, host, port, password=password, timeout=timeout)))


# ---------------------------------------------------------------------------------------------
# The emulator


def test_class1_projector_without_password(projector):
    result = read(projector.address("open1"))
    assert result.outcome is Outcome.OK, result.error
    assert result.ok and result.error == ""
    status = result.status
    assert status.pjlink_class == "1"
    assert status.power == "on"
    assert status.lamps == [LampState(hours=1520, on=True)]
    assert status.errors == dict.fromkeys(
        ("fan", "lamp", "temperature", "cover", "filter", "other"), "ok"
    )
    assert status.problems == {}
    assert status.input == "11" and status.input_label == "RGB 1"
    assert (status.name, status.manufacturer, status.model) == ("EB-L735U", "EPSON", "EB-L735U")
    # Class 2 questions are not asked of a class 1 projector.
    assert status.serial_number is None and status.software_version is None
    assert status.filter_hours is None
    assert status.refusals == {}
    assert result.elapsed > 0


def test_class2_projector_reports_serial_version_filter_and_lamps(projector):
    status = read(projector.address("open2")).status
    assert status.pjlink_class == "2"
    assert status.lamps == [LampState(2750, True), LampState(310, True)]
    assert status.input == "32" and status.input_label == "Digital 2"
    assert status.name == "DM VC Hall"
    assert (status.manufacturer, status.model) == ("NEC", "NP-P525UL")
    assert status.other_info == "laser"
    assert status.serial_number == "7Y0123456"
    assert status.software_version == "R1.06.041"
    assert status.filter_hours == 1234
    assert status.errors["filter"] == "warning"
    assert status.problems == {"filter": "warning"}


@pytest.mark.parametrize("power", ["off", "on", "cooling", "warming"])
def test_power_states_and_lamp_lit_only_when_on(projector, power):
    projector.update("open1", power=power, lamps=[10, 99999])
    status = read(projector.address("open1")).status
    assert status.power == power
    lit = power == "on"
    assert status.lamps == [LampState(10, lit), LampState(99999, lit)]
    if power != "on":  # the emulator refuses INPT unless the projector is on (ERR3)
        assert status.input is None
        assert status.refusals == {"INPT": "unavailable time"}


def test_error_status_per_category(projector):
    projector.update(
        "open1",
        errors={"fan": "error", "lamp": "warning", "temperature": "error", "cover": "warning"},
    )
    status = read(projector.address("open1")).status
    assert status.errors == {
        "fan": "error",
        "lamp": "warning",
        "temperature": "error",
        "cover": "warning",
        "filter": "ok",
        "other": "ok",
    }
    assert set(status.problems) == {"fan", "lamp", "temperature", "cover"}


def test_unsupported_and_unavailable_commands_leave_fields_empty(projector):
    projector.update("open2", unsupported=["NAME", "SNUM"], unavailable=["FILT"], lamps=[])
    result = read(projector.address("open2"))
    assert result.outcome is Outcome.OK
    status = result.status
    assert status.name is None and status.serial_number is None and status.filter_hours is None
    assert status.lamps == []  # no lamp: the emulator answers LAMP with ERR1
    assert status.refusals == {
        "NAME": "undefined command",
        "SNUM": "undefined command",
        "FILT": "unavailable time",
        "LAMP": "undefined command",
    }
    assert status.software_version == "R1.06.041"  # the rest is still read


def test_projector_failure_on_the_first_command(projector):
    projector.update("open2", fail_next="ERR4")  # CLSS is asked first
    status = read(projector.address("open2")).status
    assert status.refusals == {"CLSS": "projector failure"}
    assert status.pjlink_class == "1"  # unknown class: only class 1 questions
    assert status.power == "on" and status.serial_number is None


def test_password_right(pjlink_emulators, pjlink_password):
    for key, cls in (("secured1", "1"), ("secured2", "2")):
        result = read(pjlink_emulators.address(key), password=pjlink_password)
        assert result.outcome is Outcome.OK, result.error
        assert result.status.pjlink_class == cls
    assert result.status.lamps == [LampState(42, True)]
    assert result.status.serial_number == "X8JK0000001"


def test_password_wrong_or_missing(pjlink_emulators, pjlink_password):
    wrong = read(pjlink_emulators.address("secured1"), password=pjlink_password + "x")
    assert wrong.outcome is Outcome.AUTH_FAILED
    assert wrong.status is None and "ERRA" in wrong.error
    missing = read(pjlink_emulators.address("secured2"))
    assert missing.outcome is Outcome.AUTH_FAILED
    assert "password" in missing.error


def test_password_never_shown(pjlink_emulators, pjlink_password):
    target = PjlinkTarget(7, *pjlink_emulators.address("secured1"), password=pjlink_password)
    assert pjlink_password not in repr(target) and pjlink_password not in str(target)
    wrong = PjlinkTarget(8, *pjlink_emulators.address("secured1"), password="bad-" + "x" * 6)
    results = run_batch([target, wrong])
    for result in results:
        assert pjlink_password not in repr(result)
        assert "bad-xxxxxx" not in repr(result)
    assert [r.outcome for r in results] == [Outcome.OK, Outcome.AUTH_FAILED]


def test_silent_projector_times_out(projector):
    projector.update("open1", silent=True)
    result = read(projector.address("open1"), timeout=0.5)
    assert result.outcome is Outcome.TIMEOUT
    assert "0.5 s" in result.error
    assert result.elapsed < 0.5 + 2.0  # the deadline, not the projector's idle timeout


def test_projector_hanging_up_after_greeting(projector):
    projector.update("open1", drop_after_greeting=True)
    result = read(projector.address("open1"))
    assert result.outcome is Outcome.ERROR
    assert "closed" in result.error


def test_state_changes_are_seen_by_the_next_query(projector):
    projector.update("open1", power="off", lamps=[3001])
    assert read(projector.address("open1")).status.lamps == [LampState(3001, False)]
    projector.update("open1", power="on", name="Tehsil Sadar")
    status = read(projector.address("open1")).status
    assert status.lamps == [LampState(3001, True)]
    assert status.name == "Tehsil Sadar"


# ---------------------------------------------------------------------------------------------
# Hostile and broken peers


@pytest.mark.parametrize(
    ("peer", "outcome", "words"),
    [
        ("garbage_greeting", Outcome.ERROR, "not a PJLink greeting"),
        ("http_greeting", Outcome.ERROR, "not a PJLink greeting"),
        ("greeting_erra", Outcome.AUTH_FAILED, "ERRA"),
        ("endless_line", Outcome.ERROR, f"longer than {MAX_LINE} bytes"),
        ("huge_reply", Outcome.ERROR, f"longer than {MAX_LINE} bytes"),
        ("long_reply", Outcome.ERROR, f"longer than {MAX_LINE} bytes"),
        ("erra_reply", Outcome.AUTH_FAILED, "ERRA"),
        ("pjlink_erra_reply", Outcome.AUTH_FAILED, "ERRA"),
        ("wrong_reply", Outcome.ERROR, "unexpected reply to POWR"),
        ("cut_mid_reply", Outcome.ERROR, "middle of a reply"),
        ("close_after_greeting", Outcome.ERROR, "closed by the projector"),
    ],
)
def test_broken_peers_are_results(hostile_pjlink, peer, outcome, words):
    result = read(hostile_pjlink.address(peer))
    assert result.outcome is outcome
    assert words in result.error
    assert result.status is None


def test_garbage_is_not_echoed_raw(hostile_pjlink):
    result = read(hostile_pjlink.address("garbage_greeting"))
    assert "\x00" not in result.error and "\xff" not in result.error


@pytest.mark.parametrize("peer", ["silent", "silent_after_greeting"])
def test_slow_peer_times_out_at_the_deadline(hostile_pjlink, peer):
    result = read(hostile_pjlink.address(peer), timeout=0.4)
    assert result.outcome is Outcome.TIMEOUT
    assert result.elapsed < 0.4 + 2.0  # the peer never answers: only the deadline ends it


def test_refusals_leave_fields_empty_and_the_rest_is_read(hostile_pjlink):
    result = read(hostile_pjlink.address("refusals"))
    assert result.outcome is Outcome.OK
    status = result.status
    assert status.power is None and status.lamps == [] and status.errors == {}
    assert status.input is None and status.manufacturer is None and status.model is None
    assert status.name == "Hall"
    assert status.refusals == {
        "POWR": "projector failure",
        "LAMP": "undefined command",
        "ERST": "out of parameter",
        "INPT": "unavailable time",
        "INF1": "undefined command",
        "INF2": "projector failure",
    }


def test_class2_refusals(hostile_pjlink):
    status = read(hostile_pjlink.address("class2_refusals")).status
    assert status.pjlink_class == "2"
    assert (status.serial_number, status.software_version, status.filter_hours) == (None,) * 3
    assert status.refusals == {
        "SNUM": "undefined command",
        "SVER": "unavailable time",
        "FILT": "projector failure",
    }


def test_malformed_values_are_refused_not_guessed(hostile_pjlink):
    result = read(hostile_pjlink.address("malformed"))
    assert result.outcome is Outcome.OK
    status = result.status
    assert status.pjlink_class == "1"
    assert status.power is None and status.lamps == [] and status.errors == {}
    assert status.input is None
    assert status.name == ""
    assert status.refusals == dict.fromkeys(
        ("CLSS", "POWR", "LAMP", "ERST", "INPT"), "malformed reply"
    )


def test_control_characters_are_stripped(hostile_pjlink):
    status = read(hostile_pjlink.address("control_chars")).status
    assert status.name == "Hall[31m AB C"
    assert status.manufacturer == "Maker"
    assert status.serial_number == "S1"


def test_crlf_line_ends_are_tolerated(hostile_pjlink):
    result = read(hostile_pjlink.address("crlf"))
    assert result.outcome is Outcome.OK, result.error
    assert result.status.power == "on" and result.status.name == "Hall"
    assert result.status.lamps == [LampState(100, True)]


def test_closed_port_is_unreachable(closed_port):
    result = read(("127.0.0.1", closed_port))
    assert result.outcome is Outcome.UNREACHABLE
    assert result.error == "connection refused"


def test_invalid_port_is_an_error_result():
    result = read(("127.0.0.1", 70000))
    assert result.outcome is Outcome.ERROR


def test_batch_keeps_order_and_one_result_each(
    projector, pjlink_password, hostile_pjlink, closed_port
):
    plan = []
    for n in range(40):
        kind = n % 5
        if kind == 0:
            plan.append((PjlinkTarget(n, *projector.address("open1")), Outcome.OK))
        elif kind == 1:
            address = projector.address("secured2")
            target = PjlinkTarget(n, *address, password=pjlink_password)
            plan.append((target, Outcome.OK))
        elif kind == 2:
            target = PjlinkTarget(n, *hostile_pjlink.address("silent"), timeout=0.3)
            plan.append((target, Outcome.TIMEOUT))
        elif kind == 3:
            plan.append((PjlinkTarget(n, "127.0.0.1", closed_port), Outcome.UNREACHABLE))
        else:
            target = PjlinkTarget(n, *hostile_pjlink.address("huge_reply"))
            plan.append((target, Outcome.ERROR))
    results = run_batch([t for t, _ in plan], concurrency=8)
    assert [r.key for r in results] == list(range(40))
    assert [r.outcome for r in results] == [o for _, o in plan]
    assert all(r.status is not None for r in results if r.ok)
    assert results[1].status.lamps == [LampState(42, True)]


def test_empty_batch():
    assert run_batch([]) == []


def test_clean_text_and_describe_input():
    assert clean_text("  a\u202eb\x00c\u200d  d ") == "abc d"
    assert clean_text("x" * 100, 32) == "x" * 32
    assert describe_input("5A") == "Network A"
    assert describe_input("9Z") == "9Z"
    assert describe_input(None) is None


def test_emulator_venv_without_python313_says_why(monkeypatch, tmp_path):
    from inventory.simulator import pjlink as simulator

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv(simulator.PYTHON_ENV, str(tmp_path / "no-python"))
    with pytest.raises(simulator.EmulatorUnavailable, match=r"needs Python 3\.13"):
        simulator.ensure_emulator_venv(tmp_path / "venv")
    assert not (tmp_path / "venv").exists()
