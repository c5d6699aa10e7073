"""Command line of the back office.

    python -m backoffice worker [--workers N]   run background jobs until SIGINT/SIGTERM
    python -m backoffice cleanup                run the retention clean-up once
    python -m backoffice archive-audit --before 2020-01-01 --out audit-2019.jsonl.gz [--delete]

A worker needs the same settings as the app processes (``DATABASE_URL``, ``REDIS_URL``,
``STORAGE_URL``, ``SECRET_KEY``); it never migrates. Run as many as you like, on any
machine that reaches the database, Redis and the file storage.
"""

import argparse
import logging
import sys


def worker(args):
    from . import create_app
    from .jobs import queue_of

    app = create_app()
    queue = queue_of(app)
    if queue.huey.immediate:
        print("JOBS_IMMEDIATE 已开启：任务在提交时直接执行，无需单独的任务进程", file=sys.stderr)
        return 2
    if not app.config.get("REDIS_URL"):
        logging.getLogger(__name__).warning(
            "REDIS_URL is not set: this worker reads the SQLite queue file of this machine only")
    from . import freeze_startup_objects

    freeze_startup_objects()
    queue.run_worker(workers=args.workers or app.config.get("JOB_WORKERS", 2))
    return 0


def cleanup(args):
    from . import create_app, retention

    app = create_app()
    results = retention.run_all(app)
    for name, count in results.items():
        print(f"{name}: {'失败，见日志' if count is None else count}")
    return 1 if any(count is None for count in results.values()) else 0


def archive_audit(args):
    from datetime import datetime

    from . import create_app
    from .audit_archive import archive

    try:
        before = datetime.strptime(args.before, "%Y-%m-%d")
    except ValueError:
        print("--before 须为日期，例如 2020-01-01", file=sys.stderr)
        return 2
    app = create_app()
    with app.app_context():
        n = archive(before, args.out, remove=args.delete)
    print(f"{n} 条审计日志已写入 {args.out}" + ("，并已从数据库移除" if args.delete and n else ""))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backoffice", description="继续教育管理系统命令")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("worker", help="运行后台任务进程（证书批量打印、邮件、导入导出、定期清理）")
    p.add_argument("--workers", type=int, default=None, help="worker threads (default JOB_WORKERS or 2)")
    p.set_defaults(func=worker)
    p = sub.add_parser("cleanup", help="立即执行一次定期清理（过期的任务文件、未确认的导入等）")
    p.set_defaults(func=cleanup)
    p = sub.add_parser("archive-audit", help="把早于某日期的审计日志导出为 .jsonl.gz 归档文件（可选从数据库移除）")
    p.add_argument("--before", required=True, help="YYYY-MM-DD: rows older than this date")
    p.add_argument("--out", required=True, help="the archive file to write (.jsonl.gz)")
    p.add_argument("--delete", action="store_true", help="remove the archived rows from the database afterwards")
    p.set_defaults(func=archive_audit)
    args = parser.parse_args(argv)
    # create_app configures logging (LOG_FORMAT, LOG_LEVEL) like the app processes'.
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
