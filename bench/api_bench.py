"""Institutions' API benchmark: a learning platform posts 10,000 trainee results of
registered persons in 10 batches of 1,000, then declares the class, over real HTTP
(waitress on a free port, the ``requests`` client) against a fresh SQLite database
with the demo data (or PostgreSQL with ``DATABASE_URL``; a throw-away database).

    python bench/api_bench.py                      # SQLite file under bench/out/, removed after
    python bench/api_bench.py --persons 10000 --batch 1000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/api_bench.py

Prints the time of every batch, their median, the declaration and the total.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from backoffice.extensions import db  # noqa: E402
from backoffice.models import Account, Declaration, Membership, Org, Person, TraineeScore  # noqa: E402
from backoffice.validators import make_id_number  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def database(kind_url):
    """(url, cleanup) of a fresh database."""
    from backoffice.config import normalise_database_url

    if kind_url and kind_url.startswith("postgres"):
        base = normalise_database_url(kind_url)
        name = f"bench_api_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.rpartition("/")[0] + "/" + name

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        return url, drop
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"api_bench_{uuid.uuid4().hex[:8]}.sqlite3"

    def remove():
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(f"{path}{suffix}")
            except OSError:
                pass

    return f"sqlite:///{path}", remove


def make_persons(hospital, n):
    """``n`` registered, active professionals of ``hospital`` with valid ID numbers."""
    acc = Account(id_number="x", name="x")
    acc.set_password("Bench@2026")
    pw = acc.password_hash
    rows = []
    for i in range(n):
        birth = date(1970 + i % 30, 1 + i % 12, 1 + i % 28)
        rows.append((make_id_number("410105", birth, 500 + i // 360), f"学员{i:05d}"))
    seen, unique = set(), []
    for id_number, name in rows:
        if id_number not in seen:
            seen.add(id_number)
            unique.append((id_number, name))
    account_ids = db.session.scalars(insert(Account).returning(Account.id, sort_by_parameter_order=True), [
        {"id_number": i, "name": nm, "password_hash": pw, "must_change_password": False, "created_at": _now()}
        for i, nm in unique]).all()
    membership_ids = db.session.scalars(insert(Membership).returning(Membership.id, sort_by_parameter_order=True), [
        {"account_id": a, "role": "person", "org_id": hospital.id, "is_super": False, "status": "active",
         "created_at": _now()} for a in account_ids]).all()
    db.session.execute(insert(Person), [
        {"membership_id": m, "account_id": a, "id_number": i, "name": nm, "unit_id": hospital.id,
         "county_id": hospital.county_id, "city_id": hospital.city_id, "competent_dept_id": hospital.competent_dept_id,
         "title_level": "intermediate", "created_at": _now()}
        for (i, nm), a, m in zip(unique, account_ids, membership_ids, strict=True)])
    db.session.commit()
    return unique


def _now():
    from backoffice.models import now

    return now()


def approved_plan(institution_admin):
    from backoffice import training
    from backoffice.models import LearningForm, Subject

    year = date.today().year
    subject = db.session.scalar(select(Subject).where(Subject.kind == "public", Subject.enabled.is_(True))
                                .order_by(Subject.year.desc()))
    form = db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))
    plan = training.create_plan(institution_admin.org, training.PlanData(
        name="在线学习平台公需课", subject_kind="public", subject_id=subject.id, training_year=year, ce_year=year,
        form_id=form.id, planned_trainees=20000, hours=Decimal("12"), start_date=date(year, 1, 1),
        end_date=date(year, 12, 31)), institution_admin)
    training.submit_plan(plan, institution_admin)
    reviewer = db.session.scalar(select(Membership).where(Membership.org_id == plan.current_org_id,
                                                          Membership.status == "active"))
    training.approve_plan(plan, reviewer)
    db.session.commit()
    return plan


def serve(app):
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.effective_port}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()

    import requests
    from flask_migrate import upgrade

    from backoffice import create_app
    from backoffice.api import keys
    from backoffice.config import TestConfig
    from seed.demo import load_demo

    url, cleanup = database(os.environ.get("DATABASE_URL"))
    try:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(OUT / "uploads"),
                         API_RATE_LIMIT="100000 per minute")
        with app.app_context():
            t = time.perf_counter()
            upgrade()
            load_demo()
            db.session.commit()
            admin = db.session.scalar(select(Membership).join(Org, Org.id == Membership.org_id).where(
                Membership.role == "institution_admin", Membership.is_super.is_(True), Org.kind == "institution"))
            hospital = db.session.scalar(select(Org).where(Org.name == "郑州市金水区人民医院"))
            people = make_persons(hospital, args.persons)
            plan = approved_plan(admin)
            _, token = keys.create_key(admin, "基准测试平台")
            db.session.commit()
            print(f"setup: {len(people):,} registered persons, approved plan {plan.id} "
                  f"({time.perf_counter() - t:.1f} s, not measured)")
            plan_id = plan.id
            engine_name = db.engine.dialect.name

        server, base = serve(app)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        year = date.today().year
        started = time.perf_counter()
        response = http.post(f"{base}/api/v1/classes", json={
            "plan_id": plan_id, "name": "公需课 2026 第一期（平台）", "hours": 12, "start_date": f"{year}-01-01",
            "end_date": f"{year}-12-31", "planned_trainees": 20000})
        response.raise_for_status()
        class_id = response.json()["id"]
        batch_times, accepted = [], 0
        for start in range(0, len(people), args.batch):
            chunk = people[start:start + args.batch]
            body = {"results": [{"idempotency_key": f"rec-{start + i}", "id_number": id_number, "name": name,
                                 "score": 60 + (start + i) % 41, "completed_at": f"{year}-06-01T10:00:00+08:00"}
                                for i, (id_number, name) in enumerate(chunk)]}
            t = time.perf_counter()
            response = http.post(f"{base}/api/v1/classes/{class_id}/scores", json=body)
            batch_times.append(time.perf_counter() - t)
            response.raise_for_status()
            accepted += response.json()["accepted"]
        t = time.perf_counter()
        response = http.post(f"{base}/api/v1/classes/{class_id}/declaration", json={})
        declare_time = time.perf_counter() - t
        response.raise_for_status()
        total = time.perf_counter() - started
        declared = response.json()["declarations"]
        # A replay of the first batch creates nothing.
        t = time.perf_counter()
        server.close()

        with app.app_context():
            scores = db.session.scalar(select(func.count()).select_from(TraineeScore)
                                       .where(TraineeScore.class_id == class_id))
            decls = db.session.scalar(select(func.count()).select_from(Declaration)
                                      .where(Declaration.status == "pending", Declaration.declarer_org_id.isnot(None)))
            db.session.remove()
            db.engine.dispose()
        print(f"database: {engine_name}; {len(batch_times)} batches of {args.batch:,}: "
              f"{', '.join(f'{b:.2f}' for b in batch_times)} s")
        print(f"batch median {statistics.median(batch_times):.2f} s, sum {sum(batch_times):.2f} s; "
              f"accepted {accepted:,}, rows {scores:,}")
        print(f"declaration of {declared:,} trainees: {declare_time:.2f} s ({decls:,} pending declarations)")
        print(f"total over HTTP (class + {len(batch_times)} batches + declaration): {total:.2f} s")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
