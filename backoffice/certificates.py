"""Continuing-education certificates (继续教育证书): issue, verify, revoke (SPEC §6).

A certificate exists only for a passed person-year, or a merged range of years that
all passed. Issuing it freezes each year's result through ``standards.certify_year``
(so a later edit of the standards table never changes an issued certificate) and
fixes its number ``JXJY-<year>-<6-digit sequence>`` (unique, never reused), its hours
and a random verification code. Printing again returns the same certificate.

When the approved hours of a covered year change later (a record sent back), the
certificate no longer stands: it is revoked (kept, shown as 已作废 by the public
query) the next time it is printed or queried, and a new one is issued on the next
print if the year still passes.

Nothing here commits: the caller commits, together with the audit entries added here.
No Flask request objects are used; ``render_pdf`` only needs the verification URL base.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Iterator
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import audit, hours, pdf, standards
from .extensions import db
from .models import (
    Certificate,
    CertificateSequence,
    Declaration,
    Person,
    YearResult,
    now,
)

DEFAULT_ISSUER = "河南省人力资源和社会保障厅"
NUMBER_PREFIX = "JXJY"
# Unambiguous letters and digits (no 0/O, 1/I/L) for codes people type from paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MAX_MERGED_YEARS = 30

__all__ = [
    "CertificateError",
    "certificate_dict",
    "current_status",
    "find_by_number",
    "find_by_person",
    "issue",
    "mask_id_number",
    "mask_name",
    "mask_unit",
    "passed_clause",
    "render_pdf",
    "revoke",
]


class CertificateError(Exception):
    """A certificate cannot be issued; ``message`` is for the user (Chinese)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def fmt_hours(value):
    """30.0 → "30", 17.5 → "17.5"."""
    d = Decimal(str(value or 0))
    return format(d.quantize(Decimal(1)) if d == d.to_integral() else d.normalize(), "f")


# --------------------------------------------------------------------------- masking
def mask_name(name):
    """张伟 → 张*, 欧阳娜娜 → 欧***."""
    name = (name or "").strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


def mask_unit(name):
    """郑州市金水区人民医院 → 郑州市金水区****: about the first 60 % stays."""
    name = (name or "").strip()
    if len(name) <= 2:
        return name[:1] + "*" * (len(name) - 1)
    keep = max(2, math.ceil(len(name) * 0.6))
    return name[:keep] + "*" * min(len(name) - keep, 6)


def mask_id_number(id_number):
    """410105198503150012 → 410105********0012."""
    value = (id_number or "").strip()
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 2, 0)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def normalise_code(code):
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def new_verify_code():
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


# --------------------------------------------------------------------------- numbers
def next_sequence(year):
    """The next sequence number of ``year``, safe under concurrency.

    ``UPDATE … SET last = last + 1 … RETURNING last`` takes the row lock until the
    transaction ends, so concurrent issuers of the same year queue up and get distinct
    numbers; the first issuer of a year inserts the row (a concurrent insert loses on
    the primary key inside its savepoint and retries the update).
    """
    for _ in range(5):
        stmt = (
            update(CertificateSequence)
            .where(CertificateSequence.year == year)
            .values(last=CertificateSequence.last + 1)
            .returning(CertificateSequence.last)
            .execution_options(synchronize_session=False)
        )
        value = db.session.execute(stmt).scalar()
        if value is not None:
            return int(value)
        try:
            with db.session.begin_nested():
                db.session.add(CertificateSequence(year=year, last=0))
        except IntegrityError:
            pass
    raise RuntimeError("could not allocate a certificate number")


def format_number(year, seq):
    return f"{NUMBER_PREFIX}-{year}-{seq:06d}"


# --------------------------------------------------------------------------- validity
def _years(cert):
    return range(cert.year_from, cert.year_to + 1)


def stale_reason(cert):
    """Why a (valid) certificate no longer stands, or None when it does.

    It stands while every frozen year result it was issued on is still valid and the
    approved hours of each year still equal the frozen ones.
    """
    ids = list(cert.year_result_ids or [])
    results = {r.id: r for r in db.session.scalars(select(YearResult).where(YearResult.id.in_(ids)))} if ids else {}
    for result_id in ids:
        result = results.get(result_id)
        if result is None or result.status != "valid":
            return "年度认定结果已撤销"
        if approved_pair(result.person_id, result.year) != (result.public_hours, result.professional_hours):
            return f"{result.year} 年度审核通过的学时已变更"
    return None


def approved_pair(person_id, year):
    public, professional = standards.approved_hours(person_id, year)
    return _d(public), _d(professional)


def _d(value):
    return Decimal(str(value)).quantize(Decimal("0.1"))


def revoke(cert, reason, actor=None):
    """Mark a certificate revoked (已作废); the row and its number are kept."""
    if cert.status != "valid":
        return cert
    before = {"status": cert.status}
    cert.status = "revoked"
    cert.revoked_at = now()
    cert.revoke_reason = (reason or "")[:500] or None
    db.session.flush()
    audit.record("revoke", "certificate", cert.id, before=before,
                 after={"status": "revoked", "number": cert.number}, comment=cert.revoke_reason, actor=actor)
    return cert


def current_status(cert, actor=None):
    """'valid' or 'revoked', revoking a valid certificate that no longer stands.

    The caller commits (a revocation found here is kept).
    """
    if cert.status == "valid":
        reason = stale_reason(cert)
        if reason is not None:
            _revoke_changed_years(cert.person, _years(cert), actor)
            if cert.status == "valid":
                revoke(cert, reason, actor)
    return cert.status


def public_status(cert):
    """'valid' or 'revoked' without writing anything (the public query and GETs read only):
    a certificate whose years no longer stand is shown as revoked; the revocation itself
    is written by the next issue or print (a POST)."""
    if cert.status == "valid" and stale_reason(cert) is not None:
        return "revoked"
    return cert.status


def existing(person, year_from, year_to=None):
    """The valid certificate already issued to ``person`` for exactly these years, if it
    still stands; never issues one (what a GET may show)."""
    from .models import Certificate

    year_to = year_from if year_to is None else year_to
    cert = db.session.scalar(
        select(Certificate).where(Certificate.person_id == person.id, Certificate.year_from == year_from,
                                  Certificate.year_to == year_to, Certificate.status == "valid").limit(1)
    )
    if cert is None or public_status(cert) != "valid":
        return None
    return cert


def _revoke_changed_years(person, years, actor=None):
    """Revoke frozen year results whose approved hours changed, and the certificates
    that cover those years."""
    for year in years:
        frozen = standards.frozen_result(person, year)
        if frozen is None:
            continue
        if approved_pair(person.id, year) == (_d(frozen.public_hours), _d(frozen.professional_hours)):
            continue
        reason = f"{year} 年度审核通过的学时已变更"
        standards.revoke_year(person, year, reason, actor=actor)
        covering = db.session.scalars(
            select(Certificate).where(
                Certificate.person_id == person.id,
                Certificate.status == "valid",
                Certificate.year_from <= year,
                Certificate.year_to >= year,
            )
        )
        for cert in covering:
            revoke(cert, reason, actor)


# --------------------------------------------------------------------------- issue
def issue(person, year_from, year_to=None, *, actor=None, issuer=None):
    """The valid certificate of ``person`` for the year (range), issued if needed.

    Raises :class:`CertificateError` (Chinese message) when a year in the range has
    not passed; revocations of changed years are kept in the session then (commit). Safe under concurrency: a concurrent issue of the same certificate
    loses on the unique indexes inside a savepoint and re-reads the winner's rows.
    The caller commits.
    """
    year_from = int(year_from)
    year_to = int(year_from if year_to is None else year_to)
    if year_to < year_from:
        raise CertificateError("截止年度不能早于起始年度")
    if year_to - year_from + 1 > MAX_MERGED_YEARS:
        raise CertificateError(f"合并打印最多 {MAX_MERGED_YEARS} 个年度")
    if year_to > now().year:
        raise CertificateError(f"{year_to} 年度尚未开始，不能打印证书")
    # Outside the savepoint: a revocation stands even when the year no longer passes.
    _revoke_changed_years(person, range(year_from, year_to + 1), actor)
    for attempt in range(3):
        try:
            with db.session.begin_nested():
                return _issue(person, year_from, year_to, actor, issuer or DEFAULT_ISSUER)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _issue(person, year_from, year_to, actor, issuer):
    years = range(year_from, year_to + 1)
    results = []
    for year in years:
        try:
            results.append(standards.certify_year(person, year, actor=actor))
        except hours.HoursError as exc:
            detail = exc.message.removesuffix("，不能认定")
            match = re.fullmatch(rf"{year} 年度学时未达到要求（(.*)）", detail)
            reason = match.group(1) if match else detail
            raise CertificateError(f"{year} 年度未认定通过，不能打印证书（{reason}）") from None
    result_ids = [r.id for r in results]

    existing = db.session.scalar(
        select(Certificate).where(
            Certificate.person_id == person.id,
            Certificate.year_from == year_from,
            Certificate.year_to == year_to,
            Certificate.status == "valid",
        )
    )
    if existing is not None:
        if list(existing.year_result_ids or []) == result_ids:
            return existing
        revoke(existing, "年度认定结果已变更，证书重新生成", actor)
        db.session.flush()

    public = sum((_d(r.public_hours) for r in results), Decimal("0"))
    professional = sum((_d(r.professional_hours) for r in results), Decimal("0"))
    required = sum((_d(r.required_total) for r in results), Decimal("0"))
    unit = person.unit
    cert = Certificate(
        number=format_number(year_to, next_sequence(year_to)),
        verify_code=new_verify_code(),
        person_id=person.id,
        unit_id=person.unit_id,
        county_id=person.county_id,
        city_id=person.city_id,
        competent_dept_id=person.competent_dept_id,
        year_from=year_from,
        year_to=year_to,
        person_name=person.name,
        id_number_masked=mask_id_number(person.id_number),
        unit_name=(unit.name if unit is not None else "")[:200],
        public_hours=public,
        professional_hours=professional,
        total_hours=public + professional,
        required_total=required,
        year_result_ids=result_ids,
        issuer=issuer[:100],
        issued_at=now(),
        issued_by_membership_id=getattr(actor, "id", None),
        status="valid",
    )
    db.session.add(cert)
    db.session.flush()
    audit.record("issue", "certificate", cert.id, after={
        "number": cert.number, "person_id": person.id, "years": cert.years_text,
        "public_hours": public, "professional_hours": professional, "year_result_ids": result_ids,
    }, actor=actor)
    return cert


# --------------------------------------------------------------------------- look-ups
def find_by_number(number, code):
    """The certificate with this number and verification code, or None."""
    number = (number or "").strip().upper()
    code = normalise_code(code)
    if not number or not code:
        return None
    cert = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None or not secrets.compare_digest(normalise_code(cert.verify_code), code):
        return None
    return cert


def find_by_person(name, id_number, year):
    """The certificate covering ``year`` of the person with this name and ID number:
    the valid one if any, else the latest revoked one; None when there is none."""
    name = (name or "").strip()
    id_number = (id_number or "").strip().upper()
    if not name or not id_number:
        return None
    person_ids = select(Person.id).where(Person.name == name, func.upper(Person.id_number) == id_number)
    stmt = (
        select(Certificate)
        .where(
            Certificate.person_id.in_(person_ids),
            Certificate.year_from <= int(year),
            Certificate.year_to >= int(year),
        )
        .order_by(case((Certificate.status == "valid", 0), else_=1), Certificate.issued_at.desc(),
                  Certificate.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


# --------------------------------------------------------------------------- the list of passed persons
def _requirement(rows, year, key, zz_city_id):
    """SQL CASE over Person.title_level / Person.city_id: the standard's ``key``
    figure that applies to each person in ``year`` (NULL when none applies)."""
    figures = {}
    for group, level in (("junior", "junior"), ("other", "intermediate")):
        for zz in (True, False):
            try:
                row = hours.standard_for(rows, year, level, zz)
            except hours.HoursError:
                row = None
            if row is None:
                figures[(group, zz)] = None
            elif key == "total":
                figures[(group, zz)] = max(row["total"], row["public"] + row["professional"])
            else:
                figures[(group, zz)] = row[key]
    is_junior = or_(Person.title_level.is_(None), Person.title_level.in_(("", "junior")))
    is_zz = or_(Person.city_id.is_(None), Person.city_id == zz_city_id) if zz_city_id else Person.city_id.is_(None)
    return case(
        (and_(is_junior, is_zz), figures[("junior", True)]),
        (is_junior, figures[("junior", False)]),
        (is_zz, figures[("other", True)]),
        else_=figures[("other", False)],
    )


def approved_sums(year, scope=None):
    """Subquery (person_id, pub, prof): approved hours per person of ``year``."""
    hours_of = func.coalesce(Declaration.claimed_hours, 0)
    stmt = (
        select(
            Declaration.person_id.label("person_id"),
            func.sum(case((Declaration.subject_kind == "public", hours_of), else_=0)).label("pub"),
            func.sum(case((Declaration.subject_kind == "professional", hours_of), else_=0)).label("prof"),
        )
        .where(Declaration.year == int(year), Declaration.status == "approved")
        .group_by(Declaration.person_id)
    )
    if scope is not None:
        stmt = stmt.where(scope.clause(Declaration))
    return stmt.subquery()


def passed_clause(year, sums):
    """WHERE clause over Person joined (outer) with ``approved_sums``: the person's
    year passes now (live figures, pro-rating aside) or is certified (frozen)."""
    year = int(year)
    rows = standards.standards_rows()
    zz = standards._zhengzhou_city_id()
    pub = func.coalesce(sums.c.pub, 0)
    prof = func.coalesce(sums.c.prof, 0)
    live = and_(
        pub >= _requirement(rows, year, "public", zz),
        prof >= _requirement(rows, year, "professional", zz),
        pub + prof >= _requirement(rows, year, "total", zz),
    )
    frozen = Person.id.in_(select(YearResult.person_id).where(YearResult.year == year, YearResult.status == "valid"))
    return or_(live, frozen)


# --------------------------------------------------------------------------- PDF
def certificate_dict(cert, verify_url_base):
    """What ``pdf.render_certificates`` needs for one certificate."""
    sep = "&" if "?" in verify_url_base else "?"
    return {
        "number": cert.number,
        "verify_code": cert.verify_code,
        "name": cert.person_name,
        "id_number_masked": cert.id_number_masked,
        "unit_name": cert.unit_name,
        "years": cert.years_text,
        "public_hours": cert.public_hours,
        "professional_hours": cert.professional_hours,
        "total_hours": cert.total_hours,
        "issuer": cert.issuer,
        "issue_date": cert.issued_at,
        "verify_url": f"{verify_url_base}{sep}number={cert.number}&code={cert.verify_code}",
    }


def render_pdf(certs: Iterable[Certificate], verify_url_base) -> bytes:
    """One PDF, one page per certificate, in the given order."""
    return pdf.render_certificates([certificate_dict(c, verify_url_base) for c in certs],
                                   verify_url_base=verify_url_base)


def issue_many(persons: Iterable[Person], year, *, actor=None, skipped=None) -> Iterator[Certificate]:
    """Issue (or re-use) the certificate of ``year`` for each person; persons whose
    year does not pass are skipped (counted in ``skipped[0]`` when given)."""
    for person in persons:
        try:
            yield issue(person, year, actor=actor)
        except CertificateError:
            if skipped is not None:
                skipped[0] += 1


# --------------------------------------------------------------------------- admin printing
def persons_for_print(scope, year, *, name=None, department=None, unit=None, person_ids=None):
    """SELECT (Person, pub, prof) of the persons in ``scope`` whose ``year`` passed,
    filtered by name / department name / unit name (substrings) and optionally ids."""
    from .models import Org

    sums = approved_sums(year, scope)
    stmt = (
        select(Person, sums.c.pub, sums.c.prof)
        .outerjoin(sums, sums.c.person_id == Person.id)
        .where(scope.clause(Person), passed_clause(year, sums))
    )
    if name:
        stmt = stmt.where(Person.name.contains(name.strip(), autoescape=True))
    if department:
        stmt = stmt.where(Person.department_id.in_(
            select(Org.id).where(Org.kind == "department", Org.name.contains(department.strip(), autoescape=True))))
    if unit:
        stmt = stmt.where(Person.unit_id.in_(
            select(Org.id).where(Org.kind == "unit", Org.name.contains(unit.strip(), autoescape=True))))
    if person_ids is not None:
        stmt = stmt.where(Person.id.in_([int(i) for i in person_ids]))
    return stmt.order_by(Person.unit_id, Person.department_id, Person.name, Person.id)
