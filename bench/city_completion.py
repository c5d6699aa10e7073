"""Benchmark: ``standards.city_completion`` over a province of synthetic persons.

    python bench/city_completion.py [--persons 3000000] [--runs 5] [--keep | --url URL]

Uses ``DATABASE_URL`` (PostgreSQL: a throw-away database is created beside it and
dropped afterwards) or a temporary SQLite file. Fills the reference data, one unit
per city, N persons (accounts, memberships) spread over the cities (Zhengzhou gets a
quarter), two approved declarations per person for the benchmark year and one for
the year before, then prints the median time of ``city_completion`` for Zhengzhou
and for a small city, and the query plan on PostgreSQL.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from backoffice import create_app  # noqa: E402
from backoffice.config import TestConfig, normalise_database_url  # noqa: E402
from backoffice.extensions import db  # noqa: E402

YEAR = 2024


def scratch_database():
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgres"):
        base = normalise_database_url(url)
        name = f"bo_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        head, _, tail = base.rpartition("/")
        query = tail.partition("?")[2]

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        return f"{head}/{name}" + (f"?{query}" if query else ""), drop
    path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def series(n, dialect):
    if dialect == "postgresql":
        return f"(SELECT generate_series(1, {n}) AS i) s"
    return f"(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) SELECT i FROM c) s"


def fill(n):
    from backoffice.models import LearningForm, Org
    from backoffice.tree import attach
    from seed.demo import load_reference

    load_reference()
    cities = db.session.scalars(select(Org).where(Org.kind == "city_hrss").order_by(Org.code)).all()
    db.session.execute(text("CREATE TABLE bench_unit (k INTEGER PRIMARY KEY, unit_id INTEGER, city_id INTEGER)"))
    # Zhengzhou (first by code) takes slots 0..5 of 24: a quarter of the persons.
    slots = [cities[0]] * 6 + cities[1:]
    for k, city in enumerate(slots):
        unit = attach(Org(kind="unit", name=f"基准单位{k}", code=f"B{k:06d}"), city)
        db.session.flush()
        db.session.execute(text("INSERT INTO bench_unit VALUES (:k, :u, :c)"), {"k": k, "u": unit.id, "c": city.id})
    form_id = db.session.scalar(select(LearningForm.id).where(LearningForm.code == "training_class"))
    db.session.commit()
    dialect = db.engine.dialect.name
    m = len(slots)
    now = "CURRENT_TIMESTAMP"
    false = "false" if dialect == "postgresql" else "0"
    statements = [
        f"INSERT INTO account (id, id_number, name, password_hash, must_change_password, created_at) "
        f"SELECT i, 'B' || i, '基准' || i, 'x', {false}, {now} FROM {series(n, dialect)}",
        f"INSERT INTO membership (id, account_id, role, org_id, is_super, status, created_at) "
        f"SELECT i, i, 'person', b.unit_id, {false}, CASE WHEN i % 50 = 0 THEN 'pending' ELSE 'active' END, {now} "
        f"FROM {series(n, dialect)} JOIN bench_unit b ON b.k = i % {m}",
        f"INSERT INTO person (id, membership_id, account_id, id_number, name, unit_id, city_id, title_level, created_at) "
        f"SELECT i, i, i, 'B' || i, '基准' || i, b.unit_id, b.city_id, "
        f"CASE i % 4 WHEN 0 THEN 'junior' WHEN 1 THEN 'intermediate' WHEN 2 THEN 'senior' ELSE NULL END, {now} "
        f"FROM {series(n, dialect)} JOIN bench_unit b ON b.k = i % {m}",
    ]
    for year, kind, hours_expr in (
        (YEAR, "public", "CASE WHEN i % 5 = 0 THEN 20 ELSE 30 END"),
        (YEAR, "professional", "CASE WHEN i % 3 = 0 THEN 40 ELSE 60 END"),
        (YEAR - 1, "professional", "60"),
    ):
        statements.append(
            "INSERT INTO declaration (person_id, unit_id, city_id, year, subject_kind, form_id, fields, "
            "claimed_hours, source, status, version, created_at) "
            f"SELECT i, b.unit_id, b.city_id, {year}, '{kind}', {form_id}, '{{}}', {hours_expr}, 'self', "
            f"CASE WHEN i % 17 = 0 THEN 'pending' ELSE 'approved' END, 1, {now} "
            f"FROM {series(n, dialect)} JOIN bench_unit b ON b.k = i % {m}"
        )
    for sql in statements:
        started = time.perf_counter()
        db.session.execute(text(sql))
        db.session.commit()
        print(f"  {sql[:60]}… {time.perf_counter() - started:.1f} s", flush=True)
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return cities[0], cities[-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the filled database and print its URL")
    parser.add_argument("--url", help="reuse a database filled by an earlier --keep run")
    args = parser.parse_args()
    if args.url:
        url, drop = args.url, (lambda: None)
    else:
        url, drop = scratch_database()
    if args.keep:
        print(f"database kept: {url}")
        drop = lambda: None  # noqa: E731
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            if args.url:
                from backoffice.models import Org

                cities = db.session.scalars(select(Org).where(Org.kind == "city_hrss").order_by(Org.code)).all()
                big, small = cities[0], cities[-1]
            else:
                upgrade()
                print(f"filling {args.persons:,} persons on {db.engine.dialect.name}…", flush=True)
                big, small = fill(args.persons)
            from backoffice import standards

            for city in (big, small):
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    result = standards.city_completion(city.id, YEAR)
                    times.append(time.perf_counter() - started)
                print(f"{city.name}: {result.persons:,} persons, {result.passed:,} passed, "
                      f"{result.not_passed:,} not passed — median {statistics.median(times) * 1000:.0f} ms "
                      f"(min {min(times) * 1000:.0f} ms, {args.runs} runs)")
            if db.engine.dialect.name == "postgresql":
                from sqlalchemy.dialects import postgresql

                from backoffice.standards import _city_completion_select

                stmt = _city_completion_select(big.id, YEAR)
                sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
                for (line,) in db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)):
                    print("  " + line)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
