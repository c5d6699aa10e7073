"""Recomputing the summary after a standard or a conversion rule changed.

:func:`recompute_all` is the job body: it rebuilds every person-year and roll-up row
from the records in one transaction (idempotent; a killed run simply runs again).
:func:`schedule_recompute` is what the base-data views call after their commit: it
hands the job to the application's job queue when one is installed
(``backoffice.jobs.submit``) and otherwise runs it at once.
"""

import logging

from .extensions import db

log = logging.getLogger(__name__)

JOB_KIND = "summary_recompute"


def recompute_all(params=None):
    from . import summary

    counts = summary.rebuild()
    db.session.commit()
    log.info("summary recomputed (%s): %s", (params or {}).get("reason"), counts)
    return counts


def schedule_recompute(reason):
    """After a commit that changed standards or rules: recompute the summary."""
    try:
        from . import jobs  # the job queue, when the application has one
    except ImportError:
        jobs = None
    submit = getattr(jobs, "submit", None)
    if submit is not None:
        try:
            return submit(JOB_KIND, {"reason": reason})
        except Exception:  # an unknown kind or a queue that is down: do not lose the recompute
            log.exception("could not queue the summary recompute; running it now")
    return recompute_all({"reason": reason})
