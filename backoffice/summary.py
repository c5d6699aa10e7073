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
from decimal import Decimal

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
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

ZERO = Decimal(0)
CHUNK = 20_000  # ids per statement on SQLite (bound-variable limit 32,766)
JUNIOR = ("", "junior")
MID_SENIOR = ("intermediate", "associate_senior", "senior")

__all__ = ["add_approved", "rebuild", "refresh", "refresh_memberships", "refresh_units", "units_of_subtree"]


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
    """Serialise concurrent refreshes of the same units (PostgreSQL): their org rows."""
    if ids and _is_postgres():
        db.session.execute(select(model.id).where(_in(model.id, ids)).order_by(model.id).with_for_update())


PERSON_LOCKS = 64  # transaction advisory locks the persons' summaries are spread over
PERSON_LOCK_BASE = 0x53554D00  # "SUM\0": apart from the other advisory keys


def _lock_summaries(person_ids):
    """Serialise concurrent changes of the same persons' summary rows (PostgreSQL):
    a transaction advisory lock per bucket of person ids, taken in ascending order (no
    deadlock), held to the end of the transaction. Row locks on the persons would
    write every person row touched — ~45 ms for the ~6,000 persons of an approve-all
    of 10,000 records; a few dozen advisory locks cost nothing of the sort."""
    if not person_ids or not _is_postgres():
        return
    from sqlalchemy import BigInteger, text
    from sqlalchemy.dialects.postgresql import ARRAY

    keys = sorted({PERSON_LOCK_BASE + int(p) % PERSON_LOCKS for p in person_ids})
    # One statement; the array's order is the order the locks are taken in.
    db.session.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:keys) AS k")
                       .bindparams(bindparam("keys", keys, type_=ARRAY(BigInteger))))


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


def _requirement(years: Iterable[int], year=Declaration.year, person=Person):
    """SQL CASEs giving the applicable standard's (id, public, professional, total)
    (``year``: the year column; ``person``: the person's columns, a table or alias).

    Standards depend on the year, the title group (初级 / 中高级) and the region
    (郑州地区 or not: the person's city, no city counting as Zhengzhou — see
    ``standards.is_zhengzhou``); the few combinations of the years at hand are resolved
    in Python with ``hours.standard_for`` and written as one CASE per figure.
    """
    from .standards import standards_rows

    year_col = year
    rows = standards_rows()
    zz = _zhengzhou_city_id()
    city = person.city_id
    is_zz = city.is_(None) if zz is None else or_(city.is_(None), city == zz)
    level = func.coalesce(person.title_level, "")
    groups = {"junior": level.in_(JUNIOR), "mid_senior": level.in_(MID_SENIOR)}
    whens = {key: [] for key in ("id", "public", "professional", "total")}
    for year in sorted(set(years)):
        for group, title_level in (("junior", "junior"), ("mid_senior", "intermediate")):
            for zhengzhou in (True, False):
                try:
                    std = hours.standard_for(rows, int(year), title_level, zhengzhou)
                except hours.HoursError:
                    continue
                cond = and_(year_col == year, groups[group], is_zz if zhengzhou else ~is_zz)
                for key in whens:
                    whens[key].append((cond, literal(std[key])))
    return {key: (case(*w, else_=null()) if w else null()) for key, w in whens.items()}


ROW_COLUMNS = ["person_id", "unit_id", "county_id", "city_id", "competent_dept_id", "year", "department_id",
               "title_level", "active", "public_hours", "professional_hours", "total_hours", "standard_id",
               "required_public", "required_professional", "required_total", "prorate_months", "frozen", "passed"]


def _insert_rows(where, years):
    """INSERT … SELECT of the person-year rows of the approved records matching ``where``."""
    if not years:
        return
    db.session.execute(insert(PersonYear).from_select(ROW_COLUMNS, _rows_select(where, years)))


def _rows_select(where, years, few=False, sums=None):
    """SELECT of the person-year rows (``ROW_COLUMNS``) of the approved records matching
    ``where``, one per person and year: the records summed per person and year first,
    then each sum joined to its person, the person's status and the year's valid frozen
    result. ``few``: a batch of a few thousand (an approval), where PostgreSQL should
    look each person up by key (a LATERAL … OFFSET 0) instead of hashing every person.
    ``sums``: the sums already made (columns person_id, year, pub, prof) instead."""
    hours_of = func.coalesce(Declaration.claimed_hours, 0)
    sums = sums if sums is not None else (
        select(Declaration.person_id.label("person_id"), Declaration.year.label("year"),
               func.sum(case((Declaration.subject_kind == "public", hours_of), else_=0)).label("pub"),
               func.sum(case((Declaration.subject_kind == "professional", hours_of), else_=0)).label("prof"))
        .where(Declaration.status == "approved", where)
        .group_by(Declaration.person_id, Declaration.year)
        .subquery("sums")
    )
    columns = (Person.id, Person.unit_id, Person.county_id, Person.city_id, Person.competent_dept_id,
               Person.department_id, Person.title_level, Person.membership_id)
    if few and _is_postgres():
        person = select(*columns).where(Person.id == sums.c.person_id).offset(0).lateral("p")
        joined = sums.join(person, true())
    else:
        person = select(*columns).subquery("p")
        joined = sums.join(person, person.c.id == sums.c.person_id)
    joined = joined.outerjoin(
        YearResult,
        and_(YearResult.person_id == sums.c.person_id, YearResult.year == sums.c.year, YearResult.status == "valid"),
    )
    req = _requirement(years, year=sums.c.year, person=person.c)
    frozen = YearResult.id.isnot(None)
    r_pub = case((frozen, YearResult.required_public), else_=req["public"])
    r_prof = case((frozen, YearResult.required_professional), else_=req["professional"])
    r_total = case((frozen, YearResult.required_total), else_=req["total"])
    status = select(Membership.status).where(Membership.id == person.c.membership_id).scalar_subquery()
    pub, prof = sums.c.pub, sums.c.prof
    return select(
        sums.c.person_id,
        person.c.unit_id,
        person.c.county_id,
        person.c.city_id,
        person.c.competent_dept_id,
        sums.c.year,
        person.c.department_id,
        func.coalesce(person.c.title_level, ""),
        case((status == "active", true()), else_=false()),
        pub,
        prof,
        pub + prof,
        case((frozen, YearResult.standard_id), else_=req["id"]),
        r_pub,
        r_prof,
        r_total,
        YearResult.prorate_months,
        case((frozen, true()), else_=false()),
        case((and_(r_pub.isnot(None), pub >= r_pub, prof >= r_prof, pub + prof >= r_total), true()), else_=false()),
    ).select_from(joined).where(true())  # WHERE: SQLite's INSERT … SELECT … ON CONFLICT needs one


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
    _lock_summaries(ids)
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


def add_approved(declaration_ids=(), records=None) -> None:
    """Records that have just been finally approved (pending → approved): add their
    hours to the summary as deltas instead of recounting.

    ``declaration_ids``: the records. ``records``: their ``(id, person_id, year,
    subject_kind, claimed_hours)`` when the caller has read them already (approve-all
    reads them with its plan).

    An approval only adds hours to person-years; head counts, the persons' units and
    the requirements stay. Per chunk of persons, one INSERT … SELECT … ON CONFLICT
    (person_id, year) DO UPDATE writes the summary rows of these records: a person-year
    without a row gets one built exactly as :func:`rebuild` builds it (a row exists as
    soon as a person-year has one approved record, so a missing row means these records
    are its first); one that has a row gets the hours added and ``passed`` decided again
    against the row's stored requirement. The rows' changes (passed 0 → 1, hours) are
    then added to their ``stat_cell`` and ``stat_area`` rows. The cost follows the
    number of records approved, not the size of their units or of the province; the
    summary tests compare the result with a recount.
    """
    if records is None:
        records = []
        for part in _chunks(_ids(declaration_ids)):
            records += db.session.execute(
                select(Declaration.id, Declaration.person_id, Declaration.year, Declaration.subject_kind,
                       Declaration.claimed_hours)
                .where(_in(Declaration.id, part), Declaration.status == "approved")).tuples().all()
    gained, by_person = {}, {}
    for decl_id, person_id, year, kind, claimed in records:
        g = gained.get((person_id, year))
        if g is None:
            g = gained[(person_id, year)] = [ZERO, ZERO]
        if kind == "public":
            g[0] += Decimal(claimed or 0)
        elif kind == "professional":
            g[1] += Decimal(claimed or 0)
        by_person.setdefault(person_id, []).append(decl_id)
    if not gained:
        return
    db.session.flush()
    years = sorted({y for _, y in gained})
    cells = {}
    pg = _is_postgres()
    for persons in _chunks(sorted(by_person)):
        _lock_summaries(persons)
        now = {}  # the rows as the last statement left them (a person-year may span statements)
        if pg:  # one statement: the upsert, and its rows summed per cell (no rows to the client)
            pairs = [(p, y) for p in persons for y in years if (p, y) in gained]
            for year, unit, dept, title, county, city, competent, passed, pub, prof in db.session.execute(
                    _upsert_cells(years, _array_sums(pairs, gained))).tuples():
                d = cells.get((year, unit, dept, title))
                if d is None:
                    d = cells[(year, unit, dept, title)] = {"passed": 0, "public": 0, "professional": 0,
                                                            "where": (county, city, competent)}
                d["passed"] += int(passed)
                d["public"] += pub
                d["professional"] += prof
            continue
        else:  # SQLite: which rows exist (no xmax), then the records' sums in SQL
            had = set(db.session.execute(
                select(PersonYear.person_id, PersonYear.year)
                .where(_in(PersonYear.person_id, persons), PersonYear.year.in_(years))).tuples())
            for ids in _chunks([i for p in persons for i in by_person[p]]):
                for row in db.session.execute(_upsert(years, where=_in(Declaration.id, ids))).tuples():
                    now[row[:2]] = (*row[:-1], row[:2] not in had)
        for key, (_, year, unit, dept, title, county, city, competent, active, passed, pub, prof, r_pub, r_prof,
                  r_total, inserted) in now.items():
            if not active or unit is None or key not in gained:
                continue
            p, q = gained[key]
            # before: nothing (a new row), or the row less these records' hours against the
            # same stored requirement — which is what its ``passed`` said (all in tenths)
            was = not inserted and _passes(pub - int(p * 10), prof - int(q * 10), r_pub, r_prof, r_total)
            d = cells.get((year, unit, dept, title))
            if d is None:
                d = cells[(year, unit, dept, title)] = {"passed": 0, "public": 0, "professional": 0,
                                                        "where": (county, city, competent)}
            d["passed"] += bool(passed) - was
            d["public"] += p
            d["professional"] += q
    _lock(Org, sorted({unit for _, unit, _, _ in cells}))
    _add_to_cells(cells)
    _forget_loaded_rows()


def _passes(pub, prof, r_pub, r_prof, r_total) -> bool:
    """The ``passed`` rule of the summary rows, for one row."""
    return bool(r_pub is not None and pub >= r_pub and prof >= r_prof and pub + prof >= r_total)


def _array_sums(pairs, gained):
    """``(person_id, year, pub, prof)`` rows from arrays (PostgreSQL ``unnest``)."""
    from sqlalchemy import Numeric
    from sqlalchemy.dialects.postgresql import ARRAY

    def arr(name, values, type_):
        return func.unnest(bindparam(name, values, type_=ARRAY(type_))).label(name)

    def tenths(name, index):  # hours have one decimal: sent as integer tenths (cheap to send)
        values = bindparam(name, [int(gained[k][index] * 10) for k in pairs], type_=ARRAY(Integer))
        return cast(cast(func.unnest(values), Numeric(14, 1)) / 10, Numeric(14, 1)).label(name)

    return select(
        arr("person_id", [p for p, _ in pairs], Integer),
        arr("year", [y for _, y in pairs], Integer),
        tenths("pub", 0),
        tenths("prof", 1),
    ).cte("sums")


def _upsert_cells(years, sums):
    """PostgreSQL: ``WITH up AS (the upsert … RETURNING)`` summed per stat cell with the
    changes it made — passed 0 → 1 (a new row had passed nothing; an updated one had
    what its hours less these records' gave against its requirement) and the hours."""
    up = _upsert(years, sums=sums).cte("up")
    p10, q10 = cast(func.round(sums.c.pub * 10), Integer), cast(func.round(sums.c.prof * 10), Integer)
    old_pub, old_prof = up.c.pub10 - p10, up.c.prof10 - q10
    was = case((up.c.inserted, 0), (and_(up.c.rp10.isnot(None), old_pub >= up.c.rp10, old_prof >= up.c.rq10,
                                         old_pub + old_prof >= up.c.rt10), 1), else_=0)
    now = case((up.c.passed, 1), else_=0)
    return (
        select(up.c.year, up.c.unit_id, up.c.department_id, up.c.title_level, func.max(up.c.county_id),
               func.max(up.c.city_id), func.max(up.c.competent_dept_id), func.sum(now - was),
               func.sum(sums.c.pub), func.sum(sums.c.prof))
        .select_from(up.join(sums, and_(sums.c.person_id == up.c.person_id, sums.c.year == up.c.year)))
        .where(up.c.active, up.c.unit_id.isnot(None))
        .group_by(up.c.year, up.c.unit_id, up.c.department_id, up.c.title_level)
    )


def _upsert(years, where=None, sums=None):
    """INSERT … SELECT … ON CONFLICT (person_id, year) DO UPDATE … RETURNING of the
    person-year rows of the approved records matching ``where`` or of ``sums`` (see
    :func:`add_approved`). Returns the row's keys, place, ``passed``, hours,
    requirement and (PostgreSQL) whether it was inserted."""
    if _is_postgres():
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(PersonYear).from_select(ROW_COLUMNS, _rows_select(where, years, few=True, sums=sums))
    new_pub = PersonYear.public_hours + stmt.excluded.public_hours
    new_prof = PersonYear.professional_hours + stmt.excluded.professional_hours
    passed = case((and_(PersonYear.required_public.isnot(None), new_pub >= PersonYear.required_public,
                        new_prof >= PersonYear.required_professional,
                        new_pub + new_prof >= PersonYear.required_total), true()), else_=false())
    inserted = literal_column("xmax = 0") if _is_postgres() else literal(None)
    return stmt.on_conflict_do_update(
        index_elements=[PersonYear.person_id, PersonYear.year],
        set_={"public_hours": new_pub, "professional_hours": new_prof, "total_hours": new_pub + new_prof,
              "passed": passed},
    ).returning(PersonYear.person_id, PersonYear.year, PersonYear.unit_id, PersonYear.department_id,
                PersonYear.title_level, PersonYear.county_id, PersonYear.city_id, PersonYear.competent_dept_id,
                PersonYear.active, PersonYear.passed,
                # hours and requirement in integer tenths: exact, and cheaper to read than decimals
                *(cast(func.round(c * 10), Integer).label(name) for name, c in (
                    ("pub10", PersonYear.public_hours), ("prof10", PersonYear.professional_hours),
                    ("rp10", PersonYear.required_public), ("rq10", PersonYear.required_professional),
                    ("rt10", PersonYear.required_total))),
                inserted.label("inserted"))


def _add_to_cells(cells) -> None:
    """Add ``{(year, unit, department, title_level): deltas}`` to ``stat_cell`` and the
    matching ``stat_area`` rows: increments (atomic per row), new rows where none exist."""
    if not cells:
        return
    areas = {}
    for (year, _, _, title), d in cells.items():
        county, city, _ = d["where"]
        a = areas.setdefault((year, city or NO_AREA, county or NO_AREA, title),
                             {"passed": 0, "public": 0, "professional": 0})
        for k in a:
            a[k] += d[k]
    _lock(Org, sorted({i for _, city, county, _ in areas for i in (city, county) if i}))
    units = sorted({unit for _, unit, _, _ in cells})
    years = sorted({year for year, *_ in cells})
    found = {}
    for part in _chunks(units):
        stmt = select(StatCell.id, StatCell.year, StatCell.unit_id, StatCell.department_id, StatCell.title_level) \
            .where(_in(StatCell.unit_id, part), StatCell.year.in_(years))
        for cid, *key in db.session.execute(stmt).tuples():
            found[tuple(key)] = cid
    _apply_deltas(StatCell, {found[k]: d for k, d in cells.items()
                             if k in found and (d["passed"] or d["public"] or d["professional"])})
    new = [{"year": y, "unit_id": u, "department_id": dep, "title_level": t, "county_id": d["where"][0],
            "city_id": d["where"][1], "competent_dept_id": d["where"][2], "persons": 0, "passed": d["passed"],
            "public_hours": d["public"], "professional_hours": d["professional"],
            "total_hours": d["public"] + d["professional"]}
           for (y, u, dep, t), d in cells.items() if (y, u, dep, t) not in found]
    if new:
        db.session.execute(StatCell.__table__.insert(), new)
    found = {}
    stmt = select(StatArea.id, StatArea.year, StatArea.city_id, StatArea.county_id, StatArea.title_level) \
        .where(StatArea.year.in_(years), StatArea.county_id.in_(sorted({k[2] for k in areas})))
    for aid, *key in db.session.execute(stmt).tuples():
        found[tuple(key)] = aid
    _apply_deltas(StatArea, {found[k]: d for k, d in areas.items() if k in found})
    new = [{"year": y, "city_id": c, "county_id": co, "title_level": t, "persons": 0, "passed": d["passed"],
            "public_hours": d["public"], "professional_hours": d["professional"],
            "total_hours": d["public"] + d["professional"]}
           for (y, c, co, t), d in areas.items() if (y, c, co, t) not in found]
    if new:
        db.session.execute(StatArea.__table__.insert(), new)


def _apply_deltas(model, by_id) -> None:
    if not by_id:
        return
    table = model.__table__
    stmt = table.update().where(table.c.id == bindparam("b_id")).values(
        passed=table.c.passed + bindparam("b_passed"),
        public_hours=table.c.public_hours + bindparam("b_public"),
        professional_hours=table.c.professional_hours + bindparam("b_professional"),
        total_hours=table.c.total_hours + bindparam("b_total"),
    )
    db.session.execute(stmt, [
        {"b_id": i, "b_passed": d["passed"], "b_public": d["public"], "b_professional": d["professional"],
         "b_total": d["public"] + d["professional"]} for i, d in by_id.items()
    ])


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
