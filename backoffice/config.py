"""Settings from the environment.

Every setting has a development default so that ``python run.py`` works on a fresh
clone; a production start (``FLASK_ENV=production`` or ``BACKOFFICE_PRODUCTION=1``)
refuses the default secret key.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = BASE_DIR / "instance"

DEFAULT_SECRET_KEY = "dev-only-secret-key-change-me"


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url):
    """Accept ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'backoffice.sqlite3'}")
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    PRODUCTION = _bool("BACKOFFICE_PRODUCTION") or os.environ.get("FLASK_ENV") == "production"

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"

    # Image captcha on the login page; only the test configuration turns it off.
    CAPTCHA_ENABLED = True

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "jxjy-noreply@example.gov.cn")
    # Without a mail server (the demo), messages are logged instead of sent.
    MAIL_SUPPRESS_SEND = _bool("MAIL_SUPPRESS_SEND", default="MAIL_SERVER" not in os.environ)

    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    # Where files are kept (backoffice.storage): file:///dir or s3://bucket?endpoint=…;
    # empty means the UPLOAD_DIR directory.
    STORAGE_URL = os.environ.get("STORAGE_URL") or None
    # Retention (backoffice.retention): finished jobs' files, abandoned import stashes.
    JOB_FILE_RETENTION_DAYS = int(os.environ.get("JOB_FILE_RETENTION_DAYS", "7"))
    IMPORT_STASH_RETENTION_HOURS = int(os.environ.get("IMPORT_STASH_RETENTION_HOURS", "24"))
    JOB_ROW_RETENTION_DAYS = int(os.environ.get("JOB_ROW_RETENTION_DAYS", "30"))

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "20 per minute")

    # Background jobs (backoffice.jobs): Huey on Redis when REDIS_URL is set, else a
    # SQLite queue file under instance/ (embedded start).
    REDIS_URL = os.environ.get("REDIS_URL") or None
    JOB_QUEUE_NAME = os.environ.get("JOB_QUEUE_NAME", "backoffice")
    JOB_QUEUE_FILE = os.environ.get("JOB_QUEUE_FILE") or None
    JOB_WORKERS = int(os.environ.get("JOB_WORKERS", "2"))
    JOB_HEARTBEAT_SECONDS = int(os.environ.get("JOB_HEARTBEAT_SECONDS", "10"))
    JOB_STALE_SECONDS = int(os.environ.get("JOB_STALE_SECONDS", "60"))
    JOB_LOST_SECONDS = int(os.environ.get("JOB_LOST_SECONDS", "600"))
    JOBS_IMMEDIATE = _bool("JOBS_IMMEDIATE")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

    # Flask-Admin list pages
    FLASK_ADMIN_SWATCH = "flatly"


class TestConfig(Config):
    TESTING = True
    LOGIN_RATE_LIMIT = "1000 per minute"
    CAPTCHA_ENABLED = False
    MAIL_SUPPRESS_SEND = True
    PRODUCTION = False
    JOBS_IMMEDIATE = True  # jobs run in-process at the commit that enqueues them
