"""A real worker process (``python -m backoffice worker``) is killed mid-job and
restarted: the 300-certificate print job completes exactly once, no certificate number
is issued twice, and the PDF downloads. Run against the machine's Redis (``REDIS_URL``)
and against the embedded SQLite queue file; the database is a throw-away one of its own
(SQLite file, or PostgreSQL when ``DATABASE_URL`` says so)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from backoffice import create_app
from backoffice.config import TestConfig
from backoffice.database import read_only_transactions
from backoffice.extensions import db
from backoffice.models import Certificate, CertificateJob, Job, Person

from .conftest import _postgres_database, org, sign_in
from .test_certificates import PASSED, make_passed_persons, read_pdf

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
N = 300
pytestmark = pytest.mark.real_commits


@pytest.fixture(scope="module")
def worker_db(tmp_path_factory):
    """A database of its own, migrated and with the demo tree (real commits are safe)."""
    from seed.demo import load_demo

    tmp = tmp_path_factory.mktemp("worker")
    url, drop = os.environ.get("DATABASE_URL"), None
    if url and url.startswith("postgres"):
        url, drop = _postgres_database(url)
    else:
        url = f"sqlite:///{tmp / 'worker.sqlite3'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(tmp / "uploads"))
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    yield url, tmp
    if drop is not None:
        drop()


def _redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on this machine")


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_a_killed_worker_s_print_job_runs_again_and_completes_once(worker_db, backend):
    url, tmp = worker_db
    name = f"t{uuid.uuid4().hex[:10]}"  # queue name: the Redis key prefix of this run
    settings = {
        "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp / "uploads"), "JOBS_IMMEDIATE": False,
        "JOB_QUEUE_NAME": name, "JOB_STALE_SECONDS": 3, "JOB_HEARTBEAT_SECONDS": 1,
        "REDIS_URL": REDIS_URL if backend == "redis" else None,
        "JOB_QUEUE_FILE": str(tmp / f"{name}.sqlite3") if backend == "sqlite" else None,
    }
    if backend == "redis":
        _redis_or_skip()
    app = create_app(TestConfig, **settings)
    env = dict(os.environ, DATABASE_URL=url, UPLOAD_DIR=settings["UPLOAD_DIR"], JOB_QUEUE_NAME=name,
               JOB_STALE_SECONDS="3", JOB_HEARTBEAT_SECONDS="1", JOBS_IMMEDIATE="0", PYTHONPATH=str(REPO))
    env.pop("REDIS_URL", None)
    env.pop("JOB_QUEUE_FILE", None)
    if backend == "redis":
        env["REDIS_URL"] = REDIS_URL
    else:
        env["JOB_QUEUE_FILE"] = settings["JOB_QUEUE_FILE"]
    log_path = tmp / f"worker-{name}.log"

    def start_worker():
        with open(log_path, "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "backoffice", "worker", "--workers", "1"], cwd=REPO,
                                    env=env, stdout=log, stderr=subprocess.STDOUT)

    def state():
        # A fresh read-only transaction: outside a request SQLite transactions take the
        # write lock when they begin, and this loop must not hold it against the worker.
        db.session.remove()
        with read_only_transactions():
            row = db.session.scalar(select(CertificateJob).order_by(CertificateJob.id.desc()))
            return row, db.session.get(Job, row.job_id)

    worker = None
    prefix = "甲" if backend == "redis" else "乙"
    try:
        with app.app_context():
            person_ids = make_passed_persons(N, org("郑州市金水区人民医院"), PASSED, prefix=prefix)
            browser = sign_in(app.test_client(), "unit")
            response = browser.post("/admin/certificates/print", {"year": str(PASSED), "name": prefix, "all": "1"},
                                    form_url="/admin/certificates/")
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            row, job = state()
            assert row.status == "queued" and job.state == "queued" and row.total == N  # nothing ran in the request

            # 1. a worker takes the job; kill it (SIGKILL: no clean-up) once some certificates are issued
            worker = start_worker()
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                row, job = state()
                if row.done >= 100 or job.state not in ("queued", "running"):
                    break
                time.sleep(0.05)
            assert job.state == "running" and row.done < N, f"job not caught mid-run: {job.state} {row.done}"
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
            row, job = state()
            assert job.state == "running" and job.attempts == 1  # what a killed worker leaves behind
            numbers_before = dict(db.session.execute(select(Certificate.person_id, Certificate.number).where(
                Certificate.person_id.in_(person_ids))).all())
            assert 0 < len(numbers_before) < N

            # 2. a new worker: its reaper sees the stale heartbeat and the job runs again
            worker = start_worker()
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                row, job = state()
                if job.state in ("done", "failed"):
                    break
                time.sleep(0.5)
            assert job.state == "done", (job.state, job.error, log_path.read_text()[-3000:])
            # Run again at least once (on a starved machine a slow run can be taken for a dead
            # one a second time); what must hold is below: the result is made exactly once.
            assert job.attempts >= 2 and row.status == "done" and row.pages == N and row.done == N

            # 3. exactly once: one valid certificate per person, no number twice, earlier numbers kept
            certs = db.session.execute(select(Certificate.person_id, Certificate.number).where(
                Certificate.person_id.in_(person_ids))).all()
            assert len(certs) == N and len({number for _, number in certs}) == N
            assert len({pid for pid, _ in certs}) == N
            after = dict(certs)
            assert all(after[pid] == number for pid, number in numbers_before.items())
            assert db.session.scalar(select(func.count()).select_from(Certificate).where(
                Certificate.number.in_([n for _, n in certs]))) == N
            assert db.session.scalar(select(func.count()).select_from(Person).where(Person.id.in_(person_ids))) == N

            reader = read_pdf(browser.get(f"/admin/certificates/jobs/{row.id}/download"))
            assert len(reader.pages) == N
            db.session.remove()
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if backend == "redis":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"huey.*{name}*"))
            if keys:
                client.delete(*keys)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
