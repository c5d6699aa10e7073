"""Registration of organisations on the public pages, review by the right HRSS, sign-in."""

import io
import re
from datetime import date

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.mail import outbox
from backoffice.models import Account, Affiliation, Industry, Membership, Org, UnitLevel, UnitType
from backoffice.validators import make_credit_code, make_id_number

from .conftest import Browser, login_form, org, sign_in

PDF = b"%PDF-1.4\n% test scan\n"
PASSWORD = "Apply2026x"


def _id(model, name):
    return str(db.session.scalar(select(model.id).where(model.name == name)))


def _errors(response):
    return re.findall(r'invalid-feedback d-block">([^<]+)', response.get_data(as_text=True))


def applicant(seq, **over):
    data = {
        "id_number": make_id_number("410105", date(1991, 3, 3), seq),
        "name": f"申请人{seq}",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "phone": "13700000000",
        "email": f"applicant{seq}@example.com",
    }
    data.update(over)
    return data


def unit_data(serial=900001, seq=901, city="410100", county="410105", **over):
    data = {
        "code": make_credit_code("410100", serial, prefix="12"),
        "org_name": f"测试单位{serial}",
        "city": str(org(city).id),
        "county": str(org(county).id) if county else "",
        "competent": str(org("金水区卫生健康委员会").id),
        "unit_type": _id(UnitType, "事业单位"),
        "affiliation": _id(Affiliation, "县（区）属"),
        "unit_level": _id(UnitLevel, "县（区）级"),
        "industry": _id(Industry, "卫生健康"),
        "address": "郑州市金水区测试路1号",
        "contact_name": "联系人",
        "contact_phone": "0371-60000000",
        "scan": (io.BytesIO(PDF), "code.pdf"),
    }
    data.update(applicant(seq))
    data.update(over)
    return data


def register(client, kind, data):
    url = f"/register/org/{kind}"
    return Browser(client).post(url, data, form_url=url)


def membership_by_id_number(id_number, role):
    account = db.session.scalar(select(Account).where(Account.id_number == id_number))
    return next(m for m in account.memberships if m.role == role and m.status != "rejected")


def approve(reviewer_key, membership, app):
    browser = sign_in(app.test_client(), reviewer_key)
    page = browser.get("/admin/account_review/").get_data(as_text=True)
    assert membership.org.name in page
    response = browser.post("/admin/account_review/decide", {"ids": str(membership.id), "decision": "approve"},
                            form_url="/admin/account_review/")
    assert response.status_code == 302
    db.session.expire_all()
    return browser


def test_choice_page_links_every_kind(client, ctx):
    page = client.get("/register/org").get_data(as_text=True)
    for label in ("单位注册", "施教机构注册", "行业主管部门注册", "市、区（县）人社局注册"):
        assert label in page
    assert "/register/org" in client.get("/login").get_data(as_text=True)


def test_unit_registers_is_approved_by_its_county_and_signs_in(app, client, ctx):
    data = unit_data()
    response = register(client, "unit", data)
    page = response.get_data(as_text=True)
    assert "您已完成单位注册，请耐心等待所属人社部门审批" in page
    assert "金水区人力资源和社会保障局" in page  # the reviewer is named
    m = membership_by_id_number(data["id_number"], "unit_admin")
    assert (m.status, m.org.status, m.org.kind, m.is_super) == ("pending", "pending", "unit", True)
    assert m.org.parent == org("410105") and m.org.competent_dept == org("金水区卫生健康委员会")
    assert m.org.county_id == org("410105").id and m.org.license_file

    # Pending: refused with the seeds' message.
    pending = Browser(app.test_client()).post("/login", login_form(m, PASSWORD))
    assert "此账号还未被审核" in pending.get_data(as_text=True)

    # The other county does not see it; its own county approves it.
    other = sign_in(app.test_client(), "county2")
    assert data["org_name"] not in other.get("/admin/account_review/").get_data(as_text=True)
    sent_before = len(outbox())
    reviewer = approve("county", m, app)
    assert (m.status, m.org.status) == ("active", "approved")
    assert any(data["email"] in msg.recipients and "通过" in msg.subject for msg in outbox()[sent_before:])
    # The reviewer can open the scan through the scoped route; another county cannot.
    assert reviewer.get(f"/org-files/{m.org.id}/license").data.startswith(b"%PDF")
    assert other.get(f"/org-files/{m.org.id}/license").status_code == 404

    browser = sign_in(app.test_client(), m, PASSWORD)
    assert data["org_name"] in browser.get("/admin/").get_data(as_text=True)


def test_institution_industry_and_hrss_registrations(app, client, ctx):
    # A training institution under 中原区 → reviewed by the 中原区 HRSS.
    inst = unit_data(serial=900011, seq=911, county="410102", org_name="中原区测试培训学校", competent="")
    for key in ("unit_type", "affiliation"):
        inst.pop(key)
    response = register(client, "institution", inst)
    assert "您已完成施教机构注册，请耐心等待所属人社部门审批" in response.get_data(as_text=True)
    m = membership_by_id_number(inst["id_number"], "institution_admin")
    assert m.org.kind == "institution" and m.org.parent == org("410102")
    approve("county2", m, app)
    sign_in(app.test_client(), m, PASSWORD)

    # An industry department at city level → reviewed by the city HRSS.
    dept = unit_data(serial=900021, seq=921, county="", org_name="郑州市测试行业局", competent="")
    response = register(client, "industry", dept)
    assert "您已完成行业主管注册，请耐心等待所属人社部门审批" in response.get_data(as_text=True)
    m = membership_by_id_number(dept["id_number"], "industry_admin")
    assert m.org.kind == "industry_dept" and m.org.parent == org("410100")
    county_page = sign_in(app.test_client(), "county").get("/admin/account_review/").get_data(as_text=True)
    assert "郑州市测试行业局" not in county_page  # lands at the city, not below
    approve("city", m, app)
    sign_in(app.test_client(), m, PASSWORD)

    # A county HRSS admin → pending at the city; a city HRSS admin → at the province.
    data = applicant(931, city=str(org("410100").id), county=str(org("410105").id))
    response = register(client, "hrss", data)
    assert "您已完成人社管理员注册，请耐心等待所属人社部门审批" in response.get_data(as_text=True)
    m = membership_by_id_number(data["id_number"], "hrss_admin")
    assert m.org == org("410105") and m.status == "pending" and not m.is_super
    # The county's own admin cannot approve a new admin of its own node.
    own = sign_in(app.test_client(), "county")
    own.post("/admin/account_review/decide", {"ids": str(m.id), "decision": "approve"}, form_url="/admin/account_review/")
    db.session.expire_all()
    assert m.status == "pending"
    approve("city", m, app)
    assert m.status == "active"
    sign_in(app.test_client(), m, PASSWORD)

    data = applicant(932, city=str(org("410300").id), county="")
    register(client, "hrss", data)
    m = membership_by_id_number(data["id_number"], "hrss_admin")
    assert m.org == org("410300")
    approve("province", m, app)
    sign_in(app.test_client(), m, PASSWORD)


def test_rejected_applicant_can_register_again_with_same_code(app, client, ctx):
    data = unit_data(serial=900031, seq=941)
    register(client, "unit", data)
    m = membership_by_id_number(data["id_number"], "unit_admin")
    reviewer = sign_in(app.test_client(), "county")
    no_reason = reviewer.post("/admin/account_review/decide", {"ids": str(m.id), "decision": "reject"},
                              form_url="/admin/account_review/")
    assert no_reason.status_code == 302
    db.session.expire_all()
    assert m.status == "pending"  # a rejection needs a reason
    reviewer.post("/admin/account_review/decide", {"ids": str(m.id), "decision": "reject", "reason": "名称与执照不符"},
                  form_url="/admin/account_review/")
    db.session.expire_all()
    assert (m.status, m.org.status, m.reject_reason) == ("rejected", "rejected", "名称与执照不符")
    refused = Browser(app.test_client()).post("/login", login_form(m, PASSWORD)).get_data(as_text=True)
    assert "未通过审核" in refused and "名称与执照不符" in refused

    again = unit_data(serial=900031, seq=941, org_name="测试单位（更正）", password="Again2026y", confirm="Again2026y")
    response = register(client, "unit", again)
    assert "您已完成单位注册" in response.get_data(as_text=True), _errors(response)
    new = membership_by_id_number(data["id_number"], "unit_admin")
    assert new.id != m.id and new.org.name == "测试单位（更正）" and new.status == "pending"


def test_existing_account_must_prove_its_password(app, client, ctx):
    person = db.session.scalar(select(Account).where(Account.name == "张伟"))
    data = unit_data(serial=900041, seq=951, id_number=person.id_number, name="张伟", password="Wrong2026x",
                     confirm="Wrong2026x")
    response = register(client, "unit", data)
    assert "该账号已存在" in _errors(response)
    assert db.session.scalar(select(Org).where(Org.name == data["org_name"])) is None
    # "Already a user": the correct password adds a unit-admin role to the same account.
    data = unit_data(serial=900041, seq=951, id_number=person.id_number, name="张伟", password="Demo@2026",
                     confirm="", existing_user="y")
    response = register(client, "unit", data)
    assert "您已完成单位注册" in response.get_data(as_text=True), _errors(response)
    roles = {m.role for m in db.session.scalars(select(Membership).where(Membership.account_id == person.id))}
    assert roles == {"person", "unit_admin"}


def test_bad_input_is_reported_at_the_field_and_nothing_is_written(client, ctx):
    taken = org("郑州市金水区人民医院").code
    cases = [
        ({"code": "91410105MA12345678"}, "统一社会信用代码不正确"),
        ({"code": taken}, "该统一社会信用代码已注册"),
        ({"id_number": "410105199103030000"}, "身份证号非法"),
        ({"scan": (io.BytesIO(b"MZ-not-a-pdf"), "code.pdf")}, "扫描件内容与文件类型不符，请上传 JPG、PNG 图片或 PDF 文件"),
        ({"scan": (io.BytesIO(PDF), "code.exe")}, "扫描件只能是 JPG、PNG 图片或 PDF 文件"),
        ({"scan": (io.BytesIO(b"%PDF" + b"0" * (5 * 1024 * 1024)), "big.pdf")}, "扫描件不能超过 5MB"),
        ({"county": "410303"}, "所选区（县）不属于所选的市"),
        ({"competent": str(org("河南省卫生健康委员会").id), "city": "410300", "county": ""}, None),
        ({"confirm": "Other2026x"}, "两次输入的密码不一致"),
        ({"password": "12345678", "confirm": "12345678"}, "密码须同时包含字母和数字"),
    ]
    before = db.session.scalar(select(db.func.count()).select_from(Org))
    for i, (over, message) in enumerate(cases):
        data = unit_data(serial=900100 + i, seq=960 + i, **over)
        response = register(client, "unit", data)
        assert response.status_code == 200
        if message is None:  # a provincial competent dept fits a Luoyang unit
            assert "您已完成单位注册" in response.get_data(as_text=True), _errors(response)
            before += 1
            continue
        assert message in _errors(response), (over, _errors(response))
    # A county-level competent dept does not fit a unit of another city.
    data = unit_data(serial=900200, seq=990, city="410300", county="410303")
    assert "所选主管部门不属于该单位所在地区或上级地区" in _errors(register(client, "unit", data))
    assert db.session.scalar(select(db.func.count()).select_from(Org)) == before


def test_disabled_base_data_is_not_offered(client, ctx):
    row = db.session.scalar(select(UnitType).where(UnitType.name == "社会团体"))
    row.enabled = False
    db.session.commit()
    page = client.get("/register/org/unit").get_data(as_text=True)
    assert "社会团体" not in page and "事业单位" in page
    data = unit_data(serial=900300, seq=995, unit_type=str(row.id))
    assert "请选择有效的单位性质" in _errors(register(client, "unit", data))


def test_withdrawn_registration_frees_code_and_id_number(app, client, ctx):
    from backoffice import accounts

    data = unit_data(serial=900401, seq=996)
    register(client, "unit", data)
    m = membership_by_id_number(data["id_number"], "unit_admin")
    again = register(client, "unit", unit_data(serial=900401, seq=997))
    assert "该统一社会信用代码已注册" in _errors(again)  # still pending: taken
    accounts.withdraw_registration(m)
    db.session.expire_all()
    assert (m.status, m.org.status) == ("withdrawn", "rejected")
    response = register(client, "unit", unit_data(serial=900401, seq=996, password="Other2026z", confirm="Other2026z"))
    assert "您已完成单位注册" in response.get_data(as_text=True), _errors(response)


def test_missing_scan_is_reported_with_other_errors(client, ctx):
    data = unit_data(serial=900501, seq=998, org_name="")
    data.pop("scan")
    errors = _errors(register(client, "unit", data))
    assert "请上传统一社会信用代码证扫描件" in errors and "请输入单位名称" in errors


def test_institution_registration_records_its_industry_department(client, ctx):
    """Seed 004: 施教机构注册 asks for 行业主管部门 like the unit's registration."""
    page = client.get("/register/org/institution").get_data(as_text=True)
    assert "行业主管部门" in page and 'name="competent"' in page
    dept = org("金水区卫生健康委员会")
    inst = unit_data(serial=900611, seq=961, county="410105", org_name="金水区测试培训学校", competent=str(dept.id))
    for key in ("unit_type", "affiliation"):
        inst.pop(key)
    response = register(client, "institution", inst)
    assert "您已完成施教机构注册" in response.get_data(as_text=True), _errors(response)
    m = membership_by_id_number(inst["id_number"], "institution_admin")
    assert m.org.competent_dept_id == dept.id
    # A department of another area is refused at the field, nothing is written.
    other = unit_data(serial=900612, seq=962, city="410300", county="410303", org_name="洛阳测试培训学校",
                      competent=str(dept.id))
    for key in ("unit_type", "affiliation"):
        other.pop(key)
    assert "所选主管部门不属于该单位所在地区或上级地区" in _errors(register(client, "institution", other))
    assert db.session.scalar(select(Org).where(Org.name == "洛阳测试培训学校")) is None
