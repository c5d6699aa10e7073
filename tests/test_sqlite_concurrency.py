"""The embedded default under concurrent reviewers: ``python run.py`` on its own SQLite
file, 16 threads over real HTTP for 20 s — professionals declaring and submitting, unit
admins approving and rejecting, the industry department and the county approving the next
levels — and not one error (no 500, no "database is locked"); every move the users were
told about is in the audit log exactly once.

``SQLITE_CONCURRENCY_SECONDS`` shortens or lengthens the run."""

import io
import os
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from datetime import date

import pytest

from .live import Browser, demo_logins, server_env, start_run_py

SECONDS = float(os.environ.get("SQLITE_CONCURRENCY_SECONDS", "20"))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
APPROVED = re.compile(r"已审核通过 (\d+) 条记录")
REJECTED = re.compile(r"已将 (\d+) 条记录审核不通过")
ROW_ID = re.compile(r'data-id="(\d+)"')


class Worker(threading.Thread):
    def __init__(self, base, login, kind, deadline, declare_form=None):
        super().__init__(daemon=True)
        self.browser = Browser(base)
        self.login, self.kind, self.deadline = login, kind, deadline
        self.declare_form = declare_form
        self.moves = Counter()
        self.errors = []
        self.requests = 0

    def check(self, response, what):
        self.requests += 1
        if response.status_code >= 500:
            self.errors.append(f"{what}: HTTP {response.status_code}")
            return False
        return True

    def run(self):
        try:
            r = self.browser.login(*self.login)
            if r.status_code != 302:
                self.errors.append(f"login {self.login}: HTTP {r.status_code}")
                return
            rng = random.Random(hash(self.login) ^ id(self))
            while time.monotonic() < self.deadline:
                getattr(self, f"step_{self.kind}")(rng)
        except Exception as exc:  # a dropped connection is an error too
            self.errors.append(f"{self.kind}: {type(exc).__name__}: {exc}")

    def step_declare(self, rng):
        b = self.browser
        data = dict(self.declare_form, csrf_token=b.csrf("/admin/my/declare/"), action="submit")
        r = b.http.post(b.url("/admin/my/declare/"), data=data, timeout=b.timeout,
                        files={"attachment": ("scan.png", io.BytesIO(PNG), "image/png")})
        if self.check(r, "declare"):
            if "已提交审核" in r.text:
                self.moves["submit"] += 1
            else:
                self.errors.append(f"declare refused: {re.findall(r'invalid-feedback[^>]*>([^<]+)', r.text)[:3]}")

    def _pick(self, rng):
        r = self.browser.get("/admin/review/list?year=all")
        if not self.check(r, "queue"):
            return []
        ids = sorted(set(ROW_ID.findall(r.text)))
        return rng.sample(ids, min(len(ids), rng.randint(1, 3)))

    def step_approve(self, rng):
        ids = self._pick(rng)
        if not ids:
            time.sleep(0.05)
            return
        r = self.browser.post("/admin/review/batch", {"op": "approve", "rowid": ids},
                              form_path="/admin/review/list?year=all")
        if self.check(r, "approve"):
            match = APPROVED.search(r.text)
            if match is None:
                self.errors.append("approve: no confirmation on the page")
            else:
                self.moves["approve"] += int(match.group(1))

    def step_reject(self, rng):
        ids = self._pick(rng)[:1]
        if not ids:
            time.sleep(0.05)
            return
        r = self.browser.post("/admin/review/batch", {"op": "reject_confirmed", "rowid": ids,
                                                      "reason": "培训证明不清晰，请补充"},
                              form_path="/admin/review/list?year=all")
        if self.check(r, "reject"):
            match = REJECTED.search(r.text)
            if match is None:
                self.errors.append("reject: no confirmation on the page")
            else:
                self.moves["reject"] += int(match.group(1))


def _declare_form(db_path):
    with sqlite3.connect(db_path) as conn:
        form_id = conn.execute("SELECT id FROM learning_form WHERE code = 'conference'").fetchone()[0]
        subject_id = conn.execute("SELECT id FROM subject WHERE kind = 'professional' AND year = ? ORDER BY id",
                                  (date.today().year,)).fetchone()[0]
    return {
        "subject_kind": "professional", "form_id": str(form_id), "year": str(date.today().year),
        "subject_id": str(subject_id), "fields-conference-level": "provincial", "fields-conference-days": "1",
        "fields-conference-paper": "0", "claimed_hours": "4", "remarks": "并发测试：学术会议",
        "content": "并发测试：学术会议", "organiser": "河南省医学会",
        "start_date": f"{date.today().year}-03-01", "end_date": f"{date.today().year}-03-01", "result": "合格",
    }


def _audited(db_path, after_id):
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT action, COUNT(*) FROM audit_log WHERE id > ? AND object_type = 'declaration' "
            "AND action IN ('submit', 'approve', 'reject') GROUP BY action", (after_id,)).fetchall()
        duplicates = conn.execute(
            "SELECT COUNT(*) FROM (SELECT object_id, action, before, after FROM audit_log WHERE id > ? "
            "AND object_type = 'declaration' GROUP BY object_id, action, before, after HAVING COUNT(*) > 1)",
            (after_id,)).fetchone()[0]
    return Counter(dict(rows)), duplicates


@pytest.mark.real_commits
@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="the embedded SQLite start; runs in the SQLite suite")
def test_sixteen_reviewers_and_declarers_on_embedded_sqlite(tmp_path):
    db_path = tmp_path / "embedded.sqlite3"
    env = server_env(DATABASE_URL=f"sqlite:///{db_path}", UPLOAD_DIR=tmp_path / "uploads", ACCESS_LOG="0")
    server, base = start_run_py(tmp_path, env)
    try:
        logins = demo_logins(db_path)
        with sqlite3.connect(db_path) as conn:
            start_audit = conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetchone()[0]
        form = _declare_form(db_path)
        deadline = time.monotonic() + SECONDS
        plan = (
            [(logins[f"person:person{i}"], "declare") for i in (1, 2, 3, 9)]  # 金水区人民医院 staff
            + [(logins["unit"], "approve")] * 4 + [(logins["unit"], "reject")] * 2
            + [(logins["industry"], "approve")] * 3 + [(logins["county"], "approve")] * 3
        )
        assert len(plan) == 16
        workers = [Worker(base, login, kind, deadline, form) for login, kind in plan]
        for w in workers:
            w.start()
        for w in workers:
            w.join(SECONDS + 120)
        assert not any(w.is_alive() for w in workers), "a worker hung"
    finally:
        server.stop()
    log = server.output()
    errors = [e for w in workers for e in w.errors]
    # The server's log first: a traceback there says why a request failed.
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]
    assert errors == [], errors[:10]

    moves = sum((w.moves for w in workers), Counter())
    audited, duplicates = _audited(db_path, start_audit)
    requests_made = sum(w.requests for w in workers)
    print(f"\n{requests_made} requests in {SECONDS:.0f} s; moves {dict(moves)}; audited {dict(audited)}")
    # Real work happened at every level, and each move the users saw is audited once.
    assert moves["submit"] > 0 and moves["approve"] > 0 and moves["reject"] > 0, moves
    assert audited == moves
    assert duplicates == 0
