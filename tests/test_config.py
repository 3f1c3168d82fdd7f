"""Configuration layers, the refusal of the development secret, and SQLite's connection settings."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask import Flask

from inventory import create_app
from inventory.config import DEV_SECRET_KEY, ConfigError
from inventory.extensions import db


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A clean environment and an empty instance folder of our own for create_app."""
    for name in list(os.environ):
        if name.startswith("INVENTORY_") or name in ("DATABASE_URL", "FLASK_DEBUG"):
            monkeypatch.delenv(name)
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    return folder


def _write_instance_config(folder, **values) -> None:
    lines = [f"{key} = {value!r}" for key, value in values.items()]
    (folder / "config.py").write_text("\n".join(lines) + "\n")


TESTING = {"TESTING": True}


def test_the_instance_folder_is_ours(instance):
    app = create_app(TESTING)
    assert app.instance_path == str(instance)


def test_defaults_apply_when_nothing_else_is_set(instance):
    app = create_app(TESTING)
    assert app.config["PAGE_SIZE"] == 50
    assert app.config["LOGIN_MAX_FAILURES"] == 5
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(
        instance / "inventory.sqlite3"
    )


def test_instance_config_overrides_defaults(instance):
    _write_instance_config(instance, PAGE_SIZE=10, DISTRICT_CODE="BLR")
    app = create_app(TESTING)
    assert app.config["PAGE_SIZE"] == 10
    assert app.config["DISTRICT_CODE"] == "BLR"
    assert app.config["LOGIN_MAX_FAILURES"] == 5  # untouched default


def test_environment_overrides_instance_config(instance, monkeypatch):
    _write_instance_config(instance, PAGE_SIZE=10, DISTRICT_CODE="BLR")
    monkeypatch.setenv("INVENTORY_PAGE_SIZE", "20")
    app = create_app(TESTING)
    assert app.config["PAGE_SIZE"] == 20
    assert app.config["DISTRICT_CODE"] == "BLR"


def test_environment_values_are_json_when_they_parse(instance, monkeypatch):
    monkeypatch.setenv("INVENTORY_LOGIN_MAX_FAILURES", "7")
    monkeypatch.setenv("INVENTORY_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("INVENTORY_LANGUAGES", '["en", "hi"]')
    monkeypatch.setenv("INVENTORY_SOCIETY_NAME", "DeGS Bahraich")
    app = create_app(TESTING)
    assert app.config["LOGIN_MAX_FAILURES"] == 7
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["LANGUAGES"] == ["en", "hi"]
    assert app.config["SOCIETY_NAME"] == "DeGS Bahraich"


def test_test_mapping_overrides_environment(instance, monkeypatch):
    _write_instance_config(instance, PAGE_SIZE=10)
    monkeypatch.setenv("INVENTORY_PAGE_SIZE", "20")
    app = create_app({**TESTING, "PAGE_SIZE": 30})
    assert app.config["PAGE_SIZE"] == 30


def test_database_url_order(instance, monkeypatch, tmp_path):
    uri = {name: "sqlite:///" + str(tmp_path / f"{name}.sqlite3") for name in "abcd"}
    _write_instance_config(instance, SQLALCHEMY_DATABASE_URI=uri["a"])
    assert create_app(TESTING).config["SQLALCHEMY_DATABASE_URI"] == uri["a"]

    monkeypatch.setenv("INVENTORY_SQLALCHEMY_DATABASE_URI", uri["b"])
    assert create_app(TESTING).config["SQLALCHEMY_DATABASE_URI"] == uri["b"]

    monkeypatch.setenv("DATABASE_URL", uri["c"])
    assert create_app(TESTING).config["SQLALCHEMY_DATABASE_URI"] == uri["c"]

    app = create_app({**TESTING, "SQLALCHEMY_DATABASE_URI": uri["d"]})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == uri["d"]


@pytest.mark.parametrize(
    "given",
    ["postgres://u:p@db.example:5432/inv", "postgresql://u:p@db.example:5432/inv"],
)
def test_postgres_urls_use_psycopg3(instance, monkeypatch, given):
    monkeypatch.setenv("DATABASE_URL", given)
    app = create_app(TESTING)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/inv"


def test_refuses_the_development_secret_in_production(instance):
    with pytest.raises(ConfigError) as refused:
        create_app()
    message = str(refused.value)
    assert "SECRET_KEY" in message
    assert "INVENTORY_SECRET_KEY" in message
    assert "secrets.token_hex" in message  # says how to make one
    assert str(instance / "config.py") in message  # and where to put it


def test_refuses_an_empty_secret(instance, monkeypatch):
    monkeypatch.setenv("INVENTORY_SECRET_KEY", "")
    with pytest.raises(ConfigError):
        create_app()


def test_starts_with_a_secret_from_the_environment(instance, monkeypatch):
    monkeypatch.setenv("INVENTORY_SECRET_KEY", "0f3c" * 16)
    app = create_app()
    assert app.config["SECRET_KEY"] == "0f3c" * 16
    assert not app.testing


def test_starts_with_a_secret_from_the_instance_config(instance):
    _write_instance_config(instance, SECRET_KEY="from-the-instance-folder")
    assert create_app().config["SECRET_KEY"] == "from-the-instance-folder"


def test_development_secret_is_allowed_in_debug_and_testing(instance, monkeypatch):
    assert create_app(TESTING).config["SECRET_KEY"] == DEV_SECRET_KEY
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert create_app().config["SECRET_KEY"] == DEV_SECRET_KEY


def _pragmas(app) -> list[dict]:
    """The settings of two connections at once, so that both come from the pool's connect."""
    with app.app_context():
        engine = db.engine
        try:
            with engine.connect() as first, engine.connect() as second:
                return [
                    {
                        name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                        for name in ("journal_mode", "foreign_keys", "busy_timeout")
                    }
                    for conn in (first, second)
                ]
        finally:
            engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(instance, tmp_path):
    app = create_app(
        {**TESTING, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "p.sqlite3")}
    )
    for pragmas in _pragmas(app):
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}


def test_sqlite_busy_timeout_is_configurable(instance, tmp_path):
    app = create_app(
        {
            **TESTING,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "p.sqlite3"),
            "SQLITE_BUSY_TIMEOUT_MS": 1234,
        }
    )
    assert {p["busy_timeout"] for p in _pragmas(app)} == {1234}


def test_sqlite_enforces_foreign_keys(instance, tmp_path):
    app = create_app(
        {**TESTING, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "fk.sqlite3")}
    )
    with app.app_context():
        engine = db.engine
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
                conn.exec_driver_sql(
                    "CREATE TABLE child (id INTEGER PRIMARY KEY, "
                    "parent_id INTEGER REFERENCES parent(id))"
                )
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (1, 99)")
        finally:
            engine.dispose()


def test_default_database_is_sqlite_in_the_instance_folder(instance):
    app = create_app(TESTING)
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            db.engine.dispose()
    assert (instance / "inventory.sqlite3").exists()
