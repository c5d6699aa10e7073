"""Load run: simulated reviewers listing their queues and approving, against gunicorn on
PostgreSQL, for a bounded time. Prints requests/s, p50/p95/p99 per request kind and the
error count.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/load_bench.py --users 50 --seconds 60

It builds a database ``bench_load`` (dropped afterwards unless ``--keep``) with the
review benchmark's generator (the Henan tree, ~60,000 units, hot review queues at the
unit, the 金水区 county, the 郑州 city and the province), starts
``gunicorn -c gunicorn.conf.py 'backoffice:create_app()'`` on a free port, and runs
``--users`` reviewers as threads of this process, spread over the five benchmark
reviewer accounts (each its own session). A reviewer's loop: open a queue page (one of
the first five), tick 1–5 of its rows, batch-approve them (the POST with its CSRF token
from the page). Each loop is one GET and one POST; redirects are not followed.

The clients run on the same machine as the server and the database: the figures are a
floor for what the server would do with the machine to itself.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import generate as gen  # noqa: E402

ROW_ID = re.compile(r'data-id="(\d+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def percentile(samples, q):
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reviewer_logins(engine):
    """(role_type, id_number, org_code) of the benchmark reviewers."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.email, a.id_number, m.role, o.code, o.kind FROM membership m "
            "JOIN account a ON a.id = m.account_id JOIN org o ON o.id = m.org_id "
            "WHERE a.email LIKE '%@bench.example.gov.cn'")).all()
    types = {"unit_admin": "unit", "industry_admin": "industry"}
    out = []
    for _, id_number, role, code, kind in rows:
        if role == "hrss_admin":
            out.append(("province", id_number, "") if kind == "province_hrss" else ("hrss", id_number, code))
        else:
            out.append((types[role], id_number, code))
    return out


class Reviewer(threading.Thread):
    def __init__(self, base, login, deadline, start_gate, seed):
        super().__init__(daemon=True)
        self.base, self.login, self.deadline, self.gate = base, login, deadline, start_gate
        self.http = requests.Session()
        self.rng = random.Random(seed)
        self.samples = defaultdict(list)
        self.errors = []
        self.ready = False

    def request(self, kind, method, path, **kw):
        t0 = time.perf_counter()
        try:
            r = self.http.request(method, self.base + path, timeout=60, allow_redirects=False, **kw)
        except requests.RequestException as exc:
            self.errors.append(f"{kind}: {type(exc).__name__}")
            return None
        self.samples[kind].append((time.perf_counter() - t0) * 1000)
        if r.status_code >= 400:
            self.errors.append(f"{kind}: HTTP {r.status_code}")
            return None
        return r

    def sign_in(self):
        page = self.http.get(self.base + "/login", timeout=60).text
        m = CSRF.search(page)
        role_type, id_number, code = self.login
        r = self.http.post(self.base + "/login", timeout=60, allow_redirects=False, data={
            "csrf_token": m.group(1) or m.group(2), "role_type": role_type, "org_code": code,
            "id_number": id_number, "password": gen.PASSWORD, "captcha": ""})
        if r.status_code != 302:
            raise RuntimeError(f"sign-in failed for {self.login}: HTTP {r.status_code}")

    def run(self):
        try:
            self.sign_in()
        except Exception as exc:
            self.errors.append(f"sign-in: {exc}")
            return
        self.ready = True
        self.gate.wait()
        while time.monotonic() < self.deadline:
            page = self.rng.randint(1, 5)
            r = self.request("queue", "GET", f"/admin/review/list?page={page}")
            if r is None:
                continue
            ids = ROW_ID.findall(r.text)
            m = CSRF.search(r.text)
            if not ids or m is None:
                continue
            chosen = self.rng.sample(ids, min(len(ids), self.rng.randint(1, 5)))
            self.request("approve", "POST", "/admin/review/batch",
                         data={"csrf_token": m.group(1) or m.group(2), "op": "approve", "rowid": chosen})


def run(args):
    url, drop = gen.database_url("postgres", name="bench_load")
    try:
        t0 = time.perf_counter()
        app = gen.prepare(url)
        with app.app_context():
            summary = gen.generate(args.decls, first=True)
            engine = gen.db.engine
            logins = reviewer_logins(engine)
            start_audit = gen.db.session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM audit_log"))
            gen.db.session.remove()
            engine.dispose()
        print(f"data: {summary['declarations']:,} declarations, built in {time.perf_counter() - t0:.0f} s", flush=True)

        port = free_port()
        env = dict(os.environ, DATABASE_URL=url, GUNICORN_BIND=f"127.0.0.1:{port}",
                   GUNICORN_WORKERS=str(args.workers), GUNICORN_THREADS=str(args.threads),
                   CAPTCHA_ENABLED="0", LOGIN_RATE_LIMIT="100000 per minute", ACCESS_LOG="0",
                   SECRET_KEY="load-bench-secret", UPLOAD_DIR=str(gen.OUT / "uploads"),
                   DB_POOL_SIZE=str(args.threads), DB_MAX_OVERFLOW="2", LOG_LEVEL="WARNING")
        prefix = f"bo-load-{os.getpid()}-{int(time.time())}"
        if args.redis_url:
            # Sessions, limits and the queue in Redis, as in production; keys of this run only.
            env.update(REDIS_URL=args.redis_url, JOB_QUEUE_NAME=prefix, SESSION_KEY_PREFIX=f"{prefix}:session:",
                       RATELIMIT_KEY_PREFIX=prefix)
        log_path = gen.OUT / "load_bench_gunicorn.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "backoffice:create_app()"], cwd=ROOT,
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                base = f"http://127.0.0.1:{port}"
                for _ in range(300):
                    try:
                        if requests.get(base + "/readyz", timeout=5).status_code == 200:
                            break
                    except requests.RequestException:
                        time.sleep(0.2)
                else:
                    raise RuntimeError(f"gunicorn did not become ready, see {log_path}")
                gate = threading.Barrier(args.users + 1)
                deadline = [0.0]
                users = [Reviewer(base, logins[i % len(logins)], 0, gate, i) for i in range(args.users)]
                for u in users:
                    u.start()
                # Everyone signs in first (scrypt is slow on purpose); the clock starts after.
                while sum(u.ready or bool(u.errors) for u in users) < args.users:
                    time.sleep(0.1)
                deadline[0] = time.monotonic() + args.seconds
                for u in users:
                    u.deadline = deadline[0]
                started = time.monotonic()
                gate.wait()
                for u in users:
                    u.join(args.seconds + 120)
                elapsed = time.monotonic() - started
            finally:
                server.terminate()
                server.wait(30)
        from sqlalchemy import create_engine

        engine = create_engine(url)
        with engine.connect() as conn:
            approved = conn.execute(text(
                "SELECT count(*) FROM audit_log WHERE id > :a AND action = 'approve'"), {"a": start_audit}).scalar()
        engine.dispose()
        report(args, users, elapsed, approved)
    finally:
        if not args.keep:
            drop()
        if args.redis_url and "prefix" in locals():
            import redis

            client = redis.Redis.from_url(args.redis_url)
            keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


def report(args, users, elapsed, approved):
    samples = defaultdict(list)
    for u in users:
        for kind, values in u.samples.items():
            samples[kind].extend(values)
    errors = [e for u in users for e in u.errors]
    total = sum(len(v) for v in samples.values())
    print(f"\n{args.users} reviewers, {args.seconds} s, gunicorn {args.workers} workers × {args.threads} threads, "
          f"PostgreSQL, {args.decls:,} background declarations, "
          f"{'Redis' if args.redis_url else 'database'} sessions")
    print(f"requests: {total:,} in {elapsed:.1f} s = {total / elapsed:.1f} requests/s; "
          f"records approved: {approved:,} ({approved / elapsed:.1f}/s); errors: {len(errors)}")
    every = [x for v in samples.values() for x in v]
    for kind, values in [("all", every)] + sorted(samples.items()):
        print(f"  {kind:<8} n={len(values):>6,}  p50 {percentile(values, 50):7.1f} ms  "
              f"p95 {percentile(values, 95):7.1f} ms  p99 {percentile(values, 99):7.1f} ms  "
              f"mean {statistics.fmean(values) if values else float('nan'):7.1f} ms")
    if errors:
        kinds = defaultdict(int)
        for e in errors:
            kinds[e] += 1
        print("  errors:", dict(kinds))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--decls", type=int, default=100_000, help="background declarations")
    parser.add_argument("--keep", action="store_true", help="keep the bench_load database")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="sessions, limits and queue in Redis (empty: in the database)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL=postgresql://… (the load run is for PostgreSQL)")
    run(args)


if __name__ == "__main__":
    main()
