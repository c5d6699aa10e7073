"""Retention: periodic clean-up of what the system keeps only for a while.

``run_all(app)`` runs every registered hook; the job queue calls it every 15 minutes
(a Huey periodic task in each worker: hooks must be idempotent and cheap when there is
nothing to do), and ``python -m backoffice cleanup`` runs it once by hand.

Registered here:

- ``job_files``: files of finished jobs (certificate print PDFs, exports) older than
  ``JOB_FILE_RETENTION_DAYS`` (default 7) are deleted from the file storage; the job
  rows stay, marked as expired, so the admin sees why the download is gone.
- ``job_rows``: finished rows of system jobs without an owner (e-mails, notices) older
  than ``JOB_ROW_RETENTION_DAYS`` (default 30).
- ``import_stashes``: score-import uploads parsed but never confirmed, after
  ``IMPORT_STASH_RETENTION_HOURS`` (default 24).
- ``sessions``: rows of the database session store past their expiry (Redis expires
  its own keys).
- ``reset_token_uses``: the record that a reset link was used, once the link itself has
  expired (links live one hour; the record is kept a day).

Other modules add theirs::

    from backoffice import retention

    @retention.hook("sessions")
    def drop_expired_sessions(app):
        ...                      # in an app context; commit your own changes
        return removed_count     # logged

The audit log is never cleaned up here: see docs/retention.md.
"""

import logging
from datetime import timedelta

from sqlalchemy import delete, select, update

from . import storage
from .extensions import db
from .models import CertificateJob, HttpSession, Job, PasswordResetUse, now

log = logging.getLogger(__name__)

HOOKS = {}


def hook(name):
    """Register ``fn(app) -> int | None`` as the clean-up called ``name``."""

    def decorate(fn):
        HOOKS[name] = fn
        return fn

    return decorate


def run_all(app):
    """Run every hook in its own app context; one failing hook never stops the others."""
    results = {}
    for name, fn in list(HOOKS.items()):
        with app.app_context():
            try:
                results[name] = fn(app)
                if results[name]:
                    log.info("retention %s: %s removed", name, results[name])
            except Exception:  # noqa: BLE001 - the next run tries again
                db.session.rollback()
                log.exception("retention hook %s failed", name)
                results[name] = None
            finally:
                db.session.remove()
    return results


def _delete_key(key):
    try:
        storage.delete(key)
    except ValueError:
        pass


@hook("job_files")
def expire_job_files(app):
    days = int(app.config.get("JOB_FILE_RETENTION_DAYS", 7))
    cutoff = now() - timedelta(days=days)
    removed = 0
    rows = db.session.execute(select(Job.id, Job.result_key).where(
        Job.result_key.is_not(None), Job.state.in_(("done", "failed")), Job.finished_at < cutoff).limit(5000)).all()
    for job_id, key in rows:
        _delete_key(key)
        db.session.execute(update(Job).where(Job.id == job_id).values(result_key=None))
        removed += 1
    # Print jobs keep their own file name (and older ones made before the queue).
    from .certificate_jobs import file_key

    old = db.session.scalars(select(CertificateJob).where(
        CertificateJob.file_name.is_not(None), CertificateJob.finished_at < cutoff).limit(5000)).all()
    for row in old:
        _delete_key(file_key(row))
        row.file_name = None
        row.error = f"文件已超过保留期限（{days} 天）被清理，如需要请重新提交打印"
        removed += 1
    db.session.commit()
    return removed


@hook("job_rows")
def drop_old_system_jobs(app):
    cutoff = now() - timedelta(days=int(app.config.get("JOB_ROW_RETENTION_DAYS", 30)))
    result = db.session.execute(delete(Job).where(
        Job.owner_membership_id.is_(None), Job.org_id.is_(None), Job.state.in_(("done", "failed")),
        Job.finished_at < cutoff, Job.result_key.is_(None), ~Job.id.in_(
            select(CertificateJob.job_id).where(CertificateJob.job_id.is_not(None)))))
    db.session.commit()
    return result.rowcount


@hook("import_stashes")
def drop_abandoned_imports(app):
    from .training import IMPORT_PREFIX

    cutoff = now() - timedelta(hours=int(app.config.get("IMPORT_STASH_RETENTION_HOURS", 24)))
    backend = storage.get(app)
    old = [key for key, modified in backend.list(IMPORT_PREFIX) if modified < cutoff]
    for key in old:
        backend.delete(key)
    return len(old)


@hook("sessions")
def drop_expired_sessions(app):
    from datetime import datetime

    result = db.session.execute(delete(HttpSession).where(HttpSession.expiry <= datetime.utcnow()))
    db.session.commit()
    return result.rowcount


@hook("reset_token_uses")
def drop_expired_reset_uses(app):
    # A used link is refused as used for as long as it could still be valid (one hour);
    # after that it is refused as expired, so the record can go.
    result = db.session.execute(delete(PasswordResetUse).where(PasswordResetUse.used_at < now() - timedelta(days=1)))
    db.session.commit()
    return result.rowcount
