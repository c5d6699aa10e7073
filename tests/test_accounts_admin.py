"""审核账户 / 管理账户 / 管理人员管理 / 系统用户: scope, enable/disable, admins and menus."""

import re
from datetime import date

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Account, AuditLog, Membership
from backoffice.validators import make_id_number

from .conftest import PASSWORD, Browser, login_form, membership_of, org, sign_in


def _page(response):
    return response.get_data(as_text=True)


def _flashes(response):
    return re.findall(r'class="alert alert-[a-z]+[^"]*"[^>]*>\s*(?:<button[^>]*>.*?</button>)?\s*([^<]+)', _page(response))


# --------------------------------------------------------------------------- review
def test_review_queue_is_scoped_and_other_county_cannot_decide(app, ctx):
    pending = membership_of("pending_unit")  # a 金水区 unit awaiting review
    other = sign_in(app.test_client(), "county2")
    assert pending.org.name not in _page(other.get("/admin/account_review/"))
    assert other.get(f"/admin/account_review/detail/{pending.id}").status_code == 404
    # Neither the ids nor "approve all" reach it.
    other.post("/admin/account_review/decide", {"ids": str(pending.id), "decision": "approve"},
               form_url="/admin/account_review/")
    other.post("/admin/account_review/decide", {"all": "1", "decision": "reject", "reason": "x"},
               form_url="/admin/account_review/")
    db.session.expire_all()
    assert (pending.status, pending.org.status) == ("pending", "pending")
    # Units and persons cannot open the review at all.
    assert sign_in(app.test_client(), "unit").get("/admin/account_review/").status_code == 403

    mine = sign_in(app.test_client(), "county")
    assert pending.org.name in _page(mine.get("/admin/account_review/"))
    detail = mine.get(f"/admin/account_review/detail/{pending.id}")
    assert detail.status_code == 200 and pending.account.id_number in _page(detail)


def test_batch_and_all_pending_with_audit_and_mail(app, ctx):
    from backoffice.mail import outbox

    pending = membership_of("pending_unit")
    browser = sign_in(app.test_client(), "city")  # 郑州 sees its counties' registrations too
    assert pending.org.name in _page(browser.get("/admin/account_review/?kind=unit"))
    assert pending.org.name not in _page(browser.get("/admin/account_review/?kind=institution"))
    before = len(outbox())
    response = browser.post("/admin/account_review/decide", {"all": "1", "kind": "unit", "decision": "approve"},
                            form_url="/admin/account_review/")
    assert response.status_code == 302
    db.session.expire_all()
    assert (pending.status, pending.org.status) == ("active", "approved")
    assert pending.approved_at is not None
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "approve")).all()
    assert {(e.object_type, e.object_id) for e in entries} >= {("membership", pending.id), ("org", pending.org_id)}
    assert any(pending.account.email in m.recipients for m in outbox()[before:])
    home = _page(browser.get("/admin/"))
    assert "待审核注册账户" in home


# --------------------------------------------------------------------------- managing accounts
def test_manage_accounts_lists_subtree_with_filters(app, ctx):
    browser = sign_in(app.test_client(), "county")
    page = _page(browser.get("/admin/org_accounts/"))
    assert "郑州市金水区人民医院" in page and "郑州市第七中学" not in page
    assert "金水区人力资源和社会保障局</td>" not in page  # not its own node
    hospital = org("郑州市金水区人民医院")
    admins = browser.get(f"/admin/org_accounts/admins/{hospital.id}")
    assert "金水区人民医院管理员" in _page(admins)
    # Another county's unit: 404 for the admin list and for enable/disable.
    school = org("郑州市第七中学")
    assert browser.get(f"/admin/org_accounts/admins/{school.id}").status_code == 404
    unit2 = membership_of("unit2")
    response = browser.post(f"/admin/org_accounts/admins/{school.id}/status",
                            {"ids": str(unit2.id), "status": "disabled"},
                            form_url=f"/admin/org_accounts/admins/{hospital.id}")
    assert response.status_code == 404
    # Nor through the 管理员账号 list's batch action.
    browser.post("/admin/memberships/action/", {"action": "disable", "rowid": str(unit2.id)},
                 form_url="/admin/memberships/")
    db.session.expire_all()
    assert unit2.status == "active"


def test_disabled_admin_is_refused_at_sign_in_and_can_be_enabled_again(app, ctx):
    browser = sign_in(app.test_client(), "city")
    county = membership_of("county")
    jinshui = org("410105")
    page = _page(browser.get(f"/admin/org_accounts/admins/{jinshui.id}"))
    assert county.account.id_number in page
    browser.post(f"/admin/org_accounts/admins/{jinshui.id}/status", {"ids": str(county.id), "status": "disabled"},
                 form_url=f"/admin/org_accounts/admins/{jinshui.id}")
    db.session.expire_all()
    assert county.status == "disabled"
    refused = Browser(app.test_client()).post("/login", login_form(county))
    assert refused.status_code == 200 and "此账号已被停用，请联系管理员" in _page(refused)
    browser.post(f"/admin/org_accounts/admins/{jinshui.id}/status", {"ids": str(county.id), "status": "active"},
                 form_url=f"/admin/org_accounts/admins/{jinshui.id}")
    db.session.expire_all()
    assert county.status == "active"
    sign_in(app.test_client(), county)


def test_a_signed_in_admin_is_cut_off_once_disabled(app, ctx):
    unit = sign_in(app.test_client(), "unit")
    assert unit.get("/admin/persons/").status_code == 200
    county = sign_in(app.test_client(), "county")
    hospital = org("郑州市金水区人民医院")
    county.post(f"/admin/org_accounts/admins/{hospital.id}/status",
                {"ids": str(membership_of("unit").id), "status": "disabled"},
                form_url=f"/admin/org_accounts/admins/{hospital.id}")
    assert unit.get("/admin/persons/").status_code == 302


# --------------------------------------------------------------------------- organisation admins
def _new_admin(browser, seq, name="新管理员", existing=False, password="Start2026x"):
    id_number = make_id_number("410105", date(1992, 2, 2), seq)
    data = {"id_number": id_number, "name": name, "phone": "13600000000", "email": f"admin{seq}@example.com",
            "password": password}
    if existing:
        data["existing_user"] = "y"
    return id_number, browser.post("/admin/org_admins/add", data, form_url="/admin/org_admins/add")


def test_super_admin_adds_admin_with_menus_resets_and_removes(app, ctx):
    boss = sign_in(app.test_client(), "unit")
    id_number, response = _new_admin(boss, 801)
    assert response.status_code == 302
    admin = db.session.scalar(select(Membership).join(Account).where(Account.id_number == id_number))
    assert (admin.role, admin.org, admin.status, admin.is_super) == ("unit_admin", org("郑州市金水区人民医院"),
                                                                       "active", False)
    # 角色管理: only 专技人员信息 (persons) is given.
    page = _page(boss.get(f"/admin/org_admins/{admin.id}/menus"))
    assert "专技人员信息" in page and "组织机构管理" in page
    boss.post(f"/admin/org_admins/{admin.id}/menus", {"menus": ["persons", "not_a_view"]},
              form_url=f"/admin/org_admins/{admin.id}/menus")
    db.session.expire_all()
    assert admin.menus == ["persons"]

    # The new admin must change the initial password, then sees only its menu.
    client = app.test_client()
    browser = Browser(client)
    first = browser.post("/login", login_form(admin, "Start2026x"))
    assert "/password" in first.headers["Location"]
    browser.post("/password", {"old_password": "Start2026x", "new_password": "Mine2026x", "confirm": "Mine2026x"})
    assert browser.get("/admin/persons/").status_code == 200
    assert browser.get("/admin/departments/").status_code == 403
    assert browser.get("/admin/org_admins/").status_code == 403  # not a super-admin
    assert "/admin/departments/" not in _page(browser.get("/admin/"))

    # Reset to 000000 → a change is forced; then removal: the role is gone at sign-in.
    boss.post("/admin/org_admins/reset", {"ids": str(admin.id)}, form_url="/admin/org_admins/")
    db.session.expire_all()
    assert admin.account.check_password("000000") and admin.account.must_change_password
    boss.post("/admin/org_admins/remove", {"ids": str(admin.id)}, form_url="/admin/org_admins/")
    db.session.expire_all()
    assert admin.status == "removed"
    refused = Browser(app.test_client()).post("/login", login_form(admin, "000000"))
    assert "您选择的登录角色未注册" in _page(refused)


def test_existing_account_added_as_admin_and_super_handed_over(app, ctx):
    boss_m = membership_of("unit")
    boss = sign_in(app.test_client(), boss_m)
    person = db.session.scalar(select(Account).where(Account.name == "李娜"))
    data = {"id_number": person.id_number, "name": "李娜", "existing_user": "y", "phone": "", "email": ""}
    assert boss.post("/admin/org_admins/add", data, form_url="/admin/org_admins/add").status_code == 302
    new = db.session.scalar(select(Membership).where(Membership.account_id == person.id,
                                                     Membership.role == "unit_admin"))
    assert new is not None and person.check_password(PASSWORD)  # the password is untouched
    # A wrong name for an existing ID number is refused at the field.
    other = db.session.scalar(select(Account).where(Account.name == "王强"))
    bad = boss.post("/admin/org_admins/add", {"id_number": other.id_number, "name": "别人", "existing_user": "y"},
                    form_url="/admin/org_admins/add")
    assert "姓名与已注册账号不一致" in _page(bad)

    response = boss.post("/admin/org_admins/hand-over", {"ids": str(new.id)}, form_url="/admin/org_admins/")
    assert response.status_code == 302
    db.session.expire_all()
    assert new.is_super and not boss_m.is_super
    # 更换超管后不保留原超管账号: the old admin role is gone (signed out, cannot sign in as admin) ...
    assert boss_m.status == "removed"
    assert boss.get("/admin/org_admins/").status_code in (302, 401, 403)
    refused = Browser(app.test_client()).post("/login", login_form(boss_m, PASSWORD))
    assert "您选择的登录角色未注册" in _page(refused)
    # ... while the account and its other roles stay.
    others = db.session.scalars(select(Membership).where(Membership.account_id == boss_m.account_id,
                                                         Membership.id != boss_m.id)).all()
    assert all(m.status != "removed" for m in others)
    assert db.session.get(Account, boss_m.account_id) is not None
    heir = sign_in(app.test_client(), new)
    admins_page = _page(heir.get("/admin/org_admins/"))
    assert "李娜" in admins_page and boss_m.account.name not in admins_page


def test_org_admin_pages_refuse_other_orgs_rows(app, ctx):
    boss = sign_in(app.test_client(), "unit")
    outsider = membership_of("unit2")
    assert boss.get(f"/admin/org_admins/{outsider.id}/menus").status_code == 404
    for url in ("/admin/org_admins/reset", "/admin/org_admins/remove", "/admin/org_admins/hand-over"):
        assert boss.post(url, {"ids": str(outsider.id)}, form_url="/admin/org_admins/").status_code == 404
    # A county HRSS super-admin cannot reach another county's admins either.
    county = sign_in(app.test_client(), "county")
    assert county.post("/admin/org_admins/reset", {"ids": str(membership_of("county2").id)},
                       form_url="/admin/org_admins/").status_code == 404
    db.session.expire_all()
    assert outsider.status == "active" and outsider.account.check_password(PASSWORD)
    assert membership_of("county2").account.check_password(PASSWORD)


# --------------------------------------------------------------------------- sysadmin
def test_system_users_search_disable_reset(app, ctx):
    browser = sign_in(app.test_client(), "sysadmin")
    person = membership_of("person")
    page = _page(browser.get(f"/admin/system_users/?search={person.account.id_number}"))
    assert person.account.name in page and "金水区人民医院管理员" not in page
    browser.post("/admin/system_users/action/", {"action": "reset_password", "rowid": str(person.id)},
                 form_url="/admin/system_users/")
    browser.post("/admin/system_users/action/", {"action": "disable", "rowid": str(person.id)},
                 form_url="/admin/system_users/")
    db.session.expire_all()
    assert person.account.check_password("000000") and person.account.must_change_password
    assert person.status == "disabled"
    for key in ("province", "unit", "county"):
        assert sign_in(app.test_client(), key).get("/admin/system_users/").status_code == 403


def test_sysadmins_managed_and_the_last_one_kept(app, ctx):
    me = membership_of("sysadmin")
    browser = sign_in(app.test_client(), me)
    id_number = make_id_number("410105", date(1979, 9, 9), 811)
    response = browser.post("/admin/sysadmins/add", {"id_number": id_number, "name": "第二系统管理员"},
                            form_url="/admin/sysadmins/add")
    assert response.status_code == 302
    second = db.session.scalar(select(Membership).join(Account).where(Account.id_number == id_number))
    assert second.role == "sysadmin" and second.account.check_password("000000")
    assert second.account.must_change_password
    # Oneself cannot be disabled; the last active sysadmin neither.
    browser.post("/admin/sysadmins/status", {"ids": str(me.id), "status": "disabled"}, form_url="/admin/sysadmins/")
    db.session.expire_all()
    assert me.status == "active"
    browser.post("/admin/sysadmins/status", {"ids": str(second.id), "status": "disabled"},
                 form_url="/admin/sysadmins/")
    db.session.expire_all()
    assert second.status == "disabled"
    # Through the system-user list: disabling the only active one (oneself) is refused too.
    browser.post("/admin/system_users/action/", {"action": "disable", "rowid": str(me.id)},
                 form_url="/admin/system_users/")
    db.session.expire_all()
    assert me.status == "active"


def test_sysadmin_pages_refuse_other_roles(app, ctx):
    target = membership_of("sysadmin")
    for key in ("province", "city", "unit"):
        browser = sign_in(app.test_client(), key)
        assert browser.get("/admin/sysadmins/").status_code == 403
        assert browser.post("/admin/sysadmins/reset", {"ids": str(target.id)},
                            form_url="/admin/").status_code == 403
    db.session.expire_all()
    assert target.account.check_password(PASSWORD)
