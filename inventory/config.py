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
    # Label sheets (inventory/labels): the most labels in one PDF, and the stock the print
    # form starts with ("a4-3x7", "a4-2x5" or "thermal-50x25").
    LABELS_MAX = 2000
    LABELS_DEFAULT_LAYOUT = "a4-3x7"
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
    RECEIPT_MAX_UNITS = 1000  # units in one procurement receipt (form or file)
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
    # A device down this long gets a ticket (cause "health:down"); a negative value or None
    # turns that off. The job that checks (and notes recoveries) runs this often.
    TICKET_AUTO_OPEN_AFTER_MINUTES = 30
    TICKET_HEALTH_EVERY_SECONDS = 60
    # Ticket attachments (photos and PDFs): size of each, and how many a ticket holds.
    TICKET_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
    TICKET_ATTACHMENTS_MAX = 20
    # Verification: the "sites not verified" report's default window, in days.
    VERIFY_STALE_DAYS = 90
    # AMC contracts ending within this many days are listed as ending soon (vendors pages).
    CONTRACT_EXPIRY_NOTICE_DAYS = 60
    # Preventive maintenance job (inventory/maintenance/jobs.py): how often it looks for due plans.
    MAINTENANCE_EVERY_SECONDS = 3600
    # Network devices over SSH (inventory/netconfig): how often the backup job looks for
    # devices whose last backup is older than NETCONFIG_BACKUP_HOURS, how many at once, and
    # the timeout of each SSH step (seconds).
    NETCONFIG_EVERY_SECONDS = 3600
    NETCONFIG_BACKUP_HOURS = 24
    NETCONFIG_CONCURRENCY = 8
    NETCONFIG_TIMEOUT_SECONDS = 10
    # Email (notifications/mail.py). SMTP_HOST "" means email is off (in-app notifications only).
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""  # never logged, shown or stored in error text
    SMTP_STARTTLS = False
    SMTP_SSL = False  # implicit TLS (port 465); SMTP_STARTTLS upgrades a plain connection
    SMTP_TIMEOUT = 10
    MAIL_FROM = "Sampada <sampada@localhost>"
    # Notification jobs (inventory/jobs.py): outbox sender, due-soon/overdue scan, daily digest.
    NOTIFY_SEND_EVERY_SECONDS = 60
    NOTIFY_SEND_BATCH = 50  # emails per SMTP connection and run
    NOTIFY_SEND_MAX_ATTEMPTS = 8  # then the email is marked failed
    NOTIFY_RETRY_BASE_SECONDS = 300  # retry after 5, 10, 20, ... minutes (at most 6 hours)
    NOTIFY_SEND_LEASE_SECONDS = 600  # a sender that died holding emails loses them after this
    NOTIFY_SCAN_EVERY_SECONDS = 900
    NOTIFY_DUE_SOON_HOURS = 24
    NOTIFY_DIGEST_EVERY_SECONDS = 3600
    NOTIFY_DIGEST_HOUR = 8  # local time (BABEL_DEFAULT_TIMEZONE)
    NOTIFY_KEEP_DAYS = 180  # notifications and sent/failed emails are deleted after this
    NOTIFY_PRUNE_EVERY_SECONDS = 86400
    # Uploads (inventory.files): the default size limit, the most pixels an image may have,
    # and where the blobs go (None: <instance>/uploads; a relative path is inside the instance).
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    UPLOAD_MAX_IMAGE_PIXELS = 40_000_000
    UPLOAD_FOLDER: str | None = None
    # Inspections: visits each inspector should make per week (Monday-Sunday, local time),
    # the photo size limit, and how many weeks the "last weeks" report shows by default.
    INSPECTION_WEEKLY_QUOTA = 2
    INSPECTION_PHOTO_MAX_BYTES = 3 * 1024 * 1024
    INSPECTION_REPORT_WEEKS = 8
    # Devices (inventory/devices): PJLink polls of projectors and TCP reachability of VC
    # endpoints (jobs pjlink-poll and vc-reachability), and how long their history is kept.
    PJLINK_EVERY_SECONDS = 300
    PJLINK_PORT = 4352
    PJLINK_TIMEOUT = 5.0  # seconds for a projector's whole exchange
    VC_EVERY_SECONDS = 300
    VC_PORTS = [5060, 1720, 443]  # SIP, H.323, HTTPS: reachable when any one accepts
    VC_TIMEOUT = 3.0
    DEVICES_CONCURRENCY = 50
    DEVICES_KEEP_DAYS = 60
    # The VC-readiness board (inventory/readiness): which offices join the DM's VC (a site's
    # own "joins VC" setting overrides its kind), what counts as each part, and when a
    # reading is too old to say anything about now.
    VC_EXPECTED_KINDS = ("tehsil", "block", "municipality")
    VC_ENDPOINT_CATEGORIES = ("VCC",)  # category codes of VC endpoints (codecs)
    VC_DISPLAY_CATEGORIES = ("DSP",)  # displays; projectors count by their category group
    VC_UPS_CATEGORIES = ("UPS",)
    VC_UPS_MIN_CHARGE_PCT = 50  # below this charge a UPS battery is "low"
    VC_UPS_MIN_MINUTES = 15  # or below this many minutes of backup
    VC_READING_MAX_AGE_SECONDS = 1800  # an older reachability check or PJLink poll is stale
    VC_HISTORY_DAYS = 30
    # Procurement: size of each attached quotation or sanction letter (PDF or photo), and how
    # many files a request holds.
    PROCUREMENT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    PROCUREMENT_ATTACHMENTS_MAX = 30


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
