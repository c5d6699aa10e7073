"""The pages still work under the Content-Security-Policy, in headless Chromium, with no
CSP violation in the console: sign-in with a captcha (and its refresh), the unit picker
of the registration page, and Flask-Admin's batch action menu."""

import os
import shutil
import threading

import pytest

pytestmark = pytest.mark.real_commits

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A real server (port 0) on its own database with the demo data, captcha on."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium")
    pytest.importorskip("playwright.sync_api")
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from backoffice import create_app
    from backoffice.config import TestConfig
    from backoffice.extensions import db

    from .conftest import _postgres_database

    url, drop = os.environ.get("DATABASE_URL"), None
    if url and url.startswith("postgres"):
        url, drop = _postgres_database(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.sqlite3'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, CAPTCHA_ENABLED=True,
                     UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads")))
    with app.app_context():
        upgrade()
        from seed.demo import load_demo

        load_demo()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if drop is not None:
            drop()


@pytest.fixture
def page(live):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()
        tab = context.new_page()
        tab.violations = []
        tab.on("console", lambda msg: tab.violations.append(msg.text)
               if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
        tab.on("pageerror", lambda exc: tab.violations.append(f"page error: {exc}"))
        yield tab
        context.close()
        browser.close()


def _captcha_answer(app, tab):
    from backoffice.extensions import db

    [cookie] = [c for c in tab.context.cookies() if c["name"] == app.config["SESSION_COOKIE_NAME"]]
    interface = app.session_interface
    with app.app_context():
        data = interface._retrieve_session_data(interface._get_store_id(cookie["value"])) or {}
        db.session.remove()
    return data.get("captcha")


def _sign_in(app, base, tab, key):
    from backoffice.extensions import db

    from .conftest import login_form, membership_of

    with app.app_context():
        data = login_form(membership_of(key))
        db.session.remove()
    tab.goto(f"{base}/login")
    tab.wait_for_load_state("networkidle")
    first = _captcha_answer(app, tab)
    # the refresh (a click on the image) gives a new captcha without a reload
    with tab.expect_response(lambda r: "/captcha.png" in r.url):
        tab.click("#captcha-img")
    answer = _captcha_answer(app, tab)
    assert answer and answer != first
    tab.select_option("#role_type", data["role_type"])
    if data["org_code"]:
        assert tab.is_visible("#org_code")  # the role switch shows the code field (script)
        tab.fill("#org_code", data["org_code"])
    tab.fill("#id_number", data["id_number"])
    tab.fill("#password", data["password"])
    tab.fill("#captcha", answer)
    with tab.expect_navigation():
        tab.click("button[type=submit]")
    assert "/admin" in tab.url, tab.content()[:1000]


def test_sign_in_with_captcha_refresh_and_batch_action_menu(live, page):
    app, base = live
    _sign_in(app, base, page, "unit")
    page.goto(f"{base}/admin/persons/")
    page.wait_for_load_state("networkidle")
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # the batch menu with nothing selected: Flask-Admin's script says so
    page.click("#actions-menu")
    page.click("[data-admin-action=reset_password]")
    page.wait_for_timeout(300)
    assert dialogs, "the action menu ran no script"
    # one row selected: the confirmation of the action is asked (and dismissed: nothing happens)
    page.check("input.action-checkbox >> nth=0")
    page.click("#actions-menu")
    page.click("[data-admin-action=reset_password]")
    page.wait_for_timeout(300)
    assert any("重置" in d for d in dialogs), dialogs
    assert "/admin/persons/" in page.url
    assert page.violations == [], "\n".join(page.violations)


def test_unit_picker_of_the_registration_page(live, page):
    app, base = live
    page.goto(f"{base}/register")
    page.wait_for_load_state("networkidle")
    regions = page.eval_on_selector_all("#region option", "els => els.map(e => e.value).filter(Boolean)")
    picked = None
    page.click("#unit-pick")
    for region in regions:
        page.select_option("#region", region)
        page.click("#unit-search")
        page.wait_for_timeout(200)
        if page.locator("#unit-results button").count():
            page.click("#unit-results button >> nth=0")
            picked = page.input_value("#unit_id")
            break
    assert picked, "no unit could be picked"
    assert page.input_value("#unit-name")
    assert page.violations == [], "\n".join(page.violations)
