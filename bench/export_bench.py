"""Export benchmark: the province's whole 继续教育记录 list to .xlsx (and CSV) as a job.

Builds the province-scale dataset of ``generate.py`` (``--decls`` background records plus
its hot sets), then, in a fresh child process per run, runs the export job exactly as
the worker does (it signs in as the province HRSS admin, opens the list's export request
and writes the file through the list's own scope, filters and formatters) and prints
rows, seconds (wall and CPU), rows/s, the peak RSS of that process (VmHWM) and the
file size. The machine's load average is printed beside each figure: on a shared
machine the wall-clock rate is the CPU rate divided by the contention.

    python bench/export_bench.py --decls 1000000                 # SQLite file under bench/out/
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/export_bench.py --decls 1000000             # PostgreSQL (database bench_export, dropped after)
    python bench/export_bench.py --reuse                         # SQLite: run again on the kept file
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import OUT, database_url, generate, make_app, prepare, state_file  # noqa: E402

NAME = "bench_export"


def peak_rss_mb():
    """This process's peak resident set (VmHWM: unlike ru_maxrss, not inherited from
    the parent across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_export(url, membership_id, export_type, query=""):
    """One export job in this process, run by the queue's own executor; its figures."""
    from backoffice import export_jobs, freeze_startup_objects, jobs, storage
    from backoffice.extensions import db
    from backoffice.models import Job, Membership

    app = make_app(url)
    freeze_startup_objects()  # as ``python -m backoffice worker`` does
    with app.app_context():
        owner = db.session.get(Membership, membership_id)
        job = Job(kind=export_jobs.KIND, owner_membership_id=owner.id, org_id=owner.org_id, state="queued", params={
            "endpoint": "records", "title": "继续教育记录", "export_type": export_type,
            "path": f"/admin/records/export/{export_type}/", "query": query, "filename": f"records.{export_type}"})
        db.session.add(job)  # inserted directly: no queue message, this process runs it
        db.session.commit()
        job_id = job.id
    t0, c0 = time.perf_counter(), time.process_time()
    jobs.execute(app, job_id)  # what a worker does with the job's id
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    with app.app_context():
        job = db.session.get(Job, job_id)
        size = 0
        if job.result_key:
            with storage.open(job.result_key) as stream:
                size = stream.seek(0, 2)
            storage.delete(job.result_key)
        figures = {"status": job.state, "error": job.error, "rows": job.progress, "total": job.total}
        db.session.delete(job)
        db.session.commit()
    peak_mb = peak_rss_mb()
    return {**figures, "seconds": round(seconds, 1), "rows_per_s": round(figures["rows"] / seconds),
            "cpu_seconds": round(cpu, 1), "rows_per_cpu_s": round(figures["rows"] / cpu), "peak_rss_mb": round(peak_mb),
            "file_mb": round(size / 1e6, 1), "type": export_type}


def child(args):
    print(json.dumps(run_export(args.url, args.membership, args.type, args.query)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decls", type=int, default=1_000_000, help="background declarations")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a kept database (SQLite: bench/out/<name>.sqlite3; PostgreSQL: <name>)")
    parser.add_argument("--name", default=NAME, help="the benchmark database's name (e.g. stats_bench's kept one)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--types", default="xlsx,csv")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--membership", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--type", help=argparse.SUPPRESS)
    parser.add_argument("--query", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    kind = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    sqlite_path = OUT / f"{args.name}.sqlite3"
    drop = None
    if args.reuse and (kind == "postgres" or sqlite_path.exists()):
        if kind == "sqlite":
            url = f"sqlite:///{sqlite_path}"
        else:
            from backoffice.config import normalise_database_url

            url = normalise_database_url(os.environ["DATABASE_URL"]).rpartition("/")[0] + "/" + args.name
        app = prepare(url)  # applies migrations added since the file was built
        with app.app_context():
            state = json.loads(state_file().read_text())
    else:
        url, drop = database_url(kind, args.name)
        app = prepare(url)
        with app.app_context():
            from backoffice.extensions import db

            summary = generate(args.decls)
            db.session.remove()
            db.engine.dispose()
        state = summary["state"]
        print(f"{kind}: {summary['declarations']:,} declarations generated in {summary['seconds']} s", flush=True)
    province = state["admins"]["province"]
    try:
        for export_type in args.types.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--url", url, "--membership", str(province), "--type", export_type],
                capture_output=True, text=True,
            )
            if out.returncode:
                print(out.stderr[-3000:], flush=True)
                continue
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            load = os.getloadavg()[0]
            print(f"{kind} {export_type}: {figures['rows']:,} rows in {figures['seconds']} s = "
                  f"{figures['rows_per_s']:,} rows/s (CPU {figures['cpu_seconds']} s = {figures['rows_per_cpu_s']:,} rows/s), peak RSS {figures['peak_rss_mb']} MB, "
                  f"file {figures['file_mb']} MB, load average {load:.1f} ({figures['status']}{', ' + figures['error'] if figures['error'] else ''})",
                  flush=True)
    finally:
        if kind == "postgres" and drop is not None and not args.keep:
            drop()
            print("dropped the PostgreSQL benchmark database")


if __name__ == "__main__":
    main()
