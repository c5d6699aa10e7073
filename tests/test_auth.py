"""Sign-in: role types, the seeds' error messages, captcha, password change."""

import re

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Account, AuditLog

from .conftest import PASSWORD, Browser, login_form, membership_of, sign_in


def _login(client, data):
    browser = Browser(client)
    return browser.post("/login", data)


def _error(response):
    page = response.get_data(as_text=True)
    return page


def test_every_demo_role_signs_in_and_lands_on_its_home(app, ctx):
    for key in ("sysadmin", "province", "city", "county", "industry", "unit", "institution", "person"):
        client = app.test_client()
        m = membership_of(key)
        browser = sign_in(client, m)
        home = browser.get("/admin/")
        page = home.get_data(as_text=True)
        assert home.status_code == 200, key
        assert m.account.name in page
        assert m.role_label in page


def test_wrong_password(client, ctx):
    data = login_form(membership_of("unit"), password="wrong-Password1")
    response = _login(client, data)
    assert response.status_code == 200
    assert "账户或密码错误" in _error(response)


def test_unknown_account(client, ctx):
    data = login_form(membership_of("unit"))
    data["id_number"] = "11010519491231002X"  # valid format, not registered
    assert "您的帐号不存在" in _error(_login(client, data))


def test_invalid_id_number_refused(client, ctx):
    data = login_form(membership_of("unit"))
    data["id_number"] = "410105198711110170"  # wrong check digit
    assert "身份证号非法" in _error(_login(client, data))


def test_wrong_role_type(client, ctx):
    data = login_form(membership_of("unit"))
    data["role_type"] = "institution"
    assert "您选择的登录角色未注册，请选择正确的登录角色" in _error(_login(client, data))


def test_pending_account(client, ctx):
    data = login_form(membership_of("pending_unit"))
    assert "此账号还未被审核" in _error(_login(client, data))


def test_pending_person(client, ctx):
    account = db.session.scalar(select(Account).where(Account.name == "吴芳"))
    data = {"role_type": "person", "org_code": "", "id_number": account.id_number, "password": PASSWORD}
    assert "此账号还未被审核" in _error(_login(client, data))


def test_disabled_account(client, ctx):
    m = membership_of("county")
    m.status = "disabled"
    db.session.commit()
    response = _login(client, login_form(m))
    assert "此账号已被停用" in _error(response)


def test_wrong_org_code(client, ctx):
    data = login_form(membership_of("unit"))
    data["org_code"] = "91350100M000100Y43"
    assert "组织机构代码与账号不匹配" in _error(_login(client, data))


def test_captcha_checked_and_single_use(app, ctx):
    app.config["CAPTCHA_ENABLED"] = True
    try:
        client = app.test_client()
        image = client.get("/captcha.png")
        assert image.status_code == 200 and image.mimetype == "image/png"
        with client.session_transaction() as s:
            answer = s["captcha"]
        data = login_form(membership_of("unit"))
        data["captcha"] = "ZZZZ" if answer != "ZZZZ" else "YYYY"
        assert "验证码错误" in _error(_login(client, data))
        # The refreshed image gives a new answer; the old one is gone after a check.
        client.get("/captcha.png")
        with client.session_transaction() as s:
            answer = s["captcha"]
        data["captcha"] = answer.lower()
        assert _login(client, data).status_code == 302
    finally:
        app.config["CAPTCHA_ENABLED"] = False


def test_login_page_is_chinese_with_role_types(client):
    page = client.get("/login").get_data(as_text=True)
    for label in ("用户类型", "个人", "单位", "施教机构", "行业主管部门", "市、区（县）人社局", "省人力资源和社会保障厅"):
        assert label in page


def test_change_password_needs_old_one(client, ctx):
    m = membership_of("person")
    browser = sign_in(client, m)
    bad = browser.post("/password", {"old_password": "nope-123", "new_password": "NewPass2026", "confirm": "NewPass2026"})
    assert "原密码错误" in bad.get_data(as_text=True)
    good = browser.post("/password", {"old_password": PASSWORD, "new_password": "NewPass2026", "confirm": "NewPass2026"})
    assert good.status_code == 302
    db.session.expire_all()
    assert m.account.check_password("NewPass2026")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "change_password",
                                                   AuditLog.object_id == m.account_id)) is not None


def test_forced_change_after_reset_blocks_everything_else(client, ctx):
    m = membership_of("unit")
    m.account.must_change_password = True
    db.session.commit()
    browser = sign_in(client, m)
    for url in ("/admin/", "/admin/persons/", "/admin/records/"):
        response = browser.get(url)
        assert response.status_code == 302 and "/password" in response.headers["Location"], url
    browser.post("/password", {"old_password": PASSWORD, "new_password": "Changed2026x", "confirm": "Changed2026x"})
    assert browser.get("/admin/persons/").status_code == 200


def test_post_without_csrf_token_refused(client, ctx):
    response = client.post("/login", data=login_form(membership_of("unit")))
    assert response.status_code == 400
    assert client.get("/admin/persons/").status_code == 302  # not signed in


def test_logout(client, ctx):
    browser = sign_in(client, "unit")
    assert browser.get("/admin/persons/").status_code == 200
    browser.post("/logout", form_url="/admin/")
    assert browser.get("/admin/persons/").status_code == 302


def test_home_page_shows_what_waits_for_each_role(app, ctx):
    from backoffice.models import Declaration, Membership

    unit = membership_of("unit")
    page = sign_in(app.test_client(), unit).get("/admin/").get_data(as_text=True)
    waiting = db.session.scalar(select(db.func.count()).select_from(Declaration).where(
        Declaration.current_org_id == unit.org_id, Declaration.status == "pending"))
    assert waiting > 0
    assert re.search(rf'data-key="review_queue">{waiting}<', page)
    pending_persons = db.session.scalar(select(db.func.count()).select_from(Membership).where(
        Membership.org_id == unit.org_id, Membership.role == "person", Membership.status == "pending"))
    assert pending_persons == 1
    assert 'data-key="pending_persons">1<' in page
    person_page = sign_in(app.test_client(), "person").get("/admin/").get_data(as_text=True)
    assert 'data-key="my_drafts">1<' in person_page


def test_login_attempts_are_rate_limited(app, ctx):
    from backoffice.extensions import limiter

    limiter.reset()
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        client = app.test_client()
        data = login_form(membership_of("unit"), password="wrong-Password1")
        codes = [_login(client, data).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3] == 429
        page = _login(client, data).get_data(as_text=True)
        assert "操作过于频繁" in page
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
        limiter.reset()


def test_csrf_failure_is_explained_in_chinese(client):
    client.get("/login")  # a session with a CSRF secret, then a forged token
    response = client.post("/login", data={"role_type": "person", "id_number": "11010519491231002X",
                                           "password": "x", "csrf_token": "forged"})
    assert response.status_code == 400
    assert "页面已过期或请求无效，请刷新页面后重试" in response.get_data(as_text=True)


def test_flask_admin_messages_are_all_chinese(app):
    """Flask-Admin's catalogue lacks two save-failure messages; ours fills them."""
    from flask_admin.babel import gettext

    admin = app.extensions["backoffice_admin"]
    with app.test_request_context():
        from flask_admin.helpers import set_current_view

        set_current_view(admin._views[1])
        assert gettext("Failed to create record.") == "保存失败，请检查填写的内容。"
        assert gettext("Failed to save record.") == "保存失败，请检查填写的内容。"
        assert gettext("Record was successfully saved.") == "保存记录成功"


def test_institution_home_offers_no_review_queue(app, ctx):
    page = sign_in(app.test_client(), "institution").get("/admin/").get_data(as_text=True)
    assert 'data-key="review_queue"' not in page
    assert "待我审核的学时记录" not in page


def test_first_sign_in_asks_to_change_the_initial_password_not_a_reset(app, ctx):
    m = membership_of("unit")
    m.account.must_change_password = True
    m.account.last_login_at = None  # a new admin: never signed in
    db.session.commit()
    browser = Browser(app.test_client())
    page = browser.post("/login", login_form(m), follow_redirects=True).get_data(as_text=True)
    assert "欢迎首次登录" in page and "首次登录" in page and "已被重置" not in page
    # A later reset says so.
    db.session.expire_all()
    m.account.must_change_password = True
    db.session.commit()
    browser = Browser(app.test_client())
    page = browser.post("/login", login_form(m), follow_redirects=True).get_data(as_text=True)
    assert "您的密码已被重置" in page and "首次登录" not in page


def test_captcha_box_is_empty_after_a_failed_sign_in(app, ctx):
    app.config["CAPTCHA_ENABLED"] = True
    try:
        client = app.test_client()
        data = login_form(membership_of("unit"), password="wrong-Password1")
        data["captcha"] = "QX7K"
        page = _login(client, data).get_data(as_text=True)
        field = re.search(r'<input[^>]*id="captcha"[^>]*>', page).group(0)
        assert "QX7K" not in field and 'value=""' in field
    finally:
        app.config["CAPTCHA_ENABLED"] = False
