"""Database plumbing that is not the schema: engine options for PostgreSQL, the SQLite
transaction mode, and advisory locks that serialise start-up work across processes."""

import contextlib
import contextvars
import os
import zlib

from flask import has_request_context, request

# Advisory lock keys (PostgreSQL bigint); named so that ``pg_locks`` can be read.
MIGRATION_LOCK = zlib.crc32(b"backoffice:migrate")
SEED_LOCK = zlib.crc32(b"backoffice:seed")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _int_env(environ, name, default):
    value = (environ.get(name) or "").strip()
    return int(value) if value else default


def engine_options(uri, environ=None):
    """``SQLALCHEMY_ENGINE_OPTIONS`` for ``uri``: on PostgreSQL a connection is tested
    before use (``pool_pre_ping``: a restart or a failover costs a reconnect, not a 500)
    and the pool is sized from the environment. Per process: ``DB_POOL_SIZE`` (default
    5) + ``DB_MAX_OVERFLOW`` (10) connections; keep workers × threads within that and
    the sum over processes within PostgreSQL's ``max_connections``."""
    environ = os.environ if environ is None else environ
    if not uri.startswith("postgresql"):
        return {}
    return {
        "pool_pre_ping": True,
        "pool_size": _int_env(environ, "DB_POOL_SIZE", 5),
        "max_overflow": _int_env(environ, "DB_MAX_OVERFLOW", 10),
        "pool_timeout": _int_env(environ, "DB_POOL_TIMEOUT", 30),
        "pool_recycle": _int_env(environ, "DB_POOL_RECYCLE", 1800),
    }


# --------------------------------------------------------------------------- SQLite
_read_only = contextvars.ContextVar("backoffice_sqlite_read_only", default=False)


@contextlib.contextmanager
def read_only_transactions():
    """Outside a request, transactions take SQLite's write lock when they begin; long
    read-only work (a report, an export) opts out with this block."""
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)


def sqlite_begin_statement():
    """How an SQLite transaction starts.

    ``BEGIN IMMEDIATE`` takes the write lock at once: concurrent writers then queue on
    the busy timeout instead of failing. (A ``BEGIN`` that reads first and writes later
    fails with "database is locked" when another writer committed in between — SQLite
    cannot upgrade a stale snapshot — and waits for nothing.) Reads of GET/HEAD requests
    stay ``BEGIN`` (deferred): WAL lets them run beside a writer."""
    if _read_only.get():
        return "BEGIN"
    if has_request_context() and request.method in SAFE_METHODS:
        return "BEGIN"
    return "BEGIN IMMEDIATE"


# --------------------------------------------------------------------------- start-up locks
@contextlib.contextmanager
def advisory_lock(engine, key):
    """Hold a PostgreSQL session advisory lock for the block (a no-op elsewhere: SQLite
    serialises writers itself). The lock lives on its own connection, so the block may
    commit as often as it likes."""
    if engine.dialect.name != "postgresql":
        yield
        return
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
