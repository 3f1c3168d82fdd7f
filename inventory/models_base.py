"""Column helpers shared by every domain's models."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from inventory.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Timestamped:
    """created_at and updated_at, set by the database session."""

    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


def references_to(obj, *, blocking_only: bool = False) -> dict[str, int]:
    """Rows of other tables whose foreign keys point at `obj`, counted per table.

    blocking_only: only keys that forbid the delete (RESTRICT / NO ACTION); rows that
    cascade or are set to NULL are left out. Without it, every reference counts, so that a
    delete never quietly takes dependent records (a maintenance plan, a contract rule) along.
    """
    table = obj.__table__
    counts: dict[str, int] = {}
    for other in db.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            if blocking_only and (fk.ondelete or "RESTRICT").upper() not in (
                "RESTRICT",
                "NO ACTION",
            ):
                continue
            n = db.session.scalar(
                sa.select(sa.func.count()).select_from(other).where(fk.parent == obj.id)
            )
            if n:
                counts[other.name] = counts.get(other.name, 0) + n
    return counts
