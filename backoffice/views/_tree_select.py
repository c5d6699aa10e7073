"""A choice of HRSS node (人社局) as a tree: province, then each city with its counties.

``HrssTreeSelect`` is a WTForms widget for a query-backed select field whose objects are
HRSS org nodes. It renders a native ``<select>`` (keyboard and screen reader friendly)
with one ``<optgroup>`` per city — the city bureau first, then its counties, each in
division-code order — and marks it ``data-tree-picker`` so that ``tree_picker.js`` adds a
search box that narrows the list as one types. The choices themselves still come from the
field's (scoped) query; the widget only orders and groups them.
"""

from markupsafe import Markup, escape
from wtforms.widgets import html_params

PROVINCE_GROUP = "省级"


def _code(org):
    return (org.code or org.division_code or "", org.name or "")


def hrss_groups(objects):
    """[(group label, [org, ...])] for HRSS org nodes: the province group first, then one
    group per city (the city bureau, then its counties), cities and counties by code."""
    by_id = {o.id: o for o in objects}
    province, cities, counties, other = [], {}, {}, []
    for org in objects:
        if org.kind == "province_hrss":
            province.append(org)
        elif org.kind == "city_hrss":
            cities.setdefault(org.id, None)
        elif org.kind == "county_hrss":
            counties.setdefault(org.parent_id, []).append(org)
        else:
            other.append(org)
    groups = []
    if province or other:
        groups.append((PROVINCE_GROUP, sorted(province, key=_code) + sorted(other, key=_code)))
    city_ids = set(cities) | set(counties)
    ordered = sorted(city_ids, key=lambda i: _code(by_id[i]) if i in by_id else ("~", str(i)))
    for city_id in ordered:
        city = by_id.get(city_id)
        members = ([city] if city is not None else []) + sorted(counties.get(city_id, []), key=_code)
        label = city.name if city is not None else (members[0].parent.name if members[0].parent else "其他")
        groups.append((label, members))
    return groups


class HrssTreeSelect:
    """Widget: ``<select data-tree-picker>`` with optgroups city → county."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        classes = kwargs.pop("class", "") or kwargs.pop("class_", "")
        kwargs["class"] = (classes + " form-control").strip() if "form-control" not in classes else classes
        kwargs["data-tree-picker"] = "1"
        kwargs["data-search-label"] = f"搜索{field.label.text}（输入市、区县名称）"
        selected = {str(choice[0]) for choice in field.iter_choices() if choice[2] and choice[0] != "__None"}
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        if getattr(field, "allow_blank", False):
            blank = getattr(field, "blank_text", "") or "（请选择）"
            html.append(f'<option value="__None"{" selected" if not selected else ""}>{escape(blank)}</option>')
        objects = [obj for _pk, obj in field._get_object_list()]
        pk_of = {id(obj): str(pk) for pk, obj in field._get_object_list()}
        for label, members in hrss_groups(objects):
            html.append(f'<optgroup label="{escape(label)}">')
            for org in members:
                value = pk_of[id(org)]
                mark = " selected" if value in selected else ""
                html.append(f'<option value="{escape(value)}"{mark}>{escape(org.name)}</option>')
            html.append("</optgroup>")
        html.append("</select>")
        return Markup("".join(html))
