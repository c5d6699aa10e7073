"""Province-scale data for the review benchmark.

The real Henan HRSS tree (18 cities, 181 county-level HRSS nodes, from the reference
data), one competent department per county, ~60,000 units, persons (each with its
account and membership) and declarations with their review steps in every status.

Rows are written set-based: COPY on PostgreSQL, ``executemany`` of plain tuples on
SQLite, with ids assigned here so that steps can point at their declarations without
a round trip. ``generate(n)`` may be called again on the same database to add ``n``
more background declarations (the second data size of the benchmark).

On top of the uniform background the generator adds fixed "hot" sets that the
benchmark acts on:

* ``approve_all`` institutions: BENCH_INSTITUTIONS continuing-education bases under
  the 金水区 HRSS, each with exactly 10,000 public records pending at that county.
* 30,000 records pending at the province (province-level units),
* 5,000 records pending at the 郑州 city HRSS (city-level units),
* a big hospital in 金水区 (3,000 persons) whose unit queue is the unit benchmark.

    python bench/generate.py --decls 200000            # SQLite file under bench/out/
    DATABASE_URL=postgresql://… python bench/generate.py --decls 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from backoffice.extensions import db  # noqa: E402
from backoffice.models import Account, LearningForm, Membership, Org  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
PASSWORD = "Bench@2026"
HOT_COUNTY = "410105"  # 金水区
HOT_CITY = "410100"  # 郑州市
UNITS = 60_000
BENCH_INSTITUTIONS = 4
APPROVE_ALL_SIZE = 10_000
PROVINCE_PENDING = 30_000
CITY_PENDING = 5_000
HOT_UNIT_PERSONS = 3_000
DECLS_PER_PERSON = 3.3

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣然佳琪子涵梓轩"


# --------------------------------------------------------------------------- writers
class Writer:
    """Bulk insert of plain tuples: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self):
        self.dialect = db.engine.dialect.name
        self.raw = db.engine.raw_connection()
        self.conn = self.raw.driver_connection

    def rows(self, table, columns, rows):
        rows = list(rows)
        if not rows:
            return 0
        cur = self.raw.cursor()
        if self.dialect == "postgresql":
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            if not self.conn.in_transaction:
                cur.execute("BEGIN")
            marks = ", ".join("?" for _ in columns)
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                            [tuple(_sqlite(v) for v in row) for row in rows])
        cur.close()
        return len(rows)

    def commit(self):
        if self.dialect == "postgresql":
            self.raw.commit()
        elif self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def close(self):
        self.commit()
        self.raw.close()


def _sqlite(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def _next_id(table):
    db.session.rollback()  # a fresh snapshot: the rows were written on another connection
    return (db.session.scalar(text(f"SELECT max(id) FROM {table}")) or 0) + 1


def _drop_indexes(tables=("declaration", "review_step")):
    """Drop the secondary indexes of the bulk-loaded tables; returns their definitions."""
    db.session.rollback()
    names = ", ".join(f"'{t}'" for t in tables)
    if db.engine.dialect.name == "postgresql":
        defs = db.session.execute(text(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({names}) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)")).all()
    else:
        defs = db.session.execute(text(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({names}) "
            "AND sql IS NOT NULL")).all()
    for name, _ in defs:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    db.session.commit()
    return [sql for _, sql in defs]


def _create_indexes(defs):
    for sql in defs:
        db.session.execute(text(sql))
    db.session.commit()


def _fix_sequences():
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("org", "account", "membership", "person", "declaration", "review_step", "audit_log"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 1))"))
    db.session.commit()


# --------------------------------------------------------------------------- the tree
def _hrss_nodes():
    province = db.session.scalar(select(Org).where(Org.kind == "province_hrss"))
    cities = db.session.scalars(select(Org).where(Org.kind == "city_hrss").order_by(Org.id)).all()
    counties = db.session.scalars(select(Org).where(Org.kind == "county_hrss").order_by(Org.id)).all()
    return province, cities, counties


def build_tree(w, rng):
    """Competent departments, units, bench institutions; returns the unit table."""
    province, cities, counties = _hrss_nodes()
    now = datetime.now()
    next_id = _next_id("org")
    org_rows, units = [], []
    cols = ("id", "kind", "name", "code", "parent_id", "parent_path", "competent_dept_id", "unit_id", "county_id",
            "city_id", "status", "created_at", "sort_order")

    def add(kind, name, parent, competent=None, is_unit=False):
        nonlocal next_id
        oid = next_id
        next_id += 1
        path = f"{parent.parent_path}{oid}/"
        org_rows.append((oid, kind, name, f"B{oid:017d}", parent.id, path, competent, oid if is_unit else None,
                         parent.county_id, parent.city_id, "approved", now, 0))
        return oid

    depts = {}
    for county in counties:
        depts[county.id] = add("industry_dept", f"{county.name.replace('人力资源和社会保障局', '')}卫生健康委员会（基准）",
                               county)
    hot_county = next(c for c in counties if c.code == HOT_COUNTY)
    hot_city = next(c for c in cities if c.code == HOT_CITY)
    institutions = [add("institution", f"基准继续教育基地{i + 1}", hot_county) for i in range(BENCH_INSTITUTIONS)]

    # (unit_id, county_id, city_id, competent_id, hrss_id)
    hot_unit = add("unit", "金水区人民医院（基准）", hot_county, depts[hot_county.id], True)
    units.append((hot_unit, hot_county.id, hot_city.id, depts[hot_county.id], hot_county.id))
    province_units, city_units = [], []
    for i in range(200):
        uid = add("unit", f"河南省直属单位{i + 1}（基准）", province, None, True)
        province_units.append((uid, None, None, None, province.id))
    for city in cities:
        for i in range(30):
            uid = add("unit", f"{city.name[:3]}市直单位{i + 1}（基准）", city, None, True)
            city_units.append((uid, None, city.id, None, city.id))
    per_county = (UNITS - 1 - len(province_units) - len(city_units)) // len(counties)
    county_units = []
    for county in counties:
        for i in range(per_county):
            competent = depts[county.id] if rng.random() < 0.5 else None
            uid = add("unit", f"{county.name[:4]}基准单位{i + 1}", county, competent, True)
            county_units.append((uid, county.id, county.city_id, competent, county.id))
    w.rows("org", cols, org_rows)
    w.commit()
    units = units + province_units + city_units + county_units
    return {
        "units": units,
        "hot_unit": units[0],
        "province_units": province_units,
        "city_units": [u for u in city_units if u[2] == hot_city.id],
        "hot_county_units": [u for u in county_units if u[1] == hot_county.id] + [units[0]],
        "institutions": institutions,
        "province": province.id,
        "hot_county": hot_county.id,
        "hot_city": hot_city.id,
        "depts": depts,
    }


# --------------------------------------------------------------------------- people
def add_persons(w, rng, units, n, password_hash):
    """``n`` persons spread over ``units``: account, membership and person rows."""
    now = datetime.now()
    a0, m0, p0 = _next_id("account"), _next_id("membership"), _next_id("person")
    accounts, memberships, persons, out = [], [], [], []
    for i in range(n):
        unit = units[i % len(units)] if len(units) < 50 else rng.choice(units)
        aid, mid, pid = a0 + i, m0 + i, p0 + i
        id_number = f"41{aid:016d}"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        email = f"p{aid}@bench.example.com"
        accounts.append((aid, id_number, name, password_hash, email, False, now))
        memberships.append((mid, aid, "person", unit[0], False, "active", now))
        persons.append((pid, mid, aid, id_number, name, unit[0], unit[1], unit[2], unit[3], "intermediate", email,
                        now))
        out.append((pid, unit))
    w.rows("account", ("id", "id_number", "name", "password_hash", "email", "must_change_password", "created_at"),
           accounts)
    w.rows("membership", ("id", "account_id", "role", "org_id", "is_super", "status", "created_at"), memberships)
    w.rows("person", ("id", "membership_id", "account_id", "id_number", "name", "unit_id", "county_id", "city_id",
                      "competent_dept_id", "title_level", "email", "created_at"), persons)
    w.commit()
    return out


# --------------------------------------------------------------------------- records
DECL_COLS = ("id", "person_id", "unit_id", "county_id", "city_id", "competent_dept_id", "year", "subject_kind",
             "form_id", "fields", "computed_hours", "computed_reason", "claimed_hours", "source", "declarer_org_id",
             "route", "status", "current_org_id", "current_level", "reject_reason", "version", "created_at",
             "submitted_at", "decided_at")
STEP_COLS = ("id", "declaration_id", "seq", "level", "org_id", "status", "acted_at", "comment")


class Records:
    def __init__(self, w, rng, form_id):
        self.w, self.rng, self.form_id = w, rng, form_id
        self.decl_id = _next_id("declaration")
        self.step_id = _next_id("review_step")
        self.decls, self.steps = [], []
        self.this_year = date.today().year
        self.total = 0

    def add(self, person, unit, *, year, kind, status, at_level=None, source="self", declarer=None, hours=None):
        """One declaration; ``at_level``: the pending level (index into the chain)."""
        rng = self.rng
        uid, county_id, city_id, competent, hrss_id = unit
        chain = []
        if source == "self":
            chain.append(("unit", uid))
        if kind == "professional" and competent:
            chain.append(("industry", competent))
        chain.append(("hrss", hrss_id))
        did = self.decl_id
        self.decl_id += 1
        created = datetime(year, 1, 1) + timedelta(seconds=rng.randrange(0, 360 * 86400))
        if created > datetime.now():
            created = datetime.now() - timedelta(seconds=rng.randrange(0, 86400 * 30))
        submitted = None if status == "draft" else created + timedelta(hours=1)
        hours = hours if hours is not None else rng.choice((6, 8, 10, 12, 16, 20, 24, 30))
        current_org = current_level = reason = decided = None
        if status == "pending":
            pos = at_level if at_level is not None else rng.randrange(len(chain))
            pos = min(pos, len(chain) - 1)
            current_level, current_org = chain[pos]
        for seq, (level, org_id) in enumerate(chain if status != "draft" else [], start=1):
            idx = seq - 1
            if status == "approved":
                st = "approved"
            elif status == "rejected":
                rej = len(chain) - 1
                if idx < rej:
                    st = "approved"
                elif idx == rej:
                    st, reason = "rejected", "证明材料不清晰"
                else:
                    continue
            else:  # pending
                st = "approved" if idx < pos else ("pending" if idx == pos else "waiting")
            acted = submitted + timedelta(days=seq) if st in ("approved", "rejected") else None
            self.steps.append((self.step_id, did, seq, level, org_id, st, acted, reason if st == "rejected" else None))
            self.step_id += 1
        if status in ("approved", "rejected"):
            decided = submitted + timedelta(days=len(chain))
        fields = json.dumps({"hours": hours, "content": "继续教育培训"}, ensure_ascii=False)
        self.decls.append((
            did, person, uid, county_id, city_id, competent, year, kind, self.form_id, fields, hours,
            f"培训班 {hours} 学时", hours, source, declarer, "industry" if kind == "professional" else "hrss",
            status, current_org, current_level, reason, 1, created, submitted, decided,
        ))
        if len(self.decls) >= 50_000:
            self.flush()

    def flush(self):
        self.w.rows("declaration", DECL_COLS, self.decls)
        self.w.rows("review_step", STEP_COLS, self.steps)
        self.w.commit()
        self.total += len(self.decls)
        self.decls, self.steps = [], []


def _status(rng):
    r = rng.random()
    if r < 0.05:
        return "draft"
    if r < 0.37:
        return "pending"
    if r < 0.45:
        return "rejected"
    return "approved"


def background(rec, rng, persons, n):
    y = rec.this_year
    for _ in range(n):
        pid, unit = persons[rng.randrange(len(persons))]
        year = rng.choices((y - 2, y - 1, y), weights=(3, 3, 4))[0]
        rec.add(pid, unit, year=year, kind=rng.choice(("public", "professional")), status=_status(rng))
    rec.flush()


def hot_sets(rec, rng, tree, people):
    y = rec.this_year
    # Province and city queues.
    for _ in range(PROVINCE_PENDING):
        pid, unit = rng.choice(people["province"])
        rec.add(pid, unit, year=y, kind="public", status="pending", at_level=1)
    for _ in range(CITY_PENDING):
        pid, unit = rng.choice(people["city"])
        rec.add(pid, unit, year=y, kind="public", status="pending", at_level=1)
    # Approve-all sets: exactly APPROVE_ALL_SIZE public records per bench institution,
    # pending at the county (institution declarations start at the HRSS).
    for inst in tree["institutions"]:
        for _ in range(APPROVE_ALL_SIZE):
            pid, unit = rng.choice(people["county"])
            rec.add(pid, unit, year=y, kind="public", status="pending", at_level=0, source="institution",
                    declarer=inst)
    rec.flush()


def _password_hash():
    acc = Account(id_number="x", name="x")
    acc.set_password(PASSWORD)
    return acc.password_hash


def bench_admins(tree, password_hash):
    """Admin memberships of the benchmark reviewers (one account each)."""
    w = Writer()
    now = datetime.now()
    a0, m0 = _next_id("account"), _next_id("membership")
    specs = [
        ("province", "hrss_admin", tree["province"]),
        ("city", "hrss_admin", tree["hot_city"]),
        ("county", "hrss_admin", tree["hot_county"]),
        ("industry", "industry_admin", tree["hot_unit"][3]),
        ("unit", "unit_admin", tree["hot_unit"][0]),
    ]
    accounts, memberships, out = [], [], {}
    for i, (key, role, org_id) in enumerate(specs):
        from backoffice.validators import make_id_number

        id_number = make_id_number("410105", date(1970, 1, 1) + timedelta(days=a0 % 9000 + i), 900 + i)
        accounts.append((a0 + i, id_number, f"基准{key}管理员", password_hash, f"{key}@bench.example.gov.cn",
                         False, now))
        memberships.append((m0 + i, a0 + i, role, org_id, True, "active", now))
        out[key] = m0 + i
    w.rows("account", ("id", "id_number", "name", "password_hash", "email", "must_change_password", "created_at"),
           accounts)
    w.rows("membership", ("id", "account_id", "role", "org_id", "is_super", "status", "created_at"), memberships)
    w.commit()
    w.close()
    return out


def generate(n_background, seed=20260101, first=None):
    """Fill (first call) or grow (later calls) the benchmark database; returns a summary."""
    from backoffice.database import read_only_transactions

    # Outside a request the application's SQLite transactions take the write lock when
    # they begin; the session here only reads (and builds indexes) between the bulk
    # writer's own transactions, so its transactions start deferred.
    with read_only_transactions():
        return _generate(n_background, seed, first)


def _generate(n_background, seed, first):
    rng = random.Random(seed + (0 if first is None else n_background))
    t0 = time.perf_counter()
    state_path = state_file()
    index_defs = _drop_indexes()  # loading first and indexing after is several times faster
    w = Writer()
    form_id = db.session.scalar(select(LearningForm.id).where(LearningForm.code == "training_class"))
    password_hash = _password_hash()
    if first is None:
        first = not db.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.role == "hrss_admin"))
    if first:
        tree = build_tree(w, rng)
        admins = bench_admins(tree, password_hash)
        people = {
            "hot": add_persons(w, rng, [tree["hot_unit"]], HOT_UNIT_PERSONS, password_hash),
            "province": add_persons(w, rng, tree["province_units"], 2000, password_hash),
            "city": add_persons(w, rng, tree["city_units"], 1000, password_hash),
        }
        people["county"] = add_persons(w, rng, tree["hot_county_units"], 5000, password_hash) + people["hot"]
        state = {"tree": {k: v for k, v in tree.items() if k not in ("units", "province_units", "city_units",
                                                                      "hot_county_units", "depts")},
                 "admins": admins, "units": tree["units"], "hot_persons": people["hot"],
                 "people": {k: people[k] for k in ("province", "city", "county")}}
        OUT.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(state))
    else:
        state = json.loads(state_path.read_text())
    # Fresh hot sets on every call: each data size has its own queues to act on.
    rec = Records(w, rng, form_id)
    hot_people = {k: [(p, tuple(u)) for p, u in v] for k, v in state["people"].items()}
    hot_sets(rec, rng, {"institutions": state["tree"]["institutions"]}, hot_people)
    units = [tuple(u) for u in state["units"]]
    n_persons = int(n_background / DECLS_PER_PERSON)
    persons = add_persons(w, rng, units, n_persons, password_hash)
    # The hot unit gets its share of background records through its own persons too.
    persons += [(p, tuple(u)) for p, u in state["hot_persons"]]
    background(rec, rng, persons, n_background)
    w.close()
    db.session.rollback()  # drop the read snapshot taken before the bulk writes
    _create_indexes(index_defs)
    _fix_sequences()
    if db.engine.dialect.name == "postgresql":
        # Fresh visibility map and statistics, as autovacuum would leave them.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    total = db.session.scalar(select(func.count()).select_from(text("declaration")))
    return {"added": rec.total, "declarations": total, "persons_added": n_persons,
            "seconds": round(time.perf_counter() - t0, 1), "state": state}


def make_app(url):
    from backoffice import create_app
    from backoffice.config import TestConfig

    OUT.mkdir(parents=True, exist_ok=True)
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(OUT / "uploads"),
                      WTF_CSRF_ENABLED=False)


def state_file():
    """Where the generated database's ids (tree, admins, hot sets) are kept: one file per
    database, so several kept benchmark databases can be measured again."""
    name = Path(db.engine.url.database or "memory").stem
    return OUT / f"state-{db.engine.dialect.name}-{name}.json"


def prepare(url):
    """Migrate an empty database and load the reference tree."""
    from flask_migrate import upgrade

    from seed.demo import load_reference

    app = make_app(url)
    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count()).select_from(Org)):
            load_reference()
            db.session.commit()
    return app


def database_url(kind, name="bench_review"):
    """A fresh database: a file under bench/out/ or ``<name>`` on the PostgreSQL server."""
    from backoffice.config import normalise_database_url

    if kind == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: [Path(str(path) + s).unlink(missing_ok=True) for s in ("", "-wal", "-shm")]
    from sqlalchemy import create_engine

    base = normalise_database_url(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    head = base.rpartition("/")[0]

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{head}/{name}", drop


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decls", type=int, default=200_000, help="background declarations")
    parser.add_argument("--keep", action="store_true", help="keep the database (default for SQLite)")
    args = parser.parse_args()
    kind = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    url, drop = database_url(kind)
    app = prepare(url)
    with app.app_context():
        summary = generate(args.decls)
    print(f"{kind}: {summary['declarations']:,} declarations in total ({summary['seconds']} s)")
    if kind == "postgres" and not args.keep:
        with app.app_context():
            db.engine.dispose()
        drop()
        print("dropped the PostgreSQL benchmark database")


if __name__ == "__main__":
    main()
