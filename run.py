"""Start the back office: migrate, load demo data into an empty database, serve.

    python run.py [--host 127.0.0.1] [--port 5000] [--no-demo]

It also runs background jobs in worker threads of this process (no Redis needed).

``HOST``/``PORT`` set the defaults; ``DATABASE_URL`` switches to PostgreSQL.
"""

import argparse
import logging
import os
import sys

from flask_migrate import upgrade
from sqlalchemy import func, select

from backoffice import create_app
from backoffice.extensions import db


def prepare_database(app, demo=True):
    """Apply the migrations, then load demo data if the database holds no organisation."""
    from backoffice.models import Org

    with app.app_context():
        upgrade()
        if db.session.scalar(select(func.count()).select_from(Org)) == 0:
            from seed.demo import load_demo, load_reference

            if demo:
                print("首次启动：正在载入演示数据（河南省行政区划、演示单位与账号）…", flush=True)
                load_demo()
            else:
                load_reference()
                db.session.commit()


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

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    prepare_database(app, demo=not args.no_demo)
    if not app.config.get("JOBS_IMMEDIATE"):
        # The embedded start runs its own worker threads (jobs survive a restart: the
        # queue and the job rows are on disk). Production runs ``python -m backoffice worker``.
        from backoffice.jobs import queue_of

        queue_of(app).start_embedded(workers=app.config.get("JOB_WORKERS", 2))
    print_accounts(app, f"http://{args.host}:{args.port}")

    from waitress import serve

    serve(app, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    sys.exit(main())
