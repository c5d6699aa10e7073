"""The web layer's defences, configured in one place and called from ``create_app``.

* Server-side sessions (Flask-Session): the browser holds only an opaque id. The store
  is the application database (table ``http_session``) by default, Redis when
  ``REDIS_URL`` is set. Idle timeout ``SESSION_IDLE_MINUTES`` (30), absolute lifetime
  ``SESSION_MAX_HOURS`` (12). A session remembers its account's session generation;
  bumping it (:func:`end_sessions_of`) ends every session of the account.
* Flask-Limiter's storage: ``RATELIMIT_STORAGE_URI`` if given, else ``REDIS_URL``,
  else memory (one process). Failed sign-ins are counted there per ID number and per
  client IP in a moving window (:func:`login_locked_until`, :func:`record_login_failure`).
* ``TRUSTED_PROXIES``: how many reverse proxies set ``X-Forwarded-For``/``-Proto``
  (Werkzeug's ProxyFix); 0 (the default) trusts none.
* Security headers (flask-talisman): CSP with a per-request nonce for the few inline
  scripts, frame-ancestors 'none', nosniff, Referrer-Policy; HSTS and Secure cookies in
  production only.
* ``PUBLIC_BASE_URL`` builds every absolute URL (:func:`external_url`); the request's
  Host header is never used for them.
"""

import hashlib
import logging
import random
import time
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from flask import current_app, g, has_request_context, request, session
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, select, update

from .extensions import db, limiter

log = logging.getLogger(__name__)

GENERATION_KEY = "_gen"
LOGIN_AT_KEY = "_login_at"
SEEN_AT_KEY = "_seen"
# The idle clock is written back at most this often (one storage write per minute per
# session, not one per request).
SEEN_RESOLUTION = 60


# --------------------------------------------------------------------------- settings
def configure(app):
    """Fill the derived settings; called before the extensions are initialised."""
    cfg = app.config
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"
    cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=float(cfg.get("SESSION_IDLE_MINUTES", 30)))
    # The store is refreshed when the session changes (and the idle clock changes it
    # once a minute), not on every request.
    cfg["SESSION_REFRESH_EACH_REQUEST"] = False
    production = bool(cfg.get("PRODUCTION"))
    cfg["SESSION_COOKIE_SECURE"] = production
    if production:
        cfg["PREFERRED_URL_SCHEME"] = "https"
        if not (cfg.get("PUBLIC_BASE_URL") or "").strip():
            raise RuntimeError(
                "生产环境必须设置 PUBLIC_BASE_URL（系统对外的访问地址，如 https://jxjy.example.gov.cn），"
                "重置密码链接和证书二维码都用它生成 (production needs PUBLIC_BASE_URL)"
            )


def init_app(app):
    """Proxies, sessions and headers; after ``db`` and ``limiter`` are initialised."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    app.session_interface = _session_interface(app)
    app.before_request(_check_session_clock)
    _init_headers(app)


# --------------------------------------------------------------------------- sessions
class DatabaseSessionInterface(ServerSideSessionInterface):
    """Flask-Session's SQL store, on the application's own database session.

    Unlike the stock ``SqlAlchemySessionInterface`` it does not create its table (the
    migration does), and it does not commit objects a view changed but never flushed:
    those are dropped first, as the request's teardown would have done. (Views commit
    their work or roll it back themselves; the error handlers roll back.)
    """

    session_class = ServerSideSession
    ttl = False

    def __init__(self, app, key_prefix, cleanup_every=200):
        self.cleanup_every = cleanup_every
        super().__init__(app, key_prefix=key_prefix, use_signer=False, permanent=True, sid_length=32,
                         serialization_format="msgpack", cleanup_n_requests=None)

    @staticmethod
    def _model():
        from .models import HttpSession

        return HttpSession

    def _retrieve_session_data(self, store_id):
        model = self._model()
        row = db.session.execute(
            select(model.data, model.expiry).where(model.session_id == store_id)
        ).first()
        # End the read here: the view starts its own transaction (on SQLite a transaction
        # that read before another connection committed cannot write).
        db.session.commit()
        if row is None or row.expiry <= datetime.utcnow():
            return None
        try:
            return self.serializer.decode(bytes(row.data))
        except Exception:  # noqa: BLE001 - an unreadable session is no session
            log.warning("unreadable session record dropped")
            return None

    @staticmethod
    def _drop_unflushed():
        """Leave the session clean before the session row is written: objects changed but
        never flushed are dropped; a transaction that only read is ended (on SQLite a
        transaction that read before another connection committed cannot write); flushed
        and uncommitted work (none in a finished view) is committed with the row, as the
        stock interface does."""
        if not db.session.info.get(FLUSHED):
            db.session.rollback()

    def _delete_session(self, store_id):
        self._drop_unflushed()
        db.session.execute(delete(self._model()).where(self._model().session_id.in_([store_id, *_stale_ids()])))
        db.session.commit()

    def _upsert_session(self, session_lifetime, session, store_id):
        model = self._model()
        data = self.serializer.encode(session)
        expiry = datetime.utcnow() + session_lifetime
        self._drop_unflushed()
        stale = _stale_ids()
        if stale:
            db.session.execute(delete(model).where(model.session_id.in_(stale)))
        done = db.session.execute(
            update(model).where(model.session_id == store_id).values(data=data, expiry=expiry)
        ).rowcount
        if not done:
            db.session.add(model(session_id=store_id, data=data, expiry=expiry))
            if self.cleanup_every and random.randrange(self.cleanup_every) == 0:
                self._delete_expired_sessions()
        db.session.commit()

    def _delete_expired_sessions(self):
        db.session.execute(delete(self._model()).where(self._model().expiry <= datetime.utcnow()))


FLUSHED = "backoffice_flushed"


def _track_flushes():
    """Mark a database session that holds flushed, uncommitted writes."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if getattr(_track_flushes, "done", False):
        return
    _track_flushes.done = True

    @event.listens_for(Session, "after_flush")
    def _flushed(session, context):
        session.info[FLUSHED] = True

    @event.listens_for(Session, "do_orm_execute")
    def _written(state):
        if state.is_insert or state.is_update or state.is_delete:
            state.session.info[FLUSHED] = True

    @event.listens_for(Session, "after_commit")
    @event.listens_for(Session, "after_rollback")
    def _ended(session):
        session.info.pop(FLUSHED, None)


def _session_interface(app):
    _track_flushes()
    prefix = app.config.get("SESSION_KEY_PREFIX", "session:")
    url = app.config.get("SESSION_REDIS_URL") or app.config.get("REDIS_URL")
    if url:
        import redis
        from flask_session.redis import RedisSessionInterface

        return RedisSessionInterface(app, client=redis.Redis.from_url(url), key_prefix=prefix, use_signer=False,
                                     permanent=True, sid_length=32, serialization_format="msgpack")
    return DatabaseSessionInterface(app, key_prefix=prefix)


STALE_KEY = "backoffice_stale_session_ids"


def _stale_ids():
    """Stored ids this request replaced: deleted with the write of the new session."""
    return g.pop(STALE_KEY, []) if has_request_context() else []


def rotate_session():
    """A new session id for the same browser (sign-in): the old id stops working.

    On the database store the old row is deleted in the same transaction that writes
    the new one, at the end of the request: deleting it here would commit in the middle
    of the view (on SQLite the view's later read-then-write could then not take the
    write lock). Redis deletes at once."""
    interface = current_app.session_interface
    if hasattr(interface, "_delete_session") and getattr(session, "sid", None):
        store_id = interface._get_store_id(session.sid)
        if isinstance(interface, DatabaseSessionInterface):
            g.setdefault(STALE_KEY, []).append(store_id)
        else:
            interface._delete_session(store_id)
        session.sid = interface._generate_sid(interface.sid_length)
    session.modified = True


def end_session():
    """Sign-out: the stored session is deleted and the browser gets a fresh, empty one."""
    session.clear()
    rotate_session()


def start_signed_in_session(account):
    """Called at sign-in (after the captcha and password checks)."""
    rotate_session()
    stamp = time.time()
    session[GENERATION_KEY] = account.session_generation or 0
    session[LOGIN_AT_KEY] = stamp
    session[SEEN_AT_KEY] = stamp


def session_is_current(account):
    """Whether the signed-in session still stands for ``account`` (checked once per request
    by the user loader): same generation, within the absolute lifetime."""
    if session.get(GENERATION_KEY) != (account.session_generation or 0):
        return False
    login_at = session.get(LOGIN_AT_KEY)
    max_age = float(current_app.config.get("SESSION_MAX_HOURS", 12)) * 3600
    return isinstance(login_at, (int, float)) and time.time() - login_at <= max_age


def remember_generation(account):
    """The account's own session survives its password change (others end)."""
    rotate_session()
    session[GENERATION_KEY] = account.session_generation or 0


def _check_session_clock():
    """Idle timeout on the server side too, and a rolling idle clock."""
    if request.endpoint and request.endpoint.endswith("static"):
        return
    seen = session.get(SEEN_AT_KEY)
    if seen is None:
        return
    now_ = time.time()
    idle = current_app.permanent_session_lifetime.total_seconds()
    if now_ - seen > idle:
        session.clear()
        return
    if now_ - seen > SEEN_RESOLUTION:
        session[SEEN_AT_KEY] = now_


def end_sessions_of(account_ids_query):
    """Bump the session generation of the accounts selected (one set-based UPDATE):
    their sessions end at the next request. ``account_ids_query`` is a select of ids."""
    from .models import Account

    db.session.execute(
        update(Account).where(Account.id.in_(account_ids_query))
        .values(session_generation=Account.session_generation + 1)
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- sign-in throttling
def _limits():
    cfg = current_app.config
    return (parse(cfg.get("LOGIN_FAILURE_LIMIT", "5 per 15 minutes")),
            parse(cfg.get("LOGIN_IP_FAILURE_LIMIT", "30 per 15 minutes")))


def _strategy():
    return MovingWindowRateLimiter(limiter.storage)


def _keys(id_number):
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    account_key = hashlib.sha256((id_number or "").strip().upper().encode()).hexdigest()[:32]
    address = (request.remote_addr if has_request_context() else None) or "-"
    return (f"{prefix}login-fail-account", account_key), (f"{prefix}login-fail-ip", address)


def login_locked_until(id_number):
    """When the account (or this client IP) may try again, or None when it may now."""
    (per_account, per_ip), (account_key, ip_key) = _limits(), _keys(id_number)
    strategy = _strategy()
    waits = []
    try:
        for item, key in ((per_account, account_key), (per_ip, ip_key)):
            if not strategy.test(item, *key):
                reset_at, _ = strategy.get_window_stats(item, *key)
                waits.append(reset_at)
    except Exception:  # noqa: BLE001 - a storage outage must not lock everybody out
        log.exception("login throttle storage unavailable")
        return None
    if not waits:
        return None
    return datetime.fromtimestamp(max(max(waits), time.time() + 1))


def record_login_failure(id_number):
    (per_account, per_ip), (account_key, ip_key) = _limits(), _keys(id_number)
    strategy = _strategy()
    try:
        strategy.hit(per_account, *account_key)
        strategy.hit(per_ip, *ip_key)
    except Exception:  # noqa: BLE001
        log.exception("login throttle storage unavailable")


def clear_login_failures(id_number):
    per_account, _ = _limits()
    try:
        _strategy().clear(per_account, *_keys(id_number)[0])
    except Exception:  # noqa: BLE001
        log.exception("login throttle storage unavailable")


# --------------------------------------------------------------------------- redirects
def safe_next(target, default=None):
    """``target`` if it is a same-site relative path, else ``default``.

    Refuses what browsers read as another site: ``//host``, ``/\\host``, backslashes,
    control characters (a tab or newline inside ``/\\t/host`` is dropped by browsers),
    schemes (``javascript:``), absolute URLs, and the percent-encoded forms of all these.
    """
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    decoded = target
    for _ in range(3):  # look through double encoding too
        decoded = unquote(decoded)
    for candidate in (target, decoded):
        if not candidate.startswith("/") or candidate.startswith("//"):
            return default
        if "\\" in candidate or any(ord(c) < 32 or ord(c) == 127 for c in candidate):
            return default
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return default
    return target


# --------------------------------------------------------------------------- absolute URLs
def public_base_url():
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
    return base or "http://localhost:5000"


def external_url(endpoint, **values):
    """An absolute URL under ``PUBLIC_BASE_URL``: never built from the request's Host."""
    adapter = current_app.url_map.bind("localhost", script_name="/", url_scheme="http")
    path = adapter.build(endpoint, values, force_external=False)
    return public_base_url() + path


# --------------------------------------------------------------------------- headers
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    # style="" attributes (layout only, they cannot run script) are still used by a few
    # pages and by Bootstrap's widgets; <style> elements are not allowed.
    "style-src-attr": "'unsafe-inline'",
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _init_headers(app):
    from flask_talisman import Talisman

    production = bool(app.config.get("PRODUCTION"))
    csp = dict(CSP)
    extra_style = app.config.get("CSP_STYLE_SRC_EXTRA")
    if extra_style:
        csp["style-src"] = ["'self'", *extra_style]
    talisman = Talisman(
        app,
        force_https=False,  # TLS ends at the reverse proxy; HSTS tells browsers to stay on https
        strict_transport_security=production,
        strict_transport_security_max_age=365 * 24 * 3600,
        session_cookie_secure=production,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        content_security_policy=csp,
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        x_content_type_options=True,
        x_xss_protection=False,
    )
    app.extensions["backoffice_talisman"] = talisman


# --------------------------------------------------------------------------- downloads
# Types a browser would run or render as a page: never sent with their own type.
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                "text/javascript", "application/javascript")


def safe_download_name(name, fallback="download"):
    """A file name without path parts, control characters or quotes."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>:|?*;')
    name = name.strip(" .")[:120]
    return name or fallback


def safe_download_mimetype(name, mimetype=None):
    """The type a download is sent with: HTML, SVG, scripts and text go as octet-stream."""
    import mimetypes

    guessed = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if guessed.split(";")[0].strip().lower() in ACTIVE_TYPES or guessed.startswith("text/"):
        return "application/octet-stream"
    return guessed


def harden_download(response):
    """nosniff, no caching, and a policy that runs nothing should a browser render it."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def send_upload(path_or_stream, download_name, mimetype=None):
    """An uploaded file, always as an attachment (never rendered inline), with a safe
    name, nosniff and no caching; HTML/SVG and unknown types go as octet-stream."""
    from flask import send_file

    name = safe_download_name(download_name, fallback=getattr(path_or_stream, "name", None) or "download")
    response = send_file(path_or_stream, mimetype=safe_download_mimetype(name, mimetype), as_attachment=True,
                         download_name=name)
    return harden_download(response)
