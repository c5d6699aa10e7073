"""Large exports as background jobs: progress, a stored file, an owner-only download.

A job remembers who asked (the membership), which list (the admin view's endpoint),
the file type and the list's query string — ids and parameters only. The worker opens a
request for that list as that membership, so the view's own scope, filters and sort are
applied again (and a membership that lost its role or was disabled gets nothing), writes
the file under the upload directory and records its progress. The state is a small JSON
document beside the file, written atomically.

Until the project's job queue carries it, the job runs in a thread of the process that
accepted it (inline when testing), like the certificate print jobs.
"""

import json
import logging
import os
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from flask import current_app, request
from flask_login import current_user, login_user

from . import exports
from .extensions import db

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 20_000
PROGRESS_SECONDS = 1.0  # write progress at most this often
STALE_AFTER = 600  # seconds without progress before a running job counts as interrupted
STATUS_LABELS = {"queued": "排队中", "running": "导出中", "done": "已完成", "failed": "失败", "stale": "已中断"}


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


# --------------------------------------------------------------------------- state
def job_dir(app=None):
    app = app or current_app
    path = Path(app.config["UPLOAD_DIR"]) / "export_jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _state_path(job_id, app=None):
    return job_dir(app) / f"{job_id}.json"


def file_path(job, app=None):
    return job_dir(app) / f"{job['id']}.{job['export_type']}"


def _save(job, app=None):
    job["updated_at"] = time.time()
    target = _state_path(job["id"], app)
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, target)


def load(job_id, app=None):
    """The job's state, or None (also for anything that is not a job id)."""
    if not isinstance(job_id, str) or len(job_id) != 32 or not all(c in "0123456789abcdef" for c in job_id):
        return None
    try:
        job = json.loads(_state_path(job_id, app).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if job.get("status") in ("queued", "running") and time.time() - job.get("updated_at", 0) > STALE_AFTER:
        job["status"] = "stale"
    return job


def load_owned(job_id, membership_id):
    """The job if ``membership_id`` asked for it, else None (the caller answers 404)."""
    job = load(job_id)
    if job is None or job.get("owner") != membership_id:
        return None
    return job


def jobs_of(membership_id, limit=50):
    """This membership's jobs, newest first."""
    found = []
    for path in job_dir().glob("*.json"):
        job = load(path.stem)
        if job is not None and job.get("owner") == membership_id:
            found.append(job)
    found.sort(key=lambda j: j.get("created_at", 0), reverse=True)
    return found[:limit]


# --------------------------------------------------------------------------- submit / run
def submit(view, export_type):
    """Record a job for the current request's list and start it."""
    job = {
        "id": uuid.uuid4().hex,
        "owner": current_user.id,
        "endpoint": view.endpoint,
        "title": str(view.name),
        "export_type": export_type,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "filename": view.export_filename(export_type),
        "status": "queued",
        "done": 0,
        "total": None,
        "error": None,
        "created_at": time.time(),
    }
    _save(job)
    app = current_app._get_current_object()
    if app.config.get("EXPORT_JOBS_INLINE", app.testing):
        try:
            _run(view, job, app)
        except Exception:
            log.exception("export job %s failed", job["id"])
            _fail(job, "导出失败，请稍后重试", app)
    else:
        threading.Thread(target=_thread_main, args=(app, job["id"]), name=f"export-job-{job['id'][:8]}",
                         daemon=True).start()
    return job


def _thread_main(app, job_id):
    """Open a request for the job's list as its owner, then build the file."""
    from .models import Membership

    job = load(job_id, app)
    if job is None:
        return
    url = job["path"] + ("?" + job["query"] if job["query"] else "")
    with app.test_request_context(url, base_url=app.config.get("EXPORT_BASE_URL", "http://localhost")):
        try:
            membership = db.session.get(Membership, job["owner"])
            if membership is None or membership.status != "active":
                return _fail(job, "提交导出的管理员账号已不可用", app)
            login_user(membership)
            view = _view_by_endpoint(app, job["endpoint"])
            if view is None or not view.is_accessible() or not view.can_export:
                return _fail(job, "您已无权导出此列表", app)
            _run(view, job, app)
        except Exception:  # a job must end in a state the owner can see
            log.exception("export job %s failed", job_id)
            _fail(job, "导出失败，请稍后重试", app)
        finally:
            db.session.remove()


def _view_by_endpoint(app, endpoint):
    admin = app.extensions.get("backoffice_admin")
    for view in getattr(admin, "_views", ()):
        if view.endpoint == endpoint:
            return view
    return None


def _fail(job, message, app=None):
    job.update(status="failed", error=message, finished_at=time.time())
    _save(job, app)
    return job


def _run(view, job, app):
    """Write the view's rows (scope, filters and sort of the current request)."""
    job.update(status="running", total=view.export_count())
    _save(job, app)
    last = [time.monotonic()]

    def progress(done):
        job["done"] = done
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            _save(job, app)

    target = file_path(job, app)
    part = target.with_name(target.name + ".part")
    with open(part, "wb") as stream:
        done = exports.write(job["export_type"], stream, view.export_headers(), view.export_rows(), progress)
    os.replace(part, target)
    job.update(status="done", done=done, finished_at=time.time(), size=target.stat().st_size)
    _save(job, app)
    return job


def label(job):
    return STATUS_LABELS.get(job.get("status"), job.get("status"))


def when(ts):
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else ""
