"""组织机构管理 (departments) and 单位资料管理 (change requests with review and history)."""

import io

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Declaration, Org, OrgChangeRequest
from backoffice.validators import make_credit_code

from .conftest import membership_of, org, person_named, sign_in

PDF = b"%PDF-1.4 scan"


def _page(response):
    return response.get_data(as_text=True)


def dept(name, unit_name="郑州市金水区人民医院"):
    unit = org(unit_name)
    return db.session.scalar(select(Org).where(Org.name == name, Org.unit_id == unit.id, Org.kind == "department"))


# --------------------------------------------------------------------------- departments
def test_unit_admin_adds_nests_renames_moves_and_disables_departments(app, ctx):
    hospital = org("郑州市金水区人民医院")
    browser = sign_in(app.test_client(), "unit")
    page = _page(browser.get("/admin/departments/"))
    assert "内科" in page and "数学教研组" not in page
    form = _page(browser.get("/admin/departments/new/"))
    assert "数学教研组" not in form  # parent choices are scoped

    browser.post("/admin/departments/new/", {"name": "急诊科", "parent": str(hospital.id)},
                 form_url="/admin/departments/new/")
    er = dept("急诊科")
    assert er is not None and er.parent_path == hospital.parent_path + f"{er.id}/"
    browser.post("/admin/departments/new/", {"name": "急诊一组", "parent": str(er.id)},
                 form_url="/admin/departments/new/")
    team = dept("急诊一组")
    assert team.parent_id == er.id and team.parent_path.startswith(er.parent_path)

    # Move 急诊科 (with its child) under 外科 and rename it: the subtree's paths follow.
    surgery = dept("外科")
    browser.post(f"/admin/departments/edit/?id={er.id}", {"name": "急诊外科", "parent": str(surgery.id)},
                 form_url=f"/admin/departments/edit/?id={er.id}")
    db.session.expire_all()
    er, team = db.session.get(Org, er.id), db.session.get(Org, team.id)
    assert er.name == "急诊外科" and er.parent_id == surgery.id
    assert team.parent_path == surgery.parent_path + f"{er.id}/{team.id}/"
    # Under itself: refused with a message, nothing changed.
    response = browser.post(f"/admin/departments/edit/?id={er.id}", {"name": "急诊外科", "parent": str(team.id)},
                            form_url=f"/admin/departments/edit/?id={er.id}")
    assert "不能移动到本部门或其下级部门之下" in _page(response)
    db.session.expire_all()
    assert db.session.get(Org, er.id).parent_id == surgery.id

    browser.post("/admin/departments/action/", {"action": "disable", "rowid": str(er.id)},
                 form_url="/admin/departments/")
    db.session.expire_all()
    assert db.session.get(Org, er.id).status == "disabled" and db.session.get(Org, team.id).status == "disabled"


def test_departments_of_another_unit_are_out_of_reach(app, ctx):
    math = dept("数学教研组", "郑州市第七中学")
    hospital = org("郑州市金水区人民医院")
    browser = sign_in(app.test_client(), "unit")
    assert browser.get(f"/admin/departments/edit/?id={math.id}").status_code == 404
    browser.post("/admin/departments/action/", {"action": "disable", "rowid": str(math.id)},
                 form_url="/admin/departments/")
    # Nor can a department be created under another unit (the choice is not offered / refused).
    response = browser.post("/admin/departments/new/", {"name": "越界部门", "parent": str(math.id)},
                            form_url="/admin/departments/new/")
    assert response.status_code == 200
    db.session.expire_all()
    assert math.status == "approved"
    assert db.session.scalar(select(Org).where(Org.name == "越界部门")) is None
    assert hospital.status == "approved"
    assert sign_in(app.test_client(), "county").get("/admin/departments/").status_code == 403


# --------------------------------------------------------------------------- change requests
def test_name_change_goes_to_parent_hrss_blocks_a_second_and_can_be_withdrawn(app, ctx):
    hospital = org("郑州市金水区人民医院")
    old_name, old_code = hospital.name, hospital.code
    new_code = make_credit_code("410105", 777001, prefix="12")
    browser = sign_in(app.test_client(), "unit")
    data = {"info-name": "郑州市金水区人民医院（新院区）", "info-code": new_code,
            "info-scan": (io.BytesIO(PDF), "scan.pdf")}
    response = browser.post("/admin/org_profile/info", data, form_url="/admin/org_profile/")
    assert response.status_code == 302
    req = db.session.scalar(select(OrgChangeRequest).where(OrgChangeRequest.org_id == hospital.id))
    assert (req.status, req.reviewer_org, req.new_code) == ("pending", org("410105"), new_code)
    db.session.expire_all()
    assert hospital.name == old_name  # nothing before approval

    page = _page(browser.get("/admin/org_profile/"))
    assert "已有修改单位信息在审核流程中" in page and "郑州市金水区人民医院（新院区）" in page
    second = browser.post("/admin/org_profile/info", {"info-name": "又一个名字", "info-code": new_code,
                                                      "info-scan": (io.BytesIO(PDF), "scan.pdf")},
                          form_url="/admin/org_profile/")
    assert "已有修改单位信息在审核流程中" in _page(second)
    assert db.session.scalar(select(db.func.count()).select_from(OrgChangeRequest)
                             .where(OrgChangeRequest.org_id == hospital.id)) == 1

    browser.post(f"/admin/org_profile/withdraw/{req.id}", {}, form_url="/admin/org_profile/")
    db.session.expire_all()
    assert req.status == "withdrawn"
    history = _page(browser.get("/admin/org_profile/"))
    assert "已撤销" in history

    # Again, now approved by the county: the change takes effect and the login code follows.
    browser.post("/admin/org_profile/info", data | {"info-scan": (io.BytesIO(PDF), "scan.pdf")},
                 form_url="/admin/org_profile/")
    req = db.session.scalar(select(OrgChangeRequest).where(OrgChangeRequest.org_id == hospital.id,
                                                           OrgChangeRequest.status == "pending"))
    other = sign_in(app.test_client(), "county2")
    assert other.get(f"/admin/org_change_review/{req.id}").status_code == 404
    assert other.get(f"/org-files/change/{req.id}/scan").status_code == 404
    assert other.post(f"/admin/org_change_review/{req.id}", {"decision": "approve"},
                      form_url="/admin/org_change_review/").status_code == 404
    reviewer = sign_in(app.test_client(), "county")
    assert "郑州市金水区人民医院（新院区）" in _page(reviewer.get("/admin/org_change_review/"))
    assert reviewer.get(f"/org-files/change/{req.id}/scan").data.startswith(b"%PDF")
    reviewer.post(f"/admin/org_change_review/{req.id}", {"decision": "approve"},
                  form_url=f"/admin/org_change_review/{req.id}")
    db.session.expire_all()
    hospital = db.session.get(Org, hospital.id)
    assert (hospital.name, hospital.code) == ("郑州市金水区人民医院（新院区）", new_code)
    assert req.status == "approved" and old_code != new_code
    sign_in(app.test_client(), membership_of("unit"))  # signs in with the new organisation code
    assert "变更记录" in _page(reviewer.get("/admin/org_change_review/?show=all"))


def test_change_of_superior_moves_the_unit_and_its_people_and_records(app, ctx):
    hospital = org("郑州市金水区人民医院")
    zhongyuan, edu = org("410102"), org("郑州市教育局")
    zhang = person_named("张伟")
    browser = sign_in(app.test_client(), "unit")
    response = browser.post("/admin/org_profile/superior", {
        "sup-city": str(org("410100").id), "sup-county": str(zhongyuan.id), "sup-change_competent": "y",
        "sup-competent": str(edu.id), "sup-reason": "机构调整"}, form_url="/admin/org_profile/")
    assert response.status_code == 302
    req = db.session.scalar(select(OrgChangeRequest).where(OrgChangeRequest.org_id == hospital.id))
    assert req.reviewer_org == org("410105")  # the current parent HRSS reviews

    # Rejection needs a reason.
    reviewer = sign_in(app.test_client(), "county")
    reviewer.post(f"/admin/org_change_review/{req.id}", {"decision": "reject"},
                  form_url=f"/admin/org_change_review/{req.id}")
    db.session.expire_all()
    assert req.status == "pending"
    # The new superior cannot decide before the old one has released the unit.
    new_side = sign_in(app.test_client(), "county2")
    assert "该申请当前由原上级部门审核" in _page(new_side.get(f"/admin/org_change_review/{req.id}"))
    new_side.post(f"/admin/org_change_review/{req.id}", {"decision": "approve"},
                  form_url=f"/admin/org_change_review/{req.id}")
    db.session.expire_all()
    assert (req.status, req.stage) == ("pending", "old")
    # The old superior releases: nothing moves yet; the request waits at the new superior.
    page = _page(reviewer.post(f"/admin/org_change_review/{req.id}", {"decision": "approve"},
                               form_url=f"/admin/org_change_review/{req.id}", follow_redirects=True))
    assert "等待新的上级部门" in page
    db.session.expire_all()
    assert (req.status, req.stage, req.reviewer_org_id) == ("pending", "new", zhongyuan.id)
    assert db.session.get(Org, hospital.id).parent_id == org("410105").id
    assert f"/admin/org_change_review/{req.id}" not in _page(reviewer.get("/admin/org_change_review/"))
    assert f"/admin/org_change_review/{req.id}" in _page(new_side.get("/admin/org_change_review/"))
    reviewer.post(f"/admin/org_change_review/{req.id}", {"decision": "approve"},
                  form_url=f"/admin/org_change_review/{req.id}")
    db.session.expire_all()
    assert req.stage == "new" and db.session.get(Org, hospital.id).parent_id == org("410105").id
    # Another county altogether sees nothing of it.
    assert sign_in(app.test_client(), "luoyang").get(f"/admin/org_change_review/{req.id}").status_code == 404
    new_side.post(f"/admin/org_change_review/{req.id}", {"decision": "approve"},
                  form_url=f"/admin/org_change_review/{req.id}")
    db.session.expire_all()
    assert req.status == "approved"
    hospital = db.session.get(Org, hospital.id)
    assert (hospital.parent_id, hospital.county_id, hospital.competent_dept_id) == (zhongyuan.id, zhongyuan.id, edu.id)
    assert hospital.parent_path.startswith(zhongyuan.parent_path)
    internal = dept("内科")
    assert internal.county_id == zhongyuan.id and internal.parent_path.startswith(hospital.parent_path)
    zhang = person_named("张伟")
    assert (zhang.county_id, zhang.competent_dept_id) == (zhongyuan.id, edu.id)
    decl_counties = set(db.session.scalars(select(Declaration.county_id).where(Declaration.unit_id == hospital.id)))
    assert decl_counties <= {zhongyuan.id}
    # Now 中原区 sees the unit and 金水区 no longer does.
    assert "郑州市金水区人民医院" in _page(sign_in(app.test_client(), "county2").get("/admin/org_accounts/"))
    assert "郑州市金水区人民医院" not in _page(sign_in(app.test_client(), "county").get("/admin/org_accounts/"))


def test_change_requests_validate_input(app, ctx):
    browser = sign_in(app.test_client(), "unit")
    hospital = org("郑州市金水区人民医院")
    taken = org("郑州市第七中学").code
    cases = [
        ({"info-name": "新名字", "info-code": "123"}, "统一社会信用代码不正确"),
        ({"info-name": "新名字", "info-code": taken, "info-scan": (io.BytesIO(PDF), "s.pdf")}, "该统一社会信用代码已注册"),
        ({"info-name": "新名字", "info-code": hospital.code}, "请上传扫描件"),
    ]
    for data, message in cases:
        response = browser.post("/admin/org_profile/info", data, form_url="/admin/org_profile/")
        assert message in _page(response), message
    same = browser.post("/admin/org_profile/superior", {"sup-city": str(org("410100").id),
                                                        "sup-county": str(org("410105").id)},
                        form_url="/admin/org_profile/")
    assert "上级部门未发生变化" in _page(same)
    assert db.session.scalar(select(db.func.count()).select_from(OrgChangeRequest)) == 0
    # Only super-admins of units / institutions / industry depts have the page.
    assert sign_in(app.test_client(), "county").get("/admin/org_profile/").status_code == 403


def test_change_request_of_another_unit_cannot_be_withdrawn_and_home_counts_it(app, ctx):
    hospital = org("郑州市金水区人民医院")
    browser = sign_in(app.test_client(), "unit")
    browser.post("/admin/org_profile/superior", {"sup-city": str(org("410100").id), "sup-county": ""},
                 form_url="/admin/org_profile/")
    req = db.session.scalar(select(OrgChangeRequest).where(OrgChangeRequest.org_id == hospital.id))
    assert req is not None and req.new_parent == org("410100")
    other = sign_in(app.test_client(), "unit2")
    assert other.post(f"/admin/org_profile/withdraw/{req.id}", {}, form_url="/admin/org_profile/").status_code == 404
    assert "郑州市金水区人民医院" not in _page(other.get("/admin/org_profile/"))
    db.session.expire_all()
    assert req.status == "pending"
    home = _page(sign_in(app.test_client(), "county").get("/admin/"))
    assert 'data-key="org_change_review">1<' in home
    assert 'data-key="org_change_review">0<' in _page(sign_in(app.test_client(), "county2").get("/admin/"))
