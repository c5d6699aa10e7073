"""Yearly standards and completion over the database: the DB-aware layer of ``hours``.

``hours`` holds the rules (pure Python); this module reads the tables they apply to:

* :func:`standards_rows` — the ``hour_standard`` table as plain dicts;
* :func:`standard_for_person` — the standard that applies to a person in a year;
* :func:`approved_hours` — a person-year's approved public / professional hours;
* :func:`year_completion` — the live completion of a person-year;
* :func:`certify_year` / :func:`frozen_result` / :func:`revoke_year` — the frozen
  result of a passed year (年度认定结果) a certificate is issued on;
* :func:`city_completion` — passed / not passed counts of a whole city, in SQL.

Nothing here commits: the caller commits, together with the audit entries added here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from . import audit, hours, summary
from .extensions import db
from .models import Declaration, HourStandard, Membership, Org, Person, YearResult, now

ZHENGZHOU_CODE = "410100"

__all__ = [
    "ZHENGZHOU_CODE",
    "CityCompletion",
    "YearCompletion",
    "approved_hours",
    "certify_year",
    "city_completion",
    "describe_rule",
    "frozen_result",
    "is_zhengzhou",
    "revoke_year",
    "standard_for_person",
    "standard_text",
    "standards_rows",
    "year_completion",
]

ZERO = Decimal("0")


# --------------------------------------------------------------------------- standards
def standards_rows(include_disabled=True):
    """Every row of the standards table as a dict (``hours.standard_for`` skips disabled)."""
    stmt = select(HourStandard).order_by(HourStandard.year_from, HourStandard.id)
    rows = [row.as_dict() for row in db.session.scalars(stmt)]
    return rows if include_disabled else [r for r in rows if r["enabled"]]


def standard_text(row):
    """A standard in words: 2018–至今 年，不分职称，不分地区：总 90（公需 30 + 专业 60）."""
    end = row.get("year_to")
    years = f"{row['year_from']}–{'至今' if end is None else end} 年"
    title = hours.TITLE_GROUPS.get(row.get("title_group"), row.get("title_group"))
    region = hours.REGION_GROUPS.get(row.get("region_group"), row.get("region_group"))
    return (
        f"{years}，{title}，{region}：总学时 {row['total']}"
        f"（公需科目 {row['public']} + 专业科目 {row['professional']}）"
    )


def _zhengzhou_city_id():
    return db.session.scalar(
        select(Org.id).where(Org.kind == "city_hrss", Org.division_code == ZHENGZHOU_CODE)
    )


def is_zhengzhou(person):
    """Is the person in the Zhengzhou region (郑州地区, for 2016–2017)?

    The person's city is 郑州市 (division code 410100). A person of a province-level
    unit (no city above it) counts as Zhengzhou: the provincial organs and their
    units sit in the capital.
    """
    if person.city_id is None:
        return True
    return person.city_id == _zhengzhou_city_id()


def standard_for_person(person, year, standards=None):
    """The standard row (dict, with ``id``) that applies to ``person`` in ``year``.

    Raises ``hours.HoursError`` (Chinese message) when none applies.
    """
    rows = standards_rows() if standards is None else standards
    return hours.standard_for(rows, int(year), person.title_level or None, is_zhengzhou(person))


# --------------------------------------------------------------------------- hours
def approved_hours(person_id, year):
    """(public, professional) approved hours of a person-year, as Decimals.

    Sums ``claimed_hours`` (the figure the reviewers approved) of declarations with
    status ``approved``.
    """
    stmt = (
        select(Declaration.subject_kind, func.coalesce(func.sum(Declaration.claimed_hours), 0))
        .where(
            Declaration.person_id == person_id,
            Declaration.year == int(year),
            Declaration.status == "approved",
        )
        .group_by(Declaration.subject_kind)
    )
    sums = {kind: Decimal(str(total)) for kind, total in db.session.execute(stmt)}
    return sums.get("public", ZERO), sums.get("professional", ZERO)


@dataclass(frozen=True)
class YearCompletion:
    """A person-year's completion and the standard it was measured against.

    Attribute access falls through to the :class:`hours.Completion`
    (``.passed``, ``.public``, ``.required_total``, ``.result_label``, ``.note``…).
    ``frozen`` is the valid :class:`YearResult` when the year is certified; its
    standard is then the one used (a later edit of the table does not apply).
    """

    completion: hours.Completion
    standard: dict
    frozen: YearResult | None = None

    def __getattr__(self, name):
        return getattr(self.completion, name)

    @property
    def standard_text(self):
        return self.standard.get("text") or standard_text(self.standard)


def _frozen_standard(result):
    return {
        "id": result.standard_id,
        "text": result.standard_text,
        "total": result.required_total,
        "public": result.required_public,
        "professional": result.required_professional,
        "frozen": True,
    }


def year_completion(person, year, prorate_months=None, *, use_frozen=True):
    """Live completion of a person-year (approved hours against the standard).

    When the year has a valid frozen result and ``use_frozen`` is true, the frozen
    requirement is used (the standard the certificate was issued under) with the
    current approved hours; otherwise the current standards table applies.
    Raises ``hours.HoursError`` when no standard applies.
    """
    year = int(year)
    public, professional = approved_hours(person.id, year)
    frozen = frozen_result(person, year) if use_frozen else None
    if frozen is not None:
        # The frozen requirement is final (already pro-rated when the result was).
        standard = _frozen_standard(frozen)
        comp = hours.completion(standard, public, professional)
        return YearCompletion(comp, standard, frozen)
    standard = standard_for_person(person, year)
    comp = hours.completion(standard, public, professional, prorate_months=prorate_months)
    return YearCompletion(comp, standard, None)


# --------------------------------------------------------------------------- frozen results
def frozen_result(person, year):
    """The valid frozen result (年度认定结果) of a person-year, or None."""
    person_id = person if isinstance(person, int) else person.id
    return db.session.scalar(
        select(YearResult).where(
            YearResult.person_id == person_id,
            YearResult.year == int(year),
            YearResult.status == "valid",
        )
    )


def _result_dict(result):
    return {
        "person_id": result.person_id,
        "year": result.year,
        "standard_id": result.standard_id,
        "required_public": result.required_public,
        "required_professional": result.required_professional,
        "required_total": result.required_total,
        "public_hours": result.public_hours,
        "professional_hours": result.professional_hours,
        "total_hours": result.total_hours,
        "prorate_months": result.prorate_months,
        "status": result.status,
    }


def revoke_year(person, year, reason, actor=None):
    """Mark the valid frozen result of a person-year revoked (the row is kept).

    Returns the revoked result, or None when the year was not certified.
    """
    result = frozen_result(person, year)
    if result is None:
        return None
    before = _result_dict(result)
    result.status = "revoked"
    result.revoked_at = now()
    result.revoke_reason = (reason or "")[:500] or None
    db.session.flush()
    audit.record("revoke", "year_result", result.id, before=before, after=_result_dict(result),
                 comment=result.revoke_reason, actor=actor)
    summary.refresh([result.person_id], [result.year])
    return result


def certify_year(person, year, prorate_months=None, actor=None):
    """Freeze the result of a passed person-year and return it (a :class:`YearResult`).

    Idempotent while the approved hours are unchanged: the existing valid result is
    returned as it is, even if the standards table has changed since. When the
    approved hours have changed, the old result is revoked (kept) and a new one is
    frozen under the standard that applies now. Raises ``hours.HoursError`` when the
    year does not pass (nothing is written then) or no standard applies.
    The caller commits.
    """
    year = int(year)
    public, professional = approved_hours(person.id, year)
    current = frozen_result(person, year)
    if current is not None and (current.public_hours, current.professional_hours) == (public, professional):
        return current

    standard = standard_for_person(person, year)
    comp = hours.completion(standard, public, professional, prorate_months=prorate_months)
    if not comp.passed:
        raise hours.HoursError(f"{year} 年度学时未达到要求（{comp.note}），不能认定", "year")
    if current is not None:
        revoke_year(person, year, "审核通过学时已变更，重新认定", actor=actor)
        db.session.flush()

    result = YearResult(
        person_id=person.id,
        unit_id=person.unit_id,
        county_id=person.county_id,
        city_id=person.city_id,
        competent_dept_id=person.competent_dept_id,
        year=year,
        standard_id=standard.get("id"),
        standard_text=standard_text(standard)[:200],
        required_public=comp.required_public,
        required_professional=comp.required_professional,
        required_total=comp.required_total,
        prorate_months=prorate_months,
        public_hours=public,
        professional_hours=professional,
        total_hours=public + professional,
        passed=True,
        status="valid",
        certified_at=now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(result)
    except IntegrityError:
        # Certified at the same moment by another request: that result stands.
        existing = frozen_result(person, year)
        if existing is None:
            raise
        return existing
    audit.record("certify", "year_result", result.id, after=_result_dict(result), actor=actor)
    summary.refresh([result.person_id], [result.year])
    return result


# --------------------------------------------------------------------------- city batch
@dataclass(frozen=True)
class CityCompletion:
    year: int
    persons: int
    passed: int

    @property
    def not_passed(self):
        return self.persons - self.passed


def _requirement_case(rows, year, region_group, key):
    """SQL CASE over person.title_level giving ``key`` of the applicable standard.

    Standards differ by title group (2013–2015) and region (fixed per city), so at
    most two figures apply; persons with no applicable standard get NULL (not passed).
    """
    figures = {}
    for group, level in (("junior", "junior"), ("mid_senior", "intermediate")):
        try:
            row = hours.standard_for(rows, year, level, region_group == "zhengzhou")
        except hours.HoursError:
            row = None
        figures[group] = row[key] if row is not None else None
    junior, other = figures["junior"], figures["mid_senior"]
    if junior == other:
        return literal(junior)
    is_junior = or_(Person.title_level.is_(None), Person.title_level.in_(("", "junior")))
    return case((is_junior, literal(junior)), else_=literal(other))


def city_completion(city_id, year, active_only=True):
    """Passed / not passed counts over every person of a city for a year, in SQL.

    One statement, two parts that each use an index range of the city:

    * persons: ``person.city_id = :city`` (joined to their membership when
      ``active_only``, which leaves out registrations that are not active);
    * passed: the city's approved declarations of the year (index
      ``(city_id, status, year, …)``) grouped by person with SUM(CASE subject_kind …),
      joined to the person (title level, still in the city) and compared with the
      applicable requirement.

    The hours counted are those of the declarations carrying the city — exactly what
    the city's HRSS may see through the permission layer; hours a person declared
    before moving in from another city are not part of this count. Pro-rating is not
    applied (it is decided per person).

    Measured with ``bench/city_completion.py`` (PostgreSQL, 2 cores, 3 million persons,
    9 million declarations): a city of 128,000 persons ≈ 2.4 s, Zhengzhou with 767,000
    ≈ 8 s — fine for a report, too slow for a page shown on every visit; a covering
    index ``(city_id, status, year, person_id) INCLUDE (subject_kind, claimed_hours)``
    brought these to 1.6 s / 4.4 s in a trial (not added: another index on the hottest
    table); a per person-year summary kept by the workflow would make it instant.
    """
    year = int(year)
    total, n_passed = db.session.execute(_city_completion_select(city_id, year, active_only)).one()
    return CityCompletion(year=year, persons=int(total or 0), passed=int(n_passed or 0))


def _city_completion_select(city_id, year, active_only=True):
    rows = standards_rows()
    region_group = "zhengzhou" if city_id == _zhengzhou_city_id() else "other"
    hours_of = func.coalesce(Declaration.claimed_hours, 0)
    per_person = (
        select(
            Declaration.person_id.label("person_id"),
            func.sum(case((Declaration.subject_kind == "public", hours_of), else_=0)).label("pub"),
            func.sum(case((Declaration.subject_kind == "professional", hours_of), else_=0)).label("prof"),
        )
        .where(
            Declaration.city_id == city_id,
            Declaration.status == "approved",
            Declaration.year == year,
        )
        .group_by(Declaration.person_id)
        .subquery()
    )
    passed = (
        select(func.count())
        .select_from(per_person)
        .join(Person, Person.id == per_person.c.person_id)
        .where(
            Person.city_id == city_id,
            per_person.c.pub >= _requirement_case(rows, year, region_group, "public"),
            per_person.c.prof >= _requirement_case(rows, year, region_group, "professional"),
        )
    )
    persons = select(func.count()).select_from(Person).where(Person.city_id == city_id)
    if active_only:
        active = Membership.status == "active"
        passed = passed.join(Membership, Membership.id == Person.membership_id).where(active)
        persons = persons.join(Membership, Membership.id == Person.membership_id).where(active)
    return select(persons.scalar_subquery(), passed.scalar_subquery())


# --------------------------------------------------------------------------- rules in words
def _choice_labels(form_code, field):
    spec = next(s for s in hours.FORM_FIELDS[form_code] if s["name"] == field)
    return dict(map(tuple, spec["choices"]))


def _num(value):
    return format(Decimal(str(value)).normalize(), "f")


def _ranks(values):
    """[68, 60, 52] → 第一至三名依次 68、60、52 学时."""
    cn = "零一二三四五六七八九十"
    n = len(values)
    head = f"第{cn[n] if n <= 10 else n}名" if n == 1 else f"第一至{cn[n] if n <= 10 else n}名依次"
    return f"{head} {'、'.join(_num(x) for x in values)} 学时"


def describe_rule(form_code, rule):
    """A conversion rule (学时折算标准) in Chinese words, for lists and detail pages."""
    hours.validate_rule(form_code, rule)
    r = rule
    if form_code == "training_class":
        return f"由继续教育基地审批部门按实际学习时间确定学时（单条不超过 {_num(r['max_hours'])} 学时）"
    if form_code == "study_program":
        return f"由主办单位或选派单位主管部门确定学时（单条不超过 {_num(r['max_hours'])} 学时）"
    if form_code == "degree":
        return f"每门考试合格课程 {_num(r['hours_per_course'])} 学时（最多 {r['max_courses']} 门）"
    if form_code == "course_study":
        return (f"不满 {r['full_from_months']} 个月每月 {_num(r['hours_per_month'])} 学时；满 "
                f"{r['full_from_months']} 个月计当年全部专业科目学时（最多 {r['max_months']} 个月）")
    if form_code == "conference":
        labels = _choice_labels("conference", "level")
        parts = [f"{labels.get(k, k)}每天 {_num(x['per_day'])} 学时，宣读、报告论文另加 {_num(x['paper'])} 学时"
                 for k, x in r["levels"].items()]
        return "；".join(parts) + f"（最多 {r['max_days']} 天）"
    if form_code == "research":
        levels = _choice_labels("research", "level")
        roles = _choice_labels("research", "role")
        parts = [f"{levels.get(lv, lv)}{roles.get(role, role)}{_ranks(ranks)}"
                 for lv, by_role in r["levels"].items() for role, ranks in by_role.items()]
        return "；".join(parts) + "（按年度计算）"
    if form_code == "book":
        return f"每万字{_ranks(r['per_ten_thousand'])}（最多 {_num(r['max_ten_thousand_chars'])} 万字）"
    if form_code == "paper":
        labels = _choice_labels("paper", "journal")
        parts = [f"{labels.get(k, k)}：{_ranks(x)}" for k, x in r["journals"].items()]
        return "；".join(parts) + "；增刊、副刊不计学时"
    if form_code in ("patent", "award", "exam"):
        key = {"patent": "kinds", "award": "levels", "exam": "levels"}[form_code]
        field = {"patent": "kind", "award": "level", "exam": "level"}[form_code]
        labels = _choice_labels(form_code, field)
        text = "；".join(f"{labels.get(k, k)} {_num(x)} 学时" for k, x in r[key].items())
        if "max_rank" in r:
            text += f"（限前 {r['max_rank']} 名）"
        return text
    if form_code == "report":
        return f"专题调研报告获领导批示，计 {_num(r['hours'])} 学时"
    if form_code == "aid":
        return f"工作满 {r['min_months']} 个月，计当年全部公需科目和专业科目学时"
    if form_code == "grassroots":
        return f"每天 {_num(r['per_day'])} 学时（最多 {r['max_days']} 天）"
    if form_code == "other":
        return f"由人力资源社会保障行政部门或省业务主管部门确认学时（单条不超过 {_num(r['max_hours'])} 学时）"
    return json.dumps(rule, ensure_ascii=False)
