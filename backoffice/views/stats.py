"""查询统计 → 学时达标统计: completion per sub-organisation, drill-down, chart, trend, export.

Thin: parse the filters, resolve the node through the scope (404 outside it), call
``backoffice.statistics``, render. The chart data travels in a ``data-`` attribute read
by ``static/stats.js`` (no inline script).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import urlencode

from flask import Response, abort, flash, request, stream_with_context, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select

from .. import statistics as st
from ..extensions import db
from ..formatting import hours_number
from ..models import TITLE_LEVELS, Affiliation, Industry, Org, UnitType
from ..permissions import ScopedBaseView, current_scope
from .home import waiting_item

ORDER = 80
CATEGORY = "查询统计"
ROLES = ("unit_admin", "industry_admin", "hrss_admin")
KIND_LABELS = {"city": "地市", "county": "区（县）", "unit": "单位", "department": "部门", "person": "姓名"}
HEADERS = ["{kind}", "人数", "达标人数", "未达标人数", "达标率（%）", "公需科目学时", "专业科目学时", "总学时"]
PERSON_HEADERS = ["姓名", "身份证号", "部门", "职称级别", "公需科目学时", "专业科目学时", "总学时",
                  "应修公需", "应修专业", "认定结果"]
MAX_INT = 2**31 - 1


class BadInput(ValueError):
    pass


def _int_arg(name, minimum=1, maximum=MAX_INT):
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(name) from None
    if not minimum <= value <= maximum:
        raise BadInput(name)
    return value


def _filters():
    """The filters from the query string; bad values are dropped with a Chinese message."""
    this_year = date.today().year
    years = st.years_available(this_year)
    flt = st.Filters(year=this_year)
    problems = []
    try:
        year = _int_arg("year", 1900, 9999)
        if year is not None:
            if year in years:
                flt.year = year
            else:
                problems.append("年度")
    except BadInput:
        problems.append("年度")
    level = request.args.get("title_level") or None
    if level and level not in TITLE_LEVELS and level != "none":
        problems.append("职称级别")
    else:
        flt.title_level = level
    for name, label in (("unit_type", "单位性质"), ("industry", "所属行业"), ("affiliation", "隶属关系")):
        try:
            setattr(flt, name, _int_arg(name))
        except BadInput:
            problems.append(label)
    return flt, years, problems


def _node(scope):
    """The organisation whose children are listed: the admin's own, or one in scope."""
    try:
        node_id = _int_arg("node")
    except BadInput:
        abort(404)
    if node_id is None:
        return current_user.org
    node = scope.get(Org, node_id)
    if node is None or node.kind not in ("province_hrss", "city_hrss", "county_hrss", "industry_dept", "unit",
                                         "department"):
        abort(404)
    return node


def _trail(scope, node, direct):
    """Breadcrumbs from the admin's own organisation to ``node`` (only nodes in scope)."""
    home = current_user.org
    crumbs = [home]
    if node.id != home.id:
        ids = [int(x) for x in node.parent_path.strip("/").split("/") if x]
        on_path = {o.id: o for o in db.session.scalars(select(Org).where(Org.id.in_(ids), scope.org_clause()))}
        for i in ids:
            o = on_path.get(i)
            if o is not None and o.id != home.id and o.kind in ("city_hrss", "county_hrss", "unit", "department"):
                if home.kind == "industry_dept" and o.kind not in ("unit", "department"):
                    continue
                if o.parent_path.startswith(home.parent_path) or home.kind == "industry_dept":
                    crumbs.append(o)
    return crumbs


class StatisticsView(ScopedBaseView):
    """学时达标统计"""

    roles = ROLES

    def _context(self):
        scope = current_scope()
        flt, years, problems = _filters()
        if problems:
            flash("以下筛选条件无效，已忽略：" + "、".join(problems), "warning")
        node = _node(scope)
        direct = request.args.get("direct") == "1" and node.kind in ("province_hrss", "city_hrss")
        show_persons = request.args.get("persons") == "1" or node.kind == "department"
        no_department = request.args.get("no_department") == "1"
        try:
            page = _int_arg("page", 0, 100_000) or 0
        except BadInput:
            page = 0
        return scope, flt, years, node, direct, show_persons, no_department, page

    @expose("/")
    def index_view(self):
        scope, flt, years, node, direct, show_persons, no_department, page = self._context()
        rows, total = st.breakdown(scope, node, flt, direct)
        if no_department:
            rows = [r for r in rows if r.key is None]
            total = st._total(rows)
        kind = "person" if show_persons else st.child_kind(node, direct)
        people, has_more = ([], False)
        if show_persons:
            people, has_more = st.persons(scope, node, flt, page, no_department=no_department)
        trend = st.trend(scope, node, flt, direct)
        base = flt.as_args()
        here = url_for(".index_view")
        for r in rows:  # one URL per row, built once (hundreds of units on a county page)
            r.url = here + "?" + urlencode({**base, **(r.drill or {})})
        chart = {
            "title": f"{flt.year} 年度各{KIND_LABELS.get(st.child_kind(node, direct), '下级')}达标率",
            "bars": [{"name": r.name, "rate": r.rate, "persons": r.persons, "passed": r.passed, "url": r.url}
                     for r in rows],
            "trend": trend,
        }
        return self.render(
            "stats/index.html", node=node, flt=flt, years=years, rows=rows, total=total, kind=kind,
            kind_label=KIND_LABELS.get(st.child_kind(node, direct), "名称"), direct=direct, chart=chart,
            people=people, has_more=has_more, page=page, show_persons=show_persons, no_department=no_department,
            trail=_trail(scope, node, direct), base=base, title_levels=st.title_choices(),
            unit_types=_choices(UnitType), industries=_choices(Industry), affiliations=_choices(Affiliation),
            export_args=_export_args(node, direct, show_persons, no_department, base),
        )

    @expose("/export")
    def export_view(self):
        scope, flt, _years, node, direct, show_persons, no_department, _page = self._context()
        fmt = request.args.get("format", "xlsx")
        if fmt not in ("xlsx", "csv"):
            abort(400, description="导出格式只能是 xlsx 或 csv")
        if show_persons:
            header = PERSON_HEADERS
            found, _ = st.persons(scope, node, flt, no_department=no_department, limit=None)
            body = (_person_cells(p, py) for p, py in found)
            name = f"{node.name}-{flt.year}年度人员达标明细"
        else:
            rows, total = st.breakdown(scope, node, flt, direct)
            header = [HEADERS[0].format(kind=KIND_LABELS.get(st.child_kind(node, direct), "名称"))] + HEADERS[1:]
            body = (_row_cells(r) for r in [*rows, total])
            name = f"{node.name}-{flt.year}年度学时达标统计"
        return _xlsx(name, header, body) if fmt == "xlsx" else _csv(name, header, body)


def _choices(model):
    return db.session.execute(select(model.id, model.name).where(model.enabled.is_(True))
                              .order_by(model.sort_order, model.id)).all()


def _export_args(node, direct, show_persons, no_department, base):
    args = dict(base, node=node.id)
    if direct:
        args["direct"] = 1
    if show_persons:
        args["persons"] = 1
    if no_department:
        args["no_department"] = 1
    return args


def _row_cells(r):
    return [r.name, r.persons, r.passed, r.not_passed, r.rate, hours_number(r.public),
            hours_number(r.professional), hours_number(r.total)]


def _person_cells(p, py):
    if py is None:
        return [p.name, p.id_number, p.department.name if p.department else "", p.title_level_label, 0, 0, 0,
                "", "", "未通过"]
    return [p.name, p.id_number, p.department.name if p.department else "", p.title_level_label,
            hours_number(py.public_hours), hours_number(py.professional_hours), hours_number(py.total_hours),
            "" if py.required_public is None else hours_number(py.required_public),
            "" if py.required_professional is None else hours_number(py.required_professional),
            "通过" if py.passed else "未通过"]


def _safe(value):
    """Spreadsheet formula injection: text starting with = + - @ is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _disposition(name, ext):
    from urllib.parse import quote

    return f"attachment; filename=statistics.{ext}; filename*=UTF-8''{quote(name)}.{ext}"


def _csv(name, header, body):
    def generate():
        buf = io.StringIO()
        writer = csv.writer(buf)
        yield "\ufeff"
        writer.writerow(header)
        for row in body:
            writer.writerow([_safe(v) for v in row])
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _disposition(name, "csv")})


def _xlsx(name, header, body):
    import tempfile

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("统计")
    ws.append(header)
    for row in body:
        ws.append([_safe(v) for v in row])
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        data = tmp.read()
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": _disposition(name, "xlsx")})


@waiting_item
def _completion_item(membership, scope):
    """This year's completion rate of the admin's subtree, beside the pending counts."""
    if membership.role not in ROLES or membership.org is None or membership.status != "active":
        return []
    flt = st.Filters(year=date.today().year)
    _, total = st.breakdown(scope, membership.org, flt)
    from flask import current_app

    url = url_for("stats.index_view") if "stats.index_view" in current_app.view_functions else None
    return [{"key": "completion_rate", "label": f"{flt.year} 年度学时达标率（{total.passed}/{total.persons} 人）",
             "count": f"{total.rate}%", "url": url, "link": "查看统计"}]


def register(admin):
    admin.add_view(StatisticsView(name="学时达标统计", endpoint="stats", url="/admin/stats", category=CATEGORY))
