"""基础数据 as the sysadmin keeps it: lists, add, edit, disable, refused deletes, bad input."""

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from backoffice import hours, standards
from backoffice.extensions import db
from backoffice.models import (
    AuditLog,
    HourStandard,
    Industry,
    LearningForm,
    Major,
    Org,
    Region,
    UnitType,
)
from backoffice.views.basedata import enabled_choices, usages

from .conftest import org, person_named, sign_in

THIS_YEAR = date.today().year

SIMPLE = {
    "unit_types": UnitType,
    "affiliations": __import__("backoffice.models", fromlist=["Affiliation"]).Affiliation,
    "unit_levels": __import__("backoffice.models", fromlist=["UnitLevel"]).UnitLevel,
    "industries": Industry,
    "title_series": __import__("backoffice.models", fromlist=["TitleSeries"]).TitleSeries,
    "majors": Major,
}
ALL_ENDPOINTS = [*SIMPLE, "regions", "industry_depts", "hrss_orgs", "learning_forms", "hour_standards"]
OTHER_ROLES = ["province", "city", "county", "industry", "unit", "institution", "person"]


def field_errors(html):
    """Texts of the field error lists of a Flask-Admin form page."""
    blocks = re.findall(r'(?s)<ul class="form-text text-danger[^"]*">(.*?)</ul>', html)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", b)).strip() for b in blocks]


def flashes(html):
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m)).strip()
            for m in re.findall(r'(?s)<div class="alert[^"]*alert-(?:danger|error|success|warning)[^"]*"[^>]*>(.*?)</div>',
                                html)]


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(object_type, object_id=None, action=None):
    where = [AuditLog.object_type == object_type]
    if object_id is not None:
        where.append(AuditLog.object_id == object_id)
    if action is not None:
        where.append(AuditLog.action == action)
    return db.session.scalars(select(AuditLog).where(*where).order_by(AuditLog.id)).all()


@pytest.fixture
def admin(app, ctx):
    return sign_in(app.test_client(), "sysadmin")


def any_id(endpoint):
    if endpoint in SIMPLE:
        return db.session.scalar(select(SIMPLE[endpoint].id).limit(1))
    if endpoint == "regions":
        return "410100"
    if endpoint == "industry_depts":
        return org("金水区卫生健康委员会").id
    if endpoint == "hrss_orgs":
        return org("410105").id
    if endpoint == "learning_forms":
        return db.session.scalar(select(LearningForm.id).limit(1))
    return db.session.scalar(select(HourStandard.id).limit(1))


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS)
def test_sysadmin_opens_every_list_and_form(admin, endpoint):
    page = admin.get(f"/admin/{endpoint}/")
    assert page.status_code == 200
    rid = any_id(endpoint)
    assert admin.get(f"/admin/{endpoint}/edit/?id={rid}").status_code == 200
    assert admin.get(f"/admin/{endpoint}/details/?id={rid}").status_code == 200
    if endpoint != "learning_forms":
        assert admin.get(f"/admin/{endpoint}/new/").status_code == 200
    # Searchable.
    assert admin.get(f"/admin/{endpoint}/?search=郑州").status_code == 200


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_no_other_role_reaches_base_data(app, ctx, role):
    browser = sign_in(app.test_client(), role)
    menu = browser.get("/admin/").get_data(as_text=True)
    assert "基础数据" not in menu and "年度学时标准" not in menu
    for endpoint in ALL_ENDPOINTS:
        rid = any_id(endpoint)
        for url in (f"/admin/{endpoint}/", f"/admin/{endpoint}/new/", f"/admin/{endpoint}/edit/?id={rid}",
                    f"/admin/{endpoint}/details/?id={rid}"):
            assert browser.get(url).status_code in (403, 404), (role, url)
        # A write attempt changes nothing either.
        response = browser.post(f"/admin/{endpoint}/action/", {"action": "disable", "rowid": [str(rid)]},
                                form_url="/admin/")
        assert response.status_code in (403, 404)


# --------------------------------------------------------------------------- simple tables
@pytest.mark.parametrize("endpoint", list(SIMPLE))
def test_simple_table_add_edit_disable_enable(admin, endpoint):
    model = SIMPLE[endpoint]
    response = admin.post(f"/admin/{endpoint}/new/", {"name": "测试新增项", "code": "T1", "sort_order": "99",
                                                      "enabled": "y"})
    assert response.status_code == 302
    row = db.session.scalar(select(model).where(model.name == "测试新增项"))
    assert row is not None and row.code == "T1" and row.enabled
    assert [a.action for a in audits(model.__tablename__, row.id)] == ["create"]

    response = admin.post(f"/admin/{endpoint}/edit/?id={row.id}",
                          {"name": "测试修改项", "code": "T2", "sort_order": "5", "enabled": "y"})
    assert response.status_code == 302
    db.session.refresh(row)
    assert (row.name, row.code, row.sort_order) == ("测试修改项", "T2", 5)
    edit = audits(model.__tablename__, row.id, "edit")[-1]
    assert json.loads(edit.before) == {"name": "测试新增项", "code": "T1", "sort_order": 99}
    assert json.loads(edit.after) == {"name": "测试修改项", "code": "T2", "sort_order": 5}

    page = admin.post(f"/admin/{endpoint}/action/", {"action": "disable", "rowid": [str(row.id)]},
                      form_url=f"/admin/{endpoint}/", follow_redirects=True)
    assert "已停用 1 条" in page.get_data(as_text=True)
    db.session.refresh(row)
    assert row.enabled is False
    assert row not in enabled_choices(model).all()
    assert json.loads(audits(model.__tablename__, row.id, "disable")[-1].after) == {"enabled": False}
    # Filterable by state: the disabled row is listed under 停用.
    listing = admin.get(f"/admin/{endpoint}/?search=测试修改项").get_data(as_text=True)
    assert "测试修改项" in listing and "停用" in listing

    admin.post(f"/admin/{endpoint}/action/", {"action": "enable", "rowid": [str(row.id)]},
               form_url=f"/admin/{endpoint}/")
    db.session.refresh(row)
    assert row.enabled is True and row in enabled_choices(model).all()


def test_duplicate_and_empty_names_refused_at_the_field(admin):
    before = count(UnitType)
    page = admin.post("/admin/unit_types/new/", {"name": "事业单位", "sort_order": "1"}).get_data(as_text=True)
    assert "名称「事业单位」已存在，不能重复" in " ".join(field_errors(page))
    page = admin.post("/admin/unit_types/new/", {"name": "  ", "sort_order": "1"}).get_data(as_text=True)
    assert "请填写名称" in " ".join(field_errors(page))
    page = admin.post("/admin/unit_types/new/", {"name": "新性质", "sort_order": "-3"}).get_data(as_text=True)
    assert "排序号须为 0 到 99999 的整数" in " ".join(field_errors(page))
    assert count(UnitType) == before
    # Renaming onto another row's name is refused too.
    other = db.session.scalar(select(UnitType).where(UnitType.name == "机关"))
    page = admin.post(f"/admin/unit_types/edit/?id={other.id}", {"name": "事业单位", "sort_order": "0"})
    assert "已存在" in " ".join(field_errors(page.get_data(as_text=True)))
    db.session.refresh(other)
    assert other.name == "机关"


def test_delete_in_use_is_refused_with_the_reason(admin):
    used = db.session.scalar(select(UnitType).where(UnitType.name == "事业单位"))
    n_units = count(Org, Org.unit_type_id == used.id)
    assert n_units > 0
    page = admin.post("/admin/unit_types/delete/", {"id": str(used.id), "url": "/admin/unit_types/"},
                      form_url="/admin/unit_types/", follow_redirects=True).get_data(as_text=True)
    assert f"该单位性质已被 {n_units} 个单位使用，不能删除，可停用" in page
    assert db.session.get(UnitType, used.id) is not None
    # A major used by persons and subjects names both.
    major = db.session.scalar(select(Major).where(Major.name == "临床医学"))
    found = dict((noun, n) for noun, n in usages(Major, major.id))
    assert found["名专业技术人员"] >= 1 and found["个科目"] >= 1
    page = admin.post("/admin/majors/delete/", {"id": str(major.id), "url": "/admin/majors/"},
                      form_url="/admin/majors/", follow_redirects=True).get_data(as_text=True)
    assert "该专业已被" in page and "名专业技术人员" in page and "个科目" in page
    assert db.session.get(Major, major.id) is not None


def test_unused_row_may_be_deleted_and_is_audited(admin):
    admin.post("/admin/affiliations/new/", {"name": "临时隶属", "sort_order": "0", "enabled": "y"})
    from backoffice.models import Affiliation

    row = db.session.scalar(select(Affiliation).where(Affiliation.name == "临时隶属"))
    rid = row.id
    admin.post("/admin/affiliations/delete/", {"id": str(rid), "url": "/admin/affiliations/"},
               form_url="/admin/affiliations/")
    db.session.expire_all()
    assert db.session.get(Affiliation, rid) is None
    deleted = audits("affiliation", rid, "delete")
    assert len(deleted) == 1 and json.loads(deleted[0].before)["name"] == "临时隶属"


def test_batch_delete_deletes_unused_and_keeps_used(admin):
    admin.post("/admin/unit_levels/new/", {"name": "村级", "sort_order": "9", "enabled": "y"})
    from backoffice.models import UnitLevel

    new = db.session.scalar(select(UnitLevel).where(UnitLevel.name == "村级"))
    used = db.session.scalar(select(UnitLevel).where(UnitLevel.name == "县（区）级"))
    new_id, used_id = new.id, used.id
    page = admin.post("/admin/unit_levels/action/", {"action": "delete", "rowid": [str(new_id), str(used_id)]},
                      form_url="/admin/unit_levels/", follow_redirects=True).get_data(as_text=True)
    assert "该单位级别已被" in page
    db.session.expire_all()
    assert db.session.get(UnitLevel, new_id) is None
    assert db.session.get(UnitLevel, used_id) is not None


def test_disabled_rows_leave_choice_lists_elsewhere(admin):
    health = db.session.scalar(select(Industry).where(Industry.name == "卫生健康"))
    admin.post("/admin/industries/action/", {"action": "disable", "rowid": [str(health.id)]},
               form_url="/admin/industries/")
    form = admin.get("/admin/industry_depts/new/").get_data(as_text=True)
    assert ">教育<" in form and ">卫生健康<" not in form
    # A record that still holds the disabled row keeps it in its own form.
    dept = org("金水区卫生健康委员会")
    form = admin.get(f"/admin/industry_depts/edit/?id={dept.id}").get_data(as_text=True)
    assert ">卫生健康<" in form
    assert health not in enabled_choices(Industry).all()
    assert health in enabled_choices(Industry, current=health).all()


# --------------------------------------------------------------------------- regions
def test_region_add_edit_disable_and_bad_codes(admin):
    before = count(Region)
    page = admin.post("/admin/regions/new/", {"code": "4101", "name": "测试区", "parent_code": "410100",
                                              "kind": "district", "enabled": "y"}).get_data(as_text=True)
    assert "区划代码须为 6 位数字" in " ".join(field_errors(page))
    page = admin.post("/admin/regions/new/", {"code": "410105", "name": "测试区", "parent_code": "410100",
                                              "kind": "district", "enabled": "y"}).get_data(as_text=True)
    assert "区划代码「410105」已存在" in " ".join(field_errors(page))
    page = admin.post("/admin/regions/new/", {"code": "410199", "name": "测试区", "parent_code": "419999",
                                              "kind": "district", "enabled": "y"}).get_data(as_text=True)
    assert "上级区划代码「419999」不存在" in " ".join(field_errors(page))
    assert count(Region) == before
    assert admin.post("/admin/regions/new/", {"code": "410199", "name": "测试区", "parent_code": "410100",
                                              "kind": "district", "enabled": "y"}).status_code == 302
    region = db.session.get(Region, "410199")
    assert region.name == "测试区" and region.parent_code == "410100"
    admin.post("/admin/regions/edit/?id=410199", {"name": "测试新区", "parent_code": "410100", "kind": "district",
                                                  "enabled": "y"})
    db.session.refresh(region)
    assert region.name == "测试新区" and region.code == "410199"
    admin.post("/admin/regions/action/", {"action": "disable", "rowid": ["410199"]}, form_url="/admin/regions/")
    db.session.refresh(region)
    assert region.enabled is False
    page = admin.post("/admin/regions/delete/", {"id": "410100", "url": "/admin/regions/"},
                      form_url="/admin/regions/", follow_redirects=True).get_data(as_text=True)
    assert "该行政区划已被" in page and "个下级行政区划" in page


# --------------------------------------------------------------------------- org nodes
def test_industry_dept_added_under_an_hrss_node(admin):
    from backoffice.validators import make_credit_code

    county = org("410102")  # 中原区
    code = make_credit_code("410102", 777, prefix="11")
    edu = db.session.scalar(select(Industry).where(Industry.name == "教育"))
    data = {"parent": str(county.id), "name": "中原区教育局", "code": code, "industry": str(edu.id),
            "contact_name": "李老师", "contact_phone": "0371-66000000", "email": "edu@example.gov.cn"}
    assert admin.post("/admin/industry_depts/new/", data).status_code == 302
    dept = db.session.scalar(select(Org).where(Org.name == "中原区教育局"))
    assert dept.kind == "industry_dept" and dept.status == "approved"
    assert dept.parent_id == county.id and dept.parent_path == county.parent_path + f"{dept.id}/"
    assert dept.county_id == county.id and dept.city_id == org("410100").id
    assert audits("org", dept.id, "create")
    # Edit, disable.
    admin.post(f"/admin/industry_depts/edit/?id={dept.id}", {**data, "name": "郑州市中原区教育局"})
    db.session.refresh(dept)
    assert dept.name == "郑州市中原区教育局" and dept.parent_id == county.id
    admin.post("/admin/industry_depts/action/", {"action": "disable", "rowid": [str(dept.id)]},
               form_url="/admin/industry_depts/")
    db.session.refresh(dept)
    assert dept.status == "disabled"
    # Unused: may be deleted.
    admin.post("/admin/industry_depts/delete/", {"id": str(dept.id), "url": "/admin/industry_depts/"},
               form_url="/admin/industry_depts/")
    db.session.expire_all()
    assert db.session.get(Org, dept.id) is None


def test_industry_dept_bad_input_and_refused_delete(admin):
    county = org("410102")
    before = count(Org)
    page = admin.post("/admin/industry_depts/new/", {"parent": str(county.id), "name": "某局",
                                                     "code": "12345"}).get_data(as_text=True)
    assert "统一社会信用代码不正确" in " ".join(field_errors(page))
    taken = org("金水区卫生健康委员会")
    page = admin.post("/admin/industry_depts/new/", {"parent": str(county.id), "name": taken.name,
                                                     "code": taken.code}).get_data(as_text=True)
    errors = " ".join(field_errors(page))
    assert "已存在，不能重复" in errors and "已被其他组织使用" in errors
    unit = org("郑州市金水区人民医院")
    page = admin.post("/admin/industry_depts/new/", {"parent": str(unit.id), "name": "新局",
                                                     "code": "91410100MA00000000"}).get_data(as_text=True)
    assert "请选择上级人社部门" in " ".join(field_errors(page))  # a unit is not an HRSS node
    page = admin.post("/admin/industry_depts/new/", {"parent": "__None", "name": "新局",
                                                     "code": "91410100MA00000000"}).get_data(as_text=True)
    assert "请选择上级人社部门" in " ".join(field_errors(page))
    assert count(Org) == before
    page = admin.post("/admin/industry_depts/delete/", {"id": str(taken.id), "url": "/admin/industry_depts/"},
                      form_url="/admin/industry_depts/", follow_redirects=True).get_data(as_text=True)
    assert "该行业主管部门已被" in page and "不能删除，可停用" in page
    # A unit is not an industry department: this view does not open it.
    assert admin.get(f"/admin/industry_depts/edit/?id={unit.id}").status_code == 404
    assert admin.get(f"/admin/hrss_orgs/details/?id={unit.id}").status_code == 404


def test_hrss_bureau_added_under_the_right_parent(admin):
    zz = org("410100")
    province = db.session.scalar(select(Org).where(Org.kind == "province_hrss"))
    admin.post("/admin/regions/new/", {"code": "410199", "name": "郑东新区", "parent_code": "410100",
                                       "kind": "functional_zone", "enabled": "y"})
    before = count(Org)
    page = admin.post("/admin/hrss_orgs/new/", {"kind": "county_hrss", "parent": str(province.id),
                                                "name": "郑东新区人力资源和社会保障局", "code": "410199"})
    assert "区（县）人社局的上级须为市人社局" in " ".join(field_errors(page.get_data(as_text=True)))
    page = admin.post("/admin/hrss_orgs/new/", {"kind": "county_hrss", "parent": str(zz.id),
                                                "name": "某某人社局", "code": "410188"})
    assert "不在行政区划表中" in " ".join(field_errors(page.get_data(as_text=True)))
    page = admin.post("/admin/hrss_orgs/new/", {"kind": "county_hrss", "parent": str(zz.id),
                                                "name": "某某人社局", "code": "410105"})
    assert "已被其他组织使用" in " ".join(field_errors(page.get_data(as_text=True)))
    assert count(Org) == before
    assert admin.post("/admin/hrss_orgs/new/", {"kind": "county_hrss", "parent": str(zz.id),
                                                "name": "郑东新区人力资源和社会保障局", "code": "410199"}
                      ).status_code == 302
    node = db.session.scalar(select(Org).where(Org.code == "410199"))
    assert node.kind == "county_hrss" and node.division_code == "410199"
    assert node.county_id == node.id and node.city_id == zz.id and node.parent_path.startswith(zz.parent_path)
    assert admin.post(f"/admin/hrss_orgs/edit/?id={node.id}", {"name": "郑州市郑东新区人力资源和社会保障局",
                                                              "code": "410199", "contact_name": "王"}
                      ).status_code == 302
    db.session.refresh(node)
    assert node.name == "郑州市郑东新区人力资源和社会保障局" and node.contact_name == "王" and node.kind == "county_hrss"
    assert json.loads(audits("org", node.id, "edit")[-1].after)["name"] == "郑州市郑东新区人力资源和社会保障局"
    # The province cannot be disabled; a city bureau with units under it cannot be deleted.
    page = admin.post("/admin/hrss_orgs/action/", {"action": "disable", "rowid": [str(province.id)]},
                      form_url="/admin/hrss_orgs/", follow_redirects=True).get_data(as_text=True)
    assert "省人社厅不能停用" in page
    db.session.refresh(province)
    assert province.status == "approved"
    page = admin.post("/admin/hrss_orgs/delete/", {"id": str(zz.id), "url": "/admin/hrss_orgs/"},
                      form_url="/admin/hrss_orgs/", follow_redirects=True).get_data(as_text=True)
    assert "该人社局已被" in page
    admin.post("/admin/hrss_orgs/action/", {"action": "disable", "rowid": [str(node.id)]},
               form_url="/admin/hrss_orgs/")
    db.session.refresh(node)
    assert node.status == "disabled"


# --------------------------------------------------------------------------- learning forms
def test_learning_form_rule_shown_in_chinese_and_edited(admin):
    page = admin.get("/admin/learning_forms/").get_data(as_text=True)
    assert "国家部委举办每天 6 学时，宣读、报告论文另加 6 学时" in page
    conf = db.session.scalar(select(LearningForm).where(LearningForm.code == "conference"))
    rule = json.loads(json.dumps(conf.rule))
    rule["levels"]["provincial"]["per_day"] = 5
    response = admin.post(f"/admin/learning_forms/edit/?id={conf.id}",
                          {"name": "学术会议", "rule": json.dumps(rule), "sort_order": str(conf.sort_order),
                           "enabled": "y"})
    assert response.status_code == 302
    db.session.refresh(conf)
    assert conf.rule["levels"]["provincial"]["per_day"] == 5
    assert hours.compute_hours("conference", {"level": "provincial", "days": 2}, conf.rule).hours == 10
    edit = audits("learning_form", conf.id, "edit")[-1]
    assert json.loads(edit.before)["rule"]["levels"]["provincial"]["per_day"] == 4
    assert json.loads(edit.after)["rule"]["levels"]["provincial"]["per_day"] == 5


@pytest.mark.parametrize("text, message", [
    ("{not json", "折算标准不是有效的 JSON"),
    ('{"levels": {"national": {"per_day": -6, "paper": 6}}, "max_days": 366}', "不能为负数"),
    ('{"levels": {"national": {"per_day": 6, "paper": 6}}}', "规则缺少项「max_days」"),
    ('{"levels": {"world": {"per_day": 6, "paper": 6}}, "max_days": 366}', "未知取值「world」"),
    ("", "请填写折算标准"),
])
def test_learning_form_bad_rules_refused(admin, text, message):
    conf = db.session.scalar(select(LearningForm).where(LearningForm.code == "conference"))
    original = json.dumps(conf.rule, sort_keys=True)
    page = admin.post(f"/admin/learning_forms/edit/?id={conf.id}",
                      {"name": "学术会议", "rule": text, "sort_order": "4", "enabled": "y"}).get_data(as_text=True)
    assert message in " ".join(field_errors(page))
    db.session.expire_all()
    assert json.dumps(db.session.get(LearningForm, conf.id).rule, sort_keys=True) == original


def test_learning_form_disabled_and_enabled(admin):
    exam = db.session.scalar(select(LearningForm).where(LearningForm.code == "exam"))
    admin.post("/admin/learning_forms/action/", {"action": "disable", "rowid": [str(exam.id)]},
               form_url="/admin/learning_forms/")
    db.session.refresh(exam)
    assert exam.enabled is False and exam not in enabled_choices(LearningForm).all()
    assert audits("learning_form", exam.id, "disable")
    admin.post("/admin/learning_forms/action/", {"action": "enable", "rowid": [str(exam.id)]},
               form_url="/admin/learning_forms/")
    db.session.refresh(exam)
    assert exam.enabled is True


def test_learning_forms_cannot_be_created_or_deleted(admin):
    assert admin.get("/admin/learning_forms/new/").status_code in (302, 403, 404)
    conf = db.session.scalar(select(LearningForm).where(LearningForm.code == "conference"))
    admin.post("/admin/learning_forms/delete/", {"id": str(conf.id), "url": "/admin/learning_forms/"},
               form_url="/admin/learning_forms/")
    assert db.session.get(LearningForm, conf.id) is not None


# --------------------------------------------------------------------------- hour standards
def standard_form(**overrides):
    data = {"year_from": "2040", "year_to": "2040", "title_group": "all", "region_group": "all",
            "public": "30", "professional": "60", "total": "90", "enabled": "y", "note": ""}
    data.update({k: str(v) for k, v in overrides.items()})
    return data


@pytest.mark.parametrize("overrides, message", [
    ({"public": "-5"}, "学时不能为负数"),
    ({"professional": "6000", "total": "6030"}, "学时不能超过 500"),
    ({"public": "0"}, "学时须大于 0"),
    ({"total": "100"}, "公需科目学时 30 + 专业科目学时 60 = 90，须等于总学时 100"),
    ({"year_from": "2020", "year_to": "2021"}, "年度重叠"),
    ({"year_to": "2030"}, "截止年度不能早于起始年度"),
    ({"year_from": "1800"}, "年度须在 1990 到 2100 之间"),
    ({"year_from": "abc"}, "整数"),
    ({"year_from": "2016", "year_to": "2017", "region_group": "zhengzhou"}, "年度重叠"),
])
def test_bad_standards_show_a_message_and_save_nothing(admin, overrides, message):
    before = standards.standards_rows()
    page = admin.post("/admin/hour_standards/new/", standard_form(**overrides)).get_data(as_text=True)
    assert message in " ".join(field_errors(page) + flashes(page)), field_errors(page)
    assert "Failed to" not in page
    db.session.expire_all()
    assert standards.standards_rows() == before


def test_editing_a_standard_into_an_overlap_is_refused(admin):
    row = db.session.scalar(select(HourStandard).where(HourStandard.year_from == 2016,
                                                       HourStandard.region_group == "other"))
    page = admin.post(f"/admin/hour_standards/edit/?id={row.id}",
                      standard_form(year_from=2016, year_to=2019, region_group="other", public=24,
                                    professional=66)).get_data(as_text=True)
    assert "年度重叠" in " ".join(field_errors(page))
    db.session.refresh(row)
    assert row.year_to == 2017


def test_add_a_new_year_standard_and_disable_enable(admin):
    open_row = db.session.scalar(select(HourStandard).where(HourStandard.year_from == 2018))
    response = admin.post(f"/admin/hour_standards/edit/?id={open_row.id}",
                          standard_form(year_from=2018, year_to=THIS_YEAR - 1))
    assert response.status_code == 302
    response = admin.post("/admin/hour_standards/new/",
                          standard_form(year_from=THIS_YEAR, year_to="", public=40, professional=60, total=100,
                                        note="新标准"))
    assert response.status_code == 302
    new = db.session.scalar(select(HourStandard).where(HourStandard.year_from == THIS_YEAR))
    assert (new.year_to, new.total, new.public) == (None, 100, 40)
    hours.validate_standards(standards.standards_rows())
    assert audits("hour_standard", new.id, "create")
    assert json.loads(audits("hour_standard", open_row.id, "edit")[-1].after) == {"year_to": THIS_YEAR - 1}
    # Disable it, then re-enabling it would overlap once another row covers the years.
    admin.post("/admin/hour_standards/action/", {"action": "disable", "rowid": [str(new.id)]},
               form_url="/admin/hour_standards/")
    db.session.refresh(new)
    assert new.enabled is False
    admin.post(f"/admin/hour_standards/edit/?id={open_row.id}", standard_form(year_from=2018, year_to=""))
    db.session.refresh(open_row)
    assert open_row.year_to is None
    page = admin.post("/admin/hour_standards/action/", {"action": "enable", "rowid": [str(new.id)]},
                      form_url="/admin/hour_standards/", follow_redirects=True).get_data(as_text=True)
    assert "年度重叠" in page
    db.session.refresh(new)
    assert new.enabled is False


def test_standard_change_over_http_keeps_the_certified_year(admin):
    """Done-when: changing the 2018+ standard for a new year leaves an earlier certified year alone."""
    zhang = person_named("张伟")
    year = THIS_YEAR - 1
    frozen = standards.certify_year(zhang, year)
    db.session.commit()
    figures = (frozen.id, frozen.standard_id, frozen.required_public, frozen.required_professional,
               frozen.required_total, frozen.public_hours, frozen.professional_hours, frozen.total_hours)
    open_row = db.session.scalar(select(HourStandard).where(HourStandard.year_from == 2018))
    # The sysadmin even raises the row the year was certified under…
    assert admin.post(f"/admin/hour_standards/edit/?id={open_row.id}",
                      standard_form(year_from=2018, year_to="", public=40, professional=70, total=110)
                      ).status_code == 302
    # …and the used standard row cannot be deleted.
    page = admin.post("/admin/hour_standards/delete/", {"id": str(open_row.id), "url": "/admin/hour_standards/"},
                      form_url="/admin/hour_standards/", follow_redirects=True).get_data(as_text=True)
    assert "条年度认定结果" in page
    db.session.expire_all()
    again = standards.frozen_result(zhang, year)
    assert (again.id, again.standard_id, again.required_public, again.required_professional,
            again.required_total, again.public_hours, again.professional_hours, again.total_hours) == figures
    assert standards.certify_year(zhang, year).id == frozen.id
    assert standards.year_completion(zhang, year).passed
    assert standards.year_completion(zhang, THIS_YEAR).required_total == 110


def test_a_historical_standard_cannot_be_deleted_only_superseded(admin):
    """2016–2017 郑州以外地区 judged past years: the delete is refused with the way to supersede it."""
    old = db.session.scalar(select(HourStandard).where(HourStandard.year_from == 2016,
                                                       HourStandard.region_group == "other"))
    page = admin.post("/admin/hour_standards/delete/", {"id": str(old.id), "url": "/admin/hour_standards/"},
                      form_url="/admin/hour_standards/", follow_redirects=True).get_data(as_text=True)
    assert "2016–2017 年的学时标准已用于往年或本年度的学时认定，不能删除" in page
    page = admin.post("/admin/hour_standards/action/", {"action": "delete", "rowid": [str(old.id)]},
                      form_url="/admin/hour_standards/", follow_redirects=True).get_data(as_text=True)
    assert "不能删除" in page
    db.session.expire_all()
    assert db.session.get(HourStandard, old.id) is not None
    assert not audits("hour_standard", old.id, "delete")
    # A standard that has not taken effect yet (a future year) may still be deleted.
    open_row = db.session.scalar(select(HourStandard).where(HourStandard.year_from == 2018))
    admin.post(f"/admin/hour_standards/edit/?id={open_row.id}", standard_form(year_from=2018, year_to=THIS_YEAR))
    admin.post("/admin/hour_standards/new/", standard_form(year_from=THIS_YEAR + 1, year_to="", note="明年"))
    future = db.session.scalar(select(HourStandard).where(HourStandard.year_from == THIS_YEAR + 1))
    assert future is not None
    admin.post("/admin/hour_standards/delete/", {"id": str(future.id), "url": "/admin/hour_standards/"},
               form_url="/admin/hour_standards/")
    db.session.expire_all()
    assert db.session.get(HourStandard, future.id) is None


def test_learning_form_rule_is_edited_in_labelled_fields(admin):
    """Each figure of a rule has its own labelled input; validation and the audit stay."""
    paper = db.session.scalar(select(LearningForm).where(LearningForm.code == "paper"))
    page = admin.get(f"/admin/learning_forms/edit/?id={paper.id}").get_data(as_text=True)
    assert 'id="rule-form"' in page and "<textarea" not in page.split('id="rule-form"')[1].split("</form>")[0]
    label = re.search(r'<label[^>]*for="rule__journals__national">([^<]+)</label>', page)
    assert label and label.group(1) == "国外及国家一级学会主办的专业刊物"
    assert 'value="52，44，36"' in page
    form = {"name": "论文", "sort_order": str(paper.sort_order), "enabled": "y",
            "rule__journals__national": "50, 40, 30", "rule__journals__provincial_core": "44，36，28",
            "rule__journals__issn_cn": "36、28、20"}
    response = admin.post(f"/admin/learning_forms/edit/?id={paper.id}", form)
    assert response.status_code == 302
    db.session.refresh(paper)
    assert paper.rule["journals"]["national"] == [50, 40, 30]
    assert hours.compute_hours("paper", {"journal": "national", "rank": 2}, paper.rule).hours == 40
    assert json.loads(audits("learning_form", paper.id, "edit")[-1].after)["rule"]["journals"]["national"] == [50, 40, 30]
    # Bad figures are refused at the field, in words, and nothing changes.
    conf = db.session.scalar(select(LearningForm).where(LearningForm.code == "conference"))
    original = json.dumps(conf.rule, sort_keys=True)
    base = {"name": "学术会议", "sort_order": str(conf.sort_order), "enabled": "y",
            "rule__levels__national__per_day": "6", "rule__levels__national__paper": "6",
            "rule__levels__provincial__per_day": "4", "rule__levels__provincial__paper": "4",
            "rule__max_days": "366"}
    for key, value, message in (("rule__levels__provincial__per_day", "四", "「省级 · 每天学时」须为数字"),
                                ("rule__levels__provincial__per_day", "-4", "不能为负数"),
                                ("rule__max_days", "", "请填写「最多天数」")):
        page = admin.post(f"/admin/learning_forms/edit/?id={conf.id}", {**base, key: value}).get_data(as_text=True)
        assert message in " ".join(field_errors(page)), (key, value, field_errors(page))
        db.session.expire_all()
        assert json.dumps(db.session.get(LearningForm, conf.id).rule, sort_keys=True) == original
