"""Notifications by e-mail (Flask-Mail), always through the job queue.

``enqueue(recipients, subject, body)`` is what the rest of the system calls, *after*
its business change is committed: it stores one ``mail`` job in its own short
transaction and returns at once; a worker sends it, retrying with back-off
(1, 2, 4, 8 minutes) when the server refuses, so a failed send never undoes a decision
and is never silently lost. ``enqueue_many`` stores many in one transaction.

Without a configured mail server (the demo) messages are logged instead of sent; tests
read ``outbox()`` (the test configuration runs jobs at once, in-process).
"""

import logging

from flask import current_app
from flask_mail import Message

from . import jobs
from .extensions import (
    db,
    mail,  # the Flask-Mail object (tests patch ``mail.send``)
)

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "【继续教育管理系统】"
MAIL_ATTEMPTS = 5
MAIL_BACKOFF = 60  # seconds before the first retry; doubled each time


def _clean(recipients):
    return [r for r in ([recipients] if isinstance(recipients, str) else recipients or []) if r]


def deliver_now(recipients, subject, body):
    """Hand one message to the mail server (or the outbox); raises on failure."""
    recipients = _clean(recipients)
    if not recipients:
        return False
    message = Message(subject=f"{SUBJECT_PREFIX}{subject}", recipients=recipients, body=body)
    if current_app.config.get("MAIL_SUPPRESS_SEND"):
        log.info("mail (not sent: no mail server configured) to %s: %s", recipients, subject)
        current_app.extensions.setdefault("backoffice_outbox", []).append(message)
        return True
    mail.send(message)
    log.info("mail sent to %s: %s", recipients, subject)
    return True


def send(recipients, subject, body):
    """Send one message now, in this process; True when handed over. Never raises.
    Prefer ``enqueue``: this one has no retry."""
    try:
        return deliver_now(recipients, subject, body)
    except Exception:  # noqa: BLE001 - a mail failure must never reach the user
        log.exception("mail to %s failed: %s", recipients, subject)
        return False


def enqueue_many(messages):
    """Queue ``(recipients, subject, body)`` messages in one transaction of their own.
    Call after your commit. Returns the job ids; never raises (a failure is logged)."""
    rows = [(_clean(r), s, b) for r, s, b in messages]
    rows = [row for row in rows if row[0]]
    if not rows:
        return []
    app = current_app._get_current_object()
    # A fresh application context is a fresh session: the caller's session (committed
    # or not) is neither committed nor rolled back here.
    with app.app_context():
        try:
            ids = [jobs.submit("mail", {"recipients": r, "subject": s, "body": b}).id for r, s, b in rows]
            db.session.commit()
            return ids
        except Exception:  # noqa: BLE001 - the decision stands; the loss is logged
            log.exception("could not queue %d mail(s)", len(rows))
            db.session.rollback()
            return []
        finally:
            db.session.remove()


def enqueue(recipients, subject, body):
    """Queue one message (a ``mail`` job with retries). Call after your commit.
    Returns the job id, or None when there is no recipient or queueing failed."""
    ids = enqueue_many([(recipients, subject, body)])
    return ids[0] if ids else None


@jobs.task("mail", max_attempts=MAIL_ATTEMPTS, backoff=MAIL_BACKOFF)
def _mail_task(job, progress):
    params = job.params
    try:
        deliver_now(params["recipients"], params["subject"], params["body"])
    except Exception:
        more = "will retry" if job.attempts < job.max_attempts else "giving up"
        log.warning("mail to %s failed (attempt %s, %s): %s", params["recipients"], job.attempts, more,
                    params["subject"], exc_info=True)
        raise


def outbox():
    """Messages recorded instead of sent (demo and tests)."""
    return current_app.extensions.setdefault("backoffice_outbox", [])
