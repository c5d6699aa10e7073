"""The production shape on one machine: two gunicorn app processes (A and B) on two free
ports, one ``python -m backoffice worker``, one PostgreSQL database, one Redis, one
shared storage directory.

* two ``flask db upgrade`` at once on the empty database both exit 0;
* ``/readyz`` answers on both;
* signed in on A, the session continues on B; a logout on A ends it on B too (the old
  cookie replayed on B is signed out);
* failed logins spread over A and B are throttled as one limit;
* an attachment uploaded through A downloads through B;
* a 300-certificate print job started on A is done by the worker, survives the worker
  being killed mid-job and restarted, and downloads through B.

Skipped unless ``CLUSTER_TEST=1`` and ``DATABASE_URL`` is PostgreSQL; Redis from
``CLUSTER_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). Everything this test puts
in Redis carries a per-run prefix and is deleted at the end.
"""

import hashlib
import io
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import date

import pytest
import requests
from sqlalchemy import create_engine, text

from backoffice.config import normalise_database_url

from .live import ROOT, Browser, Process, demo_logins, free_port, server_env, wait_ready

BASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 5  # failed sign-ins of one account before it waits (LOGIN_FAILURE_LIMIT)
LOCKED = "密码错误次数过多"
pytestmark = [
    pytest.mark.real_commits,
    pytest.mark.skipif(os.environ.get("CLUSTER_TEST") != "1", reason="CLUSTER_TEST=1 runs the cluster test"),
    pytest.mark.skipif(not BASE_URL.startswith("postgres"), reason="the cluster runs on PostgreSQL"),
]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300


class Cluster:
    def __init__(self, tmp, url, prefix):
        self.tmp, self.url, self.prefix = tmp, url, prefix
        self.engine = create_engine(normalise_database_url(url))
        files = tmp / "shared-files"
        files.mkdir()
        self.env = server_env(
            DATABASE_URL=url, REDIS_URL=REDIS_URL, STORAGE_URL=f"file://{files}", UPLOAD_DIR=files,
            JOB_QUEUE_NAME=prefix, RATELIMIT_KEY_PREFIX=prefix, SESSION_KEY_PREFIX=f"{prefix}:session:",
            LOGIN_FAILURE_LIMIT=f"{LIMIT} per 15 minutes", LOGIN_IP_FAILURE_LIMIT="1000 per 15 minutes",
            LOGIN_RATE_LIMIT="1000 per minute", CERTIFICATE_JOB_THRESHOLD="50",
            JOB_HEARTBEAT_SECONDS="1", JOB_STALE_SECONDS="6", GUNICORN_WORKERS="1", GUNICORN_THREADS="4",
            GUNICORN_TIMEOUT="120", LOG_LEVEL="INFO",
        )
        self.apps, self.worker = {}, None

    def start_app(self, name):
        port = free_port()
        env = dict(self.env, GUNICORN_BIND=f"127.0.0.1:{port}")
        self.apps[name] = (Process([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                    "backoffice:create_app()"], env, self.tmp / f"gunicorn-{name}.log"),
                           f"http://127.0.0.1:{port}")
        wait_ready(self.apps[name][1], timeout=120)
        return self.apps[name][1]

    def start_worker(self, n):
        self.worker = Process([sys.executable, "-m", "backoffice", "worker", "--workers", "2"], self.env,
                              self.tmp / f"worker-{n}.log")

    def stop(self):
        for proc, _ in self.apps.values():
            proc.stop()
        if self.worker is not None:
            self.worker.stop()
        self.engine.dispose()

    def logs(self):
        out = []
        for name, (proc, _) in self.apps.items():
            out.append(f"--- {name}\n{proc.output()[-3000:]}")
        if self.worker is not None:
            out.append(f"--- worker\n{self.worker.output()[-3000:]}")
        return "\n".join(out)


def _upgrade_twice_at_once(env):
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "backoffice", "db", "upgrade"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    return [p.returncode for p in procs], outputs


def _seed(env):
    script = ("import run\nfrom backoffice import create_app\n"
              "run.prepare_database(create_app(), demo=True)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]


def _passed_persons(url, n):
    """``n`` professionals of the demo hospital who met last year's standard."""
    from backoffice import create_app
    from backoffice.config import TestConfig
    from backoffice.extensions import db
    from backoffice.models import Org

    from .test_certificates import PASSED, make_passed_persons

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=normalise_database_url(url), LOG_CONFIGURE=False,
                     JOBS_IMMEDIATE=True)
    with app.app_context():
        hospital = db.session.scalar(db.select(Org).where(Org.name == "郑州市金水区人民医院"))
        make_passed_persons(n, hospital, PASSED, prefix="集群")
        db.session.remove()
        db.engine.dispose()
    return PASSED


def _redis_cleanup(prefix):
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [k for pattern in (f"*{prefix}*",) for k in client.scan_iter(match=pattern, count=1000)]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    prefix = f"bo-cluster-{uuid.uuid4().hex[:10]}"
    base = normalise_database_url(BASE_URL)
    name = f"bo_c{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    head, _, tail = BASE_URL.rpartition("/")
    query = tail.partition("?")[2]
    url = f"{head}/{name}" + (f"?{query}" if query else "")
    c = Cluster(tmp, url, prefix)
    try:
        c.upgrade_codes, c.upgrade_outputs = _upgrade_twice_at_once(c.env)
        if c.upgrade_codes == [0, 0]:
            _seed(c.env)
            c.logins = demo_logins(engine=c.engine)
            c.start_app("A")
            c.start_app("B")
            c.start_worker(1)
        yield c
    finally:
        c.stop()
        _redis_cleanup(prefix)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def url_of(cluster, name):
    return cluster.apps[name][1]


# --------------------------------------------------------------------------- the checks
def test_two_upgrades_at_once_on_the_empty_database_both_exit_0(cluster):
    assert cluster.upgrade_codes == [0, 0], "\n----\n".join(o[-2000:] for o in cluster.upgrade_outputs)


def test_readyz_on_both_app_processes(cluster):
    for name in ("A", "B"):
        r = requests.get(url_of(cluster, name) + "/readyz", timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["checks"]["redis"] == "ok" and r.json()["checks"]["storage"] == "ok"


def test_signed_in_on_a_continues_on_b_and_logout_on_a_ends_it_on_b(cluster):
    a = Browser(url_of(cluster, "A"))
    assert a.login(*cluster.logins["county"]).status_code == 302
    b = Browser(url_of(cluster, "B"))
    b.http.cookies.update(a.http.cookies)
    page = b.get("/admin/review/list", allow_redirects=False)
    assert page.status_code == 200, cluster.logs()
    stolen = requests.utils.dict_from_cookiejar(a.http.cookies)

    r = a.post("/logout", {}, form_path="/admin/", allow_redirects=False)
    assert r.status_code == 302
    replay = Browser(url_of(cluster, "B"))
    replay.http.cookies.update(stolen)  # the cookie as it was before the logout
    after = replay.get("/admin/review/list", allow_redirects=False)
    assert after.status_code == 302 and "/login" in after.headers["Location"], \
        "the session still opens pages on B after a logout on A (sessions must be server-side)"


def test_an_attachment_uploaded_through_a_downloads_through_b(cluster):
    with cluster.engine.connect() as conn:
        form_id = conn.execute(text("SELECT id FROM learning_form WHERE code = 'conference'")).scalar()
        subject_id = conn.execute(text("SELECT id FROM subject WHERE kind = 'professional' AND year = :y "
                                       "ORDER BY id"), {"y": date.today().year}).scalar()
    payload = PNG + uuid.uuid4().bytes
    a = Browser(url_of(cluster, "A"))
    assert a.login(*cluster.logins["person:person1"]).status_code == 302
    data = {"subject_kind": "professional", "form_id": str(form_id), "year": str(date.today().year),
            "subject_id": str(subject_id), "fields-conference-level": "provincial", "fields-conference-days": "1",
            "fields-conference-paper": "0", "claimed_hours": "4", "remarks": "集群测试", "action": "save",
            "content": "集群测试：学术会议", "organiser": "河南省医学会", "result": "合格",
            "start_date": f"{date.today().year}-03-01", "end_date": f"{date.today().year}-03-01",
            "csrf_token": a.csrf("/admin/my/declare/")}
    r = a.http.post(a.url("/admin/my/declare/"), data=data, timeout=60,
                    files={"attachment": ("scan.png", io.BytesIO(payload), "image/png")})
    match = re.search(r"/admin/my/records/(\d+)", r.url)
    assert match, r.text[-2000:]
    b = Browser(url_of(cluster, "B"))
    assert b.login(*cluster.logins["person:person1"]).status_code == 302
    got = b.get(f"/declarations/{match.group(1)}/attachment")
    assert got.status_code == 200 and hashlib.sha256(got.content).digest() == hashlib.sha256(payload).digest()
    # …and the admin of another unit gets nothing, on either process.
    other = Browser(url_of(cluster, "B"))
    assert other.login(*cluster.logins["unit2"]).status_code == 302
    assert other.get(f"/declarations/{match.group(1)}/attachment").status_code == 404


def test_a_300_certificate_job_survives_a_killed_worker_and_downloads_through_b(cluster):
    year = _passed_persons(cluster.url, 300)
    a = Browser(url_of(cluster, "A"))
    assert a.login(*cluster.logins["unit"]).status_code == 302
    r = a.post("/admin/certificates/print", {"year": str(year), "name": "集群", "all": "1"},
               form_path=f"/admin/certificates/?year={year}&name=集群", allow_redirects=False)
    assert r.status_code == 302, r.text[-2000:]
    job_path = requests.utils.urlparse(r.headers["Location"]).path

    def job_row():
        with cluster.engine.connect() as conn:
            return conn.execute(text("SELECT status, done, total FROM certificate_job ORDER BY id DESC LIMIT 1")
                                ).one()

    # Kill the worker once it has done part of the job.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status, done, total = job_row()
        if status == "running" and done and done < (total or 300):
            break
        assert status not in ("done", "failed"), f"the job ended before the kill: {status}"
        time.sleep(0.2)
    else:
        raise AssertionError(f"the worker never started the job\n{cluster.logs()}")
    import signal

    cluster.worker.stop(sig=signal.SIGKILL)
    killed_at = job_row()
    cluster.start_worker(2)

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status, done, total = job_row()
        if status in ("done", "failed"):
            break
        time.sleep(1)
    assert status == "done", f"{status} {done}/{total} (killed at {killed_at})\n{cluster.logs()}"

    b = Browser(url_of(cluster, "B"))
    assert b.login(*cluster.logins["unit"]).status_code == 302
    page = b.get(job_path).text
    assert 'data-status="done"' in page
    pdf = b.get(job_path + "/download")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 300
    # Each person got one certificate, however many times the job ran.
    with cluster.engine.connect() as conn:
        per_person = conn.execute(text(
            "SELECT count(*) FROM certificate c JOIN person p ON p.id = c.person_id "
            "WHERE p.name LIKE '集群%' GROUP BY c.person_id HAVING count(*) > 1")).all()
    assert per_person == []
    # The other unit's admin cannot fetch it through either process.
    other = Browser(url_of(cluster, "A"))
    assert other.login(*cluster.logins["unit2"]).status_code == 302
    assert other.get(job_path + "/download").status_code == 404


def test_failed_logins_over_a_and_b_are_throttled_as_one(cluster):
    """Wrong passwords for one account, alternately on A and B: the account waits after
    LIMIT failures in all, not LIMIT on each process."""
    role_type, id_number, code = cluster.logins["unit2"]
    refused_at = None
    for i in range(2 * LIMIT + 2):
        browser = Browser(url_of(cluster, "AB"[i % 2]))
        r = browser.login(role_type, id_number, code, password="Wrong@2026")
        assert r.status_code in (200, 429), r.status_code
        if r.status_code == 429 or LOCKED in r.text:
            refused_at = i
            break
    assert refused_at is not None, "never throttled"
    assert refused_at == LIMIT, f"refused at attempt {refused_at + 1}: the limit is per process"
    # …and the right password waits too, on either process.
    r = Browser(url_of(cluster, "B")).login(role_type, id_number, code)
    assert r.status_code != 302
