"""Security (issue 11), over HTTP: server-side sessions that end when they must, a
captcha that cannot be replayed, sign-in throttling, safe redirects, URLs that never
come from the Host header, the security headers, no state change on GET, downloads."""

import base64
import re
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from backoffice import accounts, security
from backoffice.extensions import db
from backoffice.models import Certificate
from backoffice.permissions import Scope

from .conftest import PASSWORD, Browser, login_form, membership_of, person_named, sign_in

PASSED = date.today().year - 1


# --------------------------------------------------------------------------- helpers
def cookie_of(app, client):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie is not None else None


def stored(app, sid):
    """What the server keeps for a session id (the browser never sees it)."""
    interface = app.session_interface
    return interface._retrieve_session_data(interface._get_store_id(sid)) or {}


def copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_of(app, client))
    return Browser(other)


def opens_admin(browser):
    response = browser.get("/admin/")
    return response.status_code == 200


def captcha_login(app, client, data):
    """Sign in as a browser would with the captcha on: fetch the image, read its answer
    (here from the server-side store), post the form."""
    browser = Browser(client)
    token = browser.csrf("/login")
    browser.get("/captcha.png")
    answer = stored(app, cookie_of(app, client)).get("captcha")
    assert answer, "the captcha answer is kept on the server"
    response = browser._request("post", "/login", data={**data, "captcha": answer, "csrf_token": token})
    return response, answer


@pytest.fixture
def captcha_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "CAPTCHA_ENABLED", True)


# --------------------------------------------------------------------------- 1. sessions
def test_the_cookie_holds_only_an_opaque_id_and_no_captcha_answer(app, ctx, captcha_on):
    client = app.test_client()
    client.get("/captcha.png")
    sid = cookie_of(app, client)
    answer = stored(app, sid)["captcha"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", sid), sid
    decoded = base64.urlsafe_b64decode(sid + "=" * (-len(sid) % 4))
    assert answer.encode() not in decoded and answer not in sid


def test_the_session_id_changes_at_sign_in(app, ctx):
    client = app.test_client()
    browser = Browser(client)
    browser.csrf("/login")
    before = cookie_of(app, client)
    sign_in(client, "unit")
    after = cookie_of(app, client)
    assert before and after and before != after
    assert stored(app, before) == {}  # the old id opens nothing


def test_a_cookie_copied_before_logout_gets_the_login_page(app, ctx):
    client = app.test_client()
    browser = sign_in(client, "unit")
    thief = copy_of(app, client)
    assert opens_admin(thief)
    browser.post("/logout", form_url="/admin/")
    response = thief.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_change_ends_the_other_sessions_but_not_its_own(app, ctx):
    client = app.test_client()
    browser = sign_in(client, "person")
    elsewhere = sign_in(app.test_client(), "person")
    thief = copy_of(app, client)
    response = browser.post("/password", {"old_password": PASSWORD, "new_password": "Changed2026x",
                                          "confirm": "Changed2026x"})
    assert response.status_code == 302
    assert opens_admin(browser)
    for other in (thief, elsewhere):
        response = other.get("/admin/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_admin_reset_of_the_password_ends_the_sessions(app, ctx):
    person = membership_of("person")
    victim = sign_in(app.test_client(), person)
    unit_admin = membership_of("unit")
    n, _ = accounts.reset_passwords(Scope(unit_admin), [person.id], "id_tail", actor=unit_admin)
    assert n == 1
    assert victim.get("/admin/").status_code == 302


def test_disabling_the_account_ends_its_sessions(app, ctx):
    person = membership_of("person")
    client = app.test_client()
    sign_in(client, person)
    thief = copy_of(app, client)
    admin = membership_of("county")
    changed, _ = accounts.set_membership_status(Scope(admin), [person.id], "disabled", actor=admin)
    assert changed == 1
    assert thief.get("/admin/").status_code == 302


def test_disabling_the_organisation_ends_its_admins_sessions(app, ctx):
    unit = membership_of("unit")
    client = app.test_client()
    sign_in(client, unit)
    thief = copy_of(app, client)
    assert opens_admin(thief)
    unit.org.status = "disabled"
    db.session.commit()
    assert thief.get("/admin/").status_code == 302


def test_removing_a_role_ends_the_sessions_of_that_account(app, ctx):
    person = membership_of("person")
    account = person.account
    generation = account.session_generation
    security.end_sessions_of(select(type(account).id).where(type(account).id == account.id))
    db.session.commit()
    db.session.expire_all()
    assert account.session_generation == generation + 1


def test_idle_timeout_and_absolute_lifetime(app, ctx, monkeypatch):
    client = app.test_client()
    browser = sign_in(client, "unit")
    assert opens_admin(browser)
    real = time.time

    class Later:
        def __init__(self, offset):
            self.offset = offset

        def time(self):
            return real() + self.offset

    # 31 minutes without a request: the session is over
    monkeypatch.setattr(security, "time", Later(31 * 60))
    assert browser.get("/admin/").status_code == 302
    monkeypatch.setattr(security, "time", time)

    # busy all day: over 12 hours after sign-in it ends anyway
    browser = sign_in(app.test_client(), "unit")
    monkeypatch.setattr(security, "SEEN_RESOLUTION", 10 ** 9)
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 10 ** 6)
    monkeypatch.setattr(app, "permanent_session_lifetime", __import__("datetime").timedelta(days=365))
    monkeypatch.setattr(security, "time", Later(0))
    assert opens_admin(browser)
    monkeypatch.setattr(security, "time", Later(12 * 3600 + 60))
    assert browser.get("/admin/").status_code == 302


# --------------------------------------------------------------------------- 2. captcha and throttling
def test_a_replayed_captcha_cookie_is_refused(app, ctx, captcha_on):
    client = app.test_client()
    unit = membership_of("unit")
    data = login_form(unit, password="wrong-Password1")
    browser = Browser(client)
    token = browser.csrf("/login")
    browser.get("/captcha.png")
    answer = stored(app, cookie_of(app, client))["captcha"]
    replay = copy_of(app, client)  # the cookie as it was when the captcha was solved
    first = browser._request("post", "/login", data={**data, "captcha": answer, "csrf_token": token})
    assert "账户或密码错误" in first.get_data(as_text=True)
    # the same cookie and answer again, even with the right password: the captcha is gone
    again = replay._request("post", "/login", data={**login_form(unit), "captcha": answer, "csrf_token": token})
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "验证码错误" in page
    security.clear_login_failures(unit.account.id_number)


def test_a_captcha_expires_after_five_minutes(app, ctx, captcha_on, monkeypatch):
    client = app.test_client()
    browser = Browser(client)
    token = browser.csrf("/login")
    browser.get("/captcha.png")
    answer = stored(app, cookie_of(app, client))["captcha"]
    import backoffice.auth as auth

    real = time.time
    monkeypatch.setattr(auth.time, "time", lambda: real() + 301)
    response = browser._request("post", "/login", data={**login_form(membership_of("unit")), "captcha": answer,
                                                        "csrf_token": token})
    assert "验证码错误" in response.get_data(as_text=True)


def test_the_captcha_signs_in_once(app, ctx, captcha_on):
    response, _ = captcha_login(app, app.test_client(), login_form(membership_of("unit")))
    assert response.status_code == 302


def test_six_wrong_passwords_lock_the_account_whatever_captcha_is_sent(app, ctx, captcha_on):
    unit = membership_of("unit")
    id_number = unit.account.id_number
    try:
        for _ in range(5):
            response, _ = captcha_login(app, app.test_client(), login_form(unit, password="wrong-Password1"))
            assert "账户或密码错误" in response.get_data(as_text=True)
        # the sixth try, with the right password and a right captcha: the account waits
        response, _ = captcha_login(app, app.test_client(), login_form(unit))
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "密码错误次数过多" in page and "后再试" in page
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", page)
        # with no captcha at all: the same answer
        browser = Browser(app.test_client())
        page = browser.post("/login", login_form(unit)).get_data(as_text=True)
        assert "密码错误次数过多" in page
        # another account from the same address is not locked
        response, _ = captcha_login(app, app.test_client(), login_form(membership_of("county")))
        assert response.status_code == 302
    finally:
        security.clear_login_failures(id_number)
    response, _ = captcha_login(app, app.test_client(), login_form(unit))
    assert response.status_code == 302


def _app_variant(app, **overrides):
    from backoffice import create_app
    from backoffice.config import TestConfig

    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      UPLOAD_DIR=app.config["UPLOAD_DIR"], **overrides)


def test_client_ip_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(app, ctx):
    import uuid

    for proxies, expect_separate in ((1, True), (0, False)):
        variant = _app_variant(app, TRUSTED_PROXIES=proxies, LOGIN_IP_FAILURE_LIMIT="2 per 15 minutes",
                               RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex[:8]}")
        with variant.app_context():
            wrong = login_form(membership_of("unit"), password="wrong-Password1")
            for _ in range(2):
                client = variant.test_client()
                Browser(client).post("/login", wrong, headers={"X-Forwarded-For": "203.0.113.7"})
            good = login_form(membership_of("county"))
            client = variant.test_client()
            page = Browser(client).post("/login", good, headers={"X-Forwarded-For": "203.0.113.7"})
            assert "密码错误次数过多" in page.get_data(as_text=True)  # that address waits
            client = variant.test_client()
            response = Browser(client).post("/login", good, headers={"X-Forwarded-For": "198.51.100.9"})
            # behind a trusted proxy another address may sign in; without one the
            # header is ignored and every request is the proxy's own address
            assert (response.status_code == 302) is expect_separate


# --------------------------------------------------------------------------- 3. redirects
BYPASSES = [
    "//evil.example/", "/\\evil.example/", "\\\\evil.example/", "/\t/evil.example/", "/%09/evil.example/",
    "/\n/evil.example/", "/%0a/evil.example/", "/%2f/evil.example/", "%2f%2fevil.example/", "/%5cevil.example/",
    "/%255c%255cevil.example/", "https://evil.example/", "http:evil.example", "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", " //evil.example/", "\x00//evil.example", "///evil.example/", "/\\/evil.example/",
    "evil.example", "https:/evil.example",
]


@pytest.mark.parametrize("target", BYPASSES)
def test_safe_next_refuses_known_bypasses(target):
    assert security.safe_next(target, "/fallback") == "/fallback"


def test_safe_next_keeps_local_paths():
    for path in ("/admin/", "/admin/review/?year=2025&status=pending", "/admin/my/records/3"):
        assert security.safe_next(path) == path


def test_every_redirect_bypass_stays_on_site_after_sign_in(app, ctx):
    unit = membership_of("unit")
    for target in BYPASSES:
        client = app.test_client()
        browser = Browser(client)
        from urllib.parse import quote

        response = browser.post(f"/login?next={quote(target, safe='')}", login_form(unit), form_url="/login")
        location = response.headers.get("Location", "")
        assert response.status_code == 302, target
        assert location.startswith("/") and not location.startswith("//") and "\\" not in location, (target, location)
        assert "evil" not in location and "javascript" not in location.lower(), (target, location)


def test_review_next_and_training_back_stay_on_site(app, ctx):
    county = sign_in(app.test_client(), "county")
    for target in ("//evil.example/", "/\\evil.example", "https://evil.example/", "/%09/evil.example"):
        response = county.post("/admin/review/batch", {"op": "approve", "next": target}, form_url="/admin/review/")
        location = response.headers.get("Location", "")
        assert response.status_code == 302 and "evil" not in location, location
    province = sign_in(app.test_client(), "province")
    for target in ("//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = province.post("/admin/plan_review/act", {"back": target, "decision": "approve"},
                                  form_url="/admin/plan_review/")
        location = response.headers.get("Location", "")
        assert response.status_code in (302, 400) and "evil" not in location and "javascript" not in location


# --------------------------------------------------------------------------- 4. PUBLIC_BASE_URL
EVIL = "http://evil.example"


def _token(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_host_header_changes_no_reset_link(app, ctx):
    from backoffice.mail import outbox

    zhang = person_named("张伟")
    client = app.test_client()
    n = len(outbox())
    token = _token(client.get("/password/forgot", base_url=EVIL).get_data(as_text=True))
    response = client.post("/password/forgot", base_url=EVIL,
                           data={"id_number": zhang.id_number, "contact": zhang.phone, "csrf_token": token})
    assert response.status_code == 302
    [message] = outbox()[n:]
    assert "evil.example" not in message.body
    assert "http://jxjy.test/password/reset/" in message.body


def test_host_header_changes_no_certificate_url(app, ctx):
    from .test_certificates import read_pdf, text_of

    client = app.test_client()
    token = _token(client.get("/login", base_url=EVIL).get_data(as_text=True))
    response = client.post("/login", base_url=EVIL, data={**login_form(membership_of("person")), "csrf_token": token})
    assert response.status_code == 302
    token = _token(client.get("/admin/my/completion/", base_url=EVIL).get_data(as_text=True))
    response = client.post(f"/certificates/my/{PASSED}.pdf", base_url=EVIL, data={"csrf_token": token})
    text = text_of(read_pdf(response))
    assert "evil.example" not in text and "jxjy.test" in text


def test_external_url_ignores_the_request():
    from backoffice import create_app
    from backoffice.config import TestConfig

    variant = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", PUBLIC_BASE_URL="https://jxjy.example.gov.cn/")
    with variant.test_request_context("/", base_url="http://evil.example"):
        assert security.external_url("certificates.query") == "https://jxjy.example.gov.cn/certificates/query"


# --------------------------------------------------------------------------- 5. headers
def _assert_headers(response, what):
    h = response.headers
    csp = h.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[-1].split(";")[0], what
    assert h.get("X-Frame-Options") == "DENY", what
    assert h.get("X-Content-Type-Options") == "nosniff", what
    assert h.get("Referrer-Policy"), what


def test_security_headers_on_login_admin_list_portal_page_and_pdf(app, ctx):
    anonymous = app.test_client()
    _assert_headers(anonymous.get("/login"), "login")
    _assert_headers(anonymous.get("/certificates/query"), "public query")
    browser = sign_in(app.test_client(), "county")
    _assert_headers(browser.get("/admin/"), "admin home")
    list_page = browser.get("/admin/review/")
    assert list_page.status_code == 200
    _assert_headers(list_page, "admin list")
    person = sign_in(app.test_client(), "person")
    _assert_headers(person.get("/admin/my/completion/"), "portal page")
    pdf = person.post(f"/certificates/my/{PASSED}.pdf", form_url="/admin/my/completion/")
    assert pdf.mimetype == "application/pdf"
    _assert_headers(pdf, "pdf")
    # development over http: no HSTS, no Secure cookie
    assert "Strict-Transport-Security" not in pdf.headers


# --------------------------------------------------------------------------- 7. no state change on GET
def test_a_get_never_issues_a_certificate(app, ctx):
    zhang = person_named("张伟")
    count = select(func.count()).select_from(Certificate)
    person = sign_in(app.test_client(), "person")
    response = person.get(f"/certificates/my/{PASSED}.pdf")
    assert response.status_code == 404 and "尚未签发" in response.get_data(as_text=True)
    assert person.get(f"/certificates/my/merged.pdf?start={PASSED - 1}&end={PASSED}").status_code == 404
    unit = sign_in(app.test_client(), "unit")
    response = unit.get(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf")
    assert response.status_code == 302
    assert db.session.scalar(count) == 0
    # a cross-site POST without the CSRF token issues nothing either
    assert person.client.post(f"/certificates/my/{PASSED}.pdf").status_code == 400
    assert db.session.scalar(count) == 0
    # once issued by a POST, a GET shows the same certificate
    issued = unit.post(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf", form_url="/admin/certificates/")
    assert issued.mimetype == "application/pdf"
    shown = person.get(f"/certificates/my/{PASSED}.pdf")
    assert shown.mimetype == "application/pdf"
    assert db.session.scalar(count) == 1


def test_another_subtree_cannot_see_an_issued_certificate_by_get(app, ctx):
    zhang = person_named("张伟")
    unit = sign_in(app.test_client(), "unit")
    unit.post(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf", form_url="/admin/certificates/")
    other = sign_in(app.test_client(), "county2")
    assert other.get(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf").status_code == 404
    assert other.post(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf",
                      form_url="/admin/certificates/").status_code == 404


# --------------------------------------------------------------------------- 6. reset links
def test_an_old_reset_link_is_refused_after_the_password_changed(app, ctx):
    from backoffice.mail import outbox

    zhang = person_named("张伟")
    browser = Browser(app.test_client())
    links = []
    for _ in range(2):
        browser.post("/password/forgot", {"id_number": zhang.id_number, "contact": zhang.email})
        links.append(re.search(r"(/password/reset/\S+)", outbox()[-1].body).group(1))
    old, new = links
    response = browser.post(new, {"new_password": "Newer2026ok", "confirm": "Newer2026ok"})
    assert response.status_code == 302
    page = browser.get(old).get_data(as_text=True)
    assert "重置链接无效或已过期" in page and "设置新密码" not in page
    response = browser.post(old, {"new_password": "Older2026ok", "confirm": "Older2026ok"}, form_url="/login")
    db.session.expire_all()
    assert zhang.account.check_password("Newer2026ok")


def test_forgot_password_answers_the_same_either_way(app, ctx):
    zhang = person_named("张伟")
    browser = Browser(app.test_client())
    answers = []
    for contact in (zhang.email, "nobody@example.com"):
        response = browser.post("/password/forgot", {"id_number": zhang.id_number, "contact": contact},
                                follow_redirects=True)
        page = response.get_data(as_text=True)
        answers.append((response.status_code, re.search(r"如果填写的信息[^<]*", page).group(0)))
    assert answers[0] == answers[1]


# --------------------------------------------------------------------------- 8. the /register crash
def test_register_with_a_bad_17th_character_and_a_gender_is_not_a_500(app, ctx):
    browser = Browser(app.test_client())
    response = browser.post("/register", {"id_number": "41010519800101A01X", "gender": "male", "name": "测试",
                                          "password": "abc12345", "confirm": "abc12345", "phone": "13800000000",
                                          "email": "a@example.com", "birth_date": "1980-01-01"})
    assert response.status_code == 200
    assert "身份证号非法" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- 9. downloads
def test_uploaded_files_are_always_attachments(app, ctx, tmp_path):
    html = tmp_path / "x.html"
    html.write_text("<script>alert(1)</script>")
    with app.test_request_context("/"):
        for name in ("report.html", "../../evil.svg", 'a";b\r\n.txt', "扫描件.pdf"):
            response = security.send_upload(html, name)
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith("attachment"), disposition
            assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition.split(";", 1)[1]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            if not name.endswith(".pdf"):
                assert response.mimetype == "application/octet-stream", name
            response.close()


def test_a_declaration_attachment_downloads_as_attachment(app, ctx):
    from backoffice.models import Declaration

    from .test_person_declarations import PNG, conference_form, post_declaration

    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    response = post_declaration(me, conference_form(), file=("<b>扫描件</b>.png", PNG))
    assert response.status_code == 302
    record = db.session.scalar(select(Declaration).where(Declaration.person_id == zhang.id,
                                                         Declaration.attachment.is_not(None))
                               .order_by(Declaration.id.desc()).limit(1))
    response = me.get(f"/declarations/{record.id}/attachment")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "<" not in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert sign_in(app.test_client(), "unit2").get(f"/declarations/{record.id}/attachment").status_code == 404
