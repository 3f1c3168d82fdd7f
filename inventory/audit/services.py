"""Records changes to audited models at flush time, and reads them back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from inventory.audit.models import Audited, ChangeLog
from inventory.choices import ChangeAction
from inventory.extensions import db
from inventory.models_base import utcnow

REDACTED = "[redacted]"
ACTOR_KEY = "audit_actor"


def set_actor(actor: Any | None) -> None:
    """Name who is making the changes in this database session (a User, or None for system)."""
    if actor is None:
        db.session.info.pop(ACTOR_KEY, None)
    else:
        db.session.info[ACTOR_KEY] = (actor.id, actor.username)


@contextlib.contextmanager
def acting_as(actor: Any | None) -> Iterator[None]:
    """For CLI commands and jobs: attribute the changes inside the block to actor."""
    previous = db.session.info.get(ACTOR_KEY)
    set_actor(actor)
    try:
        yield
    finally:
        if previous is None:
            db.session.info.pop(ACTOR_KEY, None)
        else:
            db.session.info[ACTOR_KEY] = previous


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


def _column_keys(obj: Audited) -> list[str]:
    mapper = inspect(obj).mapper
    return [
        attr.key
        for attr in mapper.column_attrs
        if attr.key not in obj.__audit_exclude__ and attr.key != "id"
    ]


def _shown(obj: Audited, key: str, value: Any) -> Any:
    if key in obj.__audit_redact__:
        return REDACTED if value not in (None, "", b"") else None
    return _plain(value)


def _diff(obj: Audited, action: ChangeAction) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _column_keys(obj):
        if action is ChangeAction.CREATE:
            value = state.dict.get(key)
            if value not in (None, ""):
                changes[key] = [None, _shown(obj, key, value)]
        elif action is ChangeAction.DELETE:
            value = state.dict.get(key)
            if value not in (None, ""):
                changes[key] = [_shown(obj, key, value), None]
        else:
            hist = state.attrs[key].history
            if not hist.has_changes():
                continue
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if _plain(before) == _plain(after):
                continue
            if key in obj.__audit_redact__:
                changes[key] = [REDACTED if before else None, REDACTED if after else None]
                if changes[key][0] == changes[key][1]:
                    changes[key] = [REDACTED, REDACTED + " (changed)"]
            else:
                changes[key] = [_plain(before), _plain(after)]
    return changes


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, _flush_context) -> None:
    rows: list[dict[str, Any]] = []
    actor_id, actor_name = session.info.get(ACTOR_KEY, (None, "system"))
    now = utcnow()
    groups = (
        (ChangeAction.CREATE, session.new),
        (ChangeAction.UPDATE, session.dirty),
        (ChangeAction.DELETE, session.deleted),
    )
    for action, objects in groups:
        for obj in objects:
            if not isinstance(obj, Audited):
                continue
            if action is ChangeAction.UPDATE and not session.is_modified(obj):
                continue
            changes = _diff(obj, action)
            if action is ChangeAction.UPDATE and not changes:
                continue
            rows.append(
                {
                    "created_at": now,
                    "actor_id": actor_id,
                    "actor_name": actor_name,
                    "object_type": obj.__tablename__,
                    "object_id": inspect(obj).identity[0] if inspect(obj).identity else obj.id,
                    "object_label": obj.audit_label()[:255],
                    "action": action.value,
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(sa.insert(ChangeLog), rows)


def history_for(object_type: str, object_id: int, limit: int = 200) -> list[ChangeLog]:
    """The newest changes to one object first."""
    return db.session.scalars(
        sa.select(ChangeLog)
        .where(ChangeLog.object_type == object_type, ChangeLog.object_id == object_id)
        .order_by(ChangeLog.id.desc())
        .limit(limit)
    ).all()


def recent_changes(object_type: str | None = None):
    """A query of all changes, newest first, optionally for one kind of object."""
    query = sa.select(ChangeLog).order_by(ChangeLog.id.desc())
    if object_type:
        query = query.where(ChangeLog.object_type == object_type)
    return query
