"""Start-up roles on PostgreSQL: two ``flask db upgrade`` at once on an empty database
both succeed (an advisory lock serialises them); two ``python run.py`` at once on an
empty database both come up and the demo data is loaded once; an app process
(``create_app``) neither migrates nor seeds."""

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from backoffice import create_app
from backoffice.config import normalise_database_url

from .live import ROOT, server_env, start_run_py

BASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = [
    pytest.mark.real_commits,
    pytest.mark.skipif(not BASE_URL.startswith("postgres"), reason="PostgreSQL only"),
]


@pytest.fixture
def empty_database():
    """A new empty PostgreSQL database beside DATABASE_URL; dropped afterwards."""
    base = normalise_database_url(BASE_URL)
    name = f"bo_s{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    head, _, tail = BASE_URL.rpartition("/")
    query = tail.partition("?")[2]
    url = f"{head}/{name}" + (f"?{query}" if query else "")
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_two_upgrades_at_once_on_an_empty_database_both_succeed(empty_database, tmp_path):
    env = server_env(DATABASE_URL=empty_database, UPLOAD_DIR=tmp_path / "uploads")
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "backoffice", "db", "upgrade"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n----\n".join(o[-2000:] for o in outputs)
    # One of them ran the migrations, the other found the schema at head.
    assert sum("Running upgrade  -> 0001" in o for o in outputs) == 1
    engine = create_engine(normalise_database_url(empty_database))
    with engine.connect() as conn:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert len(heads) == 1


def test_two_run_py_at_once_on_an_empty_database_seed_once(empty_database, tmp_path):
    env = server_env(DATABASE_URL=empty_database, UPLOAD_DIR=tmp_path / "uploads", ACCESS_LOG="0")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    servers = []
    try:
        import threading

        results = {}

        def start(key):
            try:
                results[key] = start_run_py(tmp_path / key, env, timeout=400)
            except AssertionError as exc:
                results[key] = exc

        threads = [threading.Thread(target=start, args=(k,)) for k in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        servers = [r[0] for r in results.values() if isinstance(r, tuple)]
        assert len(servers) == 2, [str(r)[:3000] for r in results.values() if not isinstance(r, tuple)]
        import requests

        for _, base in results.values():
            assert requests.get(base + "/readyz", timeout=30).status_code == 200
    finally:
        for server in servers:
            server.stop()
    engine = create_engine(normalise_database_url(empty_database))
    with engine.connect() as conn:
        provinces = conn.execute(text("SELECT count(*) FROM org WHERE kind = 'province_hrss'")).scalar()
        accounts = conn.execute(text("SELECT count(*) FROM account WHERE email = 'sysadmin@example.gov.cn'")).scalar()
    engine.dispose()
    assert (provinces, accounts) == (1, 1)


def test_an_app_process_never_migrates_or_seeds(empty_database, tmp_path):
    app = create_app(SQLALCHEMY_DATABASE_URI=normalise_database_url(empty_database),
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 200  # it answers, on an empty database
    with app.app_context():
        from backoffice.extensions import db

        tables = inspect(db.engine).get_table_names()
        db.engine.dispose()
    assert tables == []
