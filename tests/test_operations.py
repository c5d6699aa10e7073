"""Operations: health and readiness probes, request ids and structured log lines, the
database pool surviving dropped connections, Alembic leaving the app's logging alone,
the SQLite transaction mode."""

import io
import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text

from backoffice.database import COMMITTED_KEY, engine_options, read_only_transactions, sqlite_begin_statement
from backoffice.extensions import db
from backoffice.observability import ACCESS_LOGGER, make_handler
from backoffice.web import health

from .conftest import membership_of, sign_in
from .live import ROOT, free_port

IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


# --------------------------------------------------------------------------- probes
def test_healthz_answers_without_the_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_storage(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"] == "ok"


def test_probes_reveal_nothing_to_anyone(app, ctx):
    """Signed in as an admin of another subtree or not at all, the probes carry only the
    names of the checks — no record, no count, no user."""
    anonymous = app.test_client().get("/readyz").get_json()
    other = sign_in(app.test_client(), "unit2").get("/readyz").get_json()
    assert anonymous == other
    assert set(anonymous) == {"status", "checks"}
    assert set(anonymous["checks"]) >= {"database", "storage", "redis"}


def test_a_failing_check_is_a_503_naming_it_never_a_500(client):
    def broken():
        raise ConnectionError("down")

    health.readiness_check("broken-for-test")(broken)
    try:
        r = client.get("/readyz")
    finally:
        health.CHECKS[:] = [(n, f) for n, f in health.CHECKS if n != "broken-for-test"]
    assert r.status_code == 503
    assert r.get_json()["checks"]["broken-for-test"] == "error: ConnectionError"
    assert r.get_json()["checks"]["database"] == "ok"


def test_readyz_pings_redis_when_configured(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    try:
        assert client.get("/readyz").get_json()["checks"]["redis"] == "ok"
        app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        r = client.get("/readyz")
        assert r.status_code == 503 and r.get_json()["checks"]["redis"].startswith("error")
    finally:
        app.config.pop("REDIS_URL", None)


# --------------------------------------------------------------------------- logs
def test_request_id_is_kept_or_made_and_returned(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"}).headers["X-Request-ID"] == "lb-1234.abc"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32
    # A header that is not a plain short token is replaced, not echoed into the logs.
    forged = client.get("/healthz", headers={"X-Request-ID": "x\" injected=1 " + "y" * 80}).headers["X-Request-ID"]
    assert "injected" not in forged and len(forged) == 32


def test_json_access_line_carries_time_level_request_id_and_user(app, ctx):
    stream = io.StringIO()
    handler = make_handler("json", stream)
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        browser = sign_in(app.test_client(), "unit")
        rid = uuid.uuid4().hex
        browser.client.get("/admin/review/list", headers={"X-Request-ID": rid})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line["request_id"] == rid]
    assert len(mine) == 1
    line = mine[0]
    assert line["level"] == "INFO" and line["timestamp"][:2] == "20"
    assert line["status"] == 200 and line["path"] == "/admin/review/list"
    assert line["user_id"] == membership_of("unit").id


def test_text_lines_start_with_the_time():
    stream = io.StringIO()
    log = logging.getLogger("backoffice.test-text")
    handler = make_handler("text", stream)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("证书任务完成")
    finally:
        log.removeHandler(handler)
    line = stream.getvalue()
    assert line[:2] == "20" and " INFO [- user=-] backoffice.test-text: 证书任务完成" in line


def test_an_upgrade_leaves_the_application_logging_alone(tmp_path):
    """After ``upgrade()`` INFO lines of the application still appear, with their time
    (Alembic's fileConfig used to reset the root logger to WARNING without a time)."""
    script = (
        "import logging\n"
        "from flask_migrate import upgrade\n"
        "from backoffice import create_app\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    upgrade()\n"
        "logging.getLogger('backoffice.mail').info('mail sent after the upgrade')\n"
        "print('root level', logging.getLevelName(logging.getLogger().level))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_FORMAT")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'u.sqlite3'}", UPLOAD_DIR=str(tmp_path / "up"),
               LOG_FORMAT="json")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "root level INFO" in out.stdout
    lines = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    mail = [line for line in lines if line["message"] == "mail sent after the upgrade"]
    assert mail and mail[0]["level"] == "INFO" and mail[0]["timestamp"]
    assert any(line["name"].startswith("alembic") for line in lines)  # the migration said so, in JSON


# --------------------------------------------------------------------------- database
def test_engine_options_for_postgresql_from_the_environment():
    env = {"DB_POOL_SIZE": "12", "DB_MAX_OVERFLOW": "3"}
    options = engine_options("postgresql+psycopg://u@h/db", env)
    assert options["pool_pre_ping"] is True
    assert options["pool_size"] == 12 and options["max_overflow"] == 3
    assert options["pool_timeout"] == 30 and options["pool_recycle"] == 1800
    assert engine_options("sqlite:///x.sqlite3", env) == {}


def test_sqlite_writers_take_the_lock_at_begin_and_readers_do_not(app):
    with app.test_request_context("/admin/review/list", method="GET"):
        assert sqlite_begin_statement("SELECT 1") == "BEGIN"
        assert sqlite_begin_statement("INSERT INTO job ...") == "BEGIN IMMEDIATE"
    with app.test_request_context("/admin/review/batch", method="POST"):
        from flask import request

        assert sqlite_begin_statement("SELECT 1") == "BEGIN IMMEDIATE"
        # After the request's commit: reading for the response, a nested session may write.
        request.environ[COMMITTED_KEY] = True
        assert sqlite_begin_statement("SELECT 1") == "BEGIN"
        assert sqlite_begin_statement("  update declaration ...") == "BEGIN IMMEDIATE"
    with app.app_context():  # a job, a command, the seeding
        assert sqlite_begin_statement() == "BEGIN IMMEDIATE"
        with read_only_transactions():
            assert sqlite_begin_statement() == "BEGIN"


def test_a_long_read_in_a_job_takes_no_write_lock(app):
    """A job's thread is a declared writer; its export streams rows in a read-only block
    so that its progress, written on another connection, does not wait for the export."""
    import backoffice

    backoffice.SQLITE_WRITER.on = True
    try:
        with app.app_context():
            assert sqlite_begin_statement("SELECT 1") == "BEGIN IMMEDIATE"
            with read_only_transactions():
                assert sqlite_begin_statement("SELECT 1") == "BEGIN"
                assert sqlite_begin_statement("UPDATE job SET progress = 1") == "BEGIN IMMEDIATE"
    finally:
        backoffice.SQLITE_WRITER.on = False


@pytest.mark.real_commits
@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL only")
def test_dropped_postgresql_connections_cost_a_reconnect_not_a_500(app):
    with app.app_context():
        browser = sign_in(app.test_client(), "county")
        assert browser.get("/admin/review/list").status_code == 200
        # Requests made inside this test's app context share its session: end it, as
        # the end of a request does, so its connection goes back to the pool.
        db.session.remove()
        url = db.engine.url
        killer = create_engine(url, isolation_level="AUTOCOMMIT")
        with killer.connect() as conn:
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        killer.dispose()
        assert killed >= 1  # the app's pooled connections are gone
        assert browser.get("/admin/review/list").status_code == 200
        assert browser.client.get("/readyz").status_code == 200
