"""Continuing-education records back office: the application factory."""

import logging
import os
import threading
from pathlib import Path

from flask import Flask, redirect, render_template, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from .config import BASE_DIR, DEFAULT_SECRET_KEY, Config
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .extensions import mail as mail_ext  # ``mail`` would be shadowed by backoffice.mail

log = logging.getLogger(__name__)

# A thread that reads then writes outside a write request (a job run in-process) sets
# ``SQLITE_WRITER.on = True``: its SQLite transactions take the write lock when they
# begin (see ``database.sqlite_begin_statement``).
SQLITE_WRITER = threading.local()

ALLOWED_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "auth.captcha_image"}


def _configure_engine(engine):
    """SQLite: real transactions (savepoints work), foreign keys enforced, WAL, writers
    that queue (see ``database.sqlite_begin_statement``)."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MB page cache: bulk review updates many indexes
        cursor.close()

    from .database import configure_sqlite_transactions

    configure_sqlite_transactions(engine)


def freeze_startup_objects():
    """In a server or worker process, once the app is built: move every object that
    exists now (modules, the app, SQLAlchemy's mappers and statement caches, Jinja's
    templates) out of the garbage collector's reach (``gc.freeze``). A full collection
    would otherwise rescan them all — ~0.1 s each time — and requests that read many
    rows (approve-all of 10,000 records) set several off. Not for tests, which build
    many apps in one process: what is frozen is never freed."""
    import gc

    gc.collect()
    gc.freeze()


def create_app(config=None, **overrides):
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder="static",
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(config or Config)
    app.config.update(overrides)
    if app.config.get("PRODUCTION") and app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        raise RuntimeError("生产环境必须通过 SECRET_KEY 环境变量设置密钥 (production needs SECRET_KEY)")

    from . import security

    security.configure(app)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)

    from .database import engine_options
    from .observability import configure_logging, init_request_logging

    configure_logging(app)
    if not app.config.get("SQLALCHEMY_ENGINE_OPTIONS"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    with app.app_context():
        _configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    mail_ext.init_app(app)
    babel.init_app(app, default_locale=app.config["BABEL_DEFAULT_LOCALE"])
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"
    security.init_app(app)  # sessions, proxies, headers

    from . import formatting, models  # noqa: F401  (register the tables)
    from .jobs import init_app as init_jobs

    init_jobs(app)  # the job queue (Huey); tasks register as their modules import
    from .storage import init_app as init_storage

    init_storage(app)  # file storage by STORAGE_URL (default: the UPLOAD_DIR directory)
    formatting.init_app(app)  # the |hours filter: whole hours print as integers
    from .auth import bp as auth_bp
    from .web import register_blueprints

    init_request_logging(app)
    app.register_blueprint(auth_bp)
    from . import cli

    cli.init_app(app)
    register_blueprints(app)

    from .api import init_api

    init_api(app)  # /api/v1 for training institutions (keys, not the session)

    from .views import register_views
    from .views.home import HomeView

    admin = Admin(
        app,
        name="继续教育管理系统",
        url="/admin",
        # Messages Flask-Admin's own Chinese catalogue lacks.
        translations_path=str(Path(__file__).parent / "translations"),
        theme=Bootstrap4Theme(swatch="flatly", base_template="admin/app_base.html", fluid=True),
        index_view=HomeView(name="首页", url="/admin", template="admin/home.html"),
        csp_nonce_generator=app.jinja_env.globals["csp_nonce"],
    )
    register_views(admin)
    app.extensions["backoffice_admin"] = admin

    from .summary_cli import register_commands  # flask rebuild-summary (statistics)

    register_commands(app)

    @app.before_request
    def forced_password_change():
        """A reset password must be changed before anything else can be done."""
        from flask import request

        if (
            current_user.is_authenticated
            and current_user.account.must_change_password
            and request.endpoint not in ALLOWED_BEFORE_PASSWORD_CHANGE
            and not (request.endpoint or "").endswith("static")
        ):
            return redirect(url_for("auth.change_password"))

    @app.route("/")
    def index():
        if current_user.is_authenticated:
            return redirect(url_for("admin.index"))
        return redirect(url_for("auth.login"))

    @app.errorhandler(403)
    def forbidden(e):
        return render_template("errors/error.html", code=403, message="您没有权限访问此页面"), 403

    @app.errorhandler(404)
    def not_found(e):
        return render_template("errors/error.html", code=404, message="页面或记录不存在，或不在您的管理范围内"), 404

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return render_template("errors/error.html", code=400, message="页面已过期或请求无效，请刷新页面后重试"), 400

    from sqlalchemy.exc import DataError

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def bad_parameter(e):
        # A crafted number the database cannot hold (page, filter or id): the request
        # is wrong, not the server.
        db.session.rollback()
        log.info("refused a request parameter out of range: %s", e)
        return render_template("errors/error.html", code=400, message="请求参数无效，请检查后重试"), 400

    @app.errorhandler(429)
    def too_many(e):
        return render_template("errors/error.html", code=429, message="操作过于频繁，请稍后再试"), 429

    @app.errorhandler(413)
    def too_large(e):
        return render_template("errors/error.html", code=413, message="上传的文件过大"), 413

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return render_template("errors/error.html", code=500, message="系统繁忙，请稍后重试"), 500

    @app.context_processor
    def globals_():
        from flask import current_app

        return {
            "app_name": "河南省专业技术人员继续教育信息管理系统",
            "has_endpoint": lambda name: name in current_app.view_functions,
        }

    if os.environ.get("BACKOFFICE_SQL_ECHO"):
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    return app
