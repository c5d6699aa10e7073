"""Phones and tablets: the person's pages and the public pages at 390 px (and the public
pages at 360 px) never scroll sideways; wide tables scroll inside their own box with a
visible hint; buttons and form controls are touch targets of at least 44 px; the
provincial header stays. Admin pages of every other role stay readable on a 768 px
tablet: no sideways scrolling of the page."""

import pytest

from tests.browser.conftest import PUBLIC_PAGES, menu_pages, sign_in

OVERFLOW = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# Controls a finger must hit: buttons, inputs, selects, menu and table links (inline links
# inside running text are exempt, as WCAG 2.5.5 allows).
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    'main .btn, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, main textarea,'
  + ' main td a, .navbar-toggler, .nav-tabs .nav-link, .card-footer a'))
  .filter(e => e.offsetParent !== null)
  .map(e => [e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || e.name || '').trim().slice(0, 20),
             Math.round(e.getBoundingClientRect().height)])
  .filter(x => x[1] > 0 && x[1] < 44)"""


def _context(browser, width):
    # Not is_mobile: a mobile viewport zooms out to fit the content, hiding the overflow.
    return browser.new_context(locale="zh-CN", viewport={"width": width, "height": 844}, has_touch=True)


def _check(page, url, small_targets=True):
    response = page.goto(url)
    assert response is not None and response.status < 400, url
    page.wait_for_load_state()
    scroll, inner = page.evaluate(OVERFLOW)
    problems = []
    if scroll > inner:
        problems.append(f"page {scroll}px wide in a {inner}px window")
    if not page.locator(".portal-header").first.is_visible():
        problems.append("no provincial header")
    if small_targets:
        small = page.evaluate(SMALL_TARGETS)
        if small:
            problems.append(f"touch targets under 44px: {small[:5]}")
    return problems


def test_person_pages_fit_a_phone(browser, module_live_server):
    context = _context(browser, 390)
    page = context.new_page()
    try:
        sign_in(page, module_live_server, "person")
        paths = menu_pages(page)
        assert "/admin/my/records/" in paths, paths
        found = {p: _check(page, module_live_server.url + p) for p in paths}
        # The person's lists become one card per row, each value named by its column.
        page.goto(module_live_server.url + "/admin/my/records/")
        cell = page.locator("#records-table tbody tr").first.locator("td").first
        assert cell.get_attribute("data-label") == "计入年度"
        assert cell.evaluate("td => getComputedStyle(td).display") == "flex"
    finally:
        context.close()
    bad = {p: v for p, v in found.items() if v}
    assert not bad, bad


@pytest.mark.parametrize("width", [360, 390, 414])
def test_public_pages_fit_a_phone(browser, module_live_server, width):
    context = _context(browser, width)
    page = context.new_page()
    try:
        found = {p: _check(page, module_live_server.url + p) for p in PUBLIC_PAGES}
    finally:
        context.close()
    bad = {p: v for p, v in found.items() if v}
    assert not bad, bad


@pytest.mark.parametrize("key", ["sysadmin", "province", "city", "county", "industry", "unit", "institution"])
def test_admin_pages_are_readable_on_a_tablet(browser, module_live_server, key):
    context = _context(browser, 768)
    page = context.new_page()
    try:
        sign_in(page, module_live_server, key)
        found = {p: _check(page, module_live_server.url + p, small_targets=False) for p in menu_pages(page)}
    finally:
        context.close()
    bad = {p: v for p, v in found.items() if v}
    assert not bad, bad


def test_a_wide_admin_table_scrolls_in_its_own_box_with_a_hint(browser, module_live_server):
    context = _context(browser, 390)
    page = context.new_page()
    try:
        sign_in(page, module_live_server, "county")
        page.goto(module_live_server.url + "/admin/review/list")
        box = page.locator("#queue-table").locator("xpath=..")
        assert "table-scroll" in box.get_attribute("class")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")
        assert box.get_attribute("tabindex") == "0" and box.get_attribute("role") == "region"
        hint = box.locator("xpath=preceding-sibling::p[1]")
        assert hint.is_visible() and "左右滑动" in hint.inner_text()
        scroll, inner = page.evaluate(OVERFLOW)
        assert scroll <= inner
    finally:
        context.close()
