"""Every route, visited as anonymous, viewer, engineer, manager and admin, gets the expected answer.

MATRIX has one entry per URL rule of the app (static files aside): CORE below, plus the
ROUTES of each tests/routes_<domain>.py module (see tests/routing.py). A route added
without an entry, or an entry left behind by a removed route, fails
test_matrix_lists_every_route: access to a new page has to be decided, not inherited.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from routing import DOMAINS, Route

from inventory.choices import Role
from inventory.extensions import db
from inventory.health.models import SweepRun

ROLES = ("anonymous", "viewer", "engineer", "manager", "admin")


CORE: dict[str, Route] = {
    # Open to everybody
    "/login": Route("auth.login", "public", "/login", ("GET", "POST"), get_status_signed_in=302),
    "/logout": Route("auth.logout", "public", "/logout", ("POST",)),
    "/language": Route(
        "auth.set_language", "public", "/language", ("POST",), post_data={"locale": "en"}
    ),
    "/healthz": Route("dashboard.healthz", "public", "/healthz"),
    # Any signed-in user
    "/": Route("dashboard.index", "viewer", "/"),
    "/profile": Route("auth.profile", "viewer", "/profile", ("GET", "POST")),
    "/profile/password": Route("auth.change_password", "viewer", "/profile/password", ("POST",)),
    "/profile/sessions/end-others": Route(
        "auth.end_other_sessions", "viewer", "/profile/sessions/end-others", ("POST",)
    ),
    "/assets/": Route("assets.index", "viewer", "/assets/"),
    "/assets/<int:asset_id>": Route("assets.detail", "viewer", "/assets/{asset_id}"),
    "/assets/tag/<tag>": Route("assets.by_tag", "viewer", "/assets/tag/{tag}", get_status=302),
    "/assets/export.<fmt>": Route("assets.export", "viewer", "/assets/export.csv"),
    "/sites/": Route("sites.index", "viewer", "/sites/"),
    "/sites/<int:site_id>": Route("sites.detail", "viewer", "/sites/{site_id}"),
    "/catalog/": Route("catalog.index", "viewer", "/catalog/"),
    "/health/": Route("health.index", "viewer", "/health/"),
    "/health/runs": Route("health.runs", "viewer", "/health/runs"),
    "/health/runs/<int:run_id>": Route("health.run", "viewer", "/health/runs/{run_id}"),
    "/health/events": Route("health.events", "viewer", "/health/events"),
    "/health/assets/<int:asset_id>/chart.json": Route(
        "health.chart", "viewer", "/health/assets/{asset_id}/chart.json"
    ),
    # Engineers keep the register
    "/assets/new": Route("assets.create", "engineer", "/assets/new", ("GET", "POST")),
    "/assets/<int:asset_id>/edit": Route(
        "assets.edit", "engineer", "/assets/{asset_id}/edit", ("GET", "POST")
    ),
    "/health/assets/<int:asset_id>/poll": Route(
        "health.poll_now", "engineer", "/health/assets/{asset_id}/poll", ("POST",)
    ),
    # Managers: bulk changes, deletions, sites, catalogue, credentials, history, import
    "/assets/bulk": Route("assets.bulk", "manager", "/assets/bulk", ("POST",)),
    "/assets/<int:asset_id>/delete": Route(
        "assets.delete", "manager", "/assets/{asset_id}/delete", ("GET", "POST")
    ),
    "/assets/import": Route("assets.import_upload", "manager", "/assets/import", ("GET", "POST")),
    "/assets/import/commit": Route(
        "assets.import_commit", "manager", "/assets/import/commit", ("POST",)
    ),
    "/assets/import/template.csv": Route(
        "assets.import_template", "manager", "/assets/import/template.csv"
    ),
    "/sites/new": Route("sites.create", "manager", "/sites/new", ("GET", "POST")),
    "/sites/<int:site_id>/edit": Route(
        "sites.edit", "manager", "/sites/{site_id}/edit", ("GET", "POST")
    ),
    "/sites/<int:site_id>/delete": Route(
        "sites.delete", "manager", "/sites/{site_id}/delete", ("GET", "POST")
    ),
    "/catalog/categories/new": Route(
        "catalog.category_form", "manager", "/catalog/categories/new", ("GET", "POST")
    ),
    "/catalog/categories/<int:item_id>/edit": Route(
        "catalog.category_form",
        "manager",
        "/catalog/categories/{category_id}/edit",
        ("GET", "POST"),
    ),
    "/catalog/manufacturers/new": Route(
        "catalog.manufacturer_form", "manager", "/catalog/manufacturers/new", ("GET", "POST")
    ),
    "/catalog/manufacturers/<int:item_id>/edit": Route(
        "catalog.manufacturer_form",
        "manager",
        "/catalog/manufacturers/{manufacturer_id}/edit",
        ("GET", "POST"),
    ),
    "/catalog/models/new": Route(
        "catalog.model_form", "manager", "/catalog/models/new", ("GET", "POST")
    ),
    "/catalog/models/<int:item_id>/edit": Route(
        "catalog.model_form", "manager", "/catalog/models/{model_id}/edit", ("GET", "POST")
    ),
    "/catalog/<kind>/<int:item_id>/delete": Route(
        "catalog.delete",
        "manager",
        "/catalog/manufacturer/{manufacturer_id}/delete",
        ("GET", "POST"),
    ),
    "/credentials/": Route("credentials.index", "manager", "/credentials/"),
    "/credentials/new": Route("credentials.form", "manager", "/credentials/new", ("GET", "POST")),
    "/credentials/<int:profile_id>": Route(
        "credentials.detail", "manager", "/credentials/{profile_id}"
    ),
    "/credentials/<int:profile_id>/edit": Route(
        "credentials.form", "manager", "/credentials/{profile_id}/edit", ("GET", "POST")
    ),
    "/history/": Route("audit.index", "manager", "/history/"),
    # Administrators
    "/credentials/<int:profile_id>/delete": Route(
        "credentials.delete", "admin", "/credentials/{profile_id}/delete", ("GET", "POST")
    ),
    "/users/": Route("users.index", "admin", "/users/"),
    "/users/new": Route("users.create", "admin", "/users/new", ("GET", "POST")),
    "/users/<int:user_id>": Route("users.detail", "admin", "/users/{user_id}"),
    "/users/<int:user_id>/edit": Route(
        "users.edit", "admin", "/users/{user_id}/edit", ("GET", "POST")
    ),
    "/users/<int:user_id>/unlock": Route(
        "users.unlock", "admin", "/users/{user_id}/unlock", ("POST",)
    ),
    "/users/<int:user_id>/end-sessions": Route(
        "users.end_sessions", "admin", "/users/{user_id}/end-sessions", ("POST",)
    ),
}

MATRIX: dict[str, Route] = {**CORE}
for _domain in DOMAINS:
    _clash = set(MATRIX) & set(_domain.ROUTES)
    assert not _clash, f"{_domain.__name__} repeats {_clash}"
    MATRIX.update(_domain.ROUTES)


@pytest.fixture
def make_objects(make_site, make_asset, make_user):
    """A new set of the objects URLs name (plain ids), so each role gets untouched ones."""
    from inventory.credentials.services import save_profile

    counter = iter(range(1, 1000))

    def make() -> dict:
        n = next(counter)
        hq = make_site(kind="district_hq")
        block = make_site(kind="block", parent=make_site(kind="tehsil", parent=hq))
        csc = make_site(kind="csc", parent=block)
        asset = make_asset(csc, "PRJ", model=("Epson", f"EB-X{n}"), serial=f"X-MATRIX-{n}")
        profile = save_profile(
            None,
            plain={"name": f"Block switches {n}", "snmp_version": "v2c"},
            new_secrets={"snmp_community": "matrix-community"},
        )
        target = make_user("viewer", username=f"matrix-target-{n}")
        sweep = SweepRun(targets=1, ok=1, status="finished")
        db.session.add(sweep)
        db.session.commit()
        objects = {
            "asset_id": asset.id,
            "tag": asset.tag,
            "site_id": block.id,
            "category_id": asset.category_id,
            "manufacturer_id": asset.model.manufacturer_id,
            "model_id": asset.model_id,
            "profile_id": profile.id,
            "user_id": target.id,
            "run_id": sweep.id,
        }
        for domain in DOMAINS:
            extra = getattr(domain, "make_objects", None)
            if extra is not None:
                objects.update(extra(dict(objects), n))
        return objects

    return make


def _rules(app) -> dict:
    return {rule.rule: rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}


def _allows(role: str, least: str) -> bool:
    if least == "public":
        return True
    return role != "anonymous" and Role(role).at_least(least)


def _login_redirect_next(response) -> str | None:
    """The `next` of a redirect to the login page, or None if it is not one."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return None
    parts = urlsplit(response.headers["Location"])
    if parts.path != "/login":
        return None
    return parse_qs(parts.query).get("next", [None])[0]


def _order(methods) -> list[str]:
    """GET before POST: a POST may delete the object the GET shows."""
    return sorted(methods, key=lambda m: (m != "GET", m))


def test_matrix_lists_every_route(app):
    rules = _rules(app)
    missing = sorted(set(rules) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(rules))
    assert not missing, f"routes without an access entry in MATRIX: {missing}"
    assert not stale, f"MATRIX entries for routes that no longer exist: {stale}"
    for path, entry in MATRIX.items():
        rule = rules[path]
        assert rule.endpoint == entry.endpoint, path
        assert set(rule.methods) - {"HEAD", "OPTIONS"} == set(entry.methods), path


def test_matrix_urls_reach_their_rule(app, make_objects):
    objects = make_objects()
    adapter = app.url_map.bind("localhost")
    for path, entry in MATRIX.items():
        url = entry.url.format(**objects)
        for method in entry.methods:
            rule, _args = adapter.match(url, method=method, return_rule=True)
            assert rule.rule == path, (url, method)


@pytest.mark.parametrize("path", sorted(MATRIX))
def test_access(app, make_user, login, make_objects, path):
    entry = MATRIX[path]
    objects = make_objects()
    for role in ROLES:
        url = entry.url.format(**objects)
        browser = app.test_client()  # a new browser for each role
        if role != "anonymous":
            login(make_user(role), target_client=browser)
        for method in _order(entry.methods):
            data = entry.post_data if method == "POST" else None
            response = browser.open(url, method=method, data=data)
            where = f"{method} {url} as {role}: {response.status_code}"
            if role == "anonymous" and entry.least != "public":
                assert response.status_code == 302, where
                assert _login_redirect_next(response) == url, (where, response.location)
            elif not _allows(role, entry.least):
                assert response.status_code == 403, where
            else:
                assert response.status_code != 403, where
                assert _login_redirect_next(response) is None, (where, response.location)
                assert response.status_code < 500, where
                if method == "GET":
                    expected = entry.get_status
                    if role != "anonymous" and entry.get_status_signed_in is not None:
                        expected = entry.get_status_signed_in
                    assert response.status_code == expected, where
        if _allows(role, entry.least) and role != ROLES[-1]:
            objects = make_objects()  # an allowed POST may have changed or deleted them


# CSRF: with protection on, a POST without the token is refused and changes nothing.

CSRF_PASSWORD = "matrix-password-123"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _csrf_login(browser, user, password) -> None:
    page = browser.get("/login")
    token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)
    response = browser.post(
        "/login", data={"username": user.username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _snapshot() -> dict:
    """Every row of every table, read on a fresh transaction."""
    db.session.rollback()
    snapshot = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(sa.select(table).order_by(*order)).all()
        snapshot[table.name] = [tuple(row) for row in rows]
    db.session.rollback()
    return snapshot


POST_PATHS = sorted(path for path, entry in MATRIX.items() if "POST" in entry.methods)


@pytest.mark.parametrize("path", POST_PATHS)
def test_post_without_csrf_token_is_refused(app, client, make_user, make_objects, path):
    objects = make_objects()
    app.config["WTF_CSRF_ENABLED"] = True
    entry = MATRIX[path]
    role = "viewer" if entry.least == "public" else entry.least
    _csrf_login(client, make_user(role, password=CSRF_PASSWORD), CSRF_PASSWORD)
    url = entry.url.format(**objects)
    before = _snapshot()
    # Fields a real form would send, so that only the missing token is wrong.
    data = {
        "locale": "en",
        "ids": str(objects["asset_id"]),
        "status": "condemned",
        "name": "changed",
        "full_name": "changed",
        **entry.post_data,
    }
    response = client.post(url, data=data)
    assert response.status_code == 400, (path, response.status_code)
    assert _snapshot() == before, path
    # The refused POST left the user signed in (a refused logout logs nobody out).
    assert client.get("/profile").status_code == 200
