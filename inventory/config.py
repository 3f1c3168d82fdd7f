"""Configuration: defaults < instance/config.py < INVENTORY_* env < DATABASE_URL < test mapping."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

DEV_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - the value refusal checks for


class Defaults:
    """Values used when nothing else sets them."""

    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None  # None means SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SQLITE_BUSY_TIMEOUT_MS = 5000
    SOCIETY_NAME = "District e-Governance Society, Gonda"
    SOCIETY_NAME_HI = "डिस्ट्रिक्ट ई-गवर्नेन्स सोसाइटी, गोण्डा"
    DISTRICT_CODE = "GON"
    # Placeholders: {district}, {category} (category code) and {seq} (per-prefix counter).
    TAG_PATTERN = "{district}-{category}-{seq:04d}"
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    LANGUAGES = ("hi", "en")
    BABEL_DEFAULT_LOCALE = "hi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Kolkata"
    PAGE_SIZE = 50
    MAX_PAGE_SIZE = 200
    # Login throttling: after LOGIN_MAX_FAILURES consecutive failures the account
    # is locked for LOGIN_LOCK_MINUTES (doubling for each further failure).
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # a form left open on a phone at a site must still submit
    # Credentials encryption keys (Fernet, urlsafe base64). The first one encrypts;
    # all of them decrypt (key rotation). When empty, CREDENTIALS_KEY_FILE is read.
    CREDENTIALS_KEYS: list[str] = []
    CREDENTIALS_KEY_FILE = "credentials.key"
    IMPORT_MAX_BYTES = 2 * 1024 * 1024
    IMPORT_MAX_ROWS = 5000
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_KIB = 65536
    # Health sweeps (docs/HEALTH.md). A category's poll_interval_seconds overrides the interval.
    HEALTH_INTERVAL_SECONDS = 300
    HEALTH_DOWN_AFTER = 2  # consecutive failed polls before a device is "down"
    # A device that failed but is not down yet is polled again this soon (not after the
    # full interval), so a dead device is reported down in about a minute, not ten.
    HEALTH_RECHECK_SECONDS = 60
    HEALTH_CONCURRENCY = 200  # SNMP requests in flight at once (per probe process)
    HEALTH_PROCESSES = 1  # probe processes; 2 uses both cores of a small server
    HEALTH_TIMEOUT = 2.0  # seconds per SNMP request
    HEALTH_RETRIES = 1
    HEALTH_LEASE_SECONDS = 300  # a dead sweeper's lease expires after this; renewed while alive
    HEALTH_BATCH_SIZE = 500  # results written per transaction
    HEALTH_PROBE_CHUNK = 5000  # most targets probed between two lease renewals
    HEALTH_TICK_SECONDS = 10  # how often the scheduler looks for due devices
    HEALTH_RETENTION_EVERY_SECONDS = 3600
    HEALTH_RAW_DAYS = 7  # raw samples and per-sweep results
    HEALTH_HOURLY_DAYS = 365  # hourly rollups
    # Tickets: days from opening to the due date, per priority (missing ones use the default).
    TICKET_SLA_DEFAULT_DAYS = 7
    TICKET_SLA_DAYS: dict[str, int] = {}


ENV_PREFIX = "INVENTORY_"


def _parse_env_value(raw: str) -> Any:
    """Environment values are JSON when they parse as JSON (numbers, lists, booleans)."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Apply each configuration layer in order, then check the result."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for name, raw in os.environ.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            app.config[name[len(ENV_PREFIX) :]] = _parse_env_value(raw)
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if test_config:
        app.config.update(test_config)

    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        uri = "sqlite:///" + str(Path(app.instance_path) / "inventory.sqlite3")
    if uri.startswith("postgres://"):  # the form some hosts hand out
        uri = "postgresql://" + uri[len("postgres://") :]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://") :]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    check_config(app)


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says how to fix it."""


def check_config(app: Flask) -> None:
    """Fail fast on settings that are unsafe outside development and testing."""
    if app.debug or app.testing or app.config.get("TESTING"):
        return
    if app.config["SECRET_KEY"] in (DEV_SECRET_KEY, "", None):
        raise ConfigError(
            "Refusing to start with the development SECRET_KEY. Set one, for example:\n"
            '  python -c "import secrets; print(secrets.token_hex(32))"\n'
            "and put it in INVENTORY_SECRET_KEY or in SECRET_KEY in "
            f"{Path(app.instance_path) / 'config.py'}"
        )
