"""Accessibility (GB/T 37668, WCAG 2.1 AA): axe-core's WCAG 2.0/2.1 A and AA rules find
nothing on any menu page of any demo role, nor on the public pages.

The menu is discovered from the role's rendered navigation (as tests/test_navigation.py
does over HTTP), so a page added to a menu is checked without editing this file. axe-core
is the copy shipped inside ``axe-playwright-python`` (no network)."""

import json
import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import LOGIN_TYPE, PUBLIC_PAGES, menu_pages, sign_in

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE = Axe()


def violations(page):
    """axe's WCAG A/AA violations of the loaded page as {rule id: [targets]}."""
    result = AXE.run(page, options={"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]})
    out = {}
    for v in result.response["violations"]:
        out[v["id"]] = [
            " ".join(map(str, n["target"])) + " — " + "; ".join(c["message"] for c in n.get("any", []))[:160]
            for n in v["nodes"]
        ]
    return out


def _figures(label, found):
    """With A11Y_FIGURES=<file>, append the per-page counts (for before/after figures)."""
    target = os.environ.get("A11Y_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            for url, rules in found.items():
                fh.write(json.dumps({"who": label, "url": url, "nodes": sum(map(len, rules.values())),
                                     "rules": {k: len(v) for k, v in rules.items()}}, ensure_ascii=False) + "\n")


def _report(found):
    lines = []
    for url, rules in found.items():
        for rule, targets in rules.items():
            lines.append(f"{url}: {rule} ×{len(targets)} e.g. {targets[:3]}")
    return "\n".join(lines)


SKIP = ("/static", "/admin/static", "/captcha", "/logout", "/export", "/download", "/attachment", "/pdf", ".pdf", ".xlsx", "/template")
DEEPER_PER_ROLE = 8


def _inner_links(page):
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h.startswith("/") and not any(s in h for s in SKIP)]


def _walk(page, base, paths, deeper=0):
    """axe over ``paths``; with ``deeper``, also over up to that many pages linked from
    them (details, forms, tabs: one page per distinct path)."""
    found, seen, inner = {}, {p.split("?")[0] for p in paths}, []
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        page.wait_for_load_state()
        found[path] = violations(page)
        for href in _inner_links(page) if deeper else ():
            key = href.split("?")[0]
            if key not in seen and len(inner) < deeper:
                seen.add(key)
                inner.append(href)
    for path in inner:
        try:
            response = page.goto(base + path)
        except PlaywrightError:  # a download, not a page
            continue
        if response is None or response.status >= 400 or "text/html" not in response.headers.get("content-type", ""):
            continue
        page.wait_for_load_state()
        found[path] = violations(page)
    return found


@pytest.mark.parametrize("key", sorted(LOGIN_TYPE))
def test_every_menu_page_of_every_role_has_no_wcag_violation(browser, module_live_server, key):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, module_live_server, key)
        paths = menu_pages(page)
        assert len(paths) >= 3, paths
        found = _walk(page, module_live_server.url, paths, deeper=DEEPER_PER_ROLE)
    finally:
        context.close()
    _figures(key, found)
    bad = {url: rules for url, rules in found.items() if rules}
    assert not bad, f"{sum(len(t) for r in bad.values() for t in r.values())} violations:\n" + _report(bad)


def test_public_pages_have_no_wcag_violation(browser, module_live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        found = _walk(page, module_live_server.url, PUBLIC_PAGES)
    finally:
        context.close()
    _figures("public", found)
    bad = {url: rules for url, rules in found.items() if rules}
    assert not bad, f"{sum(len(t) for r in bad.values() for t in r.values())} violations:\n" + _report(bad)
