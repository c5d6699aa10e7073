"""Real servers for tests over HTTP: ``python run.py`` or gunicorn as subprocesses on free
ports, each with its own database and upload directory, and a small requests-based
browser that signs in through the login form like a person does."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Demo@2026"
_STARTED = re.compile(r"已启动：(http://[0-9.]+:\d+)/login")


def server_env(**extra):
    """The environment of a child server: no settings of the parent's services leak in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "STORAGE_URL", "UPLOAD_DIR", "SESSION_TYPE")}
    env.update({
        "PYTHONUNBUFFERED": "1",
        "CAPTCHA_ENABLED": "0",
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "SECRET_KEY": "live-test-secret",
    })
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose output goes to a file (read back on failure)."""

    def __init__(self, args, env, log_path, cwd=ROOT):
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def output(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        self._log.close()


def start_run_py(tmp, env, timeout=180):
    """``python run.py --port 0``; returns (process, base URL) once it printed its URL."""
    proc = Process([sys.executable, "run.py", "--port", "0", "--threads", "8"], env, Path(tmp) / "run_py.log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = _STARTED.search(proc.output())
        if match:
            return proc, match.group(1)
        if proc.proc.poll() is not None:
            break
        time.sleep(0.3)
    out = proc.output()
    proc.stop()
    raise AssertionError(f"run.py did not start:\n{out[-4000:]}")


def wait_ready(base, timeout=60, path="/healthz"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(base + path, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base}{path} never answered 200")


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Browser:
    """One person at one browser: a cookie jar, CSRF tokens read from the pages."""

    def __init__(self, base, timeout=60):
        self.base = base
        self.http = requests.Session()
        self.timeout = timeout

    def url(self, path):
        return path if path.startswith("http") else self.base + path

    def get(self, path, **kw):
        kw.setdefault("timeout", self.timeout)
        return self.http.get(self.url(path), **kw)

    def csrf(self, path):
        page = self.get(path).text
        match = CSRF.search(page)
        assert match, f"no csrf token on {path}"
        return match.group(1) or match.group(2)

    def post(self, path, data, form_path=None, **kw):
        data = dict(data)
        data.setdefault("csrf_token", self.csrf(form_path or path))
        kw.setdefault("timeout", self.timeout)
        return self.http.post(self.url(path), data=data, **kw)

    def login(self, role_type, id_number, org_code="", password=PASSWORD):
        r = self.post("/login", {"role_type": role_type, "org_code": org_code, "id_number": id_number,
                                 "password": password, "captcha": ""}, allow_redirects=False)
        return r


def demo_logins(sqlite_path=None, engine=None):
    """{key: (role_type, id_number, org_code)} of the demo accounts, read from the database."""
    sql = """
        SELECT a.email, a.id_number, m.role, o.code, o.kind
        FROM membership m JOIN account a ON a.id = m.account_id LEFT JOIN org o ON o.id = m.org_id
        WHERE m.status = 'active'"""
    if engine is not None:
        from sqlalchemy import text

        with engine.connect() as conn:
            rows = conn.execute(text(sql)).all()
    else:
        import sqlite3

        with sqlite3.connect(sqlite_path) as conn:
            rows = conn.execute(sql).fetchall()
    types = {"unit_admin": "unit", "industry_admin": "industry", "institution_admin": "institution",
             "sysadmin": "sysadmin", "person": "person"}
    out = {}
    for email, id_number, role, code, kind in rows:
        key = email.split("@")[0]
        if role == "hrss_admin":
            login_type = "province" if kind == "province_hrss" else "hrss"
        else:
            login_type = types[role]
        if role == "person":
            out.setdefault(f"person:{key}", ("person", id_number, ""))
        else:
            out[key] = (login_type, id_number, code if login_type not in ("province", "sysadmin") else "")
    return out
