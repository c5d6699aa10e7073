"""Start the back office: migrate, load demo data into an empty database, serve.

    python run.py [--host 127.0.0.1] [--port 5000] [--no-demo]

It also runs background jobs in worker threads of this process (no Redis needed).

``HOST``/``PORT`` set the defaults; ``DATABASE_URL`` switches to PostgreSQL.
"""

import argparse
import os
import sys

from flask_migrate import upgrade
from sqlalchemy import func, select

from backoffice import create_app
from backoffice.extensions import db

DEMO_REFUSED = (
    "生产环境（BACKOFFICE_PRODUCTION=1）不载入演示数据：演示账号的密码是公开的。"
    "已只载入参考数据（行政区划、基础数据、学时标准）；请用\n"
    "    flask --app backoffice create-sysadmin\n"
    "创建第一个系统管理员。"
)


def prepare_database(app, demo=True):
    """Apply the migrations, then load demo data if the database holds no organisation."""
    from backoffice.database import SEED_LOCK, advisory_lock

    with app.app_context():
        upgrade()  # serialised across processes by migrations/env.py
        # Two starts on one empty PostgreSQL: the second waits, then finds the data.
        with advisory_lock(db.engine, SEED_LOCK):
            _seed_if_empty(demo, production=bool(app.config.get("PRODUCTION")))


def _seed_if_empty(demo, production=False):
    """A production start never loads demo data (its passwords are public): only the
    reference data, and it says so."""
    from backoffice.models import Org

    if db.session.scalar(select(func.count()).select_from(Org)) == 0:
        from seed.demo import load_demo, load_reference

        if demo and production:
            print(DEMO_REFUSED, flush=True)
            demo = False
        if demo:
            print("首次启动：正在载入演示数据（河南省行政区划、演示单位与账号）…", flush=True)
            load_demo()
        else:
            load_reference()
            db.session.commit()
    db.session.rollback()  # end the read of the check; the lock is released next


def print_accounts(app, url):
    from seed.demo import DEMO_PASSWORD, demo_accounts_table

    with app.app_context():
        rows = demo_accounts_table()
    print(f"\n继续教育管理系统已启动：{url}/login")
    if rows:
        print(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for label, code, id_number, name in rows:
            code_part = f"  组织机构代码 {code}" if code else ""
            print(f"  {label:<12} 账号 {id_number}{code_part}  （{name}）")
    print("按 Ctrl+C 停止。\n", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="继续教育管理系统")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--no-demo", action="store_true", help="load reference data only, no demo accounts")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "8")))
    args = parser.parse_args(argv)

    overrides = {}
    from backoffice.config import Config

    if not os.environ.get("PUBLIC_BASE_URL") and not Config.PRODUCTION:
        # Development: links point at this server (the bound port is set below).
        # Production refuses to start without PUBLIC_BASE_URL.
        overrides["PUBLIC_BASE_URL"] = f"http://{args.host}:{args.port}"
    try:
        app = create_app(**overrides)  # configures logging (LOG_FORMAT, LOG_LEVEL)
    except RuntimeError as exc:
        print(f"无法启动：{exc}", file=sys.stderr)
        return 2
    prepare_database(app, demo=not args.no_demo)
    if not app.config.get("JOBS_IMMEDIATE"):
        # The embedded start runs its own worker threads (jobs survive a restart: the
        # queue and the job rows are on disk). Production runs ``python -m backoffice worker``.
        from backoffice.jobs import queue_of

        queue_of(app).start_embedded(workers=app.config.get("JOB_WORKERS", 2))

    from waitress import create_server

    # --port 0 takes a free port; the line below names the one actually bound.
    server = create_server(app, host=args.host, port=args.port, threads=args.threads)
    url = f"http://{args.host}:{server.effective_port}"
    if "PUBLIC_BASE_URL" in overrides:
        app.config["PUBLIC_BASE_URL"] = url
    print_accounts(app, url)
    from backoffice import freeze_startup_objects

    freeze_startup_objects()
    server.run()


if __name__ == "__main__":
    sys.exit(main())
