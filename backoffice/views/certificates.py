"""证书打印 for unit and HRSS admins: the persons in scope with a passed year, filtered
by year, name, department and unit; print one, the selected ones, or the whole filtered
list as one merged PDF (one certificate per page). A large order runs as a background
job (``CertificateJob``) the admin comes back to; the job re-queries everything through
the creator's scope itself."""

import logging
import os
from datetime import date

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import false, func, select
from sqlalchemy.orm import selectinload

from .. import certificate_jobs, certificates, storage
from ..extensions import db
from ..formatting import hours_number
from ..models import Certificate, CertificateJob, Org, Person, now
from ..permissions import ScopedBaseView, current_scope
from ..web.certificates import pdf_response, verify_url_base
from ._export import ListExportMixin
from .home import waiting_item

log = logging.getLogger(__name__)

ORDER = 60
PAGE_SIZE = 50
DEFAULT_JOB_THRESHOLD = 200
ISSUE_CHUNK = 100
ROLES = ("unit_admin", "hrss_admin")
FIRST_YEAR = 2013
STALE_AFTER = 600  # seconds without progress before a job of the former thread runner counts as interrupted


def job_threshold():
    """Orders larger than this run as a background job (config or environment)."""
    value = current_app.config.get("CERTIFICATE_JOB_THRESHOLD")
    if value is None:
        value = os.environ.get("CERTIFICATE_JOB_THRESHOLD", DEFAULT_JOB_THRESHOLD)
    return int(value)


def _filters(source):
    """(year, filters dict, error) from request args or form."""
    raw = (source.get("year") or "").strip()
    this_year = date.today().year
    if not raw:
        year, error = this_year - 1, None
    elif raw.isdigit() and FIRST_YEAR <= int(raw) <= this_year:
        year, error = int(raw), None
    else:
        year, error = this_year - 1, f"年度须为 {FIRST_YEAR}–{this_year} 之间的年份"
    filters = {k: (source.get(k) or "").strip()[:100] for k in ("name", "department", "unit")}
    return year, filters, error


# A province or city holds hundreds of thousands of persons: summing every person's
# hours for a list page would take seconds, and nobody prints a whole city at once.
BROAD_HRSS_KINDS = ("province_hrss", "city_hrss")
MSG_NARROW_FIRST = "全省、全市范围人员众多，请先按单位或姓名筛选后再查询、打印"


def _needs_narrowing(filters):
    """Province and city admins list persons only after a unit or name filter."""
    return (
        current_user.role == "hrss_admin"
        and current_user.org is not None
        and current_user.org.kind in BROAD_HRSS_KINDS
        and not (filters.get("unit") or filters.get("name"))
    )


def _describe(year, filters, selected=None):
    parts = [f"{year} 年度"]
    labels = {"name": "姓名", "department": "部门", "unit": "单位"}
    parts += [f"{labels[k]}含“{v}”" for k, v in filters.items() if v]
    if selected is not None:
        parts.append(f"所选 {selected} 人")
    return "，".join(parts)[:300]


# --------------------------------------------------------------------------- the page
class CertificatePrintView(ListExportMixin, ScopedBaseView):
    roles = ROLES
    export_loads = (selectinload(Person.unit), selectinload(Person.department))

    def _query(self, year, filters, person_ids=None):
        return certificates.persons_for_print(current_scope(), year, person_ids=person_ids, **filters)

    def list_query(self, args):
        """(Person, public hours, professional hours, this year's certificate number) of
        the list; nothing while a province or city admin has not narrowed it."""
        year, filters, _ = _filters(args)
        scope = current_scope()
        number = (
            scope.select(Certificate).with_only_columns(Certificate.number)
            .where(Certificate.person_id == Person.id, Certificate.status == "valid",
                   Certificate.year_from == year, Certificate.year_to == year)
            .order_by(Certificate.id.desc()).limit(1).scalar_subquery()
        )
        stmt = self._query(year, filters).add_columns(number.label("certificate_number"))
        return stmt.where(false()) if _needs_narrowing(filters) else stmt

    def export_columns(self):
        year, _, _ = _filters(request.args)
        fmt = hours_number
        columns = [("姓名", lambda r: r[0].name), ("身份证号", lambda r: certificates.mask_id_number(r[0].id_number))]
        if current_user.role != "unit_admin":
            columns.append(("单位", lambda r: r[0].unit.name if r[0].unit else ""))
        return columns + [
            ("部门", lambda r: r[0].department.name if r[0].department else ""),
            ("年度", lambda r: year),
            ("公需科目", lambda r: fmt(r[1] or 0)),
            ("专业科目", lambda r: fmt(r[2] or 0)),
            ("合计", lambda r: fmt((r[1] or 0) + (r[2] or 0))),
            ("证书编号", lambda r: r[3] or "未出证"),
        ]

    @expose("/")
    def index(self):
        year, filters, error = _filters(request.args)
        if error:
            flash(error, "error")
        page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
        narrow_first = _needs_narrowing(filters)
        if narrow_first:
            total, rows = 0, []
        else:
            stmt = self.list_query(request.args)
            total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(Person.id).subquery()))
            rows = db.session.execute(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        departments = db.session.scalars(
            current_scope().select(Org).where(Org.kind == "department").with_only_columns(Org.name)
            .distinct().order_by(Org.name).limit(200)).all()
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return self.render(
            "certificates/admin_print.html", rows=rows, year=year, filters=filters, total=total, page=page,
            pages=pages, years=list(range(date.today().year, FIRST_YEAR - 1, -1)), departments=departments,
            threshold=job_threshold(), show_unit=current_user.role != "unit_admin", mask=certificates.mask_id_number,
            narrow_first=narrow_first, fmt=certificates.fmt_hours,
        )

    def _back(self, year, filters):
        return redirect(url_for(".index", year=year, **{k: v for k, v in filters.items() if v}))

    @expose("/print/<int:person_id>/<int:year>.pdf", methods=("GET", "POST"))
    def print_one(self, person_id, year):
        """POST issues (or re-uses) the certificate; GET only shows one already issued."""
        scope = current_scope()
        person = scope.get_or_404(Person, person_id)
        if request.method == "GET":
            cert = certificates.existing(person, year)
            if cert is None:
                flash(f"{person.name}：{year} 年度证书尚未签发，请点击“打印证书”", "warning")
                return self._back(year, {})
            return pdf_response(certificates.render_pdf([cert], verify_url_base()), f"{cert.number}.pdf")
        try:
            cert = certificates.issue(person, year, actor=current_user._get_current_object())
        except certificates.CertificateError as exc:
            db.session.commit()  # revocations of changed years stand
            flash(f"{person.name}：{exc.message}", "error")
            return self._back(year, {})
        db.session.commit()
        return pdf_response(certificates.render_pdf([cert], verify_url_base()), f"{cert.number}.pdf")

    @expose("/print", methods=("POST",))
    def print_many(self):
        """Print the selected persons (``ids``) or, with ``all=1``, the whole filtered list."""
        year, filters, error = _filters(request.form)
        if error:
            flash(error, "error")
            return self._back(year, filters)
        whole = request.form.get("all") == "1"
        if whole and _needs_narrowing(filters):
            flash(MSG_NARROW_FIRST, "warning")
            return self._back(year, filters)
        person_ids = None
        if not whole:
            person_ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
            if not person_ids:
                flash("请先勾选要打印证书的人员", "warning")
                return self._back(year, filters)
        stmt = self._query(year, filters, person_ids)
        ids = [row.id for row in db.session.execute(stmt.with_only_columns(Person.id))]
        if not ids:
            flash("没有可打印的证书：所选人员在该年度未认定通过或不在您的管理范围内", "warning")
            return self._back(year, filters)
        if len(ids) > job_threshold():
            return self._queue(year, filters, ids if not whole else None, len(ids))
        actor = current_user._get_current_object()
        persons = db.session.scalars(
            current_scope().select(Person).where(Person.id.in_(ids))
            .order_by(Person.unit_id, Person.department_id, Person.name, Person.id)).all()
        skipped = [0]
        issued = list(certificates.issue_many(persons, year, actor=actor, skipped=skipped))
        if not issued:
            db.session.commit()  # revocations of changed years stand
            flash("没有可打印的证书：所选人员在该年度未认定通过", "warning")
            return self._back(year, filters)
        db.session.commit()
        data = certificates.render_pdf(issued, verify_url_base())
        return pdf_response(data, f"certificates-{year}.pdf")

    def _queue(self, year, filters, person_ids, count):
        params = dict(filters, verify_url_base=verify_url_base())
        if person_ids is not None:
            params["person_ids"] = person_ids
        job = CertificateJob(
            membership_id=current_user.id, org_id=current_user.org_id, year=year, params=params,
            description=_describe(year, filters, len(person_ids) if person_ids is not None else None),
            status="queued", total=count,
        )
        certificate_jobs.submit(job, current_user._get_current_object())
        db.session.commit()  # the worker starts after this commit
        flash(f"共 {count} 份证书，已转为后台生成任务，完成后可在本页下载", "success")
        return redirect(url_for(".job", job_id=job.id))

    @expose("/jobs/")
    def jobs(self):
        rows = current_scope().query(CertificateJob).order_by(CertificateJob.id.desc()).limit(50).all()
        return self.render("certificates/admin_jobs.html", jobs=rows)

    @expose("/jobs/<int:job_id>")
    def job(self, job_id):
        row = current_scope().get_or_404(CertificateJob, job_id)
        if (row.job_id is None and row.status in ("queued", "running")
                and (now() - row.updated_at).total_seconds() > STALE_AFTER):
            # a job of the former in-process runner that died with its process; jobs
            # on the queue are run again by the reaper instead
            row.status, row.error, row.finished_at = "failed", "任务已中断（服务重启或出错），请重新提交打印", now()
            db.session.commit()
        return self.render("certificates/admin_job.html", job=row)

    @expose("/jobs/<int:job_id>/download")
    def job_download(self, job_id):
        row = current_scope().get_or_404(CertificateJob, job_id)
        if row.status != "done" or not row.file_name:
            abort(404)
        return storage.send(certificate_jobs.file_key(row), mimetype="application/pdf",
                            download_name=f"certificates-{row.year}-{row.id}.pdf")


@waiting_item
def _certificate_items(membership, scope):
    """A home-page item while print jobs of the admin's scope are still running."""
    if membership.role not in ROLES:
        return []
    from flask import current_app as app

    if "certificates_admin.index" not in app.view_functions:
        return []
    running = db.session.scalar(
        select(func.count()).select_from(CertificateJob)
        .where(scope.clause(CertificateJob), CertificateJob.status.in_(("queued", "running")))) or 0
    if not running:
        return []
    return [{"key": "certificate_jobs", "label": "生成中的证书打印任务", "count": running,
             "url": url_for("certificates_admin.jobs")}]


def register(admin):
    admin.add_view(CertificatePrintView(name="证书打印", endpoint="certificates_admin", url="/admin/certificates",
                                        category="证书管理"))
