"""Probes for the load balancer and the process supervisor.

``/healthz`` — the process answers (no database: a slow database must not get every app
process restarted). ``/readyz`` — the process can serve: each check in ``CHECKS`` runs;
any failure gives 503 with the failing check named. Other modules add theirs:

    from backoffice.web.health import readiness_check

    @readiness_check("queue")
    def _queue():
        ...  # raise on failure
"""

import io
import logging
import os
import uuid
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

# (name, function) pairs; a function raises when its dependency is not reachable.
CHECKS = []


def readiness_check(name):
    def register(fn):
        CHECKS[:] = [(n, f) for n, f in CHECKS if n != name] + [(name, fn)]
        return fn

    return register


@readiness_check("database")
def _database():
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


@readiness_check("redis")
def _redis():
    url = current_app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        return "not configured"
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


@readiness_check("storage")
def _storage():
    """The storage layer when there is one (a write and a delete of a probe key), else the
    upload directory (writable)."""
    storage = current_app.extensions.get("backoffice_storage")
    key = f"readyz/{uuid.uuid4().hex}"
    if storage is not None:
        if hasattr(storage, "check"):
            storage.check()
            return
        storage.put(key, io.BytesIO(b"ok"))
        storage.delete(key)
        return
    directory = Path(current_app.config["UPLOAD_DIR"])
    probe = directory / f".readyz-{uuid.uuid4().hex}"
    probe.write_bytes(b"ok")
    probe.unlink()


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    results, ok = {}, True
    for name, check in list(CHECKS):
        try:
            outcome = check()
            results[name] = outcome or "ok"
        except Exception as exc:  # every failure is an answer, never a 500
            ok = False
            results[name] = f"error: {type(exc).__name__}"
            log.warning("readiness check %s failed: %s", name, exc)
            if name == "database":
                db.session.rollback()
    return jsonify(status="ok" if ok else "unavailable", checks=results), (200 if ok else 503)
