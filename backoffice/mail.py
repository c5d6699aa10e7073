"""Notifications by e-mail (Flask-Mail).

Always called *after* the business change is committed: a failed send is logged and
never undoes a decision. Without a configured mail server (the demo) messages are
logged instead of sent; tests read ``outbox()``.
"""

import logging
import threading

from flask import current_app
from flask_mail import Message

from .extensions import mail

log = logging.getLogger(__name__)


def send(recipients, subject, body):
    """Send one message; return True when handed to the server. Never raises."""
    recipients = [r for r in ([recipients] if isinstance(recipients, str) else recipients or []) if r]
    if not recipients:
        return False
    message = Message(subject=f"【继续教育管理系统】{subject}", recipients=recipients, body=body)
    try:
        if current_app.config.get("MAIL_SUPPRESS_SEND"):
            log.info("mail (not sent: no mail server configured) to %s: %s", recipients, subject)
            current_app.extensions.setdefault("backoffice_outbox", []).append(message)
            return True
        mail.send(message)
        return True
    except Exception:  # noqa: BLE001 - a mail failure must never reach the user
        log.exception("mail to %s failed: %s", recipients, subject)
        return False


def outbox():
    """Messages recorded instead of sent (demo and tests), once the enqueued ones are out."""
    drain()
    return current_app.extensions.setdefault("backoffice_outbox", [])


# Messages handed to enqueue() and not yet sent (tests wait for them with drain()).
_pending = []
_pending_lock = threading.Lock()


def enqueue(recipients, subject, body):
    """Send one message after the request, so that the response time never depends on
    whether a message goes out. Never raises to the caller.

    A short-lived thread for now; the job queue takes the same signature.
    """
    try:
        app = current_app._get_current_object()

        def run():
            try:
                with app.app_context():
                    send(recipients, subject, body)
            finally:
                with _pending_lock:
                    if thread in _pending:
                        _pending.remove(thread)

        thread = threading.Thread(target=run, name="mail-enqueue", daemon=True)
        with _pending_lock:
            _pending.append(thread)
        thread.start()
        return True
    except Exception:  # noqa: BLE001 - a mail failure must never reach the user
        log.exception("could not enqueue mail to %s: %s", recipients, subject)
        return False


def drain(timeout=10):
    """Wait until the enqueued messages are handed over (tests, shutdown)."""
    with _pending_lock:
        threads = list(_pending)
    for thread in threads:
        thread.join(timeout)
