"""Benchmark of a certificate print job on the job queue, run by a worker process.

    python bench/jobs_bench.py [--persons 300] [--redis redis://127.0.0.1:6379/0]

Builds a throw-away SQLite database (migrations + demo data) with ``--persons``
professionals who passed last year, then, in this process (the "web" side, Flask test
client of the unit admin):

* the median / p95 / max time of a page (the admin's print-job list) while idle;
* the time of the request that submits the print job (it only writes two rows and
  enqueues an id);
* the same page's times while a ``python -m backoffice worker`` process builds the PDF;
* the job's own run time in the worker (started → finished) and submit → done.

The queue is the SQLite file (embedded) unless ``--redis`` is given. Before the queue,
the job ran in a thread of the web process and slowed its pages (the issue measured
3 ms → 13 ms median, 181 ms max for an 81-certificate job).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timings(browser, url, seconds=None, count=None):
    out = []
    end = time.monotonic() + (seconds or 1e9)
    while time.monotonic() < end and (count is None or len(out) < count):
        t = time.perf_counter()
        response = browser.get(url)
        out.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.status_code
        if seconds is not None and count is None and len(out) >= 10_000:
            break
    return out


def summary(values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {values[-1]:.1f} ms (n={len(values)})"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--redis", default=None, help="use this Redis for the queue instead of the SQLite file")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import select

    from backoffice import create_app
    from backoffice.config import TestConfig
    from backoffice.extensions import db
    from backoffice.models import CertificateJob, Job
    from seed.demo import load_demo
    from tests.conftest import org, sign_in
    from tests.test_certificates import PASSED, make_passed_persons

    tmp = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    name = f"bench{uuid.uuid4().hex[:8]}"
    settings = dict(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.sqlite3'}", UPLOAD_DIR=str(tmp / "uploads"),
                    JOBS_IMMEDIATE=False, JOB_QUEUE_NAME=name, REDIS_URL=args.redis,
                    JOB_QUEUE_FILE=None if args.redis else str(tmp / "queue.sqlite3"))
    app = create_app(TestConfig, **settings)
    env = dict(os.environ, DATABASE_URL=settings["SQLALCHEMY_DATABASE_URI"], UPLOAD_DIR=settings["UPLOAD_DIR"],
               JOB_QUEUE_NAME=name, PYTHONPATH=str(ROOT), JOBS_IMMEDIATE="0")
    env.pop("REDIS_URL", None)
    env.pop("JOB_QUEUE_FILE", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
    else:
        env["JOB_QUEUE_FILE"] = settings["JOB_QUEUE_FILE"]
    worker = None
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        make_passed_persons(args.persons, org("郑州市金水区人民医院"), PASSED, prefix="测")
        browser = sign_in(app.test_client(), "unit")
        page = "/admin/certificates/jobs/"
        timings(browser, page, count=20)  # warm up
        idle = timings(browser, page, count=200)
        t = time.perf_counter()
        response = browser.post("/admin/certificates/print", {"year": str(PASSED), "name": "测", "all": "1"},
                                form_url="/admin/certificates/")
        submit_ms = (time.perf_counter() - t) * 1000
        assert response.status_code == 302
        submitted = time.monotonic()
        try:
            worker = subprocess.Popen([sys.executable, "-m", "backoffice", "worker", "--workers", "1"], cwd=ROOT,
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            busy = []
            while True:
                busy += timings(browser, page, count=20)
                db.session.remove()
                row = db.session.scalar(select(CertificateJob).order_by(CertificateJob.id.desc()))
                if row.status in ("done", "failed"):
                    break
                if time.monotonic() - submitted > 900:
                    raise SystemExit("the job did not finish in 15 minutes")
            done = time.monotonic()
            job = db.session.get(Job, row.job_id)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(30)
            if args.redis:
                import redis

                client = redis.Redis.from_url(args.redis)
                keys = list(client.scan_iter(match=f"huey.*{name}*"))
                if keys:
                    client.delete(*keys)
    print(f"queue: {'Redis' if args.redis else 'SQLite file'}; {args.persons} certificates; status {row.status}, "
          f"{row.pages} pages")
    print(f"page while idle:              {summary(idle)}")
    print(f"submit request:               {submit_ms:.0f} ms")
    print(f"page while the worker prints: {summary(busy)}")
    print(f"job in the worker:            {(job.finished_at - job.started_at).total_seconds():.1f} s "
          f"(submit → done {done - submitted:.1f} s, incl. worker start-up)")


if __name__ == "__main__":
    main()
