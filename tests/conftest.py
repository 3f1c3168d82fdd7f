"""Fixtures: an app on a fresh database per test (SQLite, or PostgreSQL when named), factories."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from support import temporary_database

from inventory import create_app
from inventory.extensions import db

# Real SNMP agents (snmpd, snmpsim) as session fixtures: tests/agents.py; PJLink: pjlinkpeers.py.
pytest_plugins = ["agents", "browser", "pjlinkpeers", "sshpeers"]

PG_ENV = "INVENTORY_TEST_DATABASE_URL"
PASSWORD = "correct-horse-battery"


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """SQLite in a temporary folder, or a database of our own on the PostgreSQL server."""
    admin_url = _pg_admin_url()
    if not admin_url:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
        return
    with temporary_database(admin_url, "inventory_test") as url:
        yield url


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


def base_config(database_url: str, instance_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 1024,
        "CREDENTIALS_KEYS": [Fernet.generate_key().decode()],
        "CREDENTIALS_KEY_FILE": str(instance_path / "credentials.key"),
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "UPLOAD_FOLDER": str(instance_path / "uploads"),
        # Tests match English messages; the Hindi pages have tests of their own.
        "BABEL_DEFAULT_LOCALE": "en",
    }


_schema_ready: set[str] = set()


class IsolatedClient(FlaskClient):
    """Each request in its own app context, as in production.

    The `app` fixture keeps one app context open so that tests can use the database
    between requests, and Flask would reuse it for the test client's requests: `g` and
    the database session (identity map, open transaction) would then carry over from
    one request, or one browser, to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(base_config(database_url, tmp_path))
    app.test_client_class = IsolatedClient
    with app.app_context():
        if database_url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(database_url)
        yield app
        db.session.rollback()
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE sites SET parent_id = NULL"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_user(app):
    from inventory.auth.services import create_user

    def make(role="viewer", username=None, password=PASSWORD, **fields):
        fields.setdefault("locale", "en")  # tests match English; Hindi pages have their own
        user = create_user(username or f"user{next(_counter)}", password, role, **fields)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    def do(user, password=PASSWORD, target_client=None):
        c = target_client or client
        response = c.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return do


@pytest.fixture
def as_role(make_user, login):
    """A test client signed in with a new user of the given role."""

    def do(role):
        return login(make_user(role))

    return do


@pytest.fixture
def categories(app):
    from inventory.catalog.services import ensure_default_categories

    ensure_default_categories()
    db.session.commit()


@pytest.fixture
def make_site(app):
    from inventory.sites.services import create_site

    def make(code=None, kind="district_hq", parent=None, **fields):
        n = next(_counter)
        site = create_site(
            code=code or f"S{n}",
            name_en=fields.pop("name_en", f"Site {n}"),
            name_hi=fields.pop("name_hi", f"स्थल {n}"),
            kind=kind,
            parent_id=parent.id if parent is not None else None,
            link_type=fields.pop("link_type", "swan"),
            **fields,
        )
        db.session.commit()
        return site

    return make


@pytest.fixture
def district(make_site):
    """A small tree: HQ > tehsil > block > CSC."""
    hq = make_site("GON-HQ", "district_hq", name_en="Gonda HQ", name_hi="गोण्डा मुख्यालय")
    tehsil = make_site("TEH-MNK", "tehsil", hq, name_en="Mankapur", name_hi="मनकापुर")
    block = make_site("BLK-MNK", "block", tehsil, name_en="Mankapur block", name_hi="मनकापुर ब्लॉक")
    csc = make_site("CSC-001", "csc", block, name_en="CSC Babhanjot", name_hi="जनसेवा केन्द्र")
    return {"hq": hq, "tehsil": tehsil, "block": block, "csc": csc}


@pytest.fixture
def make_asset(app, categories):
    from inventory.assets.services import create_asset
    from inventory.catalog.services import get_category_by_code, get_or_create_model

    def make(site, category="DSK", model=None, **fields):
        cat = get_category_by_code(category)
        model_id = None
        if model:
            maker, name = model
            model_id = get_or_create_model(maker, name, cat).id
        asset = create_asset(
            category_id=cat.id,
            site_id=site.id,
            model_id=model_id,
            status=fields.pop("status", "deployed"),
            purchase_date=fields.pop("purchase_date", date(2023, 4, 1)),
            **fields,
        )
        db.session.commit()
        return asset

    return make
