"""Keyboard and screen-reader use in a real browser: the skip link comes first, focus is
always visible, menus open from the keyboard, the captcha's text alternative signs a
person in without seeing the image, and the HRSS tree picker narrows 199 bureaus by
typing."""

import re

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_a11y import violations

QUESTION = re.compile(r"(\d+) (加|减) (\d+) 等于几")


@pytest.fixture
def captcha_on(module_live_server):
    module_live_server.app.config["CAPTCHA_ENABLED"] = True
    yield
    module_live_server.app.config["CAPTCHA_ENABLED"] = False


def _focus_visible(page):
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'; }""")


def test_captcha_text_alternative_by_keyboard_only(page, module_live_server, captcha_on):
    account = module_live_server.accounts["person"]
    page.goto(module_live_server.url + "/login")
    assert violations(page) == {}
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert _focus_visible(page)
    page.fill("#id_number", account["id_number"])
    page.fill("#password", "Demo@2026")
    page.focus("#captcha-text")
    page.keyboard.press("Enter")
    question = page.locator("#captcha-question")
    question.filter(has_text="等于几").wait_for()
    assert page.evaluate("document.activeElement.id") == "captcha"
    assert not page.locator("#captcha-refresh").is_visible()  # the image's answer no longer counts
    a, op, b = QUESTION.search(question.inner_text()).groups()
    page.keyboard.type(str(int(a) + int(b) if op == "加" else int(a) - int(b)))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.rstrip("/").endswith("/admin"), page.locator("body").inner_text()[:300]


def test_captcha_image_refreshes_from_the_keyboard(page, module_live_server, captcha_on):
    page.goto(module_live_server.url + "/login")
    before = page.get_attribute("#captcha-img", "src")
    page.focus("#captcha-refresh")
    assert _focus_visible(page)
    page.keyboard.press("Enter")
    assert page.get_attribute("#captcha-img", "src") != before


def test_menus_open_from_the_keyboard_with_visible_focus(page, module_live_server):
    sign_in(page, module_live_server, "county")
    toggle = page.locator("nav[aria-label='主菜单'] a.dropdown-toggle").filter(has_text="学时审核")
    toggle.focus()
    assert _focus_visible(page)
    page.keyboard.press("Enter")
    menu = toggle.locator("xpath=following-sibling::ul")
    assert menu.is_visible()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.classList.contains('dropdown-item')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/admin/" in page.url and violations(page) == {}


def test_hrss_tree_picker_narrows_by_typing(page, module_live_server):
    sign_in(page, module_live_server, "sysadmin")
    page.goto(module_live_server.url + "/admin/industry_depts/new/")
    search = page.locator("#parent-search")
    assert search.get_attribute("aria-controls") == "parent"
    assert page.locator("#parent optgroup").count() == 19  # the province + 18 cities
    search.fill("金水")
    assert page.locator("#parent").evaluate("s => s.options[s.selectedIndex].text") == "金水区人力资源和社会保障局"
    assert "已选定" in page.locator(".tree-picker-status").inner_text()
    search.fill("开封")  # a city: its bureau and counties stay, the other cities go
    visible = page.locator("#parent").evaluate(
        "s => Array.from(s.querySelectorAll('optgroup')).filter(g => !g.hidden).map(g => g.label)")
    assert len(visible) == 1 and visible[0].startswith("开封市"), visible
    assert violations(page) == {}
