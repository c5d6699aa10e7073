"""Continuing-education records back office: the application factory."""

import logging
import os
from pathlib import Path

from flask import Flask, redirect, render_template, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from .config import BASE_DIR, DEFAULT_SECRET_KEY, Config
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .extensions import mail as mail_ext  # ``mail`` would be shadowed by backoffice.mail

log = logging.getLogger(__name__)

ALLOWED_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "auth.captcha_image"}


def _configure_engine(engine):
    """SQLite: real transactions (savepoints work), foreign keys enforced, WAL."""
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

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


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

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)

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

    from . import formatting, models  # noqa: F401  (register the tables)
    from .jobs import init_app as init_jobs

    init_jobs(app)  # the job queue (Huey); tasks register as their modules import
    from .storage import init_app as init_storage

    init_storage(app)  # file storage by STORAGE_URL (default: the UPLOAD_DIR directory)
    formatting.init_app(app)  # the |hours filter: whole hours print as integers
    from .auth import bp as auth_bp
    from .web import register_blueprints

    app.register_blueprint(auth_bp)
    register_blueprints(app)

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
    )
    register_views(admin)
    app.extensions["backoffice_admin"] = admin

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
