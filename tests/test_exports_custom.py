"""Exports of the custom list pages (review queues, admin lists, certificate printing,
transfers, the person query…): each page links 导出 Excel / 导出 CSV that keep its
current filters; the files hold the rows the page's own scoped query lists, with the
page's Chinese headers and labels, and nothing of another subtree. Above the threshold
the export becomes a job whose file holds every row.
"""

import io
import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import (
    ApiKey,
    Membership,
    Org,
    OrgChangeRequest,
    Person,
    TitleChangeRequest,
    TitleSeries,
    TrainingClass,
    TrainingPlan,
)

from .conftest import membership_of, org, person_named
from .test_exports import csv_rows, xlsx_rows
from .test_person_profile import _clear_pending
from .training_helpers import create_plan, foreign_institution

LINK = re.compile(r'id="export-(xlsx|csv)" href="([^"]+)"')
HOSPITAL = "郑州市金水区人民医院"


def page_export(browser, url):
    """Open a list page and follow its two export links: the .xlsx and the CSV (with its
    BOM) hold the same header and rows. Returns (header, rows as text)."""
    page = browser.get(url)
    assert page.status_code == 200, (url, page.status_code)
    links = {kind: unescape(href) for kind, href in LINK.findall(page.get_data(as_text=True))}
    assert set(links) == {"xlsx", "csv"}, url
    header, rows = xlsx_rows(browser.get(links["xlsx"]))
    c_header, c_rows = csv_rows(browser.get(links["csv"]))
    assert c_header == list(header)
    text = [["" if v is None else str(v) for v in row] for row in rows]
    assert c_rows == text
    return list(header), text


def column(header, rows, name):
    i = header.index(name)
    return [row[i] for row in rows]


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def persons_of(unit_name, *where):
    return count(Person, Person.unit_id == org(unit_name).id, *where)


# --------------------------------------------------------------------------- 账户管理
def test_account_review_exports_the_registrations_of_its_tab(signed_in):
    county = org("410105")
    header, rows = page_export(signed_in("county"), "/admin/account_review/?kind=unit")
    assert header == ["注册类型", "组织名称", "组织机构代码", "申请人", "身份证号", "审核部门", "注册时间"]
    expected = db.session.scalar(select(func.count()).select_from(Membership).join(Org, Membership.org_id == Org.id)
                                 .where(Membership.status == "pending", Membership.role == "unit_admin",
                                        Org.kind == "unit", Org.county_id == county.id))
    assert len(rows) == expected == 1
    assert rows[0][:2] == ["用人单位", "金水区文化路社区卫生服务中心"]
    assert rows[0][5] == county.name
    # another tab: institutions only
    assert page_export(signed_in("county"), "/admin/account_review/?kind=institution")[1] == []
    # another county's HRSS
    _, rows = page_export(signed_in("county2"), "/admin/account_review/")
    assert "金水区文化路社区卫生服务中心" not in column(header, rows, "组织名称")


def test_org_admins_export_the_own_organisations_admins(signed_in):
    hospital = org(HOSPITAL)
    header, rows = page_export(signed_in("unit"), "/admin/org_admins/")
    assert header == ["姓名", "身份证号", "手机号码", "电子邮箱", "超级管理员", "状态", "菜单权限"]
    assert len(rows) == count(Membership, Membership.org_id == hospital.id, Membership.role == "unit_admin",
                              Membership.status != "removed")
    assert ["金水区人民医院管理员", membership_of("unit").account.id_number] == rows[0][:2]
    assert rows[0][4:] == ["是", "正常", "全部"]
    _, rows = page_export(signed_in("unit2"), "/admin/org_admins/")
    assert column(header, rows, "姓名") == ["第七中学管理员"]


def test_sysadmins_export_every_sysadmin_and_nobody_else_may(signed_in):
    header, rows = page_export(signed_in("sysadmin"), "/admin/sysadmins/")
    assert header == ["姓名", "身份证号", "手机号码", "电子邮箱", "状态"]
    assert len(rows) == count(Membership, Membership.role == "sysadmin") >= 1
    assert "系统管理员" in column(header, rows, "姓名")
    for key in ("province", "unit"):
        assert signed_in(key).get("/admin/sysadmins/export/xlsx/").status_code == 403


def test_org_accounts_export_leaves_out_the_admins_link(signed_in):
    """管理账户 is a model list (exported by ExportMixin); its 管理员信息 column is a link
    on the page, the same word in every row of a file."""
    header, rows = xlsx_rows(signed_in("county").get("/admin/org_accounts/export/xlsx/"))
    assert header[:2] == ("名称", "类别") and "管理员信息" not in header
    assert HOSPITAL in [r[0] for r in rows]
    assert "郑州市第七中学" not in [r[0] for r in rows]


PDF = b"%PDF-1.4 scan"


def test_org_change_review_exports_the_requests_of_its_tab(signed_in):
    hospital = org(HOSPITAL)
    unit = signed_in("unit")
    response = unit.post("/admin/org_profile/info", {"info-name": "郑州市金水区人民医院（新院区）",
                                                     "info-code": hospital.code,
                                                     "info-scan": (io.BytesIO(PDF), "scan.pdf")},
                         form_url="/admin/org_profile/")
    assert response.status_code == 302
    county = signed_in("county")
    header, rows = page_export(county, "/admin/org_change_review/")
    assert header == ["单位", "申请时间", "类型", "变更前", "变更后", "审核部门", "状态", "审核意见"]
    assert len(rows) == count(OrgChangeRequest, OrgChangeRequest.status == "pending",
                              OrgChangeRequest.reviewer_org_id == org("410105").id) == 1
    assert rows[0][0] == HOSPITAL and rows[0][4].startswith("郑州市金水区人民医院（新院区）")
    assert rows[0][5] == "金水区人力资源和社会保障局"
    assert len(page_export(county, "/admin/org_change_review/?show=all")[1]) == 1
    for key in ("county2", "luoyang"):
        _, rows = page_export(signed_in(key), "/admin/org_change_review/?show=all")
        assert HOSPITAL not in column(header, rows, "单位"), key


# --------------------------------------------------------------------------- 证书打印
def test_certificate_print_exports_the_passed_persons_of_the_year(signed_in):
    year = date.today().year - 1
    unit = signed_in("unit")
    page = unit.get(f"/admin/certificates/?year={year}").get_data(as_text=True)
    total = int(re.search(r'id="total-count">(\d+)<', page).group(1))
    header, rows = page_export(unit, f"/admin/certificates/?year={year}")
    assert header == ["姓名", "身份证号", "部门", "年度", "公需科目", "专业科目", "合计", "证书编号"]
    assert len(rows) == total >= 1
    zhang = next(r for r in rows if r[0] == "张伟")
    assert zhang[3:] == [str(year), "30", "60", "90", "未出证"]  # whole hours, no ".0"
    # the name filter of the page
    assert [r[0] for r in page_export(unit, f"/admin/certificates/?year={year}&name=李")[1]] == []
    # a county HRSS sees the unit column; another county and another unit see no 张伟
    header, rows = page_export(signed_in("county"), f"/admin/certificates/?year={year}")
    assert "单位" in header and ["张伟", HOSPITAL] in [[r[0], r[2]] for r in rows]
    for key in ("county2", "unit2"):
        _, rows = page_export(signed_in(key), f"/admin/certificates/?year={year}")
        assert "张伟" not in [r[0] for r in rows], key


def test_province_certificate_export_follows_the_narrowing_filter(signed_in):
    province = signed_in("province")
    page = province.get("/admin/certificates/").get_data(as_text=True)
    assert 'id="narrow-first"' in page and 'id="export-xlsx"' not in page
    _, rows = xlsx_rows(province.get("/admin/certificates/export/xlsx/"))
    assert rows == []
    _, rows = page_export(province, "/admin/certificates/?unit=金水区人民医院")
    assert "张伟" in [r[0] for r in rows] and {r[2] for r in rows} == {HOSPITAL}


# --------------------------------------------------------------------------- training reviews
@pytest.fixture
def foreign(app, ctx):
    return foreign_institution(app)


def test_plan_review_exports_the_plans_of_its_filter(signed_in, foreign):
    pending = create_plan(foreign["browser"], "外机构待审计划", route="hrss")
    city = signed_in("city")
    header, rows = page_export(city, "/admin/plan_review/?status=all")
    assert header == ["计划名称", "申报机构", "科目类型", "继续教育年度", "计划人数", "学时", "审核状态", "当前审核部门"]
    assert len(rows) == count(TrainingPlan, TrainingPlan.status != "draft") == 2
    assert ["外机构待审计划", "郑州市职业培训学院", "专业科目"] == rows[0][:3]
    assert rows[0][5:7] == ["24", "待审核"]
    # the default tab: waiting for me
    _, rows = page_export(city, "/admin/plan_review/")
    assert len(rows) == count(TrainingPlan, TrainingPlan.status == "pending",
                              TrainingPlan.current_org_id == org("410100").id) == 1
    _, rows = page_export(city, "/admin/plan_review/?status=all&name=专业")
    assert [r[0] for r in rows] == ["外机构专业计划"]
    assert pending.status == "pending"
    for key in ("luoyang", "county2"):
        assert page_export(signed_in(key), "/admin/plan_review/?status=all")[1] == [], key


def test_class_declaration_review_exports_its_groups(signed_in, foreign):
    cls = foreign["cls"]
    foreign["browser"].post(f"/admin/score_declaration/declare/{cls.id}", {"route": "hrss"},
                            form_url=f"/admin/score_declaration/roster/{cls.id}")
    header, rows = page_export(signed_in("county"), "/admin/training_decl_review/")
    assert header == ["申报机构", "类型", "培训班 / 单位培训计划", "科目类型", "继续教育年度", "申报人数", "待我审核"]
    assert rows == [["郑州市职业培训学院", "培训班", "外机构培训班", "专业科目", str(date.today().year), "2", "2"]]
    assert page_export(signed_in("county"), "/admin/training_decl_review/?status=approved")[1] == []
    for key in ("county2", "luoyang"):
        assert page_export(signed_in(key), "/admin/training_decl_review/?status=all")[1] == [], key


def test_score_declaration_exports_the_institutions_classes(signed_in, foreign):
    header, rows = page_export(foreign["browser"], "/admin/score_declaration/")
    assert header == ["培训班名称", "科目类型", "培训年度", "继续教育年度", "学时", "学员人数", "合格人数", "状态"]
    assert len(rows) == count(TrainingClass, TrainingClass.institution_id == foreign["inst"].id) == 1
    assert rows[0][0] == "外机构培训班" and rows[0][4:] == ["24", "2", "2", "未申报"]
    assert page_export(foreign["browser"], "/admin/score_declaration/?name=不存在")[1] == []
    _, rows = page_export(signed_in("institution"), "/admin/score_declaration/")
    assert "外机构培训班" not in [r[0] for r in rows]


# --------------------------------------------------------------------------- 人员管理 (unit admin)
def test_registration_review_exports_the_pending_persons(signed_in):
    hospital = org(HOSPITAL)
    header, rows = page_export(signed_in("unit"), "/admin/person-registrations/")
    assert header == ["姓名", "身份证号", "性别", "出生日期", "部门", "职务", "手机号码", "电子邮箱", "注册时间"]
    assert len(rows) == count(Membership, Membership.org_id == hospital.id, Membership.role == "person",
                              Membership.status == "pending") == 1
    assert rows[0][:6] == ["吴芳", person_named("吴芳").id_number, "女", "1995-05-05", "护理部", "卫生技术 初级"]
    _, rows = page_export(signed_in("unit2"), "/admin/person-registrations/")
    assert "吴芳" not in [r[0] for r in rows]


def test_title_change_review_exports_the_requests_of_its_tab(app, signed_in):
    zhang = person_named("张伟")
    series = db.session.scalar(select(TitleSeries).where(TitleSeries.name == "卫生技术"))
    signed_in("person").post("/admin/my/profile/title", {"title_series_id": str(series.id),
                                                          "title_level": "associate_senior"},
                             form_url="/admin/my/profile/")
    unit = signed_in("unit")
    header, rows = page_export(unit, "/admin/title-changes/")
    assert header == ["姓名", "身份证号", "原职务", "变更为", "申请时间", "结果"]
    assert len(rows) == count(TitleChangeRequest, TitleChangeRequest.unit_id == zhang.unit_id,
                              TitleChangeRequest.status == "pending") == 1
    assert rows[0][:4] == ["张伟", zhang.id_number, "卫生技术 中级", "卫生技术 副高级"]
    assert rows[0][5] == "待审核"
    assert page_export(unit, "/admin/title-changes/?status=approved")[1] == []
    _, rows = page_export(signed_in("unit2"), "/admin/title-changes/")
    assert "张伟" not in [r[0] for r in rows]


def test_transfers_out_and_in_export_their_rows_on_each_side(signed_in):
    li = person_named("李娜")
    _clear_pending(li)
    school = org("郑州市第七中学")
    old = signed_in("unit")
    response = old.post("/admin/transfers-out/", {"person_id": str(li.id), "to_unit_id": str(school.id),
                                                  "reason": "单位调整"})
    assert response.status_code == 302
    header, rows = page_export(old, "/admin/transfers-out/")
    assert header == ["姓名", "身份证号", "调入单位", "发起方", "原因", "申请时间", "状态"]
    assert len(rows) == 1
    assert rows[0][:5] == ["李娜", li.id_number, "郑州市第七中学", "本单位发起", "单位调整"]
    assert rows[0][6] == "待调入单位审核"
    new = signed_in("unit2")
    header, rows = page_export(new, "/admin/transfers-in/")
    assert header == ["姓名", "身份证号", "原单位", "原因", "申请时间", "状态"]
    assert [r[:3] for r in rows] == [["李娜", li.id_number, HOSPITAL]]
    assert page_export(new, "/admin/transfers-in/?status=completed")[1] == []
    # each side sees only its own: the old unit has no intake, the new one no release
    assert page_export(old, "/admin/transfers-in/")[1] == []
    assert page_export(new, "/admin/transfers-out/")[1] == []


# --------------------------------------------------------------------------- 专技人员信息查询
def test_person_query_exports_the_search_results(signed_in):
    header, rows = page_export(signed_in("unit"), "/admin/person_query/")
    assert header == ["姓名", "身份证号", "单位", "部门", "职称级别", "账号状态"]
    assert len(rows) == persons_of(HOSPITAL) >= 5
    assert {r[2] for r in rows} == {HOSPITAL}
    assert ["吴芳", "待审核"] in [[r[0], r[5]] for r in rows]
    # a search of a county HRSS
    _, rows = page_export(signed_in("county"), "/admin/person_query/?q=张伟")
    assert [r[:3] for r in rows] == [["张伟", person_named("张伟").id_number, HOSPITAL]]
    # another county, another unit: not theirs
    assert page_export(signed_in("county2"), "/admin/person_query/?q=张伟")[1] == []
    _, rows = page_export(signed_in("unit2"), "/admin/person_query/")
    assert len(rows) == persons_of("郑州市第七中学") and "张伟" not in [r[0] for r in rows]


def test_a_page_without_a_search_exports_nothing(signed_in):
    county = signed_in("county")
    assert 'id="export-xlsx"' not in county.get("/admin/person_query/").get_data(as_text=True)
    assert xlsx_rows(county.get("/admin/person_query/export/xlsx/"))[1] == []
    assert county.get("/admin/person_query/export/pdf/").status_code == 404


def test_roles_without_the_page_cannot_export_it(signed_in):
    unit = signed_in("unit")
    for url in ("/admin/account_review/export/xlsx/", "/admin/plan_review/export/csv/",
                "/admin/training_decl_review/export/xlsx/", "/admin/org_change_review/export/csv/"):
        assert unit.get(url).status_code == 403, url
    county = signed_in("county")
    for url in ("/admin/person-registrations/export/xlsx/", "/admin/transfers-out/export/csv/",
                "/admin/score_declaration/export/xlsx/"):
        assert county.get(url).status_code == 403, url


# --------------------------------------------------------------------------- API 密钥管理
def test_api_keys_export_the_institutions_keys(signed_in, foreign):
    inst = signed_in("institution")
    form = {"name": "某学习平台", "allowed_ips": "203.0.113.0/24", "expires_on": ""}
    assert inst.post("/admin/api_keys/", form).status_code == 200
    header, rows = page_export(inst, "/admin/api_keys/")
    assert header == ["名称", "前缀", "IP 白名单", "有效期至", "状态", "最近使用", "调用次数"]
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "某学习平台"))
    assert len(rows) == count(ApiKey, ApiKey.institution_id == membership_of("institution").org_id) == 1
    assert rows[0] == ["某学习平台", key.prefix, "203.0.113.0/24", "长期", key.state_label, "", "0"]
    assert page_export(foreign["browser"], "/admin/api_keys/")[1] == []


# --------------------------------------------------------------------------- large exports
@pytest.fixture
def small_threshold(app, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 1)
    return 1


def _job_file(browser, url):
    response = browser.get(url)
    assert response.status_code == 302, response.status_code
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "已完成" in page
    return re.search(r'id="export-download" href="([^"]+)"', page).group(1)


def test_above_the_threshold_a_custom_export_is_a_job_with_every_row(signed_in, small_threshold):
    unit = signed_in("unit")
    expected = persons_of(HOSPITAL)
    assert expected > small_threshold
    download = _job_file(unit, "/admin/person_query/export/xlsx/")
    header, rows = xlsx_rows(unit.get(download))
    assert header[0] == "姓名" and len(rows) == expected
    assert {r[2] for r in rows} == {HOSPITAL}
    _, rows = csv_rows(unit.get(_job_file(unit, "/admin/person_query/export/csv/")))
    assert len(rows) == expected
    # only its owner downloads it
    assert signed_in("unit2").get(download).status_code == 404


def test_a_custom_export_job_keeps_the_filter_and_the_scope(signed_in, small_threshold):
    county = signed_in("county")
    download = _job_file(county, "/admin/person_query/export/xlsx/?unit=金水区人民医院")
    _, rows = xlsx_rows(county.get(download))
    assert len(rows) == persons_of(HOSPITAL) and {r[2] for r in rows} == {HOSPITAL}
    # 中原区's HRSS asks for the same filter: below its own rows there is nothing to make a job of
    response = signed_in("county2").get("/admin/person_query/export/xlsx/?unit=金水区人民医院")
    assert response.status_code == 200 and xlsx_rows(response)[1] == []
