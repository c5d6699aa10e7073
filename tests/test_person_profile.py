"""Profile (read-only identity, title change reviewed by the unit), yearly completion,
unit transfer with both unit sides, the past-year opening, and their scopes."""

import re
from datetime import date

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import (
    AuditLog,
    Declaration,
    Org,
    Person,
    TitleChangeRequest,
    TitleSeries,
    TransferRequest,
)

from .conftest import membership_of, org, person_named, sign_in


def profile_form(person, **over):
    data = {
        "department_id": str(person.department_id or ""),
        "gender": person.gender,
        "birth_date": person.birth_date.isoformat(),
        "ethnicity": person.ethnicity or "汉族",
        "native_place": "河南洛阳",
        "school": person.school or "",
        "major_id": str(person.major_id),
        "phone": "13700001111",
        "email": "zhangwei.new@example.com",
    }
    data.update(over)
    return data


def test_profile_saves_basic_information(app, ctx):
    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    assert "用户资料管理" in me.get("/admin/my/profile/").get_data(as_text=True)
    response = me.post("/admin/my/profile/", profile_form(zhang))
    assert response.status_code == 302
    db.session.expire_all()
    assert zhang.native_place == "河南洛阳" and zhang.email == "zhangwei.new@example.com"
    assert zhang.account.phone == "13700001111"


def test_name_id_number_and_unit_cannot_be_changed_by_a_crafted_post(app, ctx):
    zhang = person_named("张伟")
    original = (zhang.name, zhang.id_number, zhang.unit_id, zhang.account.name, zhang.membership.org_id)
    me = sign_in(app.test_client(), "person")
    other_unit = org("郑州市第七中学")
    for crafted in ({"name": "张三"}, {"id_number": "11010519491231002X"}, {"unit_id": str(other_unit.id)},
                    {"title_level": "senior"}):
        response = me.post("/admin/my/profile/", profile_form(zhang, native_place="被篡改", **crafted))
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "姓名、身份证号和所在单位不能修改" in page
    db.session.expire_all()
    assert (zhang.name, zhang.id_number, zhang.unit_id, zhang.account.name, zhang.membership.org_id) == original
    assert zhang.native_place != "被篡改" and zhang.title_level == "intermediate"


def test_profile_refuses_bad_input(app, ctx):
    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    page = me.post("/admin/my/profile/", profile_form(zhang, birth_date="1999-01-01", email="bad")).get_data(
        as_text=True)
    assert "出生日期与身份证号不一致" in page and "电子邮箱格式不正确" in page
    other_dept = db.session.scalar(select(Org).where(Org.name == "数学教研组"))
    page = me.post("/admin/my/profile/", profile_form(zhang, department_id=str(other_dept.id))).get_data(as_text=True)
    assert "所选部门不属于您所在的单位" in page
    db.session.expire_all()
    assert zhang.department_id != other_dept.id


def test_title_change_goes_to_the_unit_with_history(app, ctx):
    zhang = person_named("张伟")
    series = db.session.scalar(select(TitleSeries).where(TitleSeries.name == "卫生技术"))
    me = sign_in(app.test_client(), "person")
    page = me.post("/admin/my/profile/title", {"title_series_id": str(series.id), "title_level": "associate_senior"},
                   form_url="/admin/my/profile/", follow_redirects=True).get_data(as_text=True)
    assert "信息已经提交审核" in page and "变更记录" in page
    db.session.expire_all()
    assert zhang.title_level == "intermediate"  # not yet
    change = db.session.scalar(select(TitleChangeRequest).where(TitleChangeRequest.person_id == zhang.id))
    # another unit's admin sees nothing and cannot decide it
    other = sign_in(app.test_client(), "unit2")
    assert zhang.name not in other.get("/admin/title-changes/").get_data(as_text=True)
    other.post("/admin/title-changes/decide", {"single_approve": change.id}, form_url="/admin/title-changes/")
    db.session.expire_all()
    assert change.status == "pending"
    # the own unit approves
    admin = sign_in(app.test_client(), "unit")
    assert zhang.name in admin.get("/admin/title-changes/").get_data(as_text=True)
    admin.post("/admin/title-changes/decide", {"ids": [change.id], "decision": "approve"},
               form_url="/admin/title-changes/")
    db.session.expire_all()
    assert change.status == "approved" and zhang.title_level == "associate_senior"
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.object_type == "title_change", AuditLog.object_id == change.id)) == 2
    page = me.get("/admin/my/profile/").get_data(as_text=True)
    assert "审核通过" in page[page.index('id="title-history"'):]


def test_yearly_completion_lists_every_year(app, ctx):
    me = sign_in(app.test_client(), "person")
    page = me.get("/admin/my/completion/").get_data(as_text=True)
    year = date.today().year
    for y in (year, year - 1, year - 2):
        assert f'data-year="{y}"' in page
    last = page[page.index(f'data-year="{year - 1}"'):]
    assert "通过" in last[:800] and "30 / 30" in last[:800] and "30.0" not in last[:800]  # whole hours as integers
    assert "证书打印功能即将开放" in page or "证书打印" in page
    detail = me.get(f"/admin/my/completion/{year}").get_data(as_text=True)
    assert "教育历程" in detail and "学术会议" in detail


def _clear_pending(person):
    db.session.execute(
        Declaration.__table__.update().where(Declaration.person_id == person.id, Declaration.status == "pending")
        .values(status="rejected", current_org_id=None)
    )
    db.session.flush()


def test_transfer_by_the_person_old_unit_releases_new_unit_accepts(app, ctx):
    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    school = org("郑州市第七中学")
    # pending records block the transfer
    page = me.post("/admin/my/transfer/", {"to_unit_id": str(school.id), "reason": "工作调动"},
                   form_url="/admin/my/transfer/").get_data(as_text=True)
    assert "当前不能申请调转" in page
    assert not db.session.scalar(select(TransferRequest.id).where(TransferRequest.person_id == zhang.id))
    _clear_pending(zhang)
    response = me.post("/admin/my/transfer/", {"to_unit_id": str(school.id), "reason": "工作调动"},
                       form_url="/admin/my/transfer/")
    assert response.status_code == 302
    request = db.session.scalar(select(TransferRequest).where(TransferRequest.person_id == zhang.id))
    assert request.status == "release_pending"
    # the new unit cannot accept before the release; another unit cannot release
    new_admin = sign_in(app.test_client(), "unit2")
    new_admin.post("/admin/transfers-out/decide", {"single_approve": request.id}, form_url="/admin/transfers-out/")
    db.session.expire_all()
    assert request.status == "release_pending"
    old_admin = sign_in(app.test_client(), "unit")
    old_admin.post("/admin/transfers-out/decide", {"single_approve": request.id}, form_url="/admin/transfers-out/")
    db.session.expire_all()
    assert request.status == "intake_pending"
    # the old unit cannot accept the intake for the new unit
    old_admin.post("/admin/transfers-in/decide", {"single_approve": request.id}, form_url="/admin/transfers-in/")
    db.session.expire_all()
    assert request.status == "intake_pending"
    dept = db.session.scalar(select(Org).where(Org.name == "数学教研组"))
    assert "张伟" in new_admin.get("/admin/transfers-in/").get_data(as_text=True)
    new_admin.post("/admin/transfers-in/decide", {"single_approve": request.id, "department_id": str(dept.id)},
                   form_url="/admin/transfers-in/")
    db.session.expire_all()
    assert request.status == "completed"
    assert zhang.unit_id == school.id and zhang.department_id == dept.id
    assert zhang.county_id == school.county_id and zhang.competent_dept_id == school.competent_dept_id
    assert zhang.membership.org_id == school.id
    # the history follows the person
    units = set(db.session.scalars(select(Declaration.unit_id).where(Declaration.person_id == zhang.id)))
    assert units == {school.id}
    assert zhang.name in new_admin.get("/admin/persons/").get_data(as_text=True)
    assert "工作调动" in me.get("/admin/my/transfer/").get_data(as_text=True)


def test_transfer_started_by_the_old_unit(app, ctx):
    li = person_named("李娜")
    _clear_pending(li)
    school = org("郑州市第七中学")
    old_admin = sign_in(app.test_client(), "unit")
    response = old_admin.post("/admin/transfers-out/", {"person_id": str(li.id), "to_unit_id": str(school.id),
                                                        "reason": "单位调整"})
    assert response.status_code == 302
    request = db.session.scalar(select(TransferRequest).where(TransferRequest.person_id == li.id))
    assert request.status == "intake_pending" and request.initiated_by == "unit"
    # unit2 (new unit) may not start a transfer of someone else's person
    page = sign_in(app.test_client(), "unit2").post(
        "/admin/transfers-out/", {"person_id": str(person_named("王强").id), "to_unit_id": str(school.id)}
    ).get_data(as_text=True)
    assert "请选择本单位的在册人员" in page
    new_admin = sign_in(app.test_client(), "unit2")
    page = new_admin.post("/admin/transfers-in/decide", {"single_reject": request.id}, form_url="/admin/transfers-in/",
                          follow_redirects=True).get_data(as_text=True)
    assert "请填写不通过的原因" in page
    new_admin.post("/admin/transfers-in/decide", {"single_reject": request.id, "reason": "编制已满"},
                   form_url="/admin/transfers-in/")
    db.session.expire_all()
    assert request.status == "rejected" and li.unit_id == org("郑州市金水区人民医院").id


def test_unit_admin_pages_are_for_unit_admins_only(app, ctx):
    me = sign_in(app.test_client(), "person")
    for url in ("/admin/person-registrations/", "/admin/title-changes/", "/admin/transfers-out/",
                "/admin/transfers-in/"):
        assert me.get(url).status_code == 403
    admin = sign_in(app.test_client(), "unit")
    assert admin.get("/admin/my/records/").status_code == 403
    assert membership_of("unit").role == "unit_admin"
    assert db.session.scalar(select(func.count()).select_from(Person)) > 0


def test_hrss_opens_a_past_year_for_a_unit_in_its_scope(app, ctx):
    from backoffice.models import YearOpening

    hospital = org("郑州市金水区人民医院")
    last = date.today().year - 1
    county = sign_in(app.test_client(), "county")
    response = county.post("/admin/year_openings/new/", {"unit": str(hospital.id), "year": str(last)})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    opening = db.session.scalar(select(YearOpening).where(YearOpening.unit_id == hospital.id))
    assert opening.year == last and opening.county_id == hospital.county_id
    # the other county sees nothing and cannot open a year for a unit outside its subtree
    other = sign_in(app.test_client(), "county2")
    assert hospital.name not in other.get("/admin/year_openings/").get_data(as_text=True)
    before = db.session.scalar(select(func.count()).select_from(YearOpening))
    other.post("/admin/year_openings/new/", {"unit": str(hospital.id), "year": str(last - 1)})
    assert db.session.scalar(select(func.count()).select_from(YearOpening)) == before
    # a current or future year cannot be "opened"
    page = county.post("/admin/year_openings/new/", {"unit": str(hospital.id), "year": str(date.today().year)},
                       form_url="/admin/year_openings/new/").get_data(as_text=True)
    assert "只能开放以往年度" in page
    # the person now sees last year in the declaration form
    me = sign_in(app.test_client(), "person")
    assert f'<option value="{last}"' in me.get("/admin/my/declare/").get_data(as_text=True)


def test_home_shows_the_persons_and_the_unit_admins_work(app, ctx):
    me = sign_in(app.test_client(), "person")
    home = me.get("/admin/").get_data(as_text=True)
    assert "/admin/my/records/?status=draft" in home and "审核不通过的学时申报" in home
    admin = sign_in(app.test_client(), "unit")
    home = admin.get("/admin/").get_data(as_text=True)
    assert "/admin/person-registrations/" in home and "待审核的职务变更" in home


def test_transfer_out_picker_marks_persons_who_cannot_move(app, ctx):
    li = person_named("李娜")
    pending = db.session.scalar(select(func.count()).select_from(Declaration).where(
        Declaration.person_id == li.id, Declaration.status == "pending"))
    assert pending  # the fixture gives her records under review
    page = sign_in(app.test_client(), "unit").get("/admin/transfers-out/").get_data(as_text=True)
    option = re.search(rf'<option value="{li.id}"[^>]*>[^<]*</option>', page).group(0)
    assert "disabled" in option and f"暂不能调出：有 {pending} 条学时申报记录正在审核中" in option
    # Once nothing is pending she is offered like anyone else.
    _clear_pending(li)
    db.session.commit()
    page = sign_in(app.test_client(), "unit").get("/admin/transfers-out/").get_data(as_text=True)
    option = re.search(rf'<option value="{li.id}"[^>]*>[^<]*</option>', page).group(0)
    assert "disabled" not in option and "暂不能调出" not in option
    # Another unit's picker does not list her at all.
    other = sign_in(app.test_client(), "unit2").get("/admin/transfers-out/").get_data(as_text=True)
    assert li.id_number not in other
