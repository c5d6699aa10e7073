"""Statistics benchmark (查询统计): the statistics pages over HTTP at every admin level,
the summary rebuild, and what keeping the summary adds to approve-all of 10,000.

    python bench/stats_bench.py --sizes 400000,1650000                 # SQLite (≈120k / 500k persons)
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/stats_bench.py --sizes 1000000,9900000            # PostgreSQL (≈300k / 3M persons)

The dataset is ``bench/generate.py``'s (the real Henan tree, ~60,000 units, one person
per ~3.3 declarations over three years, every status); after each size the person-year
summary is rebuilt from the records (``summary.rebuild``, timed). "HTTP" is Flask's test
client: the whole request (session, permission layer, queries, template, chart data).

Targets (issue 13): province page ≤ 100 ms, city ≤ 50 ms, a unit ≤ 20 ms (medians), flat
between the sizes; keeping the summary adds ≤ 20 % to approve-all of 10,000.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from backoffice.extensions import db  # noqa: E402
from backoffice.models import Declaration, Org, Person, PersonYear, StatCell  # noqa: E402
from bench import generate as gen  # noqa: E402
from bench.review_bench import fmt, sign_in, timed  # noqa: E402

REPEAT = 21


def rebuild(app):
    from backoffice import summary

    with app.app_context():
        t0 = time.perf_counter()
        counts = summary.rebuild()
        db.session.commit()
        seconds = time.perf_counter() - t0
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy import text

            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE person_year"))
                conn.execute(text("VACUUM ANALYZE stat_cell"))
    return counts, seconds


def pages(app, state, year):
    admins, tree = state["admins"], state["tree"]
    hot_unit = tree["hot_unit"][0]
    clients = {k: sign_in(app, admins[k]) for k in ("unit", "industry", "county", "city", "province")}
    with app.app_context():
        dept = db.session.scalar(select(Org.id).where(Org.parent_id == hot_unit, Org.kind == "department").limit(1))
    urls = [
        ("unit", "BASELINE: the unit's review queue page (not statistics)", "/admin/review/list", None),
        ("province", "province: cities (default page)", f"/admin/stats/?year={year}", "≤ 100 ms"),
        ("province", "province: cities, title filter", f"/admin/stats/?year={year}&title_level=intermediate",
         "≤ 100 ms"),
        ("province", "province: 省直 units (200)", f"/admin/stats/?year={year}&node={tree['province']}&direct=1",
         "≤ 100 ms"),
        ("city", "city 郑州: counties", f"/admin/stats/?year={year}", "≤ 50 ms"),
        ("county", "county 金水区: its units (~330)", f"/admin/stats/?year={year}", "≤ 50 ms"),
        ("industry", "industry dept: its units", f"/admin/stats/?year={year}", "≤ 50 ms"),
        ("unit", "unit (3,000+ persons): departments", f"/admin/stats/?year={year}", "≤ 20 ms"),
        ("unit", "unit: persons page (50 rows)", f"/admin/stats/?year={year}&node={hot_unit}&persons=1", "≤ 20 ms"),
        ("province", "province: export of the table (.xlsx)", f"/admin/stats/export?format=xlsx&year={year}", None),
        ("unit", "home page of a unit admin (with its rate)", "/admin/", None),
        ("province", "home page of the province (with its rate)", "/admin/", None),
    ]
    if dept is not None:
        urls.append(("unit", "unit: one department's persons", f"/admin/stats/?year={year}&node={dept}", "≤ 20 ms"))
    lines = []
    for key, label, url, target in urls:
        client = clients[key]

        def get(client=client, url=url):
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
            return r

        lines.append(fmt(label + " (HTTP)", timed(get, repeat=REPEAT), target=target))
        print(lines[-1], flush=True)
    lines += statistics_sql(app, state, year)
    return lines


def statistics_sql(app, state, year):
    """The queries behind the pages, without the page (breakdown + trend)."""
    from backoffice import statistics as st
    from backoffice.models import Membership
    from backoffice.permissions import Scope

    lines = []
    with app.app_context():
        for key in ("province", "city", "county", "unit"):
            m = db.session.get(Membership, state["admins"][key])
            scope, node, flt = Scope(m), m.org, st.Filters(year=year)

            def run(scope=scope, node=node, flt=flt):
                st.breakdown(scope, node, flt)
                st.trend(scope, node, flt)

            lines.append(fmt(f"{key}: SQL of the page (breakdown + trend)", timed(run, repeat=REPEAT)))
            print(lines[-1], flush=True)
        db.session.rollback()
    return lines


def check_against_city_completion(app, state, year):
    """The city page's figures against ``standards.city_completion`` (SQL over the records)."""
    from backoffice import statistics as st
    from backoffice.permissions import Scope
    from backoffice.standards import city_completion

    with app.app_context():
        from backoffice.models import Membership

        m = db.session.get(Membership, state["admins"]["city"])
        city = db.session.get(Org, state["tree"]["hot_city"])
        _, total = st.breakdown(Scope(m), city, st.Filters(year=year))
        t0 = time.perf_counter()
        ref = city_completion(city.id, year)
        seconds = time.perf_counter() - t0
        db.session.rollback()
    same = (total.persons, total.passed) == (ref.persons, ref.passed)
    return (f"  check: 郑州 {year} statistics {total.passed:,}/{total.persons:,} passed; "
            f"standards.city_completion (SQL over the records, {seconds:.1f} s) {ref.passed:,}/{ref.persons:,}"
            f" → {'equal' if same else 'DIFFERENT'}"), same


def reset_hot_sets(app, state):
    """Put the approve-all sets back where the generator left them (pending at 金水区,
    their one review step pending) and the summary of their persons right, so a kept
    database can be measured again. The audit rows of earlier runs stay."""
    from sqlalchemy import update

    from backoffice import summary
    from backoffice.models import ReviewStep

    with app.app_context():
        ids = []
        for inst in state["tree"]["institutions"]:  # the newest set of each (a grown database has one per size)
            ids += db.session.scalars(select(Declaration.id).where(Declaration.declarer_org_id == inst)
                                      .order_by(Declaration.id.desc()).limit(gen.APPROVE_ALL_SIZE)).all()
        for part in (ids[i:i + 20_000] for i in range(0, len(ids), 20_000)):
            db.session.execute(update(Declaration).where(Declaration.id.in_(part)).values(
                status="pending", current_org_id=state["tree"]["hot_county"], current_level="hrss",
                decided_at=None, version=Declaration.version + 1))
            db.session.execute(update(ReviewStep).where(ReviewStep.declaration_id.in_(part)).values(
                status="pending", actor_membership_id=None, acted_at=None, comment=None))
            summary.refresh(select(Declaration.person_id).where(Declaration.id.in_(part)).distinct())
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Vacuum what the reset rewrote now, not in an autovacuum during the timed runs.
            from sqlalchemy import text

            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("declaration", "review_step", "person_year", "stat_cell", "stat_area", "audit_log"):
                    conn.execute(text(f"VACUUM ANALYZE {table}"))


def approve_all(app, state, year, rounds=1):
    """Approve-all of 10,000 pending public records at 金水区, with and without the summary
    kept (the four sets alternate; with ``rounds`` > 1 they are reset and approved again).
    Without the summary means ``summary.add_approved`` — what approve-all calls — is a
    no-op; the stale summary of those persons is put right afterwards, untimed."""
    with_s, without_s = [], []
    for i in range(rounds):
        if i:
            reset_hot_sets(app, state)
        # Which of a pair runs first alternates by round: the first run of a pair warms
        # the cache for the second (their persons overlap).
        w, wo, matching = _approve_round(app, state, year, first_keeps=i % 2 == 0)
        with_s += w
        without_s += wo
    lines = [fmt(f"approve-all of {matching:,} with the summary kept", with_s),
             fmt(f"approve-all of {matching:,} without (hook disabled)", without_s)]
    if not with_s or not without_s:
        return lines + ["  (not enough pending approve-all sets left to compare)"]
    lines.append("  runs (s), with: " + " ".join(f"{x:.2f}" for x in with_s)
                 + "; without: " + " ".join(f"{x:.2f}" for x in without_s))
    ratio = (sorted(with_s)[len(with_s) // 2]) / (sorted(without_s)[len(without_s) // 2]) - 1
    lines.append(f"  summary adds {ratio * 100:+.0f} % to approve-all, medians (target ≤ +20 %)")
    return lines


def _approve_round(app, state, year, first_keeps=True):
    from backoffice import summary

    county = sign_in(app, state["admins"]["county"])
    with_s, without_s = [], []
    real = summary.add_approved
    insts = []
    with app.app_context():
        for inst in state["tree"]["institutions"]:
            if db.session.scalar(select(func.count()).select_from(Declaration).where(
                    Declaration.declarer_org_id == inst, Declaration.status == "pending")):
                insts.append(inst)
    for i, inst in enumerate(insts):
        keep = (i % 2 == 0) == first_keeps
        summary.add_approved = real if keep else (lambda *a, **k: None)
        try:
            with app.app_context():
                matching = db.session.scalar(select(func.count()).select_from(Declaration).where(
                    Declaration.declarer_org_id == inst, Declaration.status == "pending",
                    Declaration.current_org_id == state["tree"]["hot_county"], Declaration.year == year))
            t0 = time.perf_counter()
            r = county.post("/admin/review/all", data={"op": "approve", "year": str(year), "declarer": str(inst)})
            (with_s if keep else without_s).append(time.perf_counter() - t0)
            assert r.status_code == 302
            with app.app_context():
                left = db.session.scalar(select(func.count()).select_from(Declaration).where(
                    Declaration.declarer_org_id == inst, Declaration.status == "pending"))
            assert left == 0 and matching, (left, matching)
        finally:
            summary.add_approved = real
    # The runs without the hook left their persons' summary stale: put it right.
    with app.app_context():
        persons = select(Declaration.person_id).where(
            Declaration.declarer_org_id.in_(insts[1::2] if first_keeps else insts[0::2]))
        summary.refresh(persons, [year])
        db.session.commit()
    return with_s, without_s, matching


def measure(app, state, label, rebuild_seconds, counts, do_approve, rounds=1, do_pages=True):
    year = date.today().year - 1
    lines = [f"\n== {label}"]
    with app.app_context():
        persons = db.session.scalar(select(func.count()).select_from(Person))
        decls = db.session.scalar(select(func.count()).select_from(Declaration))
        units = db.session.scalar(select(func.count()).select_from(Org).where(Org.kind == "unit"))
        pys = db.session.scalar(select(func.count()).select_from(PersonYear))
        cells = db.session.scalar(select(func.count()).select_from(StatCell))
    lines.append(f"  data: {persons:,} persons, {decls:,} declarations, {units:,} units; "
                 f"summary {pys:,} person-years, {cells:,} roll-up cells")
    lines.append(f"  rebuild-summary: {rebuild_seconds:.1f} s ({counts})")
    print("\n".join(lines), flush=True)
    if do_pages:
        lines += pages(app, state, year)
    check, _ = check_against_city_completion(app, state, year)
    lines.append(check)
    print(check, flush=True)
    if do_approve:
        more = approve_all(app, state, date.today().year, rounds)
        print("\n".join(more), flush=True)
        lines += more
    return lines


def make_app(url):
    """The benchmark app, with queued jobs (the e-mails of approve-all) left for a worker
    instead of running inside the timed request: we measure the approval and the summary."""
    from backoffice import create_app, freeze_startup_objects
    from backoffice.config import TestConfig

    gen.OUT.mkdir(parents=True, exist_ok=True)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(gen.OUT / "uploads"),
                     WTF_CSRF_ENABLED=False, JOBS_IMMEDIATE=False,
                     JOB_QUEUE_FILE=str(gen.OUT / "job-queue.sqlite3"))
    freeze_startup_objects()  # as run.py, gunicorn's workers and the job worker do
    return app


def reuse(kind, name, do_approve=True, rounds=1, do_pages=True):
    """Measure a kept database again (generated earlier with ``--keep``/``--generate-only``)."""
    import json

    from backoffice.config import normalise_database_url

    if kind == "sqlite":
        url = f"sqlite:///{gen.OUT / (name + '.sqlite3')}"
    else:
        url = normalise_database_url(os.environ["DATABASE_URL"]).rpartition("/")[0] + "/" + name
    app = make_app(url)
    with app.app_context():
        state = json.loads(gen.state_file().read_text())
        counts = {"person_years": db.session.scalar(select(func.count()).select_from(PersonYear))}
        db.session.rollback()
    if do_approve:
        reset_hot_sets(app, state)
    measure(app, state, f"{kind}, kept database {name}", 0.0, counts, do_approve=do_approve, rounds=rounds,
            do_pages=do_pages)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="background declarations of the sizes, e.g. 400000,1650000")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the kept database as it is (no generation, no rebuild)")
    parser.add_argument("--name", default="bench_stats", help="the benchmark database's name")
    parser.add_argument("--generate-only", action="store_true",
                        help="generate, rebuild the summary and keep the database; measure later with --reuse")
    parser.add_argument("--no-approve", action="store_true", help="skip the approve-all comparison")
    parser.add_argument("--no-pages", action="store_true", help="skip the pages (approve-all only)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="approve-all rounds (each approves the four sets, two with the summary kept)")
    args = parser.parse_args()
    kind = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    sizes = [int(x) for x in (args.sizes or ("1000000,9900000" if kind == "postgres" else "400000,1650000"))
             .split(",")]
    if args.reuse:
        return reuse(kind, args.name, do_approve=not args.no_approve, rounds=args.rounds,
                     do_pages=not args.no_pages)
    url, drop = gen.database_url(kind, name=args.name)
    print(f"benchmark database: {kind}; background sizes {sizes}", flush=True)
    gen.prepare(url)
    app = make_app(url)
    done = 0
    try:
        for size in sizes:
            with app.app_context():
                result = gen.generate(size - done)
            done = size
            print(f"generated +{result['added']:,} declarations in {result['seconds']} s "
                  f"(total {result['declarations']:,})", flush=True)
            counts, seconds = rebuild(app)
            if args.generate_only:
                print(f"  rebuild-summary: {seconds:.1f} s ({counts})", flush=True)
                continue
            measure(app, result["state"], f"{kind}, {result['declarations']:,} declarations", seconds, counts,
                    do_approve=not args.no_approve, rounds=args.rounds)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if not (args.keep or args.generate_only):
            drop()
            print("benchmark database removed")


if __name__ == "__main__":
    main()
