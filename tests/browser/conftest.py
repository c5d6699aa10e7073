"""Browser tests: headless Chromium (Debian's package) against a live server.

They run only with ``BROWSER_TESTS=1`` (``.ci/run`` installs Chromium and sets it); the
ordinary suite leaves this folder out (see ``tests/conftest.py``).

Every test gets its own live server on a free port, over its own copy of a database that
was migrated and filled with the demo data once per session: a test may register, approve
and print without disturbing the next one. The server runs ``TestConfig`` (no image
captcha) in a thread of this process (Werkzeug's threaded server, which stops cleanly).

Fixtures:
- ``live_server``: ``.url``, ``.app`` (for reading the database in assertions),
  ``.accounts`` (demo key → login data).
- ``page`` (pytest-playwright's); go to ``live_server.url + path``.
- ``login(page, key)``: sign in through the login page as a demo account
  (``sysadmin``, ``province``, ``city``, ``county``, ``industry``, ``unit``,
  ``institution``, ``person``).

A failing test leaves a screenshot under ``test-results/`` (``--screenshot
only-on-failure``, set in ``.ci/run``).
"""

import os
import shutil
import threading
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LOGIN_TYPE = {
    "sysadmin": "sysadmin",
    "province": "province",
    "city": "hrss",
    "county": "hrss",
    "industry": "industry",
    "unit": "unit",
    "institution": "institution",
    "person": "person",
}


def pytest_collection_modifyitems(config, items):
    # The live server commits for real: the per-test rollback of tests/conftest.py
    # must not swap the shared session under it.
    for item in items:
        if "/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.real_commits)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 1400, "height": 900}}


def _app(db_path, upload_dir):
    from backoffice import create_app
    from backoffice.config import TestConfig

    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}", UPLOAD_DIR=str(upload_dir))


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory):
    """A migrated database with the demo data, built once; tests get copies."""
    from flask_migrate import upgrade

    from backoffice.extensions import db
    from seed.demo import DEMO_ACCOUNTS_HELP, demo_accounts_table, load_demo

    root = tmp_path_factory.mktemp("browser-template")
    path = root / "demo.sqlite3"
    app = _app(path, root / "uploads")
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        rows = demo_accounts_table()
        db.session.remove()
        db.engine.dispose()
    accounts = {}
    for (key, _label, _code), (_l, org_code, id_number, name) in zip(DEMO_ACCOUNTS_HELP, rows, strict=True):
        accounts[key] = {"role_type": LOGIN_TYPE[key], "org_code": org_code, "id_number": id_number, "name": name}
    return path, accounts


class LiveServer:
    def __init__(self, app, url, accounts):
        self.app, self.url, self.accounts = app, url, accounts


@contextmanager
def _serving(template_db, root):
    """A live server over a fresh copy of the template database under ``root``."""
    from werkzeug.serving import make_server

    from backoffice.extensions import db

    template, accounts = template_db
    path = root / "live.sqlite3"
    shutil.copy(template, path)
    app = _app(path, root / "uploads")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", accounts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live_server(_template_db, tmp_path):
    with _serving(_template_db, tmp_path) as server:
        yield server


@pytest.fixture
def login(live_server):
    """login(page, key, password=...) signs in through the login page."""

    def _login(page, key, password="Demo@2026"):
        return sign_in(page, live_server, key, password)

    return _login


# --------------------------------------------------------------------------- shared server
# Read-only walks over many pages (accessibility, phone widths) share one live server per
# module instead of one per test: they only look, so no test disturbs the next.


@pytest.fixture(scope="module")
def module_live_server(_template_db, tmp_path_factory):
    with _serving(_template_db, tmp_path_factory.mktemp("module-live")) as server:
        yield server


def sign_in(page, server, key, password="Demo@2026"):
    """Sign ``page`` in as the demo account ``key`` on ``server`` (any LiveServer)."""
    account = server.accounts[key]
    page.goto(server.url + "/login")
    page.select_option("#role_type", account["role_type"])
    if account["org_code"]:
        page.fill("#org_code", account["org_code"])
    page.fill("#id_number", account["id_number"])
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.locator("body").inner_text()[:500]
    return account


def menu_pages(page):
    """The paths of the signed-in role's menu (every link of the menu bar, dropdown entries
    included, and of the header's user menu), the home page first, without duplicates."""
    hrefs = page.eval_on_selector_all("nav a[href], header a[href]", "els => els.map(e => e.getAttribute('href'))")
    out = ["/admin/"]
    for href in hrefs:
        href = href.split("#")[0]
        if href.startswith("/") and not href.startswith("/static") and href not in out:
            out.append(href)
    return out


PUBLIC_PAGES = ["/login", "/register", "/register/org", "/register/status", "/password/forgot", "/certificates/query"]
