"""The ChangeLog row and the Audited mixin that opts a model into it."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Mapper

from inventory.extensions import db
from inventory.models_base import UTCDateTime, utcnow


class Audited:
    """A model whose every create, update and delete is written to the change log.

    __audit_exclude__ lists columns not worth recording (timestamps);
    __audit_redact__ lists columns whose values are secret: the log records
    only that they changed.
    """

    __audit_exclude__: tuple[str, ...] = ("created_at", "updated_at")
    __audit_redact__: tuple[str, ...] = ()

    def audit_label(self) -> str:
        return str(self)


def _keep_value(target, value, oldvalue, initiator):
    return value


@event.listens_for(Mapper, "mapper_configured")
def _load_old_values_on_set(mapper: Mapper, cls: type) -> None:
    """Audited columns fetch their old value before a change, even on an expired object.

    Otherwise setting an attribute of an object that a commit expired would record
    "before" as nothing: SQLAlchemy does not load what it overwrites.
    """
    if issubclass(cls, Audited):
        for attr in mapper.column_attrs:
            event.listen(
                getattr(cls, attr.key), "set", _keep_value, active_history=True, retval=True
            )


class ChangeLog(db.Model):
    """One recorded change: who did what to which object, with before and after values."""

    __tablename__ = "change_log"

    id = db.Column(db.Integer, primary_key=True)
    created_at = db.Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor_id = db.Column(db.Integer, nullable=True, index=True)
    actor_name = db.Column(db.String(120), nullable=False, default="system")
    object_type = db.Column(db.String(40), nullable=False)
    object_id = db.Column(db.Integer, nullable=False)
    object_label = db.Column(db.String(255), nullable=False, default="")
    action = db.Column(db.String(10), nullable=False)
    changes = db.Column(db.JSON, nullable=False, default=dict)

    __table_args__ = (db.Index("ix_change_log_object", "object_type", "object_id"),)
