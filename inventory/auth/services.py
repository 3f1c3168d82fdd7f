"""Creating users, checking passwords with throttling, and login sessions."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from inventory.auth.models import User, UserSession
from inventory.choices import Role
from inventory.extensions import db
from inventory.models_base import utcnow


class AuthError(ValueError):
    """A user-facing refusal (bad input, a rule broken); the message is shown as is."""


def _hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=current_app.config["PASSWORD_HASH_TIME_COST"],
        memory_cost=current_app.config["PASSWORD_HASH_MEMORY_KIB"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


MIN_PASSWORD_LENGTH = 10


def check_password_rules(password: str) -> None:
    from flask_babel import gettext as _

    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(_("A password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))


def get_user_by_username(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))


def create_user(
    username: str, password: str, role: Role | str, full_name: str = "", **fields
) -> User:
    from flask_babel import gettext as _

    username = username.strip().lower()
    if get_user_by_username(username):
        raise AuthError(_("The username %(u)s is taken.", u=username))
    check_password_rules(password)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=Role(role).value,
        full_name=full_name,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, **fields) -> User:
    was_active = user.is_active
    for key, value in fields.items():
        setattr(user, key, value)
    if was_active and not user.is_active:
        end_sessions(user)
    db.session.flush()
    return user


def set_password(user: User, password: str, keep_token: str | None = None) -> None:
    """Change the password and end every other login session of that user."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(user, except_token=keep_token)
    db.session.flush()


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


@functools.cache
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    """A hash to check unknown usernames against, so they cost the same time as known ones."""
    return _hasher().hash(secrets.token_hex(16))


def authenticate(username: str, password: str) -> LoginResult:
    """Check a login; count failures and lock the account after too many in a row."""
    from flask_babel import gettext as _

    generic = _("Wrong username or password.")
    user = get_user_by_username(username)
    if user is None:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher().verify(
                _dummy_hash(
                    current_app.config["PASSWORD_HASH_TIME_COST"],
                    current_app.config["PASSWORD_HASH_MEMORY_KIB"],
                ),
                password,
            )
        return LoginResult(None, generic)
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(
            None,
            _(
                "Too many failed attempts. Try again in %(m)d minutes or ask an administrator.",
                m=minutes,
            ),
        )
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        limit = current_app.config["LOGIN_MAX_FAILURES"]
        if user.failed_logins >= limit:
            extra = user.failed_logins - limit
            lock = current_app.config["LOGIN_LOCK_MINUTES"] * (2 ** min(extra, 6))
            user.locked_until = now + timedelta(minutes=lock)
        db.session.flush()
        return LoginResult(None, generic)
    if not user.is_active:
        return LoginResult(None, _("This account is disabled. Ask an administrator."))
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return LoginResult(user)


def unlock(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, ip_address: str = "", user_agent: str = "") -> str:
    """A new login session; returns the token that the browser's cookie will carry."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user=user,
            token_hash=_token_hash(token),
            ip_address=ip_address[:45],
            user_agent=user_agent[:255],
        )
    )
    db.session.flush()
    user.session_token = token
    return token


# Writing last_seen on every request would make every page view a write.
_LAST_SEEN_RESOLUTION = timedelta(minutes=5)


def load_session_user(token: str) -> User | None:
    """The user behind a session token, if the session exists and the user is active."""
    if not token:
        return None
    session_row = db.session.scalar(
        sa.select(UserSession).where(UserSession.token_hash == _token_hash(token))
    )
    if session_row is None or not session_row.user.is_active:
        return None
    now = utcnow()
    if now - session_row.last_seen_at > _LAST_SEEN_RESOLUTION:
        session_row.last_seen_at = now
        db.session.flush()
    user = session_row.user
    user.session_token = token
    return user


def end_session(token: str) -> None:
    db.session.execute(sa.delete(UserSession).where(UserSession.token_hash == _token_hash(token)))


def end_sessions(user: User, except_token: str | None = None) -> int:
    query = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if except_token:
        query = query.where(UserSession.token_hash != _token_hash(except_token))
    return db.session.execute(query).rowcount
