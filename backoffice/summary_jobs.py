"""Recomputing the summary after a standard or a conversion rule changed: a queued job.

:func:`recompute_job` is the task (``summary_recompute``): it rebuilds every person-year
and roll-up row from the records in one transaction — idempotent, so a killed worker's
run simply runs again. :func:`schedule_recompute` is what the base-data views call after
their commit: it submits the job and commits (the queue takes it after that commit).
"""

import logging

from . import jobs
from .extensions import db

log = logging.getLogger(__name__)

JOB_KIND = "summary_recompute"


def recompute_all(params=None):
    """Rebuild the summary now and commit (the body of the job; also usable directly)."""
    from . import summary

    counts = summary.rebuild()
    db.session.commit()
    log.info("summary recomputed (%s): %s", (params or {}).get("reason"), counts)
    return counts


@jobs.task(JOB_KIND, max_attempts=3, backoff=30)
def recompute_job(job, progress):
    from . import summary

    progress(0, 1)
    counts = summary.rebuild()
    progress(1, 1)  # commits the rebuild with the job's progress
    log.info("summary recomputed (%s): %s", (job.params or {}).get("reason"), counts)
    return counts


def schedule_recompute(reason, owner=None):
    """After a commit that changed standards or rules: queue the recompute and commit."""
    if owner is None:
        from flask_login import current_user

        owner = current_user if getattr(current_user, "is_authenticated", False) else None
    job = jobs.submit(JOB_KIND, {"reason": reason}, owner=owner, total=1)
    db.session.commit()
    return job
