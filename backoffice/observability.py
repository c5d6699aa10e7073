"""Logs an operator can follow across processes: a request id on every line, the
signed-in user, an access line per request, JSON when ``LOG_FORMAT=json``.

``configure_logging`` installs one handler on the root logger (unless the host
process configured logging already, e.g. pytest); ``init_request_logging`` gives every
request an id (``X-Request-ID`` in, or a new one) and writes the access line.
"""

import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request

ACCESS_LOGGER = "backoffice.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s user=%(user_id)s] %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s"
# An id from a proxy or a client is kept only if it is short and plain.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_user_id():
    """The signed-in membership's id, only if this request already loaded it (a log line
    never triggers a query: the identity comes from the identity map)."""
    if not has_request_context():
        return None
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    from sqlalchemy import inspect

    try:
        identity = inspect(user).identity
    except Exception:  # not a mapped object (an anonymous user)
        return None
    return identity[0] if identity else None


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user_id`` to every record ("-" outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = (g.get("request_id") if has_request_context() else None) or "-"
        if not hasattr(record, "user_id"):
            uid = current_user_id()
            record.user_id = "-" if uid is None else uid
        return True


def make_formatter(fmt):
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "timestamp", "levelname": "level"})
    return logging.Formatter(TEXT_FORMAT)


def make_handler(fmt, stream=None):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(RequestContextFilter())
    handler._backoffice = True
    return handler


def configure_logging(app):
    """Root logger → one handler in the configured format, level ``LOG_LEVEL``.

    Left alone when the process already has handlers that are not ours (a test runner, a
    host that configured logging itself) or when ``LOG_CONFIGURE`` is off."""
    if not app.config.get("LOG_CONFIGURE", True):
        return
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_backoffice", False)]
    if root.handlers and not ours:
        return
    for handler in ours:
        root.removeHandler(handler)
    root.addHandler(make_handler(app.config.get("LOG_FORMAT", "text")))
    root.setLevel(app.config.get("LOG_LEVEL", "INFO").upper())


def init_request_logging(app):
    access = logging.getLogger(ACCESS_LOGGER)

    @app.before_request
    def _request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _access_line(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if app.config.get("ACCESS_LOG", True) and g.get("request_started") is not None:
            ms = (time.perf_counter() - g.request_started) * 1000
            access.info(
                "%s %s %s %.1fms %s",
                request.method, request.full_path.rstrip("?"), response.status_code, ms,
                request.remote_addr or "-",
                extra={"method": request.method, "path": request.path, "status": response.status_code,
                       "duration_ms": round(ms, 1), "remote_addr": request.remote_addr},
            )
        return response
