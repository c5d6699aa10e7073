"""gunicorn settings for the app processes:

    gunicorn 'backoffice:create_app()'

run from the repository root (gunicorn reads ./gunicorn.conf.py). App processes never
migrate or seed: run ``flask --app backoffice db upgrade`` once per release first.
Every value comes from the environment; the defaults suit a 2–4 core machine.
"""

import multiprocessing
import os


def _int(name, default):
    value = (os.environ.get(name) or "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threads serve requests that wait on PostgreSQL; processes use the cores. Keep
# workers × threads ≤ DB_POOL_SIZE + DB_MAX_OVERFLOW per worker (see docs/deploy.md).
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# A request longer than this is killed and its worker replaced (bulk work belongs in
# the job queue); graceful_timeout lets a reload finish the requests in flight.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (a leak stays bounded); jitter avoids all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)
# Headers from the proxy in front (nginx on the same host by default); the app's own
# TRUSTED_PROXIES setting decides which X-Forwarded-* it believes.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs to stderr (journald under systemd). The app writes its own access line with the
# request id and the signed-in user (ACCESS_LOG=1, its format follows LOG_FORMAT);
# gunicorn's combined-format access log is there for tools that expect it: set
# GUNICORN_ACCESS_LOG=- (or a file) to turn it on.
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = (
    '%(h)s - %(u)s [%(t)s] "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms rid=%({x-request-id}o)s'
)
proc_name = os.environ.get("GUNICORN_PROC_NAME", "backoffice")


def post_worker_init(worker):
    """The worker has built the app: keep the collector off the start-up objects
    (see ``backoffice.freeze_startup_objects``)."""
    from backoffice import freeze_startup_objects

    freeze_startup_objects()
