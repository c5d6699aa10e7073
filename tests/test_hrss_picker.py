"""Wherever the sysadmin chooses an HRSS node (上级人社部门 of an industry department or
of a new bureau), the 199 bureaus come as a tree: the province, then each city with its
counties, in division-code order, marked for the searchable picker — instead of one
unordered list. The choice itself still posts the node's id."""

import re

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Org
from backoffice.views._tree_select import PROVINCE_GROUP

from .conftest import org, sign_in

GROUP = re.compile(r'<optgroup label="([^"]*)">(.*?)</optgroup>', re.S)
OPTION = re.compile(r'<option value="(\d+)"[^>]*>([^<]*)</option>')


def _parent_select(html):
    match = re.search(r'<select[^>]*name="parent"[^>]*>.*?</select>', html, re.S)
    assert match, "no parent select"
    return match.group(0)


@pytest.mark.parametrize("endpoint", ["industry_depts", "hrss_orgs"])
def test_hrss_choice_is_a_tree_of_cities_and_counties(app, ctx, endpoint):
    html = sign_in(app.test_client(), "sysadmin").get(f"/admin/{endpoint}/new/").get_data(as_text=True)
    select_html = _parent_select(html)
    assert "data-tree-picker" in select_html
    groups = [(label, OPTION.findall(body)) for label, body in GROUP.findall(select_html)]
    assert groups[0][0] == PROVINCE_GROUP
    assert [name for _id, name in groups[0][1]] == [org("410000").name]
    # One group per city, in division-code order; the city bureau heads its counties.
    cities = db.session.scalars(select(Org).where(Org.kind == "city_hrss").order_by(Org.code)).all()
    assert [label for label, _ in groups[1:]] == [c.name for c in cities]
    zhengzhou = dict(groups)[org("410100").name]
    assert zhengzhou[0] == (str(org("410100").id), org("410100").name)
    county_ids = [int(i) for i, _name in zhengzhou[1:]]
    counties = db.session.scalars(select(Org).where(Org.id.in_(county_ids))).all()
    assert all(c.kind == "county_hrss" and c.parent_id == org("410100").id for c in counties)
    codes = [db.session.get(Org, i).code for i in county_ids]
    assert codes == sorted(codes) and "410105" in codes
    # Every active bureau is offered once.
    offered = [i for _label, options in groups for i, _name in options]
    hrss = db.session.scalars(select(Org.id).where(Org.kind.in_(("province_hrss", "city_hrss", "county_hrss")),
                                                   Org.status != "disabled")).all()
    assert sorted(map(int, offered)) == sorted(hrss) and len(offered) == len(set(offered))
    # The blank choice comes first and is selected on a new form.
    assert re.search(r'<select[^>]*>\s*<option value="__None" selected>（请选择）</option>', select_html)


def test_the_tree_keeps_the_chosen_node_after_a_refused_save(app, ctx):
    admin = sign_in(app.test_client(), "sysadmin")
    county = org("410102")
    html = admin.post("/admin/industry_depts/new/", {"parent": str(county.id), "name": "", "code": ""}).get_data(
        as_text=True)
    assert "请填写名称" in html
    select_html = _parent_select(html)
    assert re.search(rf'<option value="{county.id}" selected>', select_html)


@pytest.mark.parametrize("key", ["county", "city", "unit"])
def test_other_admins_never_see_the_sysadmin_tree(app, ctx, key):
    response = sign_in(app.test_client(), key).get("/admin/industry_depts/new/")
    assert response.status_code in (302, 403, 404)
    assert "data-tree-picker" not in response.get_data(as_text=True)
