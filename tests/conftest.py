"""Test fixtures: one database per run (SQLite file or a fresh PostgreSQL database),
migrated with Alembic and filled with the demo tree once; every test runs inside a
transaction that is rolled back, so tests never see each other's writes.

``DATABASE_URL`` selects PostgreSQL: the fixture creates ``<db>_t<random>`` next to the
named database and drops it at the end, so concurrent runs never collide.
"""

import os
import re
import uuid

import pytest
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, select, text

from backoffice import create_app
from backoffice.config import TestConfig, normalise_database_url
from backoffice.extensions import db
from backoffice.models import Account, Membership, Org, Person

PASSWORD = "Demo@2026"

# Browser tests need Chromium and a live server: they run on their own with
# BROWSER_TESTS=1 (see tests/browser/conftest.py and .ci/run).
collect_ignore = [] if os.environ.get("BROWSER_TESTS") else ["browser"]


def _postgres_database(url):
    """Create a throw-away database beside ``url``; return (its URL, dropper)."""
    base = normalise_database_url(url)
    name = f"bo_t{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    # Replace only the database part (after the last '/').
    head, _, tail = base.rpartition("/")
    query = tail.partition("?")[2]
    test_url = f"{head}/{name}" + (f"?{query}" if query else "")

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return test_url, drop


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = os.environ.get("DATABASE_URL")
    drop = None
    tmp = tmp_path_factory.mktemp("backoffice")
    if url and url.startswith("postgres"):
        url, drop = _postgres_database(url)
    else:
        url = f"sqlite:///{tmp / 'test.sqlite3'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(tmp / "uploads"))
    with app.app_context():
        upgrade()
        from seed.demo import load_demo

        load_demo()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if drop is not None:
        drop()


class _ConnectionSession(FlaskSession):
    """Flask-SQLAlchemy's session picks engines by bind key; use the test connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


@pytest.fixture(autouse=True)
def _rollback(request, app):
    """Run each test in an outer transaction; commits become savepoints."""
    if "real_commits" in request.keywords:
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": _ConnectionSession}
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """Every test starts with empty rate-limit counters: all test clients come from
    127.0.0.1, so a fast run would otherwise carry one test's posts into the next
    test's per-minute limits. Tests of the limits make their requests within one test."""
    from backoffice.extensions import limiter

    with app.app_context():
        limiter.reset()
    yield


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


# --------------------------------------------------------------------------- helpers
def membership_of(key):
    """The demo membership named by its key (see seed/demo.py)."""
    emails = {"person": "person1@example.com"}
    email = emails.get(key, f"{key}@example.gov.cn")
    account = db.session.scalar(select(Account).where(Account.email == email))
    assert account is not None, key
    roles = [m for m in account.memberships if (m.role == "person") == (key == "person")]
    return roles[0]


def org(code_or_name):
    return db.session.scalar(select(Org).where((Org.code == code_or_name) | (Org.name == code_or_name)))


def person_named(name):
    return db.session.scalar(select(Person).where(Person.name == name))


LOGIN_TYPE_OF = {
    "person": "person",
    "unit_admin": "unit",
    "institution_admin": "institution",
    "industry_admin": "industry",
    "sysadmin": "sysadmin",
}


def login_form(membership, password=PASSWORD):
    role = membership.role
    if role == "hrss_admin":
        login_type = "province" if membership.org.kind == "province_hrss" else "hrss"
    else:
        login_type = LOGIN_TYPE_OF[role]
    return {
        "role_type": login_type,
        "org_code": membership.org.code if membership.org is not None and login_type not in ("province", "person") else "",
        "id_number": membership.account.id_number,
        "password": password,
        "captcha": "",
    }


def _forget_request_user():
    """Requests made inside a test's app context share its ``g``: start each one clean
    (no cached user, no cached CSRF token of another client)."""
    from flask import g, has_app_context

    if has_app_context():
        vars(g).clear()


class Browser:
    """A signed-in test client that reads CSRF tokens from the pages it gets."""

    def __init__(self, client):
        self.client = client

    def _request(self, method, url, **kw):
        _forget_request_user()
        try:
            return getattr(self.client, method)(url, **kw)
        finally:
            _forget_request_user()

    def csrf(self, url="/login"):
        page = self._request("get", url).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        assert match, f"no csrf token on {url}"
        return match.group(1)

    def get(self, url, **kw):
        return self._request("get", url, **kw)

    def post(self, url, data=None, form_url=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(form_url or url))
        return self._request("post", url, data=data, **kw)


def sign_in(client, key_or_membership, password=PASSWORD):
    membership = key_or_membership if isinstance(key_or_membership, Membership) else membership_of(key_or_membership)
    browser = Browser(client)
    response = browser.post("/login", login_form(membership, password))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return browser


@pytest.fixture
def signed_in(app, ctx):
    """signed_in('unit') → a Browser signed in as that demo account."""

    def _sign(key):
        return sign_in(app.test_client(), key)

    return _sign
