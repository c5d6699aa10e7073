"""Large exports as background jobs on the project's queue: progress, a stored file, an
owner-only download.

The request submits a ``list_export`` job (``backoffice.jobs``) whose params name the
list (the admin view's endpoint), the file type and the list's query string — ids and
parameters only. The worker takes the owner's scope (``jobs.job_scope``), opens a
request for that list as that membership, so the view's own scope, filters and sort are
applied again (a membership that lost the role or was disabled gets nothing), writes the
file to a temporary file and puts it into ``backoffice.storage``; the job row keeps the
key. The download starts from the job row and answers only its owner.

Progress is written through a separate connection: the rows are read with a streaming
(server-side) cursor that a commit of the job's own session would close.
"""

import logging
import os
import secrets
import tempfile
import time
from urllib.parse import quote, urlencode

from flask import current_app, request
from flask_login import current_user, login_user
from sqlalchemy import update

from . import exports, jobs, storage
from .database import read_only_transactions
from .extensions import db
from .models import Job, now

log = logging.getLogger(__name__)

KIND = "list_export"
KEY_PREFIX = "exports"
DEFAULT_THRESHOLD = 20_000
PROGRESS_SECONDS = 2.0  # write progress at most this often


def threshold(app=None):
    """Exports with more rows than this run as a job (config or environment)."""
    app = app or current_app
    value = app.config.get("EXPORT_JOB_THRESHOLD")
    if value is None:
        value = os.environ.get("EXPORT_JOB_THRESHOLD", DEFAULT_THRESHOLD)
    return int(value)


def spool():
    """A temporary file for a workbook being built (memory stays flat)."""
    return tempfile.SpooledTemporaryFile(max_size=4 << 20)


def disposition(filename):
    """Content-Disposition with the UTF-8 name (RFC 5987) and an ASCII fallback."""
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


# --------------------------------------------------------------------------- submit / look up
def submit(view, export_type):
    """Queue the export of the current request's list (enqueued at the commit)."""
    params = {
        "endpoint": view.endpoint,
        "title": str(view.name),
        "export_type": export_type,
        "path": request.path,
        # Re-encoded from the parsed args: a client may send the query's UTF-8 unescaped,
        # and the worker rebuilds the request from this text.
        "query": urlencode(list(request.args.items(multi=True))),
        "filename": view.export_filename(export_type),
    }
    job = jobs.submit(KIND, params, owner=current_user._get_current_object())
    db.session.commit()
    return job


def owned(job_id, membership_id):
    """The export job if ``membership_id`` asked for it, else None (the caller answers 404)."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != KIND or job.owner_membership_id != membership_id:
        return None
    return job


def jobs_of(membership_id, limit=50):
    """This membership's export jobs, newest first."""
    return (
        db.session.query(Job)
        .filter(Job.kind == KIND, Job.owner_membership_id == membership_id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
        .all()
    )


# --------------------------------------------------------------------------- the task
def _view_by_endpoint(app, endpoint):
    admin = app.extensions.get("backoffice_admin")
    for view in getattr(admin, "_views", ()):
        if view.endpoint == endpoint:
            return view
    return None


def _side_progress(job_id):
    """Progress through its own short transaction (every PROGRESS_SECONDS at most)."""
    last = [time.monotonic()]

    def report(done):
        t = time.monotonic()
        if t - last[0] < PROGRESS_SECONDS:
            return
        last[0] = t
        try:
            with db.engine.begin() as conn:
                conn.execute(update(Job).where(Job.id == job_id).values(progress=int(done), heartbeat_at=now()))
        except Exception:  # noqa: BLE001 - progress is a courtesy; the export goes on
            log.warning("could not record the progress of export job %s", job_id, exc_info=True)

    return report


@jobs.task(KIND, max_attempts=2, backoff=30)
def run_export(job, progress):
    """Write the list's rows as its owner sees them, into the file storage."""
    scope = jobs.job_scope(job)
    if scope is None:
        raise jobs.JobFailed("导出任务缺少提交人")
    params, job_id = dict(job.params or {}), job.id
    export_type = params.get("export_type")
    if export_type not in exports.EXPORT_TYPES:
        raise jobs.JobFailed("不支持的导出格式")
    app = current_app._get_current_object()
    url = params["path"] + ("?" + params["query"] if params.get("query") else "")
    with app.test_request_context(url, base_url=app.config.get("EXPORT_BASE_URL", "http://localhost")):
        login_user(scope.membership)
        view = _view_by_endpoint(app, params.get("endpoint"))
        if view is None or not view.is_accessible() or not getattr(view, "can_export", False):
            raise jobs.JobFailed("您已无权导出此列表")
        total = view.export_count()
        progress(0, total)
        key = f"{KEY_PREFIX}/{job_id}-{secrets.token_hex(8)}.{export_type}"
        # The rows are read in a transaction of their own that takes no write lock (on
        # SQLite a job's transactions otherwise take it, and the progress written on
        # another connection would wait for the whole export).
        db.session.commit()
        with tempfile.TemporaryFile() as tmp, read_only_transactions():
            done = exports.write(export_type, tmp, view.export_headers(), view.export_rows(), _side_progress(job_id))
            tmp.seek(0)
            storage.put(key, tmp)
    # End the read snapshot of the streaming query before writing the job row (SQLite
    # refuses to turn a read older than the progress writes into a write).
    db.session.rollback()
    job = db.session.get(Job, job_id)
    job.result_key = key
    job.total = done
    return {"rows": done, "filename": params.get("filename")}


def send(job):
    """The finished job's file (404 when it is not there)."""
    from flask import abort

    if job.state != "done" or not job.result_key:
        abort(404)
    params = job.params or {}
    mimetype = exports.XLSX_MIME if params.get("export_type") == "xlsx" else exports.CSV_MIME
    return storage.send(job.result_key, mimetype=mimetype, download_name=params.get("filename") or "export")
