"""Helpers shared by conftest and test modules."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def temporary_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of admin_url, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Script and attribute-breaking payloads for the escaping tests, and what a page must show.
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
RAW_MARKERS = (SCRIPT, ATTRIBUTE, "<script>alert", "<img src=x")
ESCAPED_TAIL = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"


def payload(marker: str) -> str:
    """What a hostile user or device sends: a marker naming the field, then both payloads."""
    return f"{marker}{SCRIPT}{ATTRIBUTE}"


def escaped(marker: str) -> str:
    """The same text as a correctly escaping page shows it."""
    return f"{marker}{ESCAPED_TAIL}"
