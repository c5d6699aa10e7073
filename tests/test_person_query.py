"""专技人员信息查询: units, industry departments and HRSS bureaus find a person in scope
and see the whole history; a person of another subtree is a 404 for every role."""

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Declaration, Org, Person

from .conftest import person_named
from .test_exports import _model_views, list_count, xlsx_rows

# Who reaches 张伟 (金水区人民医院, under 金水区卫健委, 金水区, 郑州市) and who does not.
ZHANG_IN_SCOPE = ("unit", "industry", "county", "city", "province")
ZHANG_OUT_OF_SCOPE = ("unit2", "county2", "luoyang")
# 刘洋 (郑州市第七中学, 中原区, competent department 郑州市教育局): outside the first four.
LIU_OUT_OF_SCOPE = ("unit", "industry", "county", "luoyang")


@pytest.mark.parametrize("key", ZHANG_IN_SCOPE)
def test_every_reviewing_role_finds_a_person_and_sees_the_history(ctx, signed_in, key):
    zhang = person_named("张伟")
    browser = signed_in(key)
    page = browser.get("/admin/person_query/?" + urlencode({"q": "张伟"})).get_data(as_text=True)
    assert f'data-person="{zhang.id}"' in page
    page = browser.get("/admin/person_query/?" + urlencode({"q": zhang.id_number})).get_data(as_text=True)
    assert f'data-person="{zhang.id}"' in page
    response = browser.get(f"/admin/person_query/{zhang.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for section in ("基本信息", "职称变更记录", "年度完成情况", "继续教育记录", "已发证书"):
        assert section in page
    records = db.session.scalar(select(func.count()).select_from(Declaration).where(
        Declaration.person_id == zhang.id, Declaration.status != "draft"))
    assert records > 0
    assert len(re.findall(r'data-record="\d+"', page)) == records
    # every year with a record has its completion row, with its standard
    years = set(db.session.scalars(select(Declaration.year).where(Declaration.person_id == zhang.id)))
    for year in years:
        assert f'data-year="{year}"' in page
    assert "完整审核轨迹" in page and "审核通过" in page


@pytest.mark.parametrize("key", ZHANG_OUT_OF_SCOPE)
def test_another_subtree_cannot_find_or_open_the_person(ctx, signed_in, key):
    zhang = person_named("张伟")
    browser = signed_in(key)
    page = browser.get("/admin/person_query/?" + urlencode({"q": "张伟"})).get_data(as_text=True)
    assert f'data-person="{zhang.id}"' not in page
    page = browser.get("/admin/person_query/?" + urlencode({"q": zhang.id_number})).get_data(as_text=True)
    assert f'data-person="{zhang.id}"' not in page and 'id="no-results"' in page
    assert browser.get(f"/admin/person_query/{zhang.id}").status_code == 404


@pytest.mark.parametrize("key", LIU_OUT_OF_SCOPE)
def test_a_person_of_another_unit_or_department_is_a_404(ctx, signed_in, key):
    liu = person_named("刘洋")
    assert signed_in(key).get(f"/admin/person_query/{liu.id}").status_code == 404


@pytest.mark.parametrize("key", ("person", "institution", "sysadmin"))
def test_other_roles_have_no_person_query(ctx, signed_in, key):
    zhang = person_named("张伟")
    browser = signed_in(key)
    assert browser.get("/admin/person_query/").status_code == 403
    assert browser.get(f"/admin/person_query/{zhang.id}").status_code == 403


def test_unit_name_narrows_the_search(ctx, signed_in):
    browser = signed_in("province")
    page = browser.get("/admin/person_query/?" + urlencode({"unit": "第七中学"})).get_data(as_text=True)
    found = {int(i) for i in re.findall(r'data-person="(\d+)"', page)}
    school = db.session.scalar(select(Org).where(Org.name == "郑州市第七中学"))
    expected = set(db.session.scalars(select(Person.id).where(Person.unit_id == school.id)))
    assert found == expected and expected
    page = browser.get("/admin/person_query/?" + urlencode({"q": "张伟", "unit": "第七中学"})).get_data(as_text=True)
    assert 'id="no-results"' in page


def test_bad_input_gets_a_chinese_message_not_an_error(ctx, signed_in):
    browser = signed_in("city")
    response = browser.get("/admin/person_query/?" + urlencode({"q": "4101"}))
    assert response.status_code == 200 and "至少输入前 6 位" in response.get_data(as_text=True)
    assert browser.get("/admin/person_query/?page=abc&q=%25").status_code == 200
    assert browser.get("/admin/person_query/?q=" + "张" * 500).status_code == 200
    # province and city are asked for a condition first (no province-wide listing)
    assert 'id="query-hint"' in browser.get("/admin/person_query/").get_data(as_text=True)
    assert 'data-person=' in signed_in("unit").get("/admin/person_query/").get_data(as_text=True)


# --------------------------------------------------------------------------- 单位名称 filters
def _unit_name_filter(app, endpoint):
    view = next(v for v in _model_views(app) if v.endpoint == endpoint)
    for key, (_idx, flt) in view._filter_args.items():
        if str(flt.name) == "单位名称" and type(flt).__name__ == "FilterLike":
            return f"flt0_{key}"
    raise AssertionError(f"{endpoint} has no 单位名称 filter")


@pytest.mark.parametrize("endpoint", ["records", "persons"])
def test_record_and_person_lists_filter_by_unit_name(app, ctx, signed_in, endpoint):
    browser = signed_in("city")
    query = urlencode({_unit_name_filter(app, endpoint): "第七中学"})
    count = list_count(browser, endpoint, query)
    school = db.session.scalar(select(Org).where(Org.name == "郑州市第七中学"))
    model = Declaration if endpoint == "records" else Person
    expected = db.session.scalar(select(func.count()).select_from(model).where(model.unit_id == school.id))
    assert count == expected > 0
    _, rows = xlsx_rows(browser.get(f"/admin/{endpoint}/export/xlsx/?{query}"))
    assert len(rows) == count and {r[2] for r in rows} == {"郑州市第七中学"}
    # a unit outside the city's subtree yields nothing
    query = urlencode({_unit_name_filter(app, endpoint): "洛阳"})
    assert list_count(browser, endpoint, query) == 0
