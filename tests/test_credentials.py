"""Credentials profiles: secrets encrypted at rest, never shown back, rotation, validation."""

from __future__ import annotations

import io
import json
import logging
import stat

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from openpyxl import load_workbook

from inventory import crypto
from inventory.credentials import services
from inventory.credentials.models import CredentialProfile
from inventory.credentials.services import CredentialError
from inventory.extensions import db

SECRETS = {
    "snmp_community": "Community-S3cret-0001",
    "snmp_auth_key": "AuthKey-S3cret-0002",
    "snmp_priv_key": "PrivKey-S3cret-0003",
    "ssh_password": "SshPass-S3cret-0004",
    "ssh_enable_secret": "Enable-S3cret-0006",
}


def profile_form(**overrides) -> dict:
    data = {
        "name": "SWAN routers",
        "description": "Cisco routers on the UP SWAN",
        "snmp_version": "v3",
        "snmp_port": 161,
        "snmp_username": "nms-monitor",
        "snmp_auth_protocol": "sha256",
        "snmp_priv_protocol": "aes",
        "ssh_username": "netadmin",
        **SECRETS,
    }
    data.update(overrides)
    return data


def secret_free(text: str) -> bool:
    return not any(secret in text for secret in SECRETS.values())


@pytest.fixture
def admin(make_user, login):
    return login(make_user("admin", locale="en"))


@pytest.fixture
def profile(app):
    """A profile holding all five secrets, saved through the service."""
    data = profile_form()
    saved = services.save_profile(
        None,
        plain={k: data[k] for k in services.PLAIN_FIELDS},
        new_secrets=dict(SECRETS),
    )
    db.session.commit()
    return saved


def raw_rows(table: str) -> str:
    """Every column of every row of a table, as the database holds it."""
    rows = db.session.execute(sa.text(f"SELECT * FROM {table}")).all()
    return repr([tuple(row) for row in rows])


# --- at rest ----------------------------------------------------------------------------


def test_secrets_are_encrypted_at_rest_with_the_configured_key(app, admin):
    response = admin.post("/credentials/new", data=profile_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    profile = db.session.scalar(sa.select(CredentialProfile))

    stored = raw_rows("credential_profiles")
    assert secret_free(stored)
    assert "SWAN routers" in stored and "nms-monitor" in stored  # the plain settings are there
    assert secret_free(raw_rows("change_log"))

    key = Fernet(app.config["CREDENTIALS_KEYS"][0].encode())
    assert json.loads(key.decrypt(profile.secrets_token.encode())) == SECRETS
    assert services.read_secrets(profile) == SECRETS
    assert sorted(profile.secrets_set) == sorted(SECRETS)
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(profile.secrets_token.encode())


def test_rotation_with_a_new_first_key_keeps_secrets_readable(app, runner, profile):
    old_key = app.config["CREDENTIALS_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    before = profile.secrets_token

    # Only the new key: the stored token cannot be read, with a clear message.
    app.config["CREDENTIALS_KEYS"] = [new_key]
    with pytest.raises(crypto.CredentialsKeyMissing, match="cannot be decrypted"):
        services.read_secrets(profile)

    app.config["CREDENTIALS_KEYS"] = [new_key, old_key]
    assert services.read_secrets(profile) == SECRETS  # both keys decrypt
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 credentials profiles." in result.output

    db.session.expire_all()
    rotated = db.session.get(CredentialProfile, profile.id)
    assert rotated.secrets_token != before
    assert json.loads(Fernet(new_key.encode()).decrypt(rotated.secrets_token.encode())) == SECRETS
    with pytest.raises(InvalidToken):
        Fernet(old_key.encode()).decrypt(rotated.secrets_token.encode())
    # The old key can now be retired.
    app.config["CREDENTIALS_KEYS"] = [new_key]
    assert services.read_secrets(rotated) == SECRETS
    assert secret_free(raw_rows("credential_profiles"))
    assert secret_free(raw_rows("change_log"))


def test_keys_from_a_comma_separated_setting(app, profile):
    old_key = app.config["CREDENTIALS_KEYS"][0]
    app.config["CREDENTIALS_KEYS"] = f"{Fernet.generate_key().decode()}, {old_key}"
    assert services.read_secrets(profile) == SECRETS


def test_key_file_created_by_the_cli_is_private_and_used(app, runner, tmp_path):
    app.config["CREDENTIALS_KEYS"] = []
    path = tmp_path / "credentials.key"
    assert not path.exists()
    result = runner.invoke(args=["keys", "init"])
    assert result.exit_code == 0 and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    again = runner.invoke(args=["keys", "init"])
    assert "exists; nothing changed" in again.output
    assert path.read_text().strip() == key

    saved = services.save_profile(
        None, plain={"name": "From file", "snmp_version": "v2c"}, new_secrets=dict(SECRETS)
    )
    assert json.loads(Fernet(key.encode()).decrypt(saved.secrets_token.encode())) == SECRETS


def test_missing_key_gives_a_clear_message(app, admin):
    app.config["CREDENTIALS_KEYS"] = []  # and the test's key file was never created
    response = admin.post("/credentials/new", data=profile_form())
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "No credentials encryption key. Run `inventory keys init` to create" in body
    assert "or set INVENTORY_CREDENTIALS_KEYS." in body
    assert secret_free(body)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CredentialProfile)) == 0


# --- never shown back -------------------------------------------------------------------


def test_secrets_never_appear_in_pages(admin, profile, district, make_asset):
    asset = make_asset(district["hq"], "RTR", credential_profile_id=profile.id)
    pages = {
        "/credentials/": "SWAN routers",
        f"/credentials/{profile.id}": "nms-monitor",
        f"/credentials/{profile.id}/edit": 'value="nms-monitor"',
        f"/credentials/{profile.id}/delete": "SWAN routers",
        f"/assets/{asset.id}": "SWAN routers",
        f"/assets/{asset.id}/edit": "SWAN routers",
        "/history/": "credential_profiles",
    }
    for url, expected in pages.items():
        response = admin.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert expected in body, url
        assert secret_free(body), url
    detail = admin.get(f"/credentials/{profile.id}").get_data(as_text=True)
    for field in SECRETS:
        assert f"{field}: set" in detail
    edit = admin.get(f"/credentials/{profile.id}/edit").get_data(as_text=True)
    for field in SECRETS:
        assert f'name="{field}" type="password" value=""' in edit


def test_history_records_secret_changes_redacted(admin, profile):
    response = admin.post(
        f"/credentials/{profile.id}/edit",
        data=profile_form(
            snmp_community="", snmp_auth_key="", snmp_priv_key="", ssh_password="NewSsh-S3cret-0005"
        ),
    )
    assert response.status_code == 302
    from inventory.audit.models import ChangeLog

    rows = db.session.scalars(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == "credential_profiles")
        .order_by(ChangeLog.id)
    ).all()
    assert [r.action for r in rows] == ["create", "update"]
    assert rows[0].changes["secrets_token"] == [None, "[redacted]"]
    assert rows[1].changes["secrets_token"] == ["[redacted]", "[redacted] (changed)"]
    dump = json.dumps([r.changes for r in rows])
    assert secret_free(dump) and "NewSsh-S3cret-0005" not in dump
    for url in (f"/credentials/{profile.id}", "/history/"):
        body = admin.get(url).get_data(as_text=True)
        assert "[redacted]" in body
        assert secret_free(body) and "NewSsh-S3cret-0005" not in body


def test_secrets_never_appear_in_exports(admin, profile, district, make_asset):
    make_asset(district["hq"], "RTR", credential_profile_id=profile.id, serial="EXPORT-1")
    csv_body = admin.get("/assets/export.csv").get_data(as_text=True)
    assert "EXPORT-1" in csv_body
    assert secret_free(csv_body)
    xlsx = admin.get("/assets/export.xlsx").get_data()
    cells = [
        str(cell)
        for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]
    assert "EXPORT-1" in cells
    assert secret_free(" ".join(cells))


@pytest.fixture
def debug_logs(app, caplog):
    """Every log record at DEBUG, from before the first database connection of the test."""
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING unless told; open them fully too.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    # ...and the engine's own, which Alembic's logging configuration (a migration test run
    # earlier in the session) leaves at WARNING.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    return caplog


def test_secrets_never_reach_the_logs(debug_logs, admin):
    caplog = debug_logs
    response = admin.post("/credentials/new", data=profile_form())
    assert response.status_code == 302
    profile = db.session.scalar(sa.select(CredentialProfile))
    services.save_profile(
        profile,
        plain={"name": profile.name},
        new_secrets={"ssh_password": "Rotated-Ssh-S3cret"},
    )
    db.session.commit()
    # The database statements were logged (with their parameters), so there was something to leak.
    assert "INSERT INTO credential_profiles" in caplog.text
    assert "UPDATE credential_profiles" in caplog.text
    assert secret_free(caplog.text)
    assert "Rotated-Ssh-S3cret" not in caplog.text


def test_a_refused_form_does_not_echo_the_typed_secrets(admin, profile):
    response = admin.post(
        "/credentials/new", data=profile_form(name="SWAN routers", description="Typed again")
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Another profile is called SWAN routers." in body
    assert 'value="Typed again"' in body  # plain settings are kept
    assert secret_free(body)


# --- editing ----------------------------------------------------------------------------


def test_empty_secret_fields_keep_the_stored_values(admin, profile):
    token = profile.secrets_token
    response = admin.post(
        f"/credentials/{profile.id}/edit",
        data=profile_form(
            description="Renamed only",
            snmp_community="",
            snmp_auth_key="",
            snmp_priv_key="",
            ssh_password="",
            ssh_enable_secret="",
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(CredentialProfile, profile.id)
    assert saved.description == "Renamed only"
    assert saved.secrets_token == token  # not even re-encrypted
    assert services.read_secrets(saved) == SECRETS

    response = admin.post(
        f"/credentials/{profile.id}/edit",
        data=profile_form(
            snmp_community="", snmp_auth_key="", snmp_priv_key="", ssh_password="Changed-Ssh-1"
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert services.read_secrets(db.session.get(CredentialProfile, profile.id)) == {
        **SECRETS,
        "ssh_password": "Changed-Ssh-1",
    }


def test_enable_secret_is_optional_kept_when_left_empty_and_changeable(admin, profile):
    form = admin.get("/credentials/new").get_data(as_text=True)
    assert "Enable secret (Cisco IOS)" in form
    assert "With none stored, the SSH password is used." in form
    without = profile_form(name="No enable secret", ssh_enable_secret="")
    assert admin.post("/credentials/new", data=without).status_code == 302
    saved = db.session.scalar(
        sa.select(CredentialProfile).where(CredentialProfile.name == "No enable secret")
    )
    assert "ssh_enable_secret" not in services.read_secrets(saved)
    assert not saved.has_secret("ssh_enable_secret")
    detail = admin.get(f"/credentials/{saved.id}").get_data(as_text=True)
    assert "ssh_password: set" in detail and "ssh_enable_secret: set" not in detail

    # Set later on its own; the other secrets stay as they were.
    blank = dict.fromkeys(SECRETS, "")
    edit = profile_form(name="No enable secret", **{**blank, "ssh_enable_secret": "Later-Enable-7"})
    assert admin.post(f"/credentials/{saved.id}/edit", data=edit).status_code == 302
    db.session.expire_all()
    saved = db.session.get(CredentialProfile, saved.id)
    assert services.read_secrets(saved) == {**SECRETS, "ssh_enable_secret": "Later-Enable-7"}
    assert saved.has_secret("ssh_enable_secret")
    for url in ("/credentials/", f"/credentials/{saved.id}", f"/credentials/{saved.id}/edit"):
        body = admin.get(url).get_data(as_text=True)
        assert "Later-Enable-7" not in body and secret_free(body), url
    assert 'name="ssh_enable_secret" type="password" value=""' in body

    # Left empty on the next save: kept.
    keep = profile_form(name="No enable secret", description="Renamed", **blank)
    assert admin.post(f"/credentials/{saved.id}/edit", data=keep).status_code == 302
    db.session.expire_all()
    saved = db.session.get(CredentialProfile, saved.id)
    assert saved.description == "Renamed"
    assert services.read_secrets(saved)["ssh_enable_secret"] == "Later-Enable-7"


def test_clearing_removes_every_secret(admin, profile):
    response = admin.post(
        f"/credentials/{profile.id}/edit",
        data=profile_form(
            snmp_version="none",
            snmp_community="",
            snmp_auth_key="",
            snmp_priv_key="",
            ssh_password="",
            ssh_enable_secret="",
            clear_secrets="y",
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(CredentialProfile, profile.id)
    assert saved.secrets_token == ""
    assert saved.secrets_set == []
    assert services.read_secrets(saved) == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"snmp_version": "v2c", "snmp_community": ""}, "SNMP v1 and v2c need a community."),
        ({"snmp_version": "v1", "snmp_community": ""}, "SNMP v1 and v2c need a community."),
        ({"snmp_username": ""}, "SNMPv3 needs a user name."),
        (
            {"snmp_auth_protocol": "none", "snmp_priv_protocol": "aes"},
            "SNMPv3 privacy needs authentication too.",
        ),
        ({"snmp_auth_key": "short"}, "The SNMPv3 authentication key needs at least 8 characters."),
        ({"snmp_auth_key": ""}, "The SNMPv3 authentication key needs at least 8 characters."),
        ({"snmp_priv_key": "1234567"}, "The SNMPv3 privacy key needs at least 8 characters."),
    ],
)
def test_validation_messages(admin, overrides, message):
    response = admin.post("/credentials/new", data=profile_form(**overrides))
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body
    assert 'value="SWAN routers"' in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CredentialProfile)) == 0


def test_valid_variants(app):
    for name, plain, secrets in (
        ("v2c", {"snmp_version": "v2c"}, {"snmp_community": "public-ish"}),
        ("v3 no auth", {"snmp_version": "v3", "snmp_username": "u"}, {}),
        (
            "v3 auth only",
            {"snmp_version": "v3", "snmp_username": "u", "snmp_auth_protocol": "sha"},
            {"snmp_auth_key": "12345678"},
        ),
        ("ssh only", {"snmp_version": "none", "ssh_username": "admin"}, {"ssh_password": "pw"}),
    ):
        defaults = {"snmp_auth_protocol": "none", "snmp_priv_protocol": "none"}
        saved = services.save_profile(
            None, plain={"name": name, **defaults, **plain}, new_secrets=secrets
        )
        assert services.read_secrets(saved) == secrets, name
    db.session.commit()


def test_stored_community_satisfies_v2c_on_edit(profile):
    services.save_profile(profile, plain={"snmp_version": "v2c"}, new_secrets={})
    assert profile.snmp_version == "v2c"
    with pytest.raises(CredentialError, match="need a community"):
        services.save_profile(
            profile, plain={"snmp_version": "v2c"}, new_secrets={}, clear_secrets=True
        )


def test_delete_refused_while_assets_use_the_profile(admin, profile, district, make_asset):
    profile_id = profile.id
    asset = make_asset(district["hq"], "RTR", credential_profile_id=profile_id)
    response = admin.post(f"/credentials/{profile.id}/delete", follow_redirects=True)
    assert "1 assets use this profile. Give them another one first." in response.get_data(
        as_text=True
    )
    assert db.session.get(CredentialProfile, profile.id) is not None
    from inventory.assets.services import update_asset

    update_asset(asset, credential_profile_id=None)
    db.session.commit()
    response = admin.post(f"/credentials/{profile_id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CredentialProfile, profile_id) is None
