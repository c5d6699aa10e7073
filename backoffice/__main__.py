"""Command line of the back office.

    python -m backoffice worker [--workers N]   run background jobs until SIGINT/SIGTERM
    python -m backoffice cleanup                run the retention clean-up once

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
    queue.run_worker(workers=args.workers or app.config.get("JOB_WORKERS", 2))
    return 0


def cleanup(args):
    from . import create_app, retention

    app = create_app()
    results = retention.run_all(app)
    for name, count in results.items():
        print(f"{name}: {'失败，见日志' if count is None else count}")
    return 1 if any(count is None for count in results.values()) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backoffice", description="继续教育管理系统命令")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("worker", help="运行后台任务进程（证书批量打印、邮件、导入导出、定期清理）")
    p.add_argument("--workers", type=int, default=None, help="worker threads (default JOB_WORKERS or 2)")
    p.set_defaults(func=worker)
    p = sub.add_parser("cleanup", help="立即执行一次定期清理（过期的任务文件、未确认的导入等）")
    p.set_defaults(func=cleanup)
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
