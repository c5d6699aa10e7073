"""Shared steps of the role flows: a separate browser context per user, sign-in with any
account, database counts for the assertions."""

from contextlib import contextmanager

from sqlalchemy import func, select


@contextmanager
def user_page(browser, browser_context_args, live_server, id_number, role_type, org_code="", password="Demo@2026"):
    """A page of its own (cookies apart from ``page``) signed in as one account; dialogs accepted."""
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.goto(live_server.url + "/login")
        page.select_option("#role_type", role_type)
        if org_code:
            page.fill("#org_code", org_code)
        page.fill("#id_number", id_number)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, page.locator("body").inner_text()[:500]
        yield page
    finally:
        context.close()


@contextmanager
def demo_page(browser, browser_context_args, live_server, key):
    account = live_server.accounts[key]
    with user_page(browser, browser_context_args, live_server, account["id_number"], account["role_type"],
                   account["org_code"] or "") as page:
        yield page


def db_value(live_server, fn):
    """Run ``fn()`` in the live app's context (read the database for an assertion)."""
    from backoffice.extensions import db

    with live_server.app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def count(live_server, stmt_fn):
    from backoffice.extensions import db

    return db_value(live_server, lambda: db.session.scalar(select(func.count()).select_from(stmt_fn().subquery())))


def body_text(page):
    return page.locator("body").inner_text()
