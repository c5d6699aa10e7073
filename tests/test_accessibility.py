"""Accessibility over HTTP (GB/T 37668 / WCAG 2.1 AA): what every page carries whatever
the browser — the document language, the provincial header, a skip link and landmarks;
the captcha's text alternative with the same single-use check as the image; error
messages tied to their fields. (axe-core over every page runs in tests/browser.)"""

import re

import pytest

from .conftest import Browser, login_form, membership_of, sign_in

ROLES = ["sysadmin", "province", "city", "county", "industry", "unit", "institution", "person"]
QUESTION = re.compile(r"(\d+) (加|减) (\d+) 等于几")


@pytest.fixture
def captcha_on(app):
    app.config["CAPTCHA_ENABLED"] = True
    yield
    app.config["CAPTCHA_ENABLED"] = False


def _answer(client):
    response = client.get("/captcha/question")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    a, op, b = QUESTION.search(response.get_json()["question"]).groups()
    return str(int(a) + int(b) if op == "加" else int(a) - int(b))


@pytest.mark.parametrize("key", ROLES)
def test_admin_pages_speak_chinese_and_carry_the_provincial_header(app, ctx, key):
    page = sign_in(app.test_client(), key).get("/admin/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert 'class="portal-header"' in page and "河南省人力资源和社会保障厅" in page
    assert 'href="#main-content"' in page and '<main id="main-content"' in page
    assert 'aria-label="主菜单"' in page


def test_public_pages_speak_chinese_with_a_skip_link(client):
    for url in ("/login", "/register", "/register/org", "/register/status", "/password/forgot", "/certificates/query"):
        page = client.get(url).get_data(as_text=True)
        assert '<html lang="zh-CN">' in page, url
        assert 'href="#main-content"' in page and 'id="main-content"' in page, url


def test_captcha_has_a_keyboard_refresh_and_a_text_alternative(client, captcha_on):
    page = client.get("/login").get_data(as_text=True)
    # The image is inside a button (Enter/Space gives a new one) and has a text alternative.
    assert re.search(r'<button type="button" class="captcha-refresh" id="captcha-refresh"[^>]*>\s*<img id="captcha-img"[^>]*alt="[^"]+"', page)
    assert 'id="captcha-text"' in page and "改用文字验证题" in page
    assert 'data-question-url="/captcha/question"' in page
    assert re.search(r'<p class="captcha-question[^"]*" id="captcha-question" aria-live="polite">', page)


def test_text_captcha_signs_in_once_with_the_same_checks(app, ctx, client, captcha_on):
    data = login_form(membership_of("person"))
    answer = _answer(client)
    data["captcha"] = str(int(answer) + 1)
    refused = Browser(client).post("/login", data).get_data(as_text=True)
    assert "验证码错误" in refused
    # The failed check used the answer up: the right answer to the same question is refused too.
    data["captcha"] = answer
    assert "验证码错误" in Browser(client).post("/login", data).get_data(as_text=True)
    # A new question, answered right, signs in.
    data["captcha"] = _answer(client)
    assert Browser(client).post("/login", data).status_code == 302


def test_a_question_replaces_the_image_answer(app, ctx, client, captcha_on):
    client.get("/captcha.png")
    answer = _answer(client)  # asked after the image: only the question's answer counts
    data = login_form(membership_of("person"))
    data["captcha"] = answer
    assert Browser(client).post("/login", data).status_code == 302


def test_captcha_error_is_tied_to_its_field(client, captcha_on):
    data = login_form(membership_of("person"))
    data["captcha"] = "0000"
    page = Browser(client).post("/login", data).get_data(as_text=True)
    field = re.search(r'<input[^>]*id="captcha"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field and "captcha-error" in field
    assert 'value=""' in field  # the used answer is not offered again next to a new image
    assert '<div id="captcha-error" class="invalid-feedback d-block">验证码错误</div>' in page


def _described_message(page, name):
    control = re.search(rf'<input[^>]*id="{name}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in control, control
    ids = re.search(r'aria-describedby="([^"]+)"', control).group(1).split()
    texts = [re.search(rf'id="{i}" class="invalid-feedback d-block"[^>]*>([^<]*)</div>', page) for i in ids]
    return " ".join(t.group(1) for t in texts if t)


def test_form_errors_are_tied_to_their_fields(app, ctx, client):
    browser = sign_in(app.test_client(), "sysadmin")
    page = browser.post("/password", {"old_password": "", "new_password": "abc", "confirm": "x"}).get_data(as_text=True)
    assert "请输入原密码" in _described_message(page, "old_password")
    assert "8–64" in _described_message(page, "new_password")
    # A public form built with the shared field macro.
    page = Browser(client).post("/register", {"id_number": "123"}, form_url="/register").get_data(as_text=True)
    assert "身份证" in _described_message(page, "id_number")
