"""The browser harness itself: every demo role signs in through the real login page."""

import pytest

from tests.browser.conftest import LOGIN_TYPE


@pytest.mark.parametrize("key", sorted(LOGIN_TYPE))
def test_every_demo_role_signs_in_and_sees_its_home(page, login, key):
    account = login(page, key)
    assert page.url.rstrip("/").endswith("/admin")
    # The home page greets the signed-in account by name.
    assert account["name"] in page.locator("body").inner_text()
