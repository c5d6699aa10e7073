"""Review queues: the filter of a queue and the queries behind the review pages.

Kept apart from the views so that the benchmark can time the very same SQL. Every
query starts from ``Scope.select``/``Scope.clause`` and then narrows to the records
whose current step is the reviewer's organisation and level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import case, func, literal_column, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import SUBJECT_KINDS, Declaration, LearningForm, Org, Person
from ..workflow import LEVEL_ROLES

COUNT_CAP = 10_000
PAGE_SIZE = 20
FIRST_YEAR = 2013
LEVEL_OF_ROLE = {role: level for level, role in LEVEL_ROLES.items()}

# A literal, not a bound parameter: the partial index ix_decl_pending_queue applies.
PENDING = literal_column("'pending'")

# Group key of the grouped review: the declaring organisation (the unit itself for
# records the person declared).
declarer_key = func.coalesce(Declaration.declarer_org_id, Declaration.unit_id)


def year_choices():
    this = date.today().year
    return list(range(this, FIRST_YEAR - 1, -1))


@dataclass
class QueueFilter:
    """The filter of a review queue, parsed from request arguments (bad input → errors)."""

    year: int | None = None
    subject_kind: str | None = None
    form_id: int | None = None
    declarer_id: int | None = None
    unit_id: int | None = None
    person_id: int | None = None
    q: str | None = None
    unit_name: str | None = None
    declarer_name: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    hours_min: Decimal | None = None
    hours_max: Decimal | None = None
    source: str | None = None
    errors: dict = field(default_factory=dict)

    KEYS = ("year", "subject_kind", "form", "declarer", "unit", "person", "q", "unit_name", "declarer_name",
            "date_from", "date_to", "hours_min", "hours_max", "source")

    @classmethod
    def from_args(cls, args):
        f = cls()
        year = (args.get("year") or "").strip()
        if year == "all":
            f.year = None
        elif year:
            try:
                f.year = int(year)
                if not FIRST_YEAR <= f.year <= date.today().year + 1:
                    raise ValueError
            except ValueError:
                f.errors["year"] = "年度无效"
                f.year = date.today().year
        else:
            f.year = date.today().year  # FAQ: the queue opens on the current year
        kind = (args.get("subject_kind") or "").strip()
        if kind:
            if kind in SUBJECT_KINDS:
                f.subject_kind = kind
            else:
                f.errors["subject_kind"] = "科目类型无效"
        source = (args.get("source") or "").strip()
        if source:
            if source in ("self", "unit", "institution"):
                f.source = source
            else:
                f.errors["source"] = "申报来源无效"
        for key, attr, label in (("form", "form_id", "学习形式"), ("declarer", "declarer_id", "申报机构"),
                                 ("unit", "unit_id", "单位"), ("person", "person_id", "人员")):
            raw = (args.get(key) or "").strip()
            if raw:
                try:
                    setattr(f, attr, int(raw))
                except ValueError:
                    f.errors[key] = f"{label}无效"
        q = (args.get("q") or "").strip()
        if q:
            f.q = q[:50]
        for key in ("unit_name", "declarer_name"):
            value = (args.get(key) or "").strip()
            if value:
                setattr(f, key, value[:50])
        for key, label in (("date_from", "开始日期"), ("date_to", "结束日期")):
            raw = (args.get(key) or "").strip()
            if raw:
                try:
                    setattr(f, key, date.fromisoformat(raw))
                except ValueError:
                    f.errors[key] = f"{label}格式应为 年-月-日，例如 2026-01-31"
        for key, label in (("hours_min", "最少学时"), ("hours_max", "最多学时")):
            raw = (args.get(key) or "").strip()
            if raw:
                try:
                    value = Decimal(raw)
                    if value < 0 or value > 10000 or not value.is_finite():
                        raise InvalidOperation
                    setattr(f, key, value)
                except (InvalidOperation, ValueError):
                    f.errors[key] = f"{label}应为 0–10000 之间的数字"
        if f.date_from and f.date_to and f.date_from > f.date_to:
            f.errors["date_to"] = "结束日期不能早于开始日期"
            f.date_to = None
        if f.hours_min is not None and f.hours_max is not None and f.hours_min > f.hours_max:
            f.errors["hours_max"] = "最多学时不能小于最少学时"
            f.hours_max = None
        return f

    def clauses(self):
        out = []
        if self.year is not None:
            out.append(Declaration.year == self.year)
        if self.subject_kind:
            out.append(Declaration.subject_kind == self.subject_kind)
        if self.source:
            out.append(Declaration.source == self.source)
        if self.form_id is not None:
            out.append(Declaration.form_id == self.form_id)
        if self.declarer_id is not None:
            out.append(declarer_key == self.declarer_id)
        if self.unit_id is not None:
            out.append(Declaration.unit_id == self.unit_id)
        if self.person_id is not None:
            out.append(Declaration.person_id == self.person_id)
        if self.q:
            q = self.q
            people = select(Person.id).where(
                or_(Person.id_number == q.upper(), Person.name == q,
                    (Person.name >= q) & (Person.name < q + "\uffff"))
            )
            out.append(Declaration.person_id.in_(people))
        if self.unit_name:
            out.append(Declaration.unit_id.in_(
                select(Org.id).where(Org.kind == "unit", Org.name.contains(self.unit_name, autoescape=True))))
        if self.declarer_name:
            out.append(declarer_key.in_(
                select(Org.id).where(Org.name.contains(self.declarer_name, autoescape=True))))
        if self.date_from:
            out.append(Declaration.submitted_at >= datetime.combine(self.date_from, datetime.min.time()))
        if self.date_to:
            out.append(Declaration.submitted_at < datetime.combine(self.date_to + timedelta(days=1),
                                                                 datetime.min.time()))
        if self.hours_min is not None:
            out.append(Declaration.claimed_hours >= self.hours_min)
        if self.hours_max is not None:
            out.append(Declaration.claimed_hours <= self.hours_max)
        return out

    def as_args(self, **override):
        """The filter as URL arguments (only what is set)."""
        values = {
            "year": "all" if self.year is None else self.year,
            "subject_kind": self.subject_kind,
            "form": self.form_id,
            "declarer": self.declarer_id,
            "unit": self.unit_id,
            "person": self.person_id,
            "q": self.q,
            "unit_name": self.unit_name,
            "declarer_name": self.declarer_name,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "hours_min": self.hours_min,
            "hours_max": self.hours_max,
            "source": self.source,
        }
        values.update(override)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    @property
    def narrowed(self):
        """Is anything but the year set?"""
        return any(v not in (None, "") for k, v in self.as_args().items() if k != "year")


def queue_level(membership):
    return LEVEL_OF_ROLE.get(membership.role)


def queue_clause(scope, membership):
    """Records in scope whose current step is ``membership``'s organisation and level."""
    in_scope = scope.clause(Declaration)
    if db.session.get_bind().dialect.name == "sqlite":
        # Same condition, but not one SQLite can serve from the scope indexes
        # (unit_id, status, year, …): its planner would pick those from their average
        # selectivity and then check every record of a big unit pending at any level
        # through the table (measured 20–35 ms). The partial queue index covers the
        # scope columns, so the check is made there.
        in_scope = case((in_scope, 1), else_=0) == 1
    return (
        in_scope
        & (Declaration.current_org_id == membership.org_id)
        & (Declaration.status == PENDING)
        & (Declaration.current_level == queue_level(membership))
    )


def queue_ids(scope, membership, flt):
    """``select(Declaration.id)`` of the queue under ``flt``: what approve-all acts on."""
    return select(Declaration.id).where(queue_clause(scope, membership), *flt.clauses())


def queue_page(scope, membership, flt, page=1, page_size=PAGE_SIZE):
    """One page of the queue, newest first: the ids from the index, then those rows
    with person, unit, form, declarer and subject loaded."""
    ids = db.session.scalars(
        select(Declaration.id)
        .where(queue_clause(scope, membership), *flt.clauses())
        .order_by(Declaration.created_at.desc(), Declaration.id.desc())
        .limit(page_size)
        .offset((max(page, 1) - 1) * page_size)
    ).all()
    if not ids:
        return []
    rows = db.session.scalars(
        select(Declaration)
        .where(Declaration.id.in_(ids))
        .options(
            joinedload(Declaration.person),
            joinedload(Declaration.unit),
            joinedload(Declaration.form),
            joinedload(Declaration.declarer_org),
            joinedload(Declaration.subject),
        )
    ).unique().all()
    order = {id_: i for i, id_ in enumerate(ids)}
    return sorted(rows, key=lambda d: order[d.id])


def capped_count(where_stmt, cap=COUNT_CAP):
    """(n, over): an exact count up to ``cap``; ``over`` when there are more."""
    sub = where_stmt.limit(cap + 1).subquery()
    n = db.session.scalar(select(func.count()).select_from(sub)) or 0
    return min(n, cap), n > cap


def exact_count(where_stmt):
    sub = where_stmt.subquery()
    return db.session.scalar(select(func.count()).select_from(sub)) or 0


def queue_groups(scope, membership, flt, limit=500):
    """Declaring organisations with their pending counts (grouped review, first level)."""
    rows = db.session.execute(
        select(declarer_key.label("org_id"), func.count().label("n"))
        .where(queue_clause(scope, membership), *flt.clauses())
        .group_by(declarer_key)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    orgs = {o.id: o for o in db.session.scalars(select(Org).where(Org.id.in_([r.org_id for r in rows])))}
    return [(orgs.get(r.org_id), r.n) for r in rows if r.org_id in orgs]


def queue_persons(scope, membership, flt, limit=500):
    """Persons with their pending counts (grouped review, second level)."""
    rows = db.session.execute(
        select(Declaration.person_id, func.count().label("n"), func.min(Declaration.id).label("first_id"))
        .where(queue_clause(scope, membership), *flt.clauses())
        .group_by(Declaration.person_id)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    persons = {
        p.id: p
        for p in db.session.scalars(
            select(Person).where(Person.id.in_([r.person_id for r in rows])).options(
                joinedload(Person.unit), joinedload(Person.department))
        )
    }
    return [(persons[r.person_id], r.n, r.first_id) for r in rows if r.person_id in persons]


def other_years_pending(scope, membership, year, cap=COUNT_CAP):
    """Pending records of past years in the queue (FAQ: 往年待审核学时)."""
    if year is None:
        return (0, False)
    return capped_count(select(Declaration.id).where(queue_clause(scope, membership), Declaration.year < year), cap)


def forms():
    return db.session.scalars(select(LearningForm).order_by(LearningForm.sort_order)).all()
