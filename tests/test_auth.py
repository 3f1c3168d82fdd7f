"""Signing in and out, throttling, sessions that end when they should, and the admin's limits."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from inventory.auth.models import User, UserSession
from inventory.extensions import db

PASSWORD = "correct-horse-battery"  # the conftest factories' default
EN = {"Accept-Language": "en"}


@pytest.fixture
def browser(app):
    """Another browser: a client with its own cookies."""
    return app.test_client


def _fresh(user_id: int) -> User:
    """The user as the database has it now (requests ran in other sessions)."""
    db.session.rollback()
    return db.session.get(User, user_id)


def _flashes(response) -> list[str]:
    return re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', response.get_data(as_text=True))


def _post_login(client, username, password, url="/login", **kwargs):
    return client.post(url, data={"username": username, "password": password}, **kwargs)


def _stays_on_site(location: str) -> bool:
    """Would a browser following this Location stay on this site?

    Browsers drop tabs and newlines in URLs and read a backslash as a slash.
    """
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(seen)
    return not parts.scheme and not parts.netloc and seen.startswith("/")


def _signed_in(client) -> bool:
    response = client.get("/profile")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    return False


def test_password_is_stored_as_an_argon2_hash(make_user):
    user = make_user("viewer", password="a-long-secret-phrase")
    stored = _fresh(user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert "a-long-secret-phrase" not in stored


def test_login_and_logout(app, client, make_user):
    user = make_user("viewer")
    assert not _signed_in(client)
    response = _post_login(client, user.username, PASSWORD)
    assert response.status_code == 302
    assert response.location == "/"
    assert _signed_in(client)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1
    assert _fresh(user.id).last_login_at is not None

    response = client.post("/logout")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    assert not _signed_in(client)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_usernames_are_case_insensitive(client, make_user):
    user = make_user("viewer", username="ramesh")
    assert _post_login(client, "  RAMESH ", PASSWORD).status_code == 302
    assert _signed_in(client)
    assert user.username == "ramesh"


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    user = make_user("viewer")
    wrong = _post_login(client, user.username, "not-the-password", headers=EN)
    unknown = _post_login(client, "nobody-of-that-name", "not-the-password", headers=EN)
    assert wrong.status_code == unknown.status_code == 401
    assert _flashes(wrong) == _flashes(unknown) == ["Wrong username or password."]
    assert not _signed_in(client)


def test_lockout_after_repeated_failures_and_admin_unlock(app, client, browser, make_user, login):
    app.config["LOGIN_MAX_FAILURES"] = 3
    user = make_user("engineer")
    # Failures below the limit do not lock; a success resets the count.
    for _ in range(2):
        assert _post_login(client, user.username, "wrong-password").status_code == 401
    assert _post_login(client, user.username, PASSWORD).status_code == 302
    assert _fresh(user.id).failed_logins == 0
    client.post("/logout")

    for _ in range(3):
        assert _post_login(client, user.username, "wrong-password").status_code == 401
    assert _fresh(user.id).locked_until is not None

    # Locked: even the right password is refused, and the page says why.
    response = _post_login(client, user.username, PASSWORD, headers=EN)
    assert response.status_code == 401
    [message] = _flashes(response)
    assert "Too many failed attempts" in message
    assert "administrator" in message
    assert not _signed_in(client)

    # The lock is not a server error for an engineer to wait out: an admin lifts it.
    admin_browser = login(make_user("admin"), target_client=browser())
    response = admin_browser.post(f"/users/{user.id}/unlock")
    assert response.status_code == 302
    unlocked = _fresh(user.id)
    assert unlocked.locked_until is None
    assert unlocked.failed_logins == 0
    assert _post_login(client, user.username, PASSWORD).status_code == 302
    assert _signed_in(client)


def test_lock_lasts_the_configured_time(app, client, make_user):
    from inventory.models_base import utcnow

    app.config["LOGIN_MAX_FAILURES"] = 2
    app.config["LOGIN_LOCK_MINUTES"] = 30
    user = make_user("viewer")
    before = utcnow()
    for _ in range(2):
        _post_login(client, user.username, "wrong-password")
    locked_until = _fresh(user.id).locked_until
    assert 29 * 60 <= (locked_until - before).total_seconds() <= 31 * 60


def test_old_session_cookie_is_dead_after_logout(app, client, browser, make_user):
    user = make_user("viewer")
    _post_login(client, user.username, PASSWORD)
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.post("/logout")

    replay = browser()
    replay.set_cookie("session", cookie.value, domain=cookie.domain, path=cookie.path)
    assert not _signed_in(replay)


def _user_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "phone": user.phone,
        "role": user.role,
        "locale": user.locale,
        "is_active": "y" if user.is_active else "",
        "password": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_disabling_a_user_ends_their_sessions_at_once(client, browser, make_user, login):
    user = make_user("engineer")
    login(user)
    assert _signed_in(client)
    admin = login(make_user("admin"), target_client=browser())
    response = admin.post(f"/users/{user.id}/edit", data=_user_form(user, is_active=""))
    assert response.status_code == 302
    assert _fresh(user.id).is_active is False

    assert not _signed_in(client)
    assert db.session.scalar(sa.select(sa.func.count()).where(UserSession.user_id == user.id)) == 0
    response = _post_login(browser(), user.username, PASSWORD, headers=EN)
    assert response.status_code == 401
    assert _flashes(response) == ["This account is disabled. Ask an administrator."]


def test_admin_can_end_all_sessions_of_a_user(client, browser, make_user, login):
    user = make_user("viewer")
    login(user)
    admin = login(make_user("admin"), target_client=browser())
    assert admin.post(f"/users/{user.id}/end-sessions").status_code == 302
    assert not _signed_in(client)
    assert _signed_in(admin)


def test_password_change_ends_the_other_sessions_only(client, browser, make_user, login):
    user = make_user("viewer")
    here = login(user)
    elsewhere = login(user, target_client=browser())
    response = here.post(
        "/profile/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-new_password": "a-brand-new-passphrase",
            "pw-confirm": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 302
    assert _signed_in(here)
    assert not _signed_in(elsewhere)

    fresh = browser()
    assert _post_login(fresh, user.username, PASSWORD).status_code == 401
    assert _post_login(fresh, user.username, "a-brand-new-passphrase").status_code == 302


def test_password_change_needs_the_current_password(client, make_user, login):
    user = make_user("viewer")
    login(user)
    old_hash = _fresh(user.id).password_hash
    response = client.post(
        "/profile/password",
        data={
            "pw-current_password": "not-my-password",
            "pw-new_password": "a-brand-new-passphrase",
            "pw-confirm": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 400
    assert _fresh(user.id).password_hash == old_hash


@pytest.mark.parametrize(
    "change", [{"role": "manager"}, {"role": "viewer"}, {"is_active": ""}], ids=str
)
def test_admin_cannot_demote_or_disable_self(client, make_user, login, change):
    admin = make_user("admin")
    login(admin)
    response = client.post(f"/users/{admin.id}/edit", data=_user_form(admin, **change))
    assert response.status_code == 400
    fresh = _fresh(admin.id)
    assert fresh.role == "admin"
    assert fresh.is_active is True
    assert client.get("/users/").status_code == 200


def test_admin_can_demote_another_admin(client, make_user, login):
    other = make_user("admin")
    login(make_user("admin"))
    response = client.post(f"/users/{other.id}/edit", data=_user_form(other, role="viewer"))
    assert response.status_code == 302
    assert _fresh(other.id).role == "viewer"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "http://evil.example/",
        "https://evil.example/x",
        "https:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_login_next_refuses_other_sites(client, make_user, target):
    user = make_user("viewer")
    response = _post_login(client, user.username, PASSWORD, query_string={"next": target})
    assert response.status_code == 302
    assert _stays_on_site(response.location), response.location


def test_login_next_follows_a_local_path(client, make_user):
    user = make_user("viewer")
    response = _post_login(
        client, user.username, PASSWORD, query_string={"next": "/assets/?q=printer"}
    )
    assert response.location == "/assets/?q=printer"


def test_anonymous_visit_then_login_returns_to_the_page(client, make_user):
    user = make_user("viewer")
    response = client.get("/sites/")
    assert response.status_code == 302
    response = _post_login(client, user.username, PASSWORD, url=response.location)
    assert response.location == "/sites/"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example"])
def test_language_switch_next_refuses_other_sites(client, target):
    response = client.post("/language", data={"locale": "en", "next": target})
    assert response.status_code == 302
    assert _stays_on_site(response.location), response.location


def test_language_choice_is_saved_and_applies_at_next_login(client, browser, make_user, login):
    user = make_user("viewer", locale="hi")
    login(user)
    assert 'lang="hi"' in client.get("/profile").get_data(as_text=True)
    response = client.post("/language", data={"locale": "en", "next": "/profile"})
    assert response.status_code == 302
    assert response.location == "/profile"
    assert _fresh(user.id).locale == "en"
    client.post("/logout")

    # Another browser that asks for Hindi still gets the user's English after login.
    other = browser()
    assert (
        _post_login(other, user.username, PASSWORD, headers={"Accept-Language": "hi"}).status_code
        == 302
    )
    page = other.get("/profile", headers={"Accept-Language": "hi"}).get_data(as_text=True)
    assert 'lang="en"' in page


def test_unknown_language_is_refused(client, make_user, login):
    user = make_user("viewer", locale="hi")
    login(user)
    assert client.post("/language", data={"locale": "fr"}).status_code == 400
    assert _fresh(user.id).locale == "hi"


def test_cli_create_admin(runner, client):
    result = runner.invoke(
        args=["create-admin", "--username", "Collector", "--password", "district-admin-pass"]
    )
    assert result.exit_code == 0, result.output
    assert "collector" in result.output
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.username == "collector"))
    assert user is not None
    assert user.role == "admin"
    assert user.password_hash.startswith("$argon2")
    assert _post_login(client, "collector", "district-admin-pass").status_code == 302
    assert client.get("/users/").status_code == 200


def test_cli_create_admin_refuses_a_short_password_and_a_taken_name(runner, make_user):
    make_user("viewer", username="taken")
    result = runner.invoke(
        args=["create-admin", "--username", "taken", "--password", "long-enough-pw"]
    )
    assert result.exit_code != 0
    result = runner.invoke(args=["create-admin", "--username", "fresh", "--password", "short"])
    assert result.exit_code != 0
    db.session.rollback()
    assert db.session.scalar(sa.select(User).where(User.username == "fresh")) is None


@pytest.mark.parametrize("url", ["/login", "/healthz", "/no-such-page"])
def test_security_headers(client, url):
    response = client.get(url)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    user = make_user("viewer")
    response = _post_login(client, user.username, PASSWORD)
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie


def test_the_password_never_reaches_the_change_log(client, make_user, login):
    from inventory.audit.models import ChangeLog

    login(make_user("admin"))
    response = client.post(
        "/users/new",
        data={
            "username": "newclerk",
            "role": "viewer",
            "locale": "hi",
            "is_active": "y",
            "password": "clerk-password-123",
        },
    )
    assert response.status_code == 302
    db.session.rollback()
    rows = db.session.scalars(sa.select(ChangeLog)).all()
    assert rows
    for row in rows:
        text = repr({c.name: getattr(row, c.name) for c in ChangeLog.__table__.columns})
        assert "clerk-password-123" not in text
        assert "$argon2" not in text
