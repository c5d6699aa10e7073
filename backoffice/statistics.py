"""查询统计: completion statistics of a subtree, from the stored summary.

Every figure is read from ``stat_cell`` (provinces, cities, counties, industry
departments: a few rows per unit) or, inside one unit, from ``person_year`` and
``person`` — always AND the signed-in admin's :class:`Scope` clause, so a node outside
the scope yields nothing even if its id is guessed (the view answers 404 before).

A *node* is the organisation whose children are listed:

* 省人社厅 → its cities (and 省直单位: units with no city);
* 市人社局 → its counties (and 市直单位: units of the city with no county);
* 区（县）人社局, 行业主管部门 → their units;
* 单位 → its departments (and 未分部门), then 部门 → persons.

``direct=True`` on a province or city lists the units directly under it.
Persons counts are the active registrations now in the subtree; passed and hours are
the approved hours of the year (``person_year``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, select, true

from .extensions import db
from .models import HEADCOUNT_YEAR, NO_AREA, TITLE_LEVELS, Membership, Org, Person, PersonYear, StatArea, StatCell

__all__ = ["Filters", "Row", "breakdown", "child_kind", "persons", "trend", "years_available"]

FILTER_COLUMNS = {"unit_type": Org.unit_type_id, "industry": Org.industry_id, "affiliation": Org.affiliation_id}
DIRECT_LABEL = {"province_hrss": "省直单位", "city_hrss": "市直单位"}
NO_DEPARTMENT = "未分部门"
PERSON_PAGE = 50


@dataclass
class Filters:
    year: int
    title_level: str | None = None  # a key of TITLE_LEVELS, or "none" (未填写)
    unit_type: int | None = None
    industry: int | None = None
    affiliation: int | None = None

    def units_clause(self, unit_column):
        """Unit-attribute filters as ``unit_column IN (SELECT id FROM org …)``."""
        conds = [col == getattr(self, name) for name, col in FILTER_COLUMNS.items() if getattr(self, name)]
        if not conds:
            return true()
        return unit_column.in_(select(Org.id).where(Org.kind == "unit", *conds))

    def title_clause(self, column):
        if not self.title_level:
            return true()
        return column == ("" if self.title_level == "none" else self.title_level)

    @property
    def by_unit(self):
        """Does a unit attribute filter apply (then the per-area roll-up cannot serve)?"""
        return any(getattr(self, name) for name in FILTER_COLUMNS)

    def as_args(self):
        out = {"year": self.year}
        for name in ("title_level", "unit_type", "industry", "affiliation"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


@dataclass
class Row:
    key: int | None
    name: str
    persons: int = 0
    passed: int = 0
    public: Decimal = Decimal(0)
    professional: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    drill: dict | None = field(default=None)
    url: str | None = None

    @property
    def rate(self) -> float:
        return round(100.0 * self.passed / self.persons, 1) if self.persons else 0.0

    @property
    def not_passed(self) -> int:
        return max(self.persons - self.passed, 0)

    def as_dict(self):
        return {"name": self.name, "persons": self.persons, "passed": self.passed, "rate": self.rate,
                "public": float(self.public), "professional": float(self.professional), "total": float(self.total)}


def child_kind(node: Org, direct=False) -> str:
    """What the rows of a node's table are: city / county / unit / department / person."""
    if node.kind == "province_hrss":
        return "unit" if direct else "city"
    if node.kind == "city_hrss":
        return "unit" if direct else "county"
    if node.kind in ("county_hrss", "industry_dept"):
        return "unit"
    if node.kind == "unit":
        return "department"
    return "person"


def _cell_where(scope, node: Org, flt: Filters, direct=False):
    """The stat_cell rows under ``node`` (without the year), inside the scope."""
    conds = [scope.clause(StatCell), flt.title_clause(StatCell.title_level), flt.units_clause(StatCell.unit_id)]
    if node.kind == "city_hrss":
        conds.append(StatCell.city_id == node.id)
        if direct:
            conds.append(StatCell.county_id.is_(None))
    elif node.kind == "province_hrss" and direct:
        conds.append(StatCell.city_id.is_(None))
    elif node.kind == "county_hrss":
        conds.append(StatCell.county_id == node.id)
    elif node.kind == "industry_dept":
        conds.append(StatCell.competent_dept_id == node.id)
    elif node.kind == "unit":
        conds.append(StatCell.unit_id == node.id)
    elif node.kind == "department":
        conds += [StatCell.unit_id == node.unit_id, StatCell.department_id == node.id]
    elif node.kind != "province_hrss":
        conds.append(StatCell.id.is_(None))  # nothing for other kinds
    return and_(*conds)


def _uses_area(node, flt, direct):
    return node.kind in ("province_hrss", "city_hrss") and not direct and not flt.by_unit


def _area_where(scope, node, flt):
    conds = [scope.clause(StatArea), flt.title_clause(StatArea.title_level)]
    if node.kind == "city_hrss":
        conds.append(StatArea.city_id == node.id)
    return and_(*conds)


def _area_sums(where, group=None):
    cols = [func.coalesce(func.sum(c), 0) for c in (StatArea.persons, StatArea.passed, StatArea.public_hours,
                                                    StatArea.professional_hours, StatArea.total_hours)]
    stmt = select(*([group] if group is not None else []), *cols).where(where)
    return stmt.group_by(group) if group is not None else stmt


def _sums(scope, node, flt, direct, group_kind=None):
    """(sums statement builder, year column): from stat_area when it can serve, else stat_cell."""
    if _uses_area(node, flt, direct):
        where = _area_where(scope, node, flt)
        group = None
        if group_kind is not None:
            group = StatArea.city_id if node.kind == "province_hrss" else StatArea.county_id
        return (lambda extra: _area_sums(and_(where, extra), group)), StatArea.year
    where = _cell_where(scope, node, flt, direct)
    group = _group_column(group_kind) if group_kind is not None else None
    return (lambda extra: _cell_sums(and_(where, extra), group)), StatCell.year


def _group_column(kind):
    return {"city": StatCell.city_id, "county": StatCell.county_id, "unit": StatCell.unit_id,
            "department": StatCell.department_id, "person": StatCell.department_id}[kind]


def _cell_sums(where, group=None):
    cols = [
        func.coalesce(func.sum(StatCell.persons), 0),
        func.coalesce(func.sum(StatCell.passed), 0),
        func.coalesce(func.sum(StatCell.public_hours), 0),
        func.coalesce(func.sum(StatCell.professional_hours), 0),
        func.coalesce(func.sum(StatCell.total_hours), 0),
    ]
    stmt = select(*([group] if group is not None else []), *cols).where(where)
    if group is not None:
        stmt = stmt.group_by(group)
    return stmt


def _names(ids):
    """Display names: a city or county HRSS shows as its region (郑州市, 金水区)."""
    from .models import Region

    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    found = db.session.execute(
        select(Org.id, Org.name, Org.kind, Region.name)
        .outerjoin(Region, Region.code == Org.division_code).where(Org.id.in_(ids))
    ).all()
    return {i: (region if kind in ("city_hrss", "county_hrss") and region else name)
            for i, name, kind, region in found}


def breakdown(scope, node: Org, flt: Filters, direct=False):
    """(rows, total) of a node for a year: one row per child organisation."""
    kind = child_kind(node, direct)
    sums, year = _sums(scope, node, flt, direct, kind)
    heads = {k: int(p) for k, p, *_ in db.session.execute(sums(year == HEADCOUNT_YEAR)).all()}
    figures = {k: rest for k, *rest in db.session.execute(sums(year == flt.year)).all()}
    if NO_AREA in heads or NO_AREA in figures:  # the area roll-up marks 省直 / 市直 with 0
        heads = {(None if k == NO_AREA else k): v for k, v in heads.items()}
        figures = {(None if k == NO_AREA else k): v for k, v in figures.items()}
    keys = set(heads) | set(figures)
    names = _names(keys)
    rows = []
    for key in keys:
        _, passed, pub, prof, tot = figures.get(key, (0, 0, 0, 0, 0))
        if key is None and kind in ("department", "person"):
            name, drill = NO_DEPARTMENT, {"node": node.id, "persons": 1, "no_department": 1}
        elif key is None:
            name = DIRECT_LABEL.get(node.kind, "其他")
            drill = {"node": node.id, "direct": 1}
        else:
            name = names.get(key, str(key))
            drill = {"node": key}
        rows.append(Row(key, name, heads.get(key, 0), int(passed), Decimal(pub), Decimal(prof), Decimal(tot), drill))
    rows.sort(key=lambda r: (r.key is None, r.name))
    return rows, _total(rows)


def _total(rows):
    total = Row(None, "合计")
    for r in rows:
        total.persons += r.persons
        total.passed += r.passed
        total.public += r.public
        total.professional += r.professional
        total.total += r.total
    return total


def _person_where(scope, node: Org, flt: Filters):
    conds = [scope.clause(Person), Membership.status == "active",
             flt.title_clause(func.coalesce(Person.title_level, "")), flt.units_clause(Person.unit_id)]
    if node.kind == "unit":
        conds.append(Person.unit_id == node.id)
    elif node.kind == "department":
        conds.append(Person.department_id == node.id)
    else:
        conds.append(Person.id.is_(None))
    return and_(*conds)


def _year_join(flt):
    return and_(PersonYear.person_id == Person.id, PersonYear.year == flt.year)


def persons(scope, node: Org, flt: Filters, page=0, no_department=False, limit=PERSON_PAGE):
    """(rows, has_more): the persons of a unit or department with the year's figures."""
    stmt = (
        select(Person, PersonYear)
        .join(Membership, Membership.id == Person.membership_id)
        .outerjoin(PersonYear, _year_join(flt))
        .where(_person_where(scope, node, flt))
        .order_by(Person.name, Person.id)
    )
    if no_department:
        stmt = stmt.where(Person.department_id.is_(None))
    if limit is not None:
        stmt = stmt.offset(max(page, 0) * limit).limit(limit + 1)
    found = db.session.execute(stmt).all()
    has_more = limit is not None and len(found) > limit
    return found[:limit] if limit is not None else found, has_more


def trend(scope, node: Org, flt: Filters, direct=False):
    """[(year, persons, passed, rate)] of the node over every year with figures."""
    if _uses_area(node, flt, direct):
        where, model = _area_where(scope, node, flt), StatArea
    else:
        where, model = _cell_where(scope, node, flt, direct), StatCell
    heads = db.session.scalar(select(func.coalesce(func.sum(model.persons), 0))
                              .where(where, model.year == HEADCOUNT_YEAR)) or 0
    stmt = (select(model.year, func.sum(model.passed))
            .where(where, model.year != HEADCOUNT_YEAR).group_by(model.year))
    out = []
    for year, n_passed in sorted(db.session.execute(stmt).all()):
        n_passed = int(n_passed or 0)
        out.append({"year": year, "persons": int(heads), "passed": n_passed,
                    "rate": round(100.0 * n_passed / heads, 1) if heads else 0.0})
    return out


def years_available(current_year):
    """The years offered in the filter: from the first standard's year to this one."""
    from .models import HourStandard

    first = db.session.scalar(select(func.min(HourStandard.year_from))) or current_year
    return list(range(current_year, min(first, current_year) - 1, -1))


def title_choices():
    return [*TITLE_LEVELS.items(), ("none", "未填写")]
