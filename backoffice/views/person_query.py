"""专技人员信息查询: find a professional in scope, then see the whole history.

Units, industry departments and HRSS bureaus look a person up by name or ID number (the
unit name narrows it), then open one page with the profile, the title history, every
year's completion against its standard, every record with its review steps and the
certificates issued. Every row is read through ``current_scope()``: a person of another
subtree is a 404, and so are their records.
"""

from datetime import date

from flask import request
from flask_admin import expose
from sqlalchemy import false, select
from sqlalchemy.orm import selectinload

from .. import hours, standards
from ..extensions import db
from ..models import (
    ACCOUNT_STATUSES,
    CERTIFICATE_STATUSES,
    DECLARATION_SOURCES,
    DECLARATION_STATUSES,
    GENDERS,
    REQUEST_STATUSES,
    STEP_LEVELS,
    STEP_STATUSES,
    SUBJECT_KINDS,
    TITLE_LEVELS,
    Certificate,
    Declaration,
    Membership,
    Org,
    Person,
    ReviewStep,
    TitleChangeRequest,
)
from ..permissions import ScopedBaseView, current_scope
from ._export import ListExportMixin

ORDER = 37
CATEGORY = "查询统计"
PAGE_SIZE = 20
MAX_TEXT = 50
ID_CHARS = set("0123456789Xx")


def person_search(scope, q="", unit=""):
    """SELECT of the persons in ``scope`` matching a name or ID number (prefix) and a
    unit name (contains), in the list's order."""
    stmt = select(Person).where(scope.clause(Person))
    if q:
        if set(q) <= ID_CHARS and len(q) >= 6:
            q = q.upper()
            stmt = stmt.where(Person.id_number == q if len(q) == 18 else Person.id_number.startswith(q, autoescape=True))
        else:
            stmt = stmt.where((Person.name == q) | Person.name.startswith(q, autoescape=True))
    if unit:
        units = select(Org.id).where(Org.kind == "unit", Org.name.contains(unit, autoescape=True))
        stmt = stmt.where(Person.unit_id.in_(units))
    return stmt.order_by(Person.name, Person.id)


PERSON_LOADS = (selectinload(Person.unit), selectinload(Person.department), selectinload(Person.membership))


def search_persons(scope, q="", unit="", page=1, page_size=PAGE_SIZE):
    """One page of ``person_search``; returns (rows, has_more)."""
    stmt = person_search(scope, q, unit).options(*PERSON_LOADS).offset((page - 1) * page_size).limit(page_size + 1)
    rows = db.session.scalars(stmt).all()
    return rows[:page_size], len(rows) > page_size


def completion_by_year(person, records):
    """Every year with a record (and this year): completion against its standard."""
    years = {date.today().year} | {d.year for d in records}
    out = []
    for year in sorted(years, reverse=True):
        try:
            out.append({"year": year, "c": standards.year_completion(person, year), "error": None})
        except hours.HoursError as exc:
            out.append({"year": year, "c": None, "error": exc.message})
    return out


def _query_args(args):
    """(name or ID number, unit name, error) of the search form."""
    q, unit = (args.get("q") or "").strip()[:MAX_TEXT], (args.get("unit") or "").strip()[:MAX_TEXT]
    error = "按身份证号查询请至少输入前 6 位" if q and set(q) <= ID_CHARS and len(q) < 6 else None
    return q, unit, error


class PersonQueryView(ListExportMixin, ScopedBaseView):
    roles = ("unit_admin", "industry_admin", "hrss_admin")
    export_loads = PERSON_LOADS

    def list_query(self, args):
        """The search results; nothing before a search (other than a unit's own list) or after a bad one."""
        q, unit, error = _query_args(args)
        stmt = person_search(current_scope(), q, unit)
        asked = bool(q or unit) or current_user_is_unit()
        return stmt if asked and error is None else stmt.where(false())

    def export_columns(self):
        return (
            ("姓名", lambda p: p.name),
            ("身份证号", lambda p: p.id_number),
            ("单位", lambda p: p.unit.name),
            ("部门", lambda p: p.department.name if p.department else ""),
            ("职称级别", lambda p: TITLE_LEVELS.get(p.title_level or "", "")),
            ("账号状态", lambda p: ACCOUNT_STATUSES.get(p.membership.status, p.membership.status)),
        )

    @expose("/")
    def index(self):
        scope = current_scope()
        q, unit, error = _query_args(request.args)
        try:
            page = max(1, min(int(request.args.get("page", 1)), 10000))
        except ValueError:
            page = 1
        asked = bool(q or unit) or current_user_is_unit()
        rows, more = ([], False)
        if asked and error is None:
            rows, more = search_persons(scope, q, unit, page)
        return self.render(
            "person_query/index.html", q=q, unit=unit, rows=rows, more=more, page=page, asked=asked, error=error,
            title_levels=TITLE_LEVELS, unit_admin=current_user_is_unit(), account_statuses=ACCOUNT_STATUSES,
        )

    @expose("/<int:person_id>")
    def person(self, person_id):
        scope = current_scope()
        person = scope.get_or_404(Person, person_id)
        records = (
            scope.query(Declaration)
            .filter(Declaration.person_id == person.id, Declaration.status != "draft")
            .options(
                selectinload(Declaration.form), selectinload(Declaration.subject), selectinload(Declaration.unit),
                selectinload(Declaration.steps).selectinload(ReviewStep.org),
                selectinload(Declaration.steps).selectinload(ReviewStep.actor).selectinload(Membership.account),
            )
            .order_by(Declaration.year.desc(), Declaration.created_at.desc(), Declaration.id.desc())
            .all()
        )
        titles = (
            scope.query(TitleChangeRequest)
            .filter(TitleChangeRequest.person_id == person.id)
            .order_by(TitleChangeRequest.created_at.desc(), TitleChangeRequest.id.desc())
            .all()
        )
        certificates = (
            scope.query(Certificate)
            .filter(Certificate.person_id == person.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
            .all()
        )
        return self.render(
            "person_query/person.html", person=person, records=records, titles=titles, certificates=certificates,
            years=completion_by_year(person, records), title_levels=TITLE_LEVELS, genders=GENDERS,
            statuses=DECLARATION_STATUSES, kinds=SUBJECT_KINDS, sources=DECLARATION_SOURCES,
            step_levels=STEP_LEVELS, step_statuses=STEP_STATUSES, request_statuses=REQUEST_STATUSES,
            certificate_statuses=CERTIFICATE_STATUSES,
        )


def current_user_is_unit():
    from flask_login import current_user

    return current_user.is_authenticated and current_user.role == "unit_admin"


def register(admin):
    admin.add_view(PersonQueryView(name="专技人员信息查询", endpoint="person_query", url="/admin/person_query",
                                   category=CATEGORY))
