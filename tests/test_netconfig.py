"""Network devices over SSH (inventory.netconfig) against real peers on loopback
(tests/sshpeers.py): Debian's OpenSSH server, fake-switches' Cisco IOS and a silent
socket; the configuration normaliser; the pages (escaping, roles, diffs)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import paramiko
import pytest
import sqlalchemy as sa
from sshpeers import running_enable_switch

from inventory.assets.models import Asset
from inventory.audit.models import ChangeLog
from inventory.credentials.services import save_profile
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.netconfig import jobs, services
from inventory.netconfig.models import ConfigEvent, ConfigVersion, SshCheck, SshHostKey
from inventory.probes import ssh as ssh_probe
from inventory.probes.ssh import host_key_fingerprint

# --- helpers ----------------------------------------------------------------------------


def other_key() -> str:
    key = paramiko.ECDSAKey.generate()
    return f"{key.get_name()} {key.get_base64()}"


def make_profile(username: str, password: str, name: str = "SSH profile"):
    profile = save_profile(
        None,
        plain={"name": name, "snmp_version": "v2c", "ssh_username": username},
        new_secrets={"ssh_password": password, "snmp_community": "public"},
    )
    db.session.commit()
    return profile


def ssh_asset(make_asset, site, address, port, profile, device_type, category="SWT", **fields):
    asset = make_asset(
        site,
        category,
        model=fields.pop("model", ("Cisco", "WS-C2960")),
        management_address=address,
        credential_profile_id=profile.id,
        **fields,
    )
    services.manage_device(asset, device_type, port)
    db.session.commit()
    return asset


@pytest.fixture
def config_file(monkeypatch):
    """A configuration file the Linux probe reads (instead of /etc's), readable by the
    peer's test user; returns its path."""
    folder = Path(tempfile.mkdtemp(prefix="sampada-netconfig-"))
    os.chmod(folder, 0o755)  # noqa: S103 - the sshd test user reads it
    path = folder / "interfaces"
    path.write_text("auto lo\niface lo inet loopback\n")
    os.chmod(path, 0o644)
    monkeypatch.setattr(ssh_probe, "LINUX_CONFIG_FILES", (str(path),))
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def client_for(app, make_user, login):
    """A new browser signed in with a new user of the role (as_role shares one client)."""

    def make(role: str):
        return login(make_user(role), target_client=app.test_client())

    return make


def versions(asset_id: int) -> list[ConfigVersion]:
    db.session.expire_all()
    return list(db.session.scalars(services.versions_query(asset_id)))


def events(asset_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(ConfigEvent.kind)
            .where(ConfigEvent.asset_id == asset_id)
            .order_by(ConfigEvent.id)
        )
    )


def check(asset_id: int) -> SshCheck:
    db.session.expire_all()
    return services.check_of(asset_id)


# --- the normaliser -----------------------------------------------------------------------


def test_every_volatile_line_is_dropped_and_the_rest_kept():
    volatile = [
        "Building configuration...",
        "Current configuration : 1234 bytes",
        "! Last configuration change at 10:01:02 IST Mon Mar 4 2024 by admin",
        "! NVRAM config last updated at 09:00:00 IST Mon Mar 4 2024 by admin",
        "! No configuration change since last restart",
        "ntp clock-period 17179864",
        "! Time: 10:01:02 IST Mon Mar 4 2024",
    ]
    body = [
        "version 15.2",
        "hostname gonda-sw1",
        "!",
        "interface Gi0/1",
        " description uplink",
        "end",
    ]
    text = "\r\n".join(volatile[:2] + body[:2] + volatile[2:] + body[2:]) + "\r\n\r\n"

    normalised = services.normalise_config(text)

    assert normalised == "\n".join(body) + "\n"
    # Every pattern in the one list is exercised by a line above.
    assert all(any(p.search(line) for line in volatile) for p in services.VOLATILE_LINES)
    # Only volatile lines differ: the same hash. A real change: another hash.
    other = text.replace("1234 bytes", "1299 bytes").replace("17179864", "17179999")
    assert services.config_sha256(services.normalise_config(other)) == services.config_sha256(
        normalised
    )
    changed = text.replace("uplink", "uplink to BSNL")
    assert services.normalise_config(changed) != normalised
    # A description that merely mentions a volatile phrase is kept.
    kept = " description ntp clock-period lab\n"
    assert services.normalise_config(kept) == kept


def test_store_config_only_on_change_with_events(app, make_asset, district):
    asset = make_asset(district["block"], "SWT")
    now = utcnow()
    first = services.store_config(asset.id, "hostname a\n! Last configuration change at 1\n", now)
    again = services.store_config(asset.id, "hostname a\n! Last configuration change at 2\n", now)
    second = services.store_config(asset.id, "hostname b\n", now)
    db.session.commit()

    assert first.number == 1 and again is None and second.number == 2
    assert first.text == "hostname a\n"
    assert events(asset.id) == ["first_backup", "config_changed"]
    detail = db.session.scalar(
        sa.select(ConfigEvent.detail).where(ConfigEvent.kind == "config_changed")
    )
    assert detail == "1 lines added, 1 removed"


# --- TOFU, backups and changes against OpenSSH --------------------------------------------


def test_linux_peer_tofu_backup_once_and_new_version_on_change(
    app, make_asset, district, sshd_peer, config_file
):
    profile = make_profile(sshd_peer.username, sshd_peer.password)
    asset = ssh_asset(
        make_asset,
        district["block"],
        sshd_peer.address,
        sshd_peer.port,
        profile,
        "linux",
        "OTH",
        model=("Dell", "PowerEdge"),
    )
    asset_id = asset.id
    now = utcnow()

    summary = jobs.backup(now)

    assert summary.startswith("1 devices, 1 new configurations"), summary
    state = check(asset_id)
    assert state.outcome == "ok", state.error
    assert state.hostname  # the peer's /proc/sys/kernel/hostname
    assert state.uptime_seconds is not None and state.uptime_seconds > 0
    key = services.host_key_of(asset_id)
    assert key.key == sshd_peer.host_key  # trusted on first use
    assert key.fingerprint == host_key_fingerprint(sshd_peer.host_key)
    [v1] = versions(asset_id)
    assert v1.text == f"### {config_file}\nauto lo\niface lo inet loopback\n"
    assert events(asset_id) == ["host_key_trusted", "first_backup"]

    # Not due again within NETCONFIG_BACKUP_HOURS.
    assert jobs.backup(now + timedelta(hours=1)) is None

    # Due a day later; unchanged (a volatile line changed only): no new version.
    config_file.write_text("auto lo\niface lo inet loopback\nntp clock-period 17179864\n")
    later = now + timedelta(hours=25)
    assert jobs.backup(later).startswith("1 devices, 0 new configurations")
    assert len(versions(asset_id)) == 1
    device = services.device_of(asset_id)
    assert device.last_backup_at == later  # checked, unchanged

    # A real change: version 2 and a "configuration changed" event.
    config_file.write_text("auto lo\niface lo inet loopback\nauto eth0\n")
    assert jobs.backup(later + timedelta(hours=25)).startswith("1 devices, 1 new configurations")
    v2, v1 = versions(asset_id)
    assert v2.number == 2 and "auto eth0" in v2.text
    assert events(asset_id)[-1] == "config_changed"


def test_changed_host_key_is_pending_and_no_backup_until_an_admin_accepts(
    app, client, client_for, make_asset, district, sshd_peer, config_file
):
    profile = make_profile(sshd_peer.username, sshd_peer.password)
    asset = ssh_asset(
        make_asset,
        district["block"],
        sshd_peer.address,
        sshd_peer.port,
        profile,
        "linux",
        "OTH",
        model=("Dell", "PowerEdge"),
    )
    trusted = other_key()
    db.session.add(
        SshHostKey(asset_id=asset.id, key=trusted, fingerprint=host_key_fingerprint(trusted))
    )
    db.session.commit()

    engineer = client_for("engineer")
    response = engineer.post(f"/netconfig/assets/{asset.id}/fetch")
    assert response.status_code == 302

    state = check(asset.id)
    assert state.outcome == "host_key_changed"
    key = services.host_key_of(asset.id)
    assert key.key == trusted
    assert key.pending_key == sshd_peer.host_key
    assert key.pending_fingerprint == host_key_fingerprint(sshd_peer.host_key)
    assert versions(asset.id) == []  # nothing fetched, no credentials sent
    assert events(asset.id) == ["host_key_changed"]
    page = engineer.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "Host key changed" in page and key.pending_fingerprint in page
    assert "Review and accept the new key" not in page  # admins only
    listing = engineer.get("/netconfig/").get_data(as_text=True)
    assert 'id="host-keys"' in listing and asset.tag in listing
    # Only administrators accept it.
    assert engineer.post(f"/netconfig/assets/{asset.id}/accept-key").status_code == 403
    assert client_for("manager").post(f"/netconfig/assets/{asset.id}/accept-key").status_code == 403

    admin = client_for("admin")
    confirm = admin.get(f"/netconfig/assets/{asset.id}/accept-key").get_data(as_text=True)
    assert key.pending_fingerprint in confirm and key.fingerprint in confirm
    assert admin.post(f"/netconfig/assets/{asset.id}/accept-key").status_code == 302
    db.session.expire_all()
    key = services.host_key_of(asset.id)
    assert key.key == sshd_peer.host_key and key.pending_key is None
    history = db.session.scalars(
        sa.select(ChangeLog).where(
            ChangeLog.object_type == "ssh_host_keys", ChangeLog.object_id == key.id
        )
    ).all()
    assert any(row.action == "update" and "key" in row.changes for row in history)
    assert events(asset.id)[-1] == "host_key_accepted"

    # The next run logs in and backs up.
    assert admin.post(f"/netconfig/assets/{asset.id}/fetch").status_code == 302
    assert check(asset.id).outcome == "ok"
    assert len(versions(asset.id)) == 1


def test_refused_login_and_timeout_are_recorded_results(
    app, make_asset, district, sshd_peer, silent_server
):
    app.config["NETCONFIG_TIMEOUT_SECONDS"] = 1
    wrong = make_profile(sshd_peer.username, "not-the-password", name="Wrong")
    refused = ssh_asset(
        make_asset,
        district["block"],
        sshd_peer.address,
        sshd_peer.port,
        wrong,
        "linux",
        "OTH",
        model=("Dell", "R1"),
    )
    silent = ssh_asset(
        make_asset,
        district["block"],
        silent_server[0],
        silent_server[1],
        wrong,
        "cisco_ios",
        model=("Cisco", "C1"),
    )

    refused_id, silent_id = refused.id, silent.id
    summary = jobs.backup(utcnow())

    assert "2 devices, 0 new configurations" in summary
    assert "1 auth_failed" in summary and "1 timeout" in summary
    assert check(refused_id).outcome == "auth_failed"
    assert "not-the-password" not in check(refused_id).error
    assert check(silent_id).outcome == "timeout"
    assert versions(refused_id) == [] and versions(silent_id) == []
    # TOFU still stored the refusing server's key (it was shown before the login).
    assert services.host_key_of(refused_id).key == sshd_peer.host_key


# --- Cisco IOS facts and the register --------------------------------------------------------


def test_cisco_facts_mismatch_offers_update_and_applying_it_records_history(
    app, client_for, make_asset, district, fake_switch
):
    profile = make_profile(fake_switch.username, fake_switch.password)
    asset = ssh_asset(
        make_asset,
        district["block"],
        fake_switch.address,
        fake_switch.port,
        profile,
        "cisco_ios",
        serial="WRONG-SERIAL",
        model=("Cisco", "ws-c9999"),
    )
    engineer = client_for("engineer")
    assert engineer.post(f"/netconfig/assets/{asset.id}/fetch").status_code == 302
    state = check(asset.id)
    assert state.outcome == "ok", state.error
    assert state.hostname == fake_switch.hostname
    assert state.serial and state.model
    [version] = versions(asset.id)
    assert f"hostname {fake_switch.hostname}" in version.text

    page = engineer.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "The device disagrees with the register" in page
    assert state.serial in page and "WRONG-SERIAL" in page
    assert "Update the register" not in page.split("nc-mismatch", 1)[1].split("</div>")[0]
    assert engineer.post(f"/netconfig/assets/{asset.id}/apply-facts").status_code == 403

    manager = client_for("manager")
    assert "Update the register" in manager.get(f"/assets/{asset.id}").get_data(as_text=True)
    confirm = manager.get(f"/netconfig/assets/{asset.id}/apply-facts").get_data(as_text=True)
    assert state.model in confirm
    assert manager.post(f"/netconfig/assets/{asset.id}/apply-facts").status_code == 302
    db.session.expire_all()
    asset = db.session.get(Asset, asset.id)
    assert asset.serial == state.serial
    assert asset.model.name == state.model
    assert asset.model.manufacturer.name == "Cisco"
    row = db.session.scalars(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == "assets", ChangeLog.object_id == asset.id)
        .order_by(ChangeLog.id.desc())
    ).first()
    assert row.action == "update" and {"serial", "model_id"} <= set(row.changes)
    assert row.actor_name == "user" or row.actor_id is not None
    # Agreement now: no offer.
    assert "The device disagrees" not in manager.get(f"/assets/{asset.id}").get_data(as_text=True)


@pytest.fixture(scope="module")
def enable_switch():
    """fake-switches' Cisco IOS with an enable secret other than the login password."""
    with running_enable_switch() as switch:
        yield switch


def test_cisco_backup_uses_the_profiles_enable_secret_set_through_the_form(
    app, client_for, make_asset, district, enable_switch, caplog
):
    caplog.set_level(logging.DEBUG)
    profile = make_profile(enable_switch.username, enable_switch.password, name="Switches")
    asset = ssh_asset(
        make_asset,
        district["block"],
        enable_switch.address,
        enable_switch.port,
        profile,
        "cisco_ios",
        model=("Cisco", "WS-C3560"),
    )
    asset_id, profile_id = asset.id, profile.id
    engineer = client_for("engineer")

    # No enable secret in the profile: the password is tried as it, and refused.
    assert engineer.post(f"/netconfig/assets/{asset_id}/fetch").status_code == 302
    state = check(asset_id)
    assert state.outcome == "auth_failed"
    assert state.error == "enable refused the SSH password (is an enable secret needed?)"
    assert versions(asset_id) == []

    # A manager adds the enable secret, every other secret left empty (kept).
    form = {
        "name": "Switches",
        "snmp_version": "v2c",
        "snmp_port": 161,
        "snmp_auth_protocol": "none",
        "snmp_priv_protocol": "none",
        "ssh_username": enable_switch.username,
        "ssh_enable_secret": enable_switch.enable_secret,
    }
    manager = client_for("manager")
    assert manager.post(f"/credentials/{profile_id}/edit", data=form).status_code == 302

    assert engineer.post(f"/netconfig/assets/{asset_id}/fetch").status_code == 302
    state = check(asset_id)
    assert state.outcome == "ok", state.error
    assert state.hostname == enable_switch.hostname
    [version] = versions(asset_id)
    assert f"hostname {enable_switch.hostname}\n" in version.text

    secrets = (enable_switch.password, enable_switch.enable_secret)
    for client, url in (
        (engineer, f"/assets/{asset_id}"),
        (engineer, "/netconfig/"),
        (engineer, f"/netconfig/assets/{asset_id}/configs/1"),
        (manager, "/credentials/"),
        (manager, f"/credentials/{profile_id}"),
        (manager, f"/credentials/{profile_id}/edit"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert not any(secret in body for secret in secrets), url
    assert "ssh_enable_secret: set" in manager.get(f"/credentials/{profile_id}").get_data(
        as_text=True
    )
    assert "auth_failed: enable refused the SSH password" in caplog.text  # the probe's log
    assert not any(secret in caplog.text for secret in secrets)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_model_differing_only_in_case_is_no_mismatch(app, make_asset, district):
    asset = make_asset(district["block"], "SWT", model=("Cisco", "WS-C2960"), serial="S1")
    db.session.add(
        SshCheck(asset_id=asset.id, outcome="ok", model="ws-c2960", serial="S1", facts_at=utcnow())
    )
    db.session.commit()
    assert services.facts_mismatches(asset, services.check_of(asset.id)) == []


# --- managing, roles and escaping ----------------------------------------------------------------


def test_manager_manages_an_asset_with_defaults_from_its_category(
    app, client_for, make_asset, district
):
    no_ssh = save_profile(
        None,
        plain={"name": "SNMP only", "snmp_version": "v2c"},
        new_secrets={"snmp_community": "public"},
    )
    asset = make_asset(
        district["block"],
        "RTR",
        model=("Cisco", "ISR4331"),
        management_address="10.20.1.1",
        credential_profile_id=no_ssh.id,
    )
    manager = client_for("manager")
    page = manager.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "Manage over SSH" not in page  # no SSH user in its profile
    refused = manager.post(
        f"/netconfig/assets/{asset.id}/manage", data={"device_type": "cisco_ios", "port": "22"}
    )
    assert refused.status_code == 422
    assert "has no SSH user" in refused.get_data(as_text=True)

    save_profile(no_ssh, plain={"ssh_username": "netops"}, new_secrets={"ssh_password": "pw"})
    db.session.commit()
    assert "Manage over SSH" in manager.get(f"/assets/{asset.id}").get_data(as_text=True)
    form = manager.get(f"/netconfig/assets/{asset.id}/manage").get_data(as_text=True)
    assert '<option selected value="cisco_ios">' in form
    done = manager.post(
        f"/netconfig/assets/{asset.id}/manage",
        data={"device_type": "cisco_ios", "port": "2222", "enabled": "y"},
    )
    assert done.status_code == 302
    device = services.device_of(asset.id)
    assert (device.device_type, device.port, device.enabled) == ("cisco_ios", 2222, True)
    # Viewers see the panel, but no buttons.
    viewer_page = client_for("viewer").get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "SSH facts and configuration" in viewer_page
    assert "Fetch now" not in viewer_page and "SSH settings" not in viewer_page
    assert "Fetch now" in client_for("engineer").get(f"/assets/{asset.id}").get_data(as_text=True)


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_facts_errors_and_configs_render_escaped(app, client_for, make_asset, district):
    profile = make_profile("netops", "pw")
    asset = ssh_asset(make_asset, district["block"], "10.0.0.9", 22, profile, "cisco_ios")
    now = utcnow()
    db.session.add(
        SshCheck(
            asset_id=asset.id,
            outcome="error",
            error=HOSTILE,
            model=HOSTILE,
            serial=HOSTILE,
            os_version=HOSTILE,
            hostname=HOSTILE,
            facts_at=now,
        )
    )
    services.store_config(asset.id, "hostname a\nbanner motd x\n", now)
    services.store_config(asset.id, f"hostname a\nbanner motd {HOSTILE}\n", now)
    db.session.commit()
    viewer = client_for("viewer")
    for url in (
        f"/assets/{asset.id}",
        "/netconfig/",
        f"/netconfig/assets/{asset.id}/configs",
        f"/netconfig/assets/{asset.id}/configs/2",
        f"/netconfig/assets/{asset.id}/diff?from=1&to=2",
    ):
        body = viewer.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, url
    manager_confirm = client_for("manager").get(f"/netconfig/assets/{asset.id}/apply-facts")
    assert "<script>alert" not in manager_confirm.get_data(as_text=True)


def test_diff_page_shows_the_changed_lines_classed_and_escaped(
    app, client_for, make_asset, district
):
    asset = make_asset(district["block"], "SWT")
    now = utcnow()
    services.store_config(asset.id, "hostname a\ninterface Gi0/1\n description <old>\n", now)
    services.store_config(
        asset.id, "hostname a\ninterface Gi0/1\n description <new & better>\n", now
    )
    services.store_config(
        asset.id, "hostname c\ninterface Gi0/1\n description <new & better>\n", now
    )
    db.session.commit()
    viewer = client_for("viewer")

    body = viewer.get(f"/netconfig/assets/{asset.id}/diff?from=1&to=2").get_data(as_text=True)
    assert '<div class="nc-del">- description &lt;old&gt;</div>' in body
    assert '<div class="nc-add">+ description &lt;new &amp; better&gt;</div>' in body
    assert '<div class="nc-same"> hostname a</div>' in body
    # Any two versions: 1 to 3 shows both changes; the default is the latest pair.
    both = viewer.get(f"/netconfig/assets/{asset.id}/diff?from=1&to=3").get_data(as_text=True)
    assert '<div class="nc-add">+hostname c</div>' in both and "&lt;old&gt;" in both
    latest = viewer.get(f"/netconfig/assets/{asset.id}/diff").get_data(as_text=True)
    assert "+hostname c" in latest and "&lt;old&gt;" not in latest
    assert viewer.get(f"/netconfig/assets/{asset.id}/diff?from=1&to=9").status_code == 404
    history = viewer.get(f"/netconfig/assets/{asset.id}/configs").get_data(as_text=True)
    assert "version 3" in history and "Configuration changed" in history
