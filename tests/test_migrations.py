"""The migrations build the schema the models describe, on SQLite and on PostgreSQL, and undo it.

Runs on an empty SQLite file always, and on a new PostgreSQL database of its own when
INVENTORY_TEST_DATABASE_URL names a server (the PostgreSQL lane).
"""

from __future__ import annotations

import logging
import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from support import temporary_database

from inventory import create_app
from inventory.extensions import MIGRATIONS_DIR, db

PG_ENV = "INVENTORY_TEST_DATABASE_URL"
LANES = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@pytest.fixture(params=LANES)
def empty_database_url(request, tmp_path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrations.sqlite3")
        return
    with temporary_database(_psycopg(os.environ[PG_ENV]), "inventory_migrations") as url:
        yield url


@pytest.fixture
def migrating_app(empty_database_url, tmp_path):
    """An app on the empty database; no create_all: the schema comes from the migrations."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": empty_database_url,
            "CREDENTIALS_KEY_FILE": str(tmp_path / "credentials.key"),
        }
    )
    loggers = {name: logger.disabled for name, logger in _all_loggers().items()}
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()
    # Alembic's env.py configures logging; the loggers that existed must still work.
    for name, was_disabled in loggers.items():
        assert _all_loggers()[name].disabled == was_disabled, f"logger {name} was disabled"


def _all_loggers() -> dict[str, logging.Logger]:
    return {
        name: logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }


def _differences(metadata: sa.MetaData | None = None) -> list:
    """What autogenerate would write for a new migration (nothing, when they agree)."""
    options = dict(current_app.extensions["migrate"].configure_args)
    options.pop("render_item", None)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=options)
        return compare_metadata(context, metadata if metadata is not None else db.metadata)


def _current_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _head() -> str:
    return ScriptDirectory(MIGRATIONS_DIR).get_current_head()


def _tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_migrations_build_the_models_schema_and_come_down_again(migrating_app):
    assert _tables() == set()
    upgrade(directory=MIGRATIONS_DIR)
    assert _current_revision() == _head()
    assert _tables() >= {table.name for table in db.metadata.sorted_tables}
    assert _differences() == []

    downgrade(directory=MIGRATIONS_DIR, revision="base")
    assert _current_revision() is None
    assert _tables() <= {"alembic_version"}

    upgrade(directory=MIGRATIONS_DIR)
    assert _current_revision() == _head()
    assert _differences() == []


def test_the_comparison_sees_a_model_the_migrations_lack(migrating_app):
    """A column, a table or a type that exists only in the models shows up as a difference."""
    upgrade(directory=MIGRATIONS_DIR)
    models = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(models)
    models.tables["sites"].append_column(sa.Column("pin_code", sa.String(6), nullable=True))
    sa.Table("not_migrated", models, sa.Column("id", sa.Integer, primary_key=True))
    models.tables["users"].c.username.type = sa.String(80)

    found = set()
    for diff in _differences(models):
        if isinstance(diff, list):  # [("modify_type", schema, table, column, ...)]
            found.update((change[0], change[2], change[3]) for change in diff)
        elif diff[0] == "add_column":  # ("add_column", schema, table, column)
            found.add(("add_column", diff[2], diff[3].name))
        elif diff[0] == "add_table":
            found.add(("add_table", diff[1].name, None))
        else:
            found.add((diff[0], None, None))
    assert found == {
        ("add_column", "sites", "pin_code"),
        ("add_table", "not_migrated", None),
        ("modify_type", "users", "username"),
    }


def test_the_schema_of_a_migrated_database_works(migrating_app):
    """A user and a site written through the services into a migrated (not create_all) schema."""
    from inventory.auth.services import create_user
    from inventory.sites.services import create_site

    upgrade(directory=MIGRATIONS_DIR)
    user = create_user("migrated", "a-long-password-1", "admin")
    site = create_site(
        code="GON-HQ", name_en="Gonda HQ", name_hi="गोण्डा मुख्यालय", kind="district_hq"
    )
    db.session.commit()
    assert user.id and site.id


def test_0009_rolls_up_what_was_recorded_as_the_app_does(migrating_app):
    """Checks and polls recorded before the hourly tables existed are rolled up by the
    migration exactly as devices.services.roll_up_hours rolls them up."""
    from datetime import UTC, datetime, timedelta

    from inventory.assets.services import create_asset
    from inventory.catalog.services import ensure_default_categories, get_category_by_code
    from inventory.devices.models import ProjectorHourly, ProjectorSample, VcCheck, VcHourly
    from inventory.devices.services import roll_up_hours
    from inventory.sites.services import create_site

    upgrade(directory=MIGRATIONS_DIR, revision="0008")
    ensure_default_categories()
    site = create_site(code="BLK-X", name_en="Block X", kind="district_hq")
    codec = create_asset(category_id=get_category_by_code("VCC").id, site_id=site.id)
    projector = create_asset(category_id=get_category_by_code("PRJ").id, site_id=site.id)
    start = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    for minutes in range(0, 180, 20):  # three hours, three readings each
        at = start + timedelta(minutes=minutes)
        db.session.add(VcCheck(asset_id=codec.id, at=at, reachable=minutes != 80, open_ports=[]))
        db.session.add(
            ProjectorSample(
                asset_id=projector.id,
                at=at,
                outcome="timeout" if minutes == 140 else "ok",
                worst_error="error" if minutes == 20 else None,
            )
        )
    db.session.commit()
    upgrade(directory=MIGRATIONS_DIR)

    def hourly(model) -> list[tuple]:
        rows = db.session.scalars(sa.select(model).order_by(model.asset_id, model.hour)).all()
        return [(r.asset_id, r.hour, r.readings, r.good) for r in rows]

    migrated = {model: hourly(model) for model in (VcHourly, ProjectorHourly)}
    assert migrated[VcHourly] == [
        (codec.id, start, 3, 3),
        (codec.id, start + timedelta(hours=1), 3, 2),
        (codec.id, start + timedelta(hours=2), 3, 3),
    ]
    assert [r[3] for r in migrated[ProjectorHourly]] == [2, 3, 2]
    roll_up_hours(start)
    assert {model: hourly(model) for model in migrated} == migrated
