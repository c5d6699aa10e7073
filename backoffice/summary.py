"""The person-year summary (人员年度学时汇总) and its roll-up, kept by every move.

One function, :func:`refresh`, recomputes — set-based, in SQL — the ``person_year``
rows of the given persons (optionally only some years) from the records, then the
``stat_cell`` roll-up of every unit those persons were or are in. The moves call it in
their own transaction with the ids they touched (approve, approve-all, send back of an
approved record, certify / revoke a year, transfer, registration decision, account
enable / disable, title change, organisation move); :func:`rebuild` recomputes
everything (``flask --app backoffice rebuild-summary``, and the job that runs after a
standard or a conversion rule changes).

What a row says is exactly :func:`standards.year_completion` of the person-year:
the approved ``claimed_hours`` summed per subject kind, against the valid frozen
result's requirement when the year is certified (with its pro-rating), else the
standards table's row for the year, the person's title group and region; no
applicable standard means not passed. A row exists for every person-year with at
least one approved record. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    delete,
    distinct,
    false,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
)

from . import hours
from .extensions import db
from .models import (
    HEADCOUNT_YEAR,
    NO_AREA,
    Declaration,
    Membership,
    Org,
    Person,
    PersonYear,
    StatArea,
    StatCell,
    YearResult,
)

CHUNK = 20_000  # ids per statement on SQLite (bound-variable limit 32,766)
JUNIOR = ("", "junior")
MID_SENIOR = ("intermediate", "associate_senior", "senior")

__all__ = ["rebuild", "refresh", "refresh_memberships", "refresh_units", "units_of_subtree"]


# --------------------------------------------------------------------------- helpers
def _is_postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def _ids(values) -> list[int]:
    if isinstance(values, Select):
        return sorted({int(v) for v in db.session.scalars(values)})
    out = set()
    for v in values or ():
        if v is not None:
            out.add(int(v))
    return sorted(out)


def _chunks(ids: list[int]):
    if not ids:
        return []
    if _is_postgres():
        return [ids]
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _in(column, ids):
    if _is_postgres():
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer), unique=True))
    return column.in_(list(ids))


def _lock(model, ids):
    """Serialise concurrent refreshes of the same persons / units (PostgreSQL)."""
    if ids and _is_postgres():
        db.session.execute(select(model.id).where(_in(model.id, ids)).order_by(model.id).with_for_update())


def _forget_loaded_rows():
    """Rows were deleted and inserted in SQL: loaded summary objects are stale."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, (PersonYear, StatCell, StatArea)):
            db.session.expire(obj)


def _zhengzhou_city_id():
    from .standards import ZHENGZHOU_CODE

    return db.session.scalar(
        select(Org.id).where(Org.kind == "city_hrss", Org.division_code == ZHENGZHOU_CODE)
    )


def _requirement(years: Iterable[int]):
    """SQL CASEs giving the applicable standard's (id, public, professional, total).

    Standards depend on the year, the title group (初级 / 中高级) and the region
    (郑州地区 or not: the person's city, no city counting as Zhengzhou — see
    ``standards.is_zhengzhou``); the few combinations of the years at hand are resolved
    in Python with ``hours.standard_for`` and written as one CASE per figure.
    """
    from .standards import standards_rows

    rows = standards_rows()
    zz = _zhengzhou_city_id()
    is_zz = Person.city_id.is_(None) if zz is None else or_(Person.city_id.is_(None), Person.city_id == zz)
    level = func.coalesce(Person.title_level, "")
    groups = {"junior": level.in_(JUNIOR), "mid_senior": level.in_(MID_SENIOR)}
    whens = {key: [] for key in ("id", "public", "professional", "total")}
    for year in sorted(set(years)):
        for group, title_level in (("junior", "junior"), ("mid_senior", "intermediate")):
            for zhengzhou in (True, False):
                try:
                    std = hours.standard_for(rows, int(year), title_level, zhengzhou)
                except hours.HoursError:
                    continue
                cond = and_(Declaration.year == year, groups[group], is_zz if zhengzhou else ~is_zz)
                for key in whens:
                    whens[key].append((cond, literal(std[key])))
    return {key: (case(*w, else_=null()) if w else null()) for key, w in whens.items()}


def _insert_rows(where, years):
    """INSERT … SELECT of the person-year rows of the approved records matching ``where``."""
    if not years:
        return
    hours_of = func.coalesce(Declaration.claimed_hours, 0)
    pub = func.sum(case((Declaration.subject_kind == "public", hours_of), else_=0))
    prof = func.sum(case((Declaration.subject_kind == "professional", hours_of), else_=0))
    req = _requirement(years)
    frozen = YearResult.id.isnot(None)
    r_pub = case((frozen, YearResult.required_public), else_=req["public"])
    r_prof = case((frozen, YearResult.required_professional), else_=req["professional"])
    r_total = case((frozen, YearResult.required_total), else_=req["total"])
    stmt = (
        select(
            Declaration.person_id,
            func.max(Person.unit_id),
            func.max(Person.county_id),
            func.max(Person.city_id),
            func.max(Person.competent_dept_id),
            Declaration.year,
            func.max(Person.department_id),
            func.max(func.coalesce(Person.title_level, "")),
            case((func.max(Membership.status) == "active", true()), else_=false()),
            pub,
            prof,
            pub + prof,
            func.max(case((frozen, YearResult.standard_id), else_=req["id"])),
            func.max(r_pub),
            func.max(r_prof),
            func.max(r_total),
            func.max(YearResult.prorate_months),
            case((func.max(YearResult.id).isnot(None), true()), else_=false()),
            # one person and year per group: the requirement is the same on every row
            _passed_group(pub, prof, r_pub, r_prof, r_total),
        )
        .select_from(Declaration)
        .join(Person, Person.id == Declaration.person_id)
        .join(Membership, Membership.id == Person.membership_id)
        .outerjoin(
            YearResult,
            and_(YearResult.person_id == Declaration.person_id, YearResult.year == Declaration.year,
                 YearResult.status == "valid"),
        )
        .where(Declaration.status == "approved", where)
        .group_by(Declaration.person_id, Declaration.year)
    )
    db.session.execute(
        insert(PersonYear).from_select(
            ["person_id", "unit_id", "county_id", "city_id", "competent_dept_id", "year", "department_id",
             "title_level", "active", "public_hours", "professional_hours", "total_hours", "standard_id",
             "required_public", "required_professional", "required_total", "prorate_months", "frozen",
             "passed"],
            stmt,
        )
    )


def _passed_group(pub, prof, r_pub, r_prof, r_total):
    """passed over a (person, year) group: the sums reach the (single) requirement."""
    rp, rq, rt = func.max(r_pub), func.max(r_prof), func.max(r_total)
    return case((and_(rp.isnot(None), pub >= rp, prof >= rq, pub + prof >= rt), true()), else_=false())


def _years_of(where) -> list[int]:
    return sorted(db.session.scalars(
        select(distinct(Declaration.year)).where(Declaration.status == "approved", where)
    ))


# --------------------------------------------------------------------------- roll-up
def refresh_units(unit_ids) -> None:
    """Recompute the ``stat_cell`` rows of these units from persons and the summary."""
    ids = _ids(unit_ids)
    if not ids:
        return
    _lock(Org, ids)
    areas = set()
    area_of = select(StatCell.city_id, StatCell.county_id).distinct()
    for part in _chunks(ids):
        areas.update(db.session.execute(area_of.where(_in(StatCell.unit_id, part))).tuples())
        db.session.execute(delete(StatCell).where(_in(StatCell.unit_id, part))
                           .execution_options(synchronize_session=False))
        _insert_cells(_in(Person.unit_id, part), _in(PersonYear.unit_id, part))
        areas.update(db.session.execute(area_of.where(_in(StatCell.unit_id, part))).tuples())
    _refresh_areas(areas)
    _forget_loaded_rows()


def _area_key(column):
    # A literal, not a bound parameter: PostgreSQL must see the same expression in GROUP BY.
    return func.coalesce(column, literal_column(str(int(NO_AREA))))


def _refresh_areas(areas):
    """Recompute the ``stat_area`` rows of these (city_id, county_id) pairs from the cells."""
    for city_id, county_id in sorted(areas, key=lambda a: (a[0] or 0, a[1] or 0)):
        city, county = city_id or NO_AREA, county_id or NO_AREA
        db.session.execute(delete(StatArea).where(StatArea.city_id == city, StatArea.county_id == county)
                           .execution_options(synchronize_session=False))
        _insert_areas(and_(_area_key(StatCell.city_id) == city, _area_key(StatCell.county_id) == county))


def _insert_areas(where):
    cols = ["year", "city_id", "county_id", "title_level", "persons", "passed", "public_hours",
            "professional_hours", "total_hours"]
    stmt = (
        select(StatCell.year, _area_key(StatCell.city_id), _area_key(StatCell.county_id), StatCell.title_level,
               func.sum(StatCell.persons), func.sum(StatCell.passed), func.sum(StatCell.public_hours),
               func.sum(StatCell.professional_hours), func.sum(StatCell.total_hours))
        .where(where)
        .group_by(StatCell.year, _area_key(StatCell.city_id), _area_key(StatCell.county_id), StatCell.title_level)
    )
    db.session.execute(insert(StatArea).from_select(cols, stmt))


def _insert_cells(person_where, summary_where):
    cols = ["year", "unit_id", "department_id", "title_level", "county_id", "city_id", "competent_dept_id",
            "persons", "passed", "public_hours", "professional_hours", "total_hours"]
    level = func.coalesce(Person.title_level, literal_column("''"))  # same text in GROUP BY
    heads = (
        select(
            literal(HEADCOUNT_YEAR), Person.unit_id, Person.department_id, level, func.max(Person.county_id),
            func.max(Person.city_id), func.max(Person.competent_dept_id), func.count(), literal(0), literal(0),
            literal(0), literal(0),
        )
        .join(Membership, Membership.id == Person.membership_id)
        .where(Membership.status == "active", person_where)
        .group_by(Person.unit_id, Person.department_id, level)
    )
    db.session.execute(insert(StatCell).from_select(cols, heads))
    years = (
        select(
            PersonYear.year, PersonYear.unit_id, PersonYear.department_id, PersonYear.title_level,
            func.max(PersonYear.county_id), func.max(PersonYear.city_id), func.max(PersonYear.competent_dept_id),
            literal(0), func.sum(case((PersonYear.passed == true(), 1), else_=0)), func.sum(PersonYear.public_hours),
            func.sum(PersonYear.professional_hours), func.sum(PersonYear.total_hours),
        )
        .where(PersonYear.active == true(), summary_where)
        .group_by(PersonYear.year, PersonYear.unit_id, PersonYear.department_id, PersonYear.title_level)
    )
    db.session.execute(insert(StatCell).from_select(cols, years))


def units_of_subtree(path) -> list[int]:
    """Ids of the units (and of orgs persons name as unit) inside an org subtree."""
    from .tree import subtree_clause

    return _ids(select(Org.id).where(subtree_clause(path), Org.kind == "unit"))


# --------------------------------------------------------------------------- refresh
def refresh(person_ids, years=None, extra_units=()) -> None:
    """Recompute the summary of these persons (all years, or only ``years``) and the
    roll-up of their units, old and new. ``person_ids``: ids or a ``select`` of ids.
    ``extra_units``: units the persons left without leaving a summary row there
    (a transfer passes the old unit)."""
    ids = _ids(person_ids)
    if not ids:
        refresh_units(extra_units)
        return
    year_list = None if years is None else sorted({int(y) for y in years})
    db.session.flush()
    _lock(Person, ids)
    units = set(_ids(extra_units))
    for part in _chunks(ids):
        old = select(distinct(PersonYear.unit_id)).where(_in(PersonYear.person_id, part))
        new = select(distinct(Person.unit_id)).where(_in(Person.id, part))
        units.update(db.session.scalars(old))
        units.update(db.session.scalars(new))
        gone = delete(PersonYear).where(_in(PersonYear.person_id, part))
        where = _in(Declaration.person_id, part)
        if year_list is not None:
            gone = gone.where(PersonYear.year.in_(year_list))
            where = and_(where, Declaration.year.in_(year_list))
        db.session.execute(gone.execution_options(synchronize_session=False))
        _insert_rows(where, _years_of(where) if year_list is None else year_list)
    refresh_units(units)


def refresh_memberships(membership_ids) -> None:
    """A registration decision or an account enabled / disabled: refresh its persons."""
    mids = _ids(membership_ids)
    if not mids:
        return
    persons = []
    for part in _chunks(mids):
        persons += db.session.scalars(select(Person.id).where(_in(Person.membership_id, part))).all()
    refresh(persons)


def rebuild() -> dict:
    """Recompute every summary row and every roll-up cell from the records."""
    db.session.flush()
    db.session.execute(delete(StatArea).execution_options(synchronize_session=False))
    db.session.execute(delete(StatCell).execution_options(synchronize_session=False))
    db.session.execute(delete(PersonYear).execution_options(synchronize_session=False))
    _insert_rows(true(), _years_of(true()))
    _insert_cells(true(), true())
    _insert_areas(true())
    _forget_loaded_rows()
    return {
        "person_years": db.session.scalar(select(func.count()).select_from(PersonYear)) or 0,
        "cells": db.session.scalar(select(func.count()).select_from(StatCell)) or 0,
        "areas": db.session.scalar(select(func.count()).select_from(StatArea)) or 0,
    }
