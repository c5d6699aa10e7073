"""证书批量打印 as a background job: one merged PDF of many certificates.

The view creates a ``CertificateJob`` row (what the admin sees: description, progress,
pages, the file) and submits a ``certificate_print`` job naming it; the worker re-checks
the creator's role and scope, re-queries the persons through that scope, issues (or
re-uses) each certificate, renders the PDF into a temporary file and puts it into the
file storage. Idempotent: a run after a killed worker starts again from the first
person, and ``certificates.issue`` re-uses the certificates the first run issued, so no
number is issued twice.
"""

import logging
import secrets
import tempfile

from . import certificates, jobs, pdf, storage
from .extensions import db
from .models import CertificateJob, Person, now

log = logging.getLogger(__name__)

KIND = "certificate_print"
ISSUE_CHUNK = 100
ROLES = ("unit_admin", "hrss_admin")
KEY_PREFIX = "certificate_jobs"


def file_key(row):
    """The storage key of a finished job's PDF (rows from before the storage layer
    hold a bare file name under ``certificate_jobs/``)."""
    if not row.file_name:
        return None
    return row.file_name if "/" in row.file_name else f"{KEY_PREFIX}/{row.file_name}"


def submit(row, owner):
    """Queue the print of a fresh ``CertificateJob`` row (enqueued after the commit)."""
    db.session.add(row)
    db.session.flush()
    job = jobs.submit(KIND, {"certificate_job_id": row.id}, owner=owner, org_id=row.org_id, total=row.total)
    row.job_id = job.id
    return job


def _set(row_id, **values):
    values.setdefault("updated_at", now())
    db.session.execute(CertificateJob.__table__.update().where(CertificateJob.id == row_id).values(**values))


def _mark_failed(job):
    row_id = (job.params or {}).get("certificate_job_id")
    if row_id is not None:
        message = job.error if job.error and not job.error.isascii() else "生成证书时出错，请稍后重试或联系系统管理员"
        _set(row_id, status="failed", error=message[:500], finished_at=now())


@jobs.task(KIND, max_attempts=3, backoff=30, on_failure=_mark_failed)
def print_certificates(job, progress):
    row = db.session.get(CertificateJob, (job.params or {}).get("certificate_job_id"))
    if row is None:
        raise jobs.JobFailed("打印任务已不存在")
    scope = jobs.job_scope(job)
    if scope is None or scope.role not in ROLES:
        raise jobs.JobFailed("提交任务的管理员账号已不可用")
    membership, row_id, params = scope.membership, row.id, dict(row.params or {})
    stmt = certificates.persons_for_print(
        scope, row.year, name=params.get("name"), department=params.get("department"),
        unit=params.get("unit"), person_ids=params.get("person_ids"))
    ids = [r.id for r in db.session.execute(stmt.with_only_columns(Person.id))]
    if not ids:
        raise jobs.JobFailed("没有可打印的证书（所选人员在该年度均未认定通过或不在您的管理范围内）")
    _set(row_id, status="running", total=len(ids), done=0, skipped=0, error=None)
    progress(0, len(ids))

    skipped, processed = [0], [0]

    def certs():
        for start in range(0, len(ids), ISSUE_CHUNK):
            chunk = ids[start:start + ISSUE_CHUNK]
            persons = db.session.scalars(
                scope.select(Person).where(Person.id.in_(chunk))
                .order_by(Person.unit_id, Person.department_id, Person.name, Person.id)
            ).all()
            batch = [
                certificates.certificate_dict(cert, params["verify_url_base"])
                for cert in certificates.issue_many(persons, row.year, actor=membership, skipped=skipped)
            ]
            skipped[0] += len(chunk) - len(persons)  # left the scope since the job was queued
            processed[0] += len(chunk)
            _set(row_id, done=processed[0], skipped=skipped[0])
            progress(processed[0])  # commits the issued certificates: a checkpoint
            yield from batch

    key = f"{KEY_PREFIX}/job-{row_id}-{secrets.token_hex(8)}.pdf"
    with tempfile.TemporaryFile(prefix="certificates-") as out:
        try:
            pages = pdf.render_certificates_to(out, certs(), verify_url_base=params["verify_url_base"])
        except ValueError:
            db.session.rollback()
            raise jobs.JobFailed("没有可打印的证书（所选人员在该年度均未认定通过）") from None
        out.seek(0)
        storage.put(key, out)
    # Committed together with the job's "done" state.
    _set(row_id, status="done", pages=pages, file_name=key, done=len(ids), skipped=skipped[0], finished_at=now())
    job.result_key = key
    return {"pages": pages, "skipped": skipped[0]}
