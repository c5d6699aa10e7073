"""One look for the whole system at a desktop width (1400 px): the provincial header on
admin pages, the menu bar of the role with the most menus on one line, the review list's
科目类型 and 审核 cells on one line, typed text dark (not placeholder grey)."""

import pytest

from tests.browser.conftest import sign_in

ONE_LINE = """(els) => els.filter(e => e.offsetParent !== null).map(e => {
    const lh = parseFloat(getComputedStyle(e).lineHeight) || 24;
    return [e.textContent.trim(), Math.round(e.getBoundingClientRect().height), lh];
  }).filter(x => x[1] > x[2] * 1.6)"""


@pytest.fixture
def desktop(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("key", ["province", "city", "county", "sysadmin"])
def test_admin_pages_carry_the_provincial_header_and_a_one_line_menu(desktop, module_live_server, key):
    sign_in(desktop, module_live_server, key)
    assert desktop.locator(".portal-header").first.is_visible()
    assert "河南省专业技术人员继续教育信息管理系统" in desktop.locator(".portal-header").first.inner_text()
    tops = desktop.eval_on_selector_all(
        "nav.admin-menu .navbar-nav > li.nav-item, nav.admin-menu .navbar-nav > li.dropdown",
        "els => els.filter(e => e.offsetParent !== null).map(e => Math.round(e.getBoundingClientRect().top))")
    assert len(tops) >= 5 and len(set(tops)) == 1, tops  # every top-level entry in one row


def test_review_list_keeps_subject_kind_and_the_review_link_on_one_line(desktop, module_live_server):
    sign_in(desktop, module_live_server, "county")
    desktop.goto(module_live_server.url + "/admin/review/list")
    desktop.select_option("#f-year", "all")
    desktop.click("#filter-submit")
    desktop.wait_for_load_state()
    rows = desktop.locator("table tbody tr")
    assert rows.count() >= 1
    # 科目类型 is the 7th column, 操作 (审核) the last
    wrapped = desktop.eval_on_selector_all("table tbody tr td:nth-child(7), table tbody tr td:last-child a", ONE_LINE)
    assert wrapped == [], wrapped


def test_typed_text_is_dark_not_placeholder_grey(desktop, module_live_server):
    desktop.goto(module_live_server.url + "/login")
    desktop.fill("#id_number", "410105198001100258")
    r, g, b = desktop.eval_on_selector(
        "#id_number", "e => getComputedStyle(e).color.match(/\\d+/g).slice(0, 3).map(Number)")
    assert max(r, g, b) <= 80, (r, g, b)  # near black: contrast far above the placeholder's
