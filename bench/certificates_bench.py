"""Benchmark of certificate printing, through the domain layer.

    python bench/certificates_bench.py [--persons 1000] [--keep DIR]

Builds a throw-away SQLite database (migrations + demo data), adds ``--persons``
professionals with realistic names spread over the demo units, each with 30 + 60
approved hours last year, issues their certificates with ``certificates.issue`` (which
freezes the year results and allocates the numbers), then measures in fresh child
processes (so that each peak RSS is its own):

* one certificate: median CPU time of 20 renders of a one-page PDF;
* N certificates in one merged PDF, for N = 200 and N = ``--persons``: CPU time,
  wall time, file size and peak RSS (``resource.getrusage``), to show that memory
  does not grow with the count (the renderer works in chunks of 100 pages and
  streams them to the file).

Targets (issue 7): one ≤ 150 ms, 1,000 ≤ 60 s on one core, flat memory.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍申尤毕聂柴焦向柳邢岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵欧阳解强丛华车冉房边辜吉饶刁瞿戚丘古米池滕晋苑邬臧畅宫来嵺苟全褚廉简娄盖符奚木穆党燕郎邸冀谈姬屠连郜晏栾郁商蒙计喻揭窦迟宇敖糜鄢冷卓花艾蓝都巩稽井练仲乐虞卞封竺冼原官衣楚佟栗匡宗应台巫鞠僧桑荆谌银扬明沙薛伏岑习胥保和蔺"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建国志文辉力鹏飞斌宇浩凯健俊帆帅旭宁龙林欣颖晨思雨婷雪琳晶倩露佳怡嘉慧琪瑶璐梦璇昊天博文轩宸睿泽熙瑞镕喆堃玥昱珺琰璟"


def realistic_name(rng):
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def make_app(db_path, upload_dir):
    from backoffice import create_app
    from backoffice.config import TestConfig

    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}", UPLOAD_DIR=str(upload_dir),
                      SERVER_NAME="jxjy.example.gov.cn", PREFERRED_URL_SCHEME="https")


def build(workdir, persons):
    """Create the database, the persons and their certificates; return issue timing."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from backoffice import certificates
    from backoffice.extensions import db
    from backoffice.models import Account, Declaration, LearningForm, Membership, Org, Person

    app = make_app(workdir / "bench.sqlite3", workdir / "uploads")
    year = date.today().year - 1
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        from seed.demo import load_demo

        load_demo()
        db.session.commit()
        units = db.session.scalars(select(Org).where(Org.kind == "unit", Org.status == "approved")).all()
        form_id = db.session.scalar(select(LearningForm.id).order_by(LearningForm.id))
        accounts = [{"id_number": f"4101051985{i:08d}", "name": realistic_name(rng), "password_hash": "x",
                     "must_change_password": False} for i in range(persons)]
        db.session.execute(insert(Account), accounts)
        acc = dict(db.session.execute(select(Account.id_number, Account.id).where(
            Account.id_number.like("4101051985%"))).all())
        db.session.execute(insert(Membership), [
            {"account_id": acc[a["id_number"]], "role": "person", "org_id": units[i % len(units)].id,
             "status": "active", "is_super": False} for i, a in enumerate(accounts)])
        mem = dict(db.session.execute(select(Membership.account_id, Membership.id).where(
            Membership.account_id.in_(acc.values()))).all())
        rows = []
        for i, a in enumerate(accounts):
            unit = units[i % len(units)]
            rows.append({"membership_id": mem[acc[a["id_number"]]], "account_id": acc[a["id_number"]],
                         "id_number": a["id_number"], "name": a["name"], "unit_id": unit.id,
                         "county_id": unit.county_id, "city_id": unit.city_id,
                         "competent_dept_id": unit.competent_dept_id, "title_level": "intermediate"})
        db.session.execute(insert(Person), rows)
        people = db.session.execute(select(Person.id, Person.unit_id, Person.county_id, Person.city_id,
                                           Person.competent_dept_id).where(Person.id_number.like("4101051985%")))
        records = []
        for pid, unit_id, county_id, city_id, dept_id in people:
            for kind, hours in (("public", 30), ("professional", 60)):
                records.append({"person_id": pid, "unit_id": unit_id, "county_id": county_id, "city_id": city_id,
                                "competent_dept_id": dept_id, "year": year, "subject_kind": kind,
                                "form_id": form_id, "fields": {}, "claimed_hours": Decimal(hours),
                                "status": "approved", "source": "unit", "version": 1})
        db.session.execute(insert(Declaration), records)
        db.session.commit()

        t0 = time.perf_counter()
        batch = db.session.scalars(select(Person).where(Person.id_number.like("4101051985%"))
                                   .order_by(Person.id)).all()
        issued = list(certificates.issue_many(batch, year))
        db.session.commit()
        issue_s = time.perf_counter() - t0
    return {"issued": len(issued), "issue_s": issue_s, "year": year}


def child(workdir, mode, count):
    """Render in this (fresh) process and print a JSON line of figures."""
    from sqlalchemy import select

    from backoffice import certificates, pdf
    from backoffice.extensions import db
    from backoffice.models import Certificate

    app = make_app(workdir / "bench.sqlite3", workdir / "uploads")
    with app.app_context(), app.test_request_context():
        from backoffice.web.certificates import verify_url_base

        base = verify_url_base()
        pdf.register_font()
        if mode == "one":
            cert = db.session.scalar(select(Certificate).order_by(Certificate.id))
            certificates.render_pdf([cert], base)  # warm-up (imports, font, templates)
            cpu = []
            for _ in range(20):
                t0 = time.process_time()
                data = certificates.render_pdf([cert], base)
                cpu.append(time.process_time() - t0)
            print(json.dumps({"median_ms": statistics.median(cpu) * 1000, "min_ms": min(cpu) * 1000,
                              "bytes": len(data)}))
            return
        certificates.render_pdf([db.session.scalar(select(Certificate))], base)  # warm-up
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ids = db.session.scalars(select(Certificate.id).order_by(Certificate.id).limit(count)).all()

        def dicts():
            for start in range(0, len(ids), 100):  # load the rows chunk by chunk, as the job does
                chunk = db.session.scalars(select(Certificate).where(Certificate.id.in_(ids[start:start + 100]))
                                           .order_by(Certificate.id)).all()
                yield from (certificates.certificate_dict(c, base) for c in chunk)
                db.session.expunge_all()

        out_path = workdir / f"merged-{count}.pdf"
        t0, c0 = time.perf_counter(), time.process_time()
        with open(out_path, "wb") as out:
            pages = pdf.render_certificates_to(out, dicts(), verify_url_base=base)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"count": count, "pages": pages, "cpu_s": cpu, "wall_s": wall,
                          "bytes": out_path.stat().st_size, "rss_before_mb": rss_before / 1024,
                          "peak_rss_mb": peak / 1024}))


def run_child(workdir, mode, count=0):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--count", str(count), "--keep", str(workdir)],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1000)
    ap.add_argument("--keep", help="work directory (kept); a temporary one otherwise")
    ap.add_argument("--child", choices=("one", "many"), help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    if args.child:
        child(Path(args.keep), args.child, args.count)
        return
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cert-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    built = build(workdir, args.persons)
    print(f"setup: {args.persons} persons with a passed {built['year']}, "
          f"{built['issued']} certificates issued through the domain layer in {built['issue_s']:.1f} s "
          f"({built['issue_s'] / max(built['issued'], 1) * 1000:.1f} ms each; setup total "
          f"{time.perf_counter() - t0:.1f} s)")
    one = run_child(workdir, "one")
    print(f"one certificate: median {one['median_ms']:.0f} ms CPU (min {one['min_ms']:.0f} ms), "
          f"{one['bytes'] / 1024:.0f} KiB   [target ≤ 150 ms]")
    for count in sorted({min(200, args.persons), args.persons}):
        r = run_child(workdir, "many", count)
        print(f"{r['pages']} certificates in one PDF: {r['cpu_s']:.1f} s CPU, {r['wall_s']:.1f} s wall, "
              f"{r['bytes'] / 1024 / 1024:.1f} MiB file, peak RSS {r['peak_rss_mb']:.0f} MB "
              f"(after warm-up {r['rss_before_mb']:.0f} MB)"
              + ("   [target ≤ 60 s]" if count == args.persons else ""))
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
