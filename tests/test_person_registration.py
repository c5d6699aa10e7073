"""Person registration, the public progress query with withdraw, forgot password, and
the unit admin's review of registrations (scoped)."""

import re
from datetime import date

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Account, AuditLog, Membership, Org
from backoffice.validators import make_id_number

from .conftest import PASSWORD, Browser, membership_of, org, person_named, sign_in


def outbox():
    # Imported late: importing backoffice.mail before create_app shadows the Mail extension.
    from backoffice.mail import outbox as _outbox

    return _outbox()


NEW_ID = make_id_number("410105", date(1992, 3, 15), 123)  # odd sequence: male


def registration_data(**over):
    hospital = org("郑州市金水区人民医院")
    dept = db.session.scalar(select(Org).where(Org.unit_id == hospital.id, Org.name == "内科"))
    from backoffice.models import Major, TitleSeries

    data = {
        "id_number": NEW_ID,
        "password": "Newpass2026",
        "confirm": "Newpass2026",
        "phone": "13912345678",
        "email": "newperson@example.com",
        "region": str(org("410105").id),
        "unit_id": str(hospital.id),
        "department_id": str(dept.id),
        "name": "郑新",
        "gender": "male",
        "birth_date": "1992-03-15",
        "ethnicity": "汉族",
        "native_place": "河南开封",
        "school": "河南大学",
        "major_id": str(db.session.scalar(select(Major.id).where(Major.name == "临床医学"))),
        "title_series_id": str(db.session.scalar(select(TitleSeries.id).where(TitleSeries.name == "卫生技术"))),
        "title_level": "junior",
    }
    data.update(over)
    return data


def register(client, **over):
    browser = Browser(client)
    return browser.post("/register", registration_data(**over))


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_register_lands_pending_at_the_unit(client, ctx):
    response = register(client)
    page = response.get_data(as_text=True)
    assert "注册信息已经提交审核，请耐心等待" in page
    account = db.session.scalar(select(Account).where(Account.id_number == NEW_ID))
    membership = account.memberships[0]
    assert membership.role == "person" and membership.status == "pending"
    assert membership.org.name == "郑州市金水区人民医院"
    person = membership.person
    assert person.unit_id == membership.org_id and person.county_id == org("410105").id
    assert person.department.name == "内科"


def test_register_refuses_bad_input_at_the_field(client, ctx):
    before = count(Account)
    page = register(client, id_number="410105199203151230").get_data(as_text=True)
    assert "身份证号非法" in page
    page = register(client, birth_date="1992-03-16").get_data(as_text=True)
    assert "出生日期与身份证号不一致" in page
    page = register(client, gender="female").get_data(as_text=True)
    assert "性别与身份证号不一致" in page
    page = register(client, email="", phone="").get_data(as_text=True)
    assert "请输入电子邮箱" in page and "请输入手机号码" in page
    page = register(client, confirm="Other2026x").get_data(as_text=True)
    assert "两次输入的密码不一致" in page
    page = register(client, unit_id="").get_data(as_text=True)
    assert "请选择所在单位" in page
    # A department of another unit.
    other = db.session.scalar(select(Org).where(Org.name == "数学教研组"))
    page = register(client, department_id=str(other.id)).get_data(as_text=True)
    assert "所选部门不属于该单位" in page
    # A pending unit cannot be chosen.
    page = register(client, unit_id=str(org("金水区文化路社区卫生服务中心").id)).get_data(as_text=True)
    assert "请选择所在单位" in page
    assert count(Account) == before


def test_existing_id_number_needs_the_already_user_path(client, ctx):
    unit2 = membership_of("unit2")  # an admin without a person role
    acc = unit2.account
    birth = acc.id_number[6:14]
    gender = "male" if int(acc.id_number[16]) % 2 else "female"
    common = {"id_number": acc.id_number, "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", "gender": gender,
              "name": acc.name}
    page = register(client, **common).get_data(as_text=True)
    assert "该账号已存在" in page
    page = register(client, existing_user="y", password="wrong-pass1", **common).get_data(as_text=True)
    assert "登录密码不正确" in page
    page = register(client, existing_user="y", password=PASSWORD, confirm="", **common).get_data(as_text=True)
    assert "注册信息已经提交审核，请耐心等待" in page
    roles = {m.role: m.status for m in acc.memberships}
    assert roles == {"unit_admin": "active", "person": "pending"}


def test_unit_search_json_is_paginated_and_minimal(client, ctx):
    response = client.get(f"/register/units?region={org('410105').id}&q=人民医院")
    data = response.get_json()
    assert [u["name"] for u in data["items"]] == ["郑州市金水区人民医院"]
    assert set(data["items"][0]) == {"id", "name"}
    # Pending units are not offered; a city region includes its counties.
    names = [u["name"] for u in client.get(f"/register/units?region={org('410100').id}").get_json()["items"]]
    assert "郑州市第七中学" in names and "金水区文化路社区卫生服务中心" not in names
    assert client.get("/register/units?region=abc").get_json()["items"] == []
    depts = client.get(f"/register/departments?unit={org('郑州市金水区人民医院').id}").get_json()["items"]
    assert "内科" in [d["name"] for d in depts]


def test_status_query_shows_the_reviewer_and_withdraw_needs_the_password(client, ctx):
    register(client)
    browser = Browser(client)
    page = browser.post("/register/status", {"name": "郑新", "id_number": NEW_ID}).get_data(as_text=True)
    assert "待审核" in page and "郑州市金水区人民医院" in page
    # Unit admin registrations are reviewed by the unit's HRSS parent.
    pending_admin = membership_of("pending_unit")
    page = browser.post("/register/status", {"name": pending_admin.account.name,
                                             "id_number": pending_admin.account.id_number}).get_data(as_text=True)
    assert "金水区人力资源和社会保障局" in page or org("410105").name in page
    # Wrong name: nothing shown.
    page = browser.post("/register/status", {"name": "别人", "id_number": NEW_ID}).get_data(as_text=True)
    assert "未查询到" in page
    membership = db.session.scalar(select(Membership).join(Account).where(Account.id_number == NEW_ID))
    data = {"name": "郑新", "id_number": NEW_ID, "membership_id": membership.id}
    page = browser.post("/register/status/withdraw", dict(data, password="bad-pass1"),
                        form_url="/register/status").get_data(as_text=True)
    assert "登录密码不正确" in page
    assert count(Account, Account.id_number == NEW_ID) == 1
    response = browser.post("/register/status/withdraw", dict(data, password="Newpass2026"),
                            form_url="/register/status")
    assert response.status_code == 302
    assert count(Account, Account.id_number == NEW_ID) == 0
    # ... and can register again.
    assert "注册信息已经提交审核" in register(client).get_data(as_text=True)


def test_unit_admin_approves_and_the_person_can_sign_in(app, client, ctx):
    register(client)
    membership = db.session.scalar(select(Membership).join(Account).where(Account.id_number == NEW_ID))
    admin = sign_in(app.test_client(), "unit")
    page = admin.get("/admin/person-registrations/").get_data(as_text=True)
    assert "郑新" in page
    n = len(outbox())
    response = admin.post("/admin/person-registrations/decide", {"ids": [membership.id], "decision": "approve"},
                          form_url="/admin/person-registrations/")
    assert response.status_code == 302
    db.session.expire_all()
    assert membership.status == "active"
    assert count(AuditLog, AuditLog.action == "approve_registration", AuditLog.object_id == membership.id) == 1
    assert any("注册审核通过" in m.subject for m in outbox()[n:])
    sign_in(app.test_client(), membership, password="Newpass2026")


def test_batch_reject_needs_a_reason(app, client, ctx):
    pending = membership_of("pending_person") if False else person_named("吴芳").membership
    admin = sign_in(app.test_client(), "unit")
    page = admin.post("/admin/person-registrations/decide", {"ids": [pending.id], "decision": "reject"},
                      form_url="/admin/person-registrations/", follow_redirects=True).get_data(as_text=True)
    assert "请填写不通过的原因" in page
    db.session.expire_all()
    assert pending.status == "pending"
    admin.post("/admin/person-registrations/decide", {"ids": [pending.id], "decision": "reject", "reason": "非本单位人员"},
               form_url="/admin/person-registrations/")
    db.session.expire_all()
    assert pending.status == "rejected" and pending.reject_reason == "非本单位人员"


def test_another_unit_admin_cannot_approve(app, client, ctx):
    pending = person_named("吴芳").membership
    other = sign_in(app.test_client(), "unit2")
    page = other.get("/admin/person-registrations/").get_data(as_text=True)
    assert "吴芳" not in page
    other.post("/admin/person-registrations/decide", {"ids": [pending.id], "decision": "approve"},
               form_url="/admin/person-registrations/")
    db.session.expire_all()
    assert pending.status == "pending"


def test_forgot_password_link_works_once_and_reveals_nothing(client, ctx):
    zhang = person_named("张伟")
    browser = Browser(client)
    n = len(outbox())
    page = browser.post("/password/forgot", {"id_number": zhang.id_number, "contact": "nobody@example.com"},
                        follow_redirects=True).get_data(as_text=True)
    generic = "如果填写的信息与注册信息一致"
    assert generic in page and len(outbox()) == n
    page = browser.post("/password/forgot", {"id_number": zhang.id_number, "contact": zhang.phone},
                        follow_redirects=True).get_data(as_text=True)
    assert generic in page and len(outbox()) == n + 1
    link = re.search(r"(/password/reset/\S+)", outbox()[-1].body).group(1)
    page = browser.get(link).get_data(as_text=True)
    assert "设置新密码" in page
    response = browser.post(link, {"new_password": "Reset2026ok", "confirm": "Reset2026ok"})
    assert response.status_code == 302
    db.session.expire_all()
    assert zhang.account.check_password("Reset2026ok")
    page = browser.get(link).get_data(as_text=True)
    assert "该重置链接已使用过" in page
    assert "重置链接无效或已过期" in browser.get("/password/reset/garbage").get_data(as_text=True)


def test_a_pending_unit_registration_can_be_withdrawn(client, ctx):
    applicant = membership_of("pending_unit")
    account_id, org_id = applicant.account_id, applicant.org_id
    browser = Browser(client)
    data = {"name": applicant.account.name, "id_number": applicant.account.id_number,
            "membership_id": applicant.id, "password": PASSWORD}
    response = browser.post("/register/status/withdraw", data, form_url="/register/status")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Account, account_id) is None
    remaining = db.session.get(Org, org_id)
    assert remaining is None or remaining.status == "rejected"


def test_reset_links_expire(client, ctx, monkeypatch):
    from backoffice.web import person as portal

    zhang = person_named("张伟")
    Browser(client).post("/password/forgot", {"id_number": zhang.id_number, "contact": zhang.email})
    link = re.search(r"(/password/reset/\S+)", outbox()[-1].body).group(1)
    monkeypatch.setattr(portal, "RESET_MAX_AGE", -1)
    assert "重置链接无效或已过期" in Browser(client).get(link).get_data(as_text=True)


def test_after_a_withdrawal_the_query_says_nothing_is_pending(client, ctx):
    register(client)
    browser = Browser(client)
    membership = db.session.scalar(select(Membership).join(Account).where(Account.id_number == NEW_ID))
    data = {"name": "郑新", "id_number": NEW_ID, "membership_id": membership.id, "password": "Newpass2026"}
    page = browser.post("/register/status/withdraw", data, form_url="/register/status",
                        follow_redirects=True).get_data(as_text=True)
    assert "注册申请已撤销" in page and "目前没有待审核的注册申请" in page
    page = browser.post("/register/status", {"name": "郑新", "id_number": NEW_ID}).get_data(as_text=True)
    assert 'id="nothing-pending"' in page and "目前没有待审核的注册申请" in page and "重新注册" in page
    # An account whose registrations are all decided: the table and the same sentence.
    zhang = person_named("张伟")
    page = browser.post("/register/status", {"name": "张伟", "id_number": zhang.id_number}).get_data(as_text=True)
    assert "目前没有待审核的注册申请" in page and "审核通过" in page
