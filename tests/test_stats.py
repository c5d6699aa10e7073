"""查询统计 over HTTP: figures equal an independent recount, drill-down, filters, export,
home-page rate, and another subtree's figures are never reachable (404 or nothing)."""

import csv
import io
import json
import random
import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from backoffice import hours, standards
from backoffice.extensions import db
from backoffice.models import Declaration, Membership, Org, Person, Region

from .conftest import org, person_named
from .test_summary import declare_and_approve

YEAR = date.today().year
ADMINS = ("province", "city", "county", "industry", "unit")


# --------------------------------------------------------------------------- recount
def recount(members, year):
    """{child key: (persons, passed, public, professional)} straight from the records.

    ``members(person) -> key or None`` places a person in a child row; the completion of
    each person-year is decided with ``hours`` over the approved declarations, the
    person's title level and region, and the frozen result when the year is certified.
    """
    rows = {}
    rules = standards.standards_rows()
    persons = db.session.scalars(select(Person).join(Membership, Membership.id == Person.membership_id)
                                 .where(Membership.status == "active")).all()
    for p in persons:
        key = members(p)
        if key is False:
            continue
        pub = prof = Decimal(0)
        for d in db.session.scalars(select(Declaration).where(
                Declaration.person_id == p.id, Declaration.year == year, Declaration.status == "approved")):
            if d.subject_kind == "public":
                pub += d.claimed_hours
            else:
                prof += d.claimed_hours
        frozen = standards.frozen_result(p, year)
        if frozen is not None:
            std = {"public": frozen.required_public, "professional": frozen.required_professional,
                   "total": frozen.required_total}
        else:
            try:
                std = hours.standard_for(rules, year, p.title_level or None, standards.is_zhengzhou(p))
            except hours.HoursError:
                std = None
        passed = std is not None and hours.completion(std, pub, prof).passed
        n, ok, a, b = rows.get(key, (0, 0, Decimal(0), Decimal(0)))
        rows[key] = (n + 1, ok + int(passed), a + pub, b + prof)
    return rows


def placement(key):
    """How a signed-in admin's top page groups persons (by org id; None = 省直/市直)."""
    if key == "province":
        return lambda p: p.city_id
    if key == "city":
        city = org("410100")
        return lambda p: p.county_id if p.city_id == city.id else False
    if key == "county":
        county = org("410105")
        return lambda p: p.unit_id if p.county_id == county.id else False
    if key == "industry":
        dept = org("金水区卫生健康委员会")
        return lambda p: p.unit_id if p.competent_dept_id == dept.id else False
    hospital = org("郑州市金水区人民医院")
    return lambda p: p.department_id if p.unit_id == hospital.id else False


def exported(browser, url):
    response = browser.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def figures_by_name(table):
    return {r[0]: (int(r[1]), int(r[2]), Decimal(r[5]), Decimal(r[6])) for r in table[1:] if r[0] != "合计"}


def expected_by_name(key, year):
    out = {}
    for k, v in recount(placement(key), year).items():
        if k is None:
            name = {"province": "省直单位", "city": "市直单位"}.get(key, "未分部门")
        else:
            o = db.session.get(Org, k)
            region = db.session.get(Region, o.division_code) if o.division_code else None
            name = region.name if region is not None and o.kind in ("city_hrss", "county_hrss") else o.name
        out[name] = v
    return out


@pytest.fixture
def generated(ctx):
    """A small generated dataset on top of the demo: random approved records."""
    rng = random.Random(13)
    names = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏", "孙丽", "周杰")
    for _ in range(40):
        person = person_named(rng.choice(names))
        declare_and_approve(person, rng.choice((YEAR, YEAR - 1, 2016)), rng.choice(("public", "professional")),
                            rng.choice((6, 12, 24, 30, 60)), many=rng.random() < 0.5)
    db.session.commit()


@pytest.mark.parametrize("key", ADMINS)
@pytest.mark.parametrize("year", [YEAR, YEAR - 1])
def test_statistics_equal_an_independent_recount_on_demo_data(signed_in, key, year):
    browser = signed_in(key)
    page = browser.get(f"/admin/stats/?year={year}")
    assert page.status_code == 200
    table = exported(browser, f"/admin/stats/export?format=csv&year={year}")
    assert figures_by_name(table) == expected_by_name(key, year)


@pytest.mark.parametrize("key", ADMINS)
def test_statistics_equal_an_independent_recount_on_generated_data(generated, signed_in, key):
    browser = signed_in(key)
    for year in (YEAR, YEAR - 1, 2016):
        table = exported(browser, f"/admin/stats/export?format=csv&year={year}")
        assert figures_by_name(table) == expected_by_name(key, year)


def test_drill_down_province_to_persons(signed_in):
    browser = signed_in("province")
    zz, jinshui, hospital = org("410100"), org("410105"), org("郑州市金水区人民医院")
    chain = [("", "郑州市"), (f"node={zz.id}", "金水区"),
             (f"node={jinshui.id}", "郑州市金水区人民医院"), (f"node={hospital.id}", "查看全部人员")]
    for args, link_text in chain:
        page = browser.get(f"/admin/stats/?year={YEAR}&{args}").get_data(as_text=True)
        assert link_text in page, args
    dept = db.session.get(Org, person_named("张伟").department_id)
    page = browser.get(f"/admin/stats/?node={dept.id}&year={YEAR}").get_data(as_text=True)
    assert "张伟" in page and 'id="persons-table"' in page
    page = browser.get(f"/admin/stats/?node={hospital.id}&persons=1&year={YEAR}").get_data(as_text=True)
    assert "张伟" in page and "李娜" in page


def test_chart_data_is_in_an_attribute_and_echarts_is_served_locally(signed_in, app):
    browser = signed_in("city")
    page = browser.get(f"/admin/stats/?year={YEAR}").get_data(as_text=True)
    match = re.search(r'data-chart="([^"]+)"', page)
    chart = json.loads(unescape(match.group(1)))
    assert {b["name"] for b in chart["bars"]} >= {"金水区"}
    assert all(b["url"].startswith("/admin/stats/") for b in chart["bars"])
    assert "echarts.init" not in page  # the page script is a static file
    assert "vendor/echarts/echarts.min.js" in page and "cdn" not in page.lower()
    assert browser.get("/static/vendor/echarts/echarts.min.js").status_code == 200


def test_filters_narrow_the_figures(signed_in):
    browser = signed_in("county")
    everyone = figures_by_name(exported(browser, f"/admin/stats/export?format=csv&year={YEAR - 1}"))
    juniors = figures_by_name(exported(browser, f"/admin/stats/export?format=csv&year={YEAR - 1}&title_level=junior"))
    assert sum(v[0] for v in juniors.values()) < sum(v[0] for v in everyone.values())
    n_junior = db.session.query(Person).join(Membership, Membership.id == Person.membership_id).filter(
        Person.county_id == org("410105").id, Person.title_level == "junior", Membership.status == "active").count()
    assert sum(v[0] for v in juniors.values()) == n_junior
    hospital = org("郑州市金水区人民医院")
    by_type = figures_by_name(exported(
        browser, f"/admin/stats/export?format=csv&year={YEAR}&unit_type={hospital.unit_type_id}"))
    assert hospital.name in by_type
    by_industry = figures_by_name(exported(
        browser, f"/admin/stats/export?format=csv&year={YEAR}&industry={hospital.industry_id}&affiliation="
                 f"{hospital.affiliation_id}"))
    assert set(by_industry) <= set(everyone) | {hospital.name}


def test_xlsx_export_has_the_table_rows(signed_in):
    browser = signed_in("province")
    response = browser.get(f"/admin/stats/export?format=xlsx&year={YEAR - 1}")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("地市", "人数", "达标人数")
    assert rows[-1][0] == "合计"
    names = {r[0]: r[1] for r in rows[1:-1]}
    assert names == {k: v[0] for k, v in expected_by_name("province", YEAR - 1).items()}


def test_home_page_shows_the_completion_rate(signed_in):
    for key in ADMINS:
        page = signed_in(key).get("/admin/").get_data(as_text=True)
        assert f"{YEAR} 年度学时达标率" in page and 'data-key="completion_rate"' in page, key
    page = signed_in("person").get("/admin/").get_data(as_text=True)
    assert "学时达标率" not in page


def test_menu_is_offered_to_admins_only(signed_in):
    for key in ADMINS:
        page = signed_in(key).get("/admin/").get_data(as_text=True)
        assert "查询统计" in page and "/admin/stats/" in page, key
    for key in ("person", "institution"):
        browser = signed_in(key)
        assert "/admin/stats/" not in browser.get("/admin/").get_data(as_text=True)
        assert browser.get("/admin/stats/").status_code == 403


# --------------------------------------------------------------------------- scope
def _nodes():
    hospital = org("郑州市金水区人民医院")
    dept = db.session.get(Org, person_named("张伟").department_id)
    return {"zz": org("410100"), "jinshui": org("410105"), "hospital": hospital, "dept": dept,
            "industry": org("金水区卫生健康委员会"), "province": org("河南省人力资源和社会保障厅")}


REFUSED = {
    "unit2": ("zz", "jinshui", "hospital", "dept", "industry", "province"),
    "county2": ("zz", "jinshui", "hospital", "dept", "industry", "province"),
    "luoyang": ("zz", "jinshui", "hospital", "dept", "industry", "province"),
    "industry": ("zz", "jinshui", "province"),
    "unit": ("zz", "jinshui", "industry", "province"),
    "county": ("zz", "province"),
    "city": ("province",),
}


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_another_subtree_is_404_on_every_statistics_url(signed_in, key):
    browser = signed_in(key)
    nodes = _nodes()
    for name in REFUSED[key]:
        node = nodes[name].id
        for url in (f"/admin/stats/?node={node}", f"/admin/stats/?node={node}&direct=1",
                    f"/admin/stats/?node={node}&persons=1", f"/admin/stats/?node={node}&persons=1&no_department=1",
                    f"/admin/stats/export?format=csv&node={node}", f"/admin/stats/export?format=xlsx&node={node}",
                    f"/admin/stats/export?format=csv&node={node}&persons=1"):
            assert browser.get(url).status_code == 404, (key, name, url)


@pytest.mark.parametrize("key", ["unit2", "county2", "luoyang"])
def test_outsiders_own_pages_never_show_zhengzhou_jinshui_persons(signed_in, key):
    browser = signed_in(key)
    for year in (YEAR, YEAR - 1):
        page = browser.get(f"/admin/stats/?year={year}").get_data(as_text=True)
        assert "金水区人民医院" not in page and "张伟" not in page
        table = exported(browser, f"/admin/stats/export?format=csv&year={year}")
        assert all("金水区人民医院" not in r[0] for r in table)
    # The home page's rate is its own subtree's.
    own = figures_by_name(exported(browser, f"/admin/stats/export?format=csv&year={YEAR}"))
    persons = sum(v[0] for v in own.values())
    assert f"/{persons} 人" in browser.get("/admin/").get_data(as_text=True)


def test_bad_input_gets_a_chinese_message_not_a_500(signed_in):
    browser = signed_in("city")
    page = browser.get("/admin/stats/?year=abc&unit_type=x&title_level=boss")
    assert page.status_code == 200
    assert "以下筛选条件无效，已忽略" in page.get_data(as_text=True)
    for url in ("/admin/stats/?node=abc", "/admin/stats/?node=99999999999999999999999",
                "/admin/stats/?node=-1", "/admin/stats/?year=99999999999999999999"):
        assert browser.get(url).status_code in (200, 404), url
    assert browser.get("/admin/stats/export?format=pdf").status_code == 400
    assert browser.get("/admin/stats/?page=abc").status_code == 200


def test_area_roll_up_agrees_with_the_unit_cells(generated, signed_in):
    city, county = signed_in("city"), signed_in("county")
    for year in (YEAR, YEAR - 1, 2016):
        by_county = exported(city, f"/admin/stats/export?format=csv&year={year}")  # per-area roll-up
        jinshui = next(r for r in by_county if r[0] == "金水区")
        units = exported(county, f"/admin/stats/export?format=csv&year={year}")  # per-unit cells
        assert units[-1][0] == "合计" and units[-1][1:] == jinshui[1:]


def test_industry_and_unit_admins_drill_to_persons(signed_in):
    hospital = org("郑州市金水区人民医院")
    dept = db.session.get(Org, person_named("张伟").department_id)
    industry = signed_in("industry")
    page = industry.get(f"/admin/stats/?year={YEAR}").get_data(as_text=True)
    assert hospital.name in page
    page = industry.get(f"/admin/stats/?node={hospital.id}&year={YEAR}").get_data(as_text=True)
    assert dept.name in page and "查看全部人员" in page
    page = industry.get(f"/admin/stats/?node={dept.id}&year={YEAR}").get_data(as_text=True)
    assert "张伟" in page
    unit = signed_in("unit")
    page = unit.get(f"/admin/stats/?node={dept.id}&year={YEAR}").get_data(as_text=True)
    assert "张伟" in page
    table = exported(unit, f"/admin/stats/export?format=csv&node={dept.id}&year={YEAR}")
    assert table[0][0] == "姓名" and any(r[0] == "张伟" for r in table[1:])


def test_city_total_equals_the_sql_recount_of_standards_city_completion(generated, signed_in):
    """An independent SQL recount over the records (``standards.city_completion``)."""
    browser = signed_in("city")
    zz = org("410100")
    for year in (YEAR, YEAR - 1, 2016):
        table = exported(browser, f"/admin/stats/export?format=csv&year={year}")
        total = table[-1]
        ref = standards.city_completion(zz.id, year)
        assert (int(total[1]), int(total[2])) == (ref.persons, ref.passed), year
