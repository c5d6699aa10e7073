"""单位培训计划: a unit's plan goes to its competent department, then the HRSS; once
approved the unit declares the attendees' hours with the sign-in sheet and photos,
which are reviewed by the competent department, then the HRSS."""

import io
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Declaration, TrainingPlan, UnitPlanAttachment, UnitPlanDeclaration

from .conftest import org, person_named, sign_in
from .training_helpers import YEAR, plan_form

PDF = b"%PDF-1.4\n% sign-in sheet\n"
JPG = b"\xff\xd8\xff\xe0" + b"0" * 100


def _unit_plan(unit_browser, name="医院内部培训计划"):
    data = plan_form(name, kind="professional", _submit_now="1")
    data.pop("route"), data.pop("competent_dept_id")
    response = unit_browser.post("/admin/unit_plans/new/", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return db.session.scalar(select(TrainingPlan).where(TrainingPlan.name == name))


def _approve(browser, plan):
    browser.post("/admin/plan_review/act", {"ids": str(plan.id), "decision": "approve", "scope": "selected"},
                 form_url="/admin/plan_review/")
    db.session.expire_all()
    return db.session.get(TrainingPlan, plan.id)


def _declare(browser, plan, persons, files):
    data = {"person_ids": [str(p.id) for p in persons], "remark": "院内培训"}
    data.update(files)
    return browser.post(f"/admin/unit_plans/declare/?id={plan.id}", data,
                        form_url=f"/admin/unit_plans/declare/?id={plan.id}", content_type="multipart/form-data")


def test_unit_plan_chain_declaration_with_attachments_and_review(app, ctx):
    unit = sign_in(app.test_client(), "unit")
    plan = _unit_plan(unit)
    assert plan.owner_kind == "unit" and plan.unit_id == org("郑州市金水区人民医院").id
    assert [s.org.name for s in plan.steps] == ["金水区卫生健康委员会", "金水区人力资源和社会保障局"]
    assert plan.current_org.name == "金水区卫生健康委员会"
    # Not approved yet: no declaration.
    page = unit.get(f"/admin/unit_plans/declare/?id={plan.id}", follow_redirects=True).get_data(as_text=True)
    assert "培训计划审核通过后才能申报学时" in page
    # The county cannot approve before the competent department.
    county = sign_in(app.test_client(), "county")
    assert _approve(county, plan).current_org.name == "金水区卫生健康委员会"
    plan = _approve(sign_in(app.test_client(), "industry"), plan)
    assert plan.status == "pending" and plan.current_org.name == "金水区人力资源和社会保障局"
    plan = _approve(county, plan)
    assert plan.status == "approved"

    zhang, zhou = person_named("张伟"), person_named("周杰")
    # Bad input: no sign-in sheet; a wrong file type. Nothing saved, no file written.
    upload_dir = Path(app.config["UPLOAD_DIR"]) / "unit_plans"
    before = set(upload_dir.glob("*")) if upload_dir.exists() else set()
    page = _declare(unit, plan, [zhang], {"photo": (io.BytesIO(JPG), "p.jpg")}).get_data(as_text=True)
    assert "请上传签到表" in page
    page = _declare(unit, plan, [zhang], {"sign_in": (io.BytesIO(PDF), "s.pdf"),
                                          "photo": (io.BytesIO(b"MZ"), "virus.exe")}).get_data(as_text=True)
    assert "现场图片只能上传" in page
    page = _declare(unit, plan, [], {"sign_in": (io.BytesIO(PDF), "s.pdf")}).get_data(as_text=True)
    assert "请选择参加培训的专技人员" in page
    assert db.session.scalar(select(func.count()).select_from(UnitPlanDeclaration)) == 0
    assert (set(upload_dir.glob("*")) if upload_dir.exists() else set()) == before

    # A person of another unit cannot be slipped in.
    page = _declare(unit, plan, [zhang, person_named("刘洋")],
                    {"sign_in": (io.BytesIO(PDF), "s.pdf")}).get_data(as_text=True)
    assert "所选人员不在您的管理范围内" in page

    response = _declare(unit, plan, [zhang, zhou], {"sign_in": (io.BytesIO(PDF), "签到表.pdf"),
                                                    "photo": (io.BytesIO(JPG), "现场.jpg")})
    assert response.status_code == 302
    batch = db.session.scalar(select(UnitPlanDeclaration))
    assert {a.person.name for a in batch.attendees} == {"张伟", "周杰"}
    assert sorted(a.kind for a in batch.attachments) == ["photo", "sign_in"]
    stored = batch.attachments[0]
    assert stored.stored_name != stored.original_name and (upload_dir / stored.stored_name).is_file()
    decls = [a.declaration for a in batch.attendees]
    for d in decls:
        assert (d.source, d.declarer_org_id, d.claimed_hours) == ("unit", batch.unit_id, Decimal("24"))
        assert d.status == "pending" and d.current_org.name == "金水区卫生健康委员会"
    # Each person once per plan.
    page = _declare(unit, plan, [zhang], {"sign_in": (io.BytesIO(PDF), "s.pdf")}).get_data(as_text=True)
    assert "已申报过本培训计划的学时" in page

    # Attachments: the unit and its reviewers download them; others get 404.
    sign_in_sheet = next(a for a in batch.attachments if a.kind == "sign_in")
    for key, url in (("unit", f"/admin/unit_plans/attachment/{sign_in_sheet.id}"),
                     ("industry", f"/admin/training_decl_review/attachment/{sign_in_sheet.id}"),
                     ("county", f"/admin/training_decl_review/attachment/{sign_in_sheet.id}")):
        got = sign_in(app.test_client(), key).get(url)
        assert got.status_code == 200 and got.data == PDF, key
    assert sign_in(app.test_client(), "unit2").get(
        f"/admin/unit_plans/attachment/{sign_in_sheet.id}").status_code == 404
    for key in ("county2", "luoyang"):
        assert sign_in(app.test_client(), key).get(
            f"/admin/training_decl_review/attachment/{sign_in_sheet.id}").status_code == 404, key
    assert sign_in(app.test_client(), "unit2").get(f"/admin/unit_plans/declare/?id={plan.id}").status_code == 404

    # Review: competent department, then HRSS, from the grouped page.
    industry = sign_in(app.test_client(), "industry")
    groups = industry.get("/admin/training_decl_review/").get_data(as_text=True)
    assert "医院内部培训计划" in groups and "郑州市金水区人民医院" in groups
    detail = industry.get(f"/admin/training_decl_review/batch/{batch.id}").get_data(as_text=True)
    assert "签到表.pdf" in detail and zhang.id_number in detail
    industry.post(f"/admin/training_decl_review/batch/{batch.id}/act", {"decision": "approve", "scope": "all"},
                  form_url=f"/admin/training_decl_review/batch/{batch.id}")
    db.session.expire_all()
    assert {d.current_org.name for d in db.session.scalars(select(Declaration).where(
        Declaration.source == "unit", Declaration.id.in_([d.id for d in decls])))} == {"金水区人力资源和社会保障局"}
    county.post(f"/admin/training_decl_review/batch/{batch.id}/act",
                {"decision": "approve", "ids": [str(d.id) for d in decls]},
                form_url=f"/admin/training_decl_review/batch/{batch.id}")
    db.session.expire_all()
    assert [db.session.get(Declaration, d.id).status for d in decls] == ["approved", "approved"]
    hours = db.session.scalar(select(func.sum(Declaration.claimed_hours)).where(
        Declaration.person_id == zhou.id, Declaration.year == YEAR, Declaration.status == "approved",
        Declaration.source == "unit"))
    assert hours == Decimal("24")
    assert db.session.scalar(select(func.count()).select_from(UnitPlanAttachment)) == 2


def test_unit_plans_are_the_units_own(app, ctx):
    unit = sign_in(app.test_client(), "unit")
    plan = _unit_plan(unit, "仅本单位可见")
    other = sign_in(app.test_client(), "unit2")
    assert "仅本单位可见" not in other.get("/admin/unit_plans/").get_data(as_text=True)
    assert other.get(f"/admin/unit_plans/details/?id={plan.id}").status_code == 404
    assert other.get(f"/admin/unit_plans/edit/?id={plan.id}").status_code == 404
    assert other.post("/admin/unit_plans/delete/", {"id": str(plan.id)}, form_url="/admin/unit_plans/").status_code == 404
    # The institution's plan list does not show units' plans, and vice versa.
    assert "仅本单位可见" not in sign_in(app.test_client(), "institution").get(
        "/admin/training_plans/").get_data(as_text=True)
    assert db.session.get(TrainingPlan, plan.id) is not None


def test_institution_information_and_own_profile(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    page = inst.get("/admin/institution_info/").get_data(as_text=True)
    assert "河南省专业技术人员继续教育基地" in page and "修改密码" in page
    bad = inst.post("/admin/institution_info/", {"which": "org", "org-contact_name": "李老师",
                                                 "org-contact_phone": "0371-1234567", "org-email": "not-an-email",
                                                 "org-address": "郑州市"}).get_data(as_text=True)
    assert "电子邮箱格式不正确" in bad
    assert org("河南省专业技术人员继续教育基地").contact_name != "李老师"
    inst.post("/admin/institution_info/", {"which": "org", "org-contact_name": "李老师",
                                           "org-contact_phone": "0371-1234567", "org-email": "jd@example.gov.cn",
                                           "org-address": "郑州市金水路 1 号"})
    db.session.expire_all()
    institution = org("河南省专业技术人员继续教育基地")
    assert (institution.contact_name, institution.email) == ("李老师", "jd@example.gov.cn")
    from .conftest import membership_of

    account = membership_of("institution").account
    inst.post("/admin/institution_info/", {"which": "me", "me-phone": "13711112222", "me-email": "me@example.com"})
    db.session.expire_all()
    assert (account.phone, account.email) == ("13711112222", "me@example.com")
    # Only institution admins open it; the home page shows the institution's to-dos.
    assert sign_in(app.test_client(), "unit").get("/admin/institution_info/").status_code == 403
    assert "未申报学时的培训班" in inst.get("/admin/").get_data(as_text=True)
