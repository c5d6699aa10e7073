"""Review benchmark: queue pages, their SQL, one record, batch and all-matching approval,
and a city's yearly completion, at two data sizes. Prints medians and p95.

    python bench/review_bench.py                       # SQLite, 200,000 then 400,000 background records
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/review_bench.py --sizes 1000000,2000000

"HTTP" is Flask's test client (the whole request: routing, session, permission layer,
queries, template rendering). The PostgreSQL database is created for the run and
dropped at the end; the SQLite file lives under bench/out/ and is deleted unless
``--keep``.

Targets (issue 4): list page ≤ 100 ms median and its SQL ≤ 10 ms at unit/county/city
scope, flat between the sizes; province page ≤ 100 ms with its capped count; one
approve-all of 10,000 ≤ 1 s (PostgreSQL) / ≤ 3 s (SQLite); city aggregation ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import and_, case, func, select  # noqa: E402

from backoffice.extensions import db  # noqa: E402
from backoffice.models import AuditLog, Declaration, Membership, Org, Person  # noqa: E402
from bench import generate as gen  # noqa: E402

REPEAT = 15


def stats(samples):
    s = sorted(samples)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]
    return statistics.median(s), p95


def fmt(name, samples, unit="ms", target=None):
    med, p95 = stats(samples)
    k = 1000 if unit == "ms" else 1
    t = f"   target {target}" if target else ""
    return f"  {name:<52} median {med * k:8.1f} {unit}   p95 {p95 * k:8.1f} {unit}   (n={len(samples)}){t}"


def timed(fn, repeat=REPEAT, warm=2):
    for _ in range(warm):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


# --------------------------------------------------------------------------- city aggregation
def city_yearly_completion_sql(city_id, year, public_required=30, professional_required=60):
    """A city's yearly completion in one aggregate query: persons, passed, not passed.

    (Fallback used only when ``backoffice.standards.city_completion`` is not merged.)
    Approved public and professional hours per person of the city for ``year``, then
    the count of persons meeting both minima (the 2018+ standard: 30 + 60).
    """
    public = func.sum(case((Declaration.subject_kind == "public", Declaration.claimed_hours), else_=0))
    professional = func.sum(case((Declaration.subject_kind == "professional", Declaration.claimed_hours), else_=0))
    per_person = (
        select(Declaration.person_id, public.label("pub"), professional.label("pro"))
        .where(Declaration.city_id == city_id, Declaration.status == "approved", Declaration.year == year)
        .group_by(Declaration.person_id)
        .subquery()
    )
    with_hours, passed = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case(
            (and_(per_person.c.pub >= public_required, per_person.c.pro >= professional_required), 1), else_=0)), 0))
    ).one()
    persons = db.session.scalar(select(func.count()).select_from(Person).where(Person.city_id == city_id))
    return {"persons": persons, "with_hours": with_hours, "passed": passed, "not_passed": persons - passed}


def city_aggregation():
    try:
        from backoffice.standards import city_completion  # branch issue-3

        return "backoffice.standards.city_completion", city_completion
    except ImportError:
        return "bench.review_bench.city_yearly_completion_sql", city_yearly_completion_sql


# --------------------------------------------------------------------------- sign-in
def sign_in(app, membership_id):
    client = app.test_client()
    with app.app_context():
        m = db.session.get(Membership, membership_id)
        if m.role == "hrss_admin":
            role_type = "province" if m.org.kind == "province_hrss" else "hrss"
        else:
            role_type = {"unit_admin": "unit", "industry_admin": "industry"}[m.role]
        form = {"role_type": role_type, "org_code": m.org.code if role_type != "province" else "",
                "id_number": m.account.id_number, "password": gen.PASSWORD, "captcha": ""}
    r = client.post("/login", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


# --------------------------------------------------------------------------- one size
def measure(app, state, label):
    from flask_login import login_user

    from backoffice.permissions import Scope
    from backoffice.views import _queue as Q

    admins = state["admins"]
    insts = state["tree"]["institutions"]
    year = date.today().year
    lines = [f"\n== {label}"]
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Declaration))
        steps = db.session.scalar(select(func.count()).select_from(db.metadata.tables["review_step"]))
        persons = db.session.scalar(select(func.count()).select_from(Person))
        units = db.session.scalar(select(func.count()).select_from(Org).where(Org.kind == "unit"))
        lines.append(f"  data: {total:,} declarations, {steps:,} review steps, {persons:,} persons, {units:,} units")

    clients = {k: sign_in(app, admins[k]) for k in ("unit", "county", "city", "province")}
    # Queue pages over HTTP and the SQL behind them.
    for key in ("unit", "county", "city", "province"):
        client = clients[key]

        def page(client=client):
            r = client.get("/admin/review/list")
            assert r.status_code == 200 and b"queue-table" in r.data, r.status_code
            return r

        body = page().get_data(as_text=True)
        capped = "共超过" in body
        samples = timed(page)
        with app.test_request_context():
            m = db.session.get(Membership, admins[key])
            login_user(m)
            scope = Scope(m)
            flt = Q.QueueFilter.from_args({})
            queue_size = Q.exact_count(Q.queue_ids(scope, m, flt))
            rows_t = timed(lambda scope=scope, m=m, flt=flt: Q.queue_page(scope, m, flt))
            count_t = timed(lambda scope=scope, m=m, flt=flt: Q.capped_count(Q.queue_ids(scope, m, flt)))
            other_t = timed(lambda scope=scope, m=m: Q.other_years_pending(scope, m, year))
            db.session.rollback()
        lines.append(f"  [{key}] queue of {queue_size:,} pending records this year"
                     f"{' (page shows 共超过 10,000 条)' if capped else ''}")
        lines.append(fmt(f"{key}: list page over HTTP (20 rows + count)", samples, target="≤ 100 ms"))
        lines.append(fmt(f"{key}: SQL 20 rows", rows_t))
        lines.append(fmt(f"{key}: SQL capped count", count_t))
        lines.append(fmt(f"{key}: SQL other years' pending (capped)", other_t))
        lines.append(fmt(f"{key}: SQL total (rows + count)", [a + b for a, b in zip(rows_t, count_t, strict=True)],
                         target="≤ 10 ms (unit/county/city)"))

    # The grouped review page (declaring organisations with their pending counts).
    for key in ("county", "province"):
        client = clients[key]

        def groups(client=client):
            r = client.get("/admin/review/")
            assert r.status_code == 200 and b"group-table" in r.data

        lines.append(fmt(f"{key}: grouped page over HTTP (organisations + counts)", timed(groups)))

    # Opening one record.
    county = clients["county"]
    with app.app_context():
        rid = db.session.scalar(select(Declaration.id).where(
            Declaration.current_org_id == state["tree"]["hot_county"], Declaration.status == "pending",
            Declaration.declarer_org_id == insts[3]).limit(1))

    def open_record():
        r = county.get(f"/admin/declaration/{rid}")
        assert r.status_code == 200 and b"steps-table" in r.data

    lines.append(fmt("county: open one record over HTTP", timed(open_record)))

    # Batch approval of 1,000 selected records (institution 4's set, 1,000 per run).
    with app.app_context():
        pool = db.session.scalars(select(Declaration.id).where(
            Declaration.declarer_org_id == insts[3], Declaration.status == "pending",
            Declaration.current_org_id == state["tree"]["hot_county"]).order_by(Declaration.id)).all()
    batch = []
    for i in range(min(5, len(pool) // 1000)):
        ids = pool[i * 1000:(i + 1) * 1000]
        t0 = time.perf_counter()
        r = county.post("/admin/review/batch", data={"op": "approve", "rowid": [str(x) for x in ids],
                                                     "next": "/admin/review/list"})
        batch.append(time.perf_counter() - t0)
        assert r.status_code == 302
    with app.app_context():
        moved = db.session.scalar(select(func.count()).select_from(Declaration).where(
            Declaration.id.in_(pool[:len(batch) * 1000]), Declaration.status == "approved"))
    lines.append(fmt(f"county: batch-approve 1,000 selected over HTTP ({moved:,} approved)", batch))

    # Approve-all of 10,000 matching records (filter: declaring institution), with audit rows.
    allt = []
    for inst in insts[:3]:
        with app.app_context():
            audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
            matching = db.session.scalar(select(func.count()).select_from(Declaration).where(
                Declaration.declarer_org_id == inst, Declaration.status == "pending",
                Declaration.current_org_id == state["tree"]["hot_county"], Declaration.year == year))
        confirm = county.get(f"/admin/review/all?op=approve&year={year}&declarer={inst}")
        assert f"{matching:,}".encode() in confirm.data
        t0 = time.perf_counter()
        r = county.post("/admin/review/all", data={"op": "approve", "year": str(year), "declarer": str(inst)})
        allt.append(time.perf_counter() - t0)
        assert r.status_code == 302
        with app.app_context():
            audit_added = db.session.scalar(select(func.count()).select_from(AuditLog)) - audit_before
            left = db.session.scalar(select(func.count()).select_from(Declaration).where(
                Declaration.declarer_org_id == inst, Declaration.status == "pending"))
        assert audit_added == matching and left == 0, (audit_added, matching, left)
    lines.append(fmt(f"county: approve-all of {matching:,} matching over HTTP (+{audit_added:,} audit rows)",
                     allt, unit="s", target="≤ 1 s PG / ≤ 3 s SQLite"))

    # A city's yearly completion.
    name, fn = city_aggregation()
    with app.app_context():
        city_id = state["tree"]["hot_city"]
        result = fn(city_id, year - 1)
        agg = timed(lambda: fn(city_id, year - 1), repeat=7, warm=1)
        db.session.rollback()
    lines.append(fmt(f"city yearly completion ({name})", agg, target="≤ 1 s"))
    lines.append(f"    result for {year - 1}: {result}")
    print("\n".join(lines), flush=True)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None,
                        help="background declarations of the two sizes, e.g. 200000,400000")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    kind = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    sizes = [int(x) for x in (args.sizes or ("1000000,2000000" if kind == "postgres" else "200000,400000")).split(",")]
    url, drop = gen.database_url(kind)
    print(f"benchmark database: {kind}; background sizes {sizes}")
    app = gen.prepare(url)
    done = 0
    try:
        for size in sizes:
            with app.app_context():
                summary = gen.generate(size - done)
            done = size
            print(f"generated +{summary['added']:,} declarations in {summary['seconds']} s "
                  f"(total {summary['declarations']:,})", flush=True)
            measure(app, summary["state"], f"{kind}, {summary['declarations']:,} declarations")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if not args.keep:
            drop()
            print("benchmark database removed")


if __name__ == "__main__":
    main()
