"""The Flask extensions, created once and bound to the app in init_app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Stable constraint names so that migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def select_locale() -> str:
    """The user's saved language, else the session's choice, else the browser's, else Hindi."""
    from flask import current_app, has_request_context, session

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and jobs: no user, session or browser
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def render_migration_item(type_, obj, autogen_context):
    """Write the app's column types into migrations as plain SQLAlchemy types."""
    from inventory.models_base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_in_migrations(obj, name, type_, reflected, compare_to) -> bool:
    """PostgreSQL-only indexes (trigram search, named *_trgm) live outside the models, in DDL
    events and migrations: autogenerate must not propose dropping them."""
    return not (type_ == "index" and reflected and name and name.endswith("_trgm"))


def init_app(app: Flask) -> None:
    from inventory import models  # noqa: F401 - every table known to metadata and Alembic

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _configure_sqlite(app)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=MIGRATIONS_DIR,
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
        include_object=include_in_migrations,
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)


def _configure_sqlite(app: Flask) -> None:
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    # Copies: the default dict is shared by every app built in this process.
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {"timeout": busy_ms / 1000, **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL for a web and a scheduler process side by side; foreign keys enforced."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
