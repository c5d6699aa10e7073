"""Password resets: unit admin → persons (ID tail), scope by any URL or action, forced change."""

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Account, AuditLog, Membership

from .conftest import PASSWORD, Browser, login_form, membership_of, person_named, sign_in


def _reset(browser, person_ids):
    return browser.post("/admin/persons/action/", {"action": "reset_password", "rowid": [str(i) for i in person_ids]},
                        form_url="/admin/persons/")


def test_unit_admin_resets_own_persons_to_id_tail_in_one_batch(app, ctx):
    zhang, li = person_named("张伟"), person_named("李娜")
    browser = sign_in(app.test_client(), "unit")
    assert "重置密码" in browser.get("/admin/persons/").get_data(as_text=True)
    response = _reset(browser, [zhang.id, li.id])
    assert response.status_code == 302
    db.session.expire_all()
    for p in (zhang, li):
        assert p.account.check_password(p.id_number[-6:])
        assert p.account.must_change_password
    audited = set(db.session.scalars(select(AuditLog.object_id).where(AuditLog.action == "reset_password")))
    assert {zhang.account_id, li.account_id} <= audited


def test_reset_password_must_be_changed_before_anything_else(app, ctx):
    zhang = person_named("张伟")
    _reset(sign_in(app.test_client(), "unit"), [zhang.id])
    db.session.expire_all()
    browser = Browser(app.test_client())
    first = browser.post("/login", login_form(zhang.membership, zhang.id_number[-6:]))
    assert first.status_code == 302 and "/password" in first.headers["Location"]
    for url in ("/admin/", "/admin/records/", "/register/org"):
        response = browser.get(url)
        if url.startswith("/admin"):
            assert response.status_code == 302 and "/password" in response.headers["Location"], url
    browser.post("/password", {"old_password": zhang.id_number[-6:], "new_password": "Fresh2026x",
                               "confirm": "Fresh2026x"})
    assert browser.get("/admin/").status_code == 200


def test_unit_admin_cannot_reset_a_person_of_another_unit_by_any_route(app, ctx):
    liu = person_named("刘洋")  # 郑州市第七中学
    browser = sign_in(app.test_client(), "unit")
    _reset(browser, [liu.id])
    assert browser.get(f"/admin/persons/details/?id={liu.id}").status_code == 404
    # Other reset routes: org admins (super-admin's own org only), system users (sysadmin only).
    assert browser.post("/admin/org_admins/reset", {"ids": str(liu.membership_id)},
                        form_url="/admin/org_admins/").status_code == 404
    assert browser.post("/admin/system_users/action/", {"action": "reset_password", "rowid": str(liu.membership_id)},
                        form_url="/admin/persons/").status_code == 403
    db.session.expire_all()
    assert liu.account.check_password(PASSWORD) and not liu.account.must_change_password


def test_roles_without_reset_power_are_refused(app, ctx):
    zhang = person_named("张伟")
    for key in ("county", "industry", "city"):
        browser = sign_in(app.test_client(), key)
        assert "重置密码" not in browser.get("/admin/persons/").get_data(as_text=True)
        _reset(browser, [zhang.id])
    db.session.expire_all()
    assert zhang.account.check_password(PASSWORD)


def test_an_account_with_a_role_elsewhere_is_not_reset_by_a_unit(app, ctx):
    # 张伟 also becomes an admin of another unit: only the sysadmin may reset that account now.
    zhang = person_named("张伟")
    school = membership_of("unit2").org
    db.session.add(Membership(account_id=zhang.account_id, role="unit_admin", org=school, is_super=False,
                              status="active"))
    db.session.commit()
    response = _reset(sign_in(app.test_client(), "unit"), [zhang.id])
    assert response.status_code == 302
    db.session.expire_all()
    assert zhang.account.check_password(PASSWORD)
    sys = sign_in(app.test_client(), "sysadmin")
    sys.post("/admin/system_users/action/", {"action": "reset_password", "rowid": str(zhang.membership_id)},
             form_url="/admin/system_users/")
    db.session.expire_all()
    account = db.session.get(Account, zhang.account_id)
    assert account.check_password("000000") and account.must_change_password
