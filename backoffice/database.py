"""Database plumbing that is not the schema: engine options for PostgreSQL, the SQLite
transaction mode, and advisory locks that serialise start-up work across processes."""

import contextlib
import contextvars
import os
import threading
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
        # JIT compiles a query whose estimated cost passes jit_above_cost: 30–40 ms spent
        # on every approve-all's summary statement, for queries that run in milliseconds.
        # The usual setting for transactional work; DB_JIT=on gives it back.
        "connect_args": {"options": f"-c jit={'on' if environ.get('DB_JIT') == 'on' else 'off'}"},
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


COMMITTED_KEY = "backoffice.sqlite_committed"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _declared_writer():
    """A thread that declared itself a writer (``backoffice.SQLITE_WRITER.on``)."""
    import backoffice

    marker = getattr(backoffice, "SQLITE_WRITER", None)
    return bool(marker is not None and getattr(marker, "on", False))


def _is_write(statement):
    return statement.lstrip()[:7].upper().startswith(_WRITE_VERBS)


def sqlite_begin_statement(first_statement=""):
    """How an SQLite transaction starts, decided at its first statement.

    ``BEGIN IMMEDIATE`` takes the write lock at once: concurrent writers then queue
    instead of failing. (A ``BEGIN`` that reads first and writes later fails with
    "database is locked" when another writer committed in between — SQLite cannot
    upgrade a stale snapshot — and waits for nothing.) So:

    * a transaction whose first statement writes: IMMEDIATE;
    * transactions of a POST/PUT/DELETE request (they read, then write): IMMEDIATE,
      until one that wrote has committed; what follows is mostly reading for the
      response (a redirect, the mails) and stays deferred, so that a nested session of
      the same request (queueing a mail) can still write;
    * GET/HEAD requests: deferred — WAL lets readers run beside a writer;
    * outside requests (jobs, commands, seeding) and in a thread declared a writer
      (a job): IMMEDIATE, unless in ``read_only_transactions()`` — a job's long read
      (an export streaming a million rows) must not hold the write lock, or its own
      progress writes on another connection would wait for it.
    """
    if _is_write(first_statement):
        return "BEGIN IMMEDIATE"
    if _read_only.get():  # even in a writer thread: a long read must not hold the lock
        return "BEGIN"
    if _declared_writer():
        return "BEGIN IMMEDIATE"
    if has_request_context():
        if request.method in SAFE_METHODS or request.environ.get(COMMITTED_KEY):
            return "BEGIN"
    return "BEGIN IMMEDIATE"


class _WriteQueue:
    """One process's writers to one SQLite file, in line.

    ``BEGIN IMMEDIATE`` alone queues writers on SQLite's busy handler, which polls with
    sleeps of up to 100 ms and favours nobody: under load a writer can lose the race
    again and again until its busy timeout ends in "database is locked". Waiting on a
    lock of this process first wakes the next writer as soon as the previous one commits;
    the busy timeout is then only for writers in other processes (a worker, a command).
    """

    def __init__(self, timeout):
        self.lock = threading.Lock()
        self.owner = None
        self.timeout = timeout

    def acquire(self):
        if self.owner == threading.get_ident():  # a second connection of the same thread
            return False
        if not self.lock.acquire(timeout=self.timeout):
            return False  # fall back to SQLite's own busy wait
        self.owner = threading.get_ident()
        return True

    def release(self):
        self.owner = None
        self.lock.release()


def configure_sqlite_transactions(engine, queue_timeout=60):
    """SQLite transactions begin at their first statement, with
    ``sqlite_begin_statement()``; writers of this process take turns through a
    ``_WriteQueue`` held from BEGIN IMMEDIATE to COMMIT/ROLLBACK."""
    from sqlalchemy import event

    queue = _WriteQueue(queue_timeout)
    holds, pending, wrote = "backoffice_holds_write_queue", "backoffice_begin_pending", "backoffice_wrote"

    def _release(info):
        if info.pop(holds, False):
            queue.release()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.info[pending] = True  # BEGIN goes out with the first statement

    @event.listens_for(engine, "before_cursor_execute")
    def _first_statement(connection, cursor, statement, parameters, context, executemany):
        if _is_write(statement):
            connection.info[wrote] = True
        if not connection.info.pop(pending, False):
            return
        begin = sqlite_begin_statement(statement)
        if begin == "BEGIN IMMEDIATE" and queue.acquire():
            connection.info[holds] = True
        try:
            connection.connection.driver_connection.execute(begin)
        except BaseException:
            _release(connection.info)
            raise

    def _end(connection):
        connection.info.pop(pending, None)
        connection.info.pop(wrote, None)
        _release(connection.info)

    @event.listens_for(engine, "commit")
    def _commit(connection):
        # The request's work is done once a transaction that wrote commits (a commit
        # that only read, such as loading the session, does not count).
        if connection.info.get(wrote) and has_request_context():
            request.environ[COMMITTED_KEY] = True
        _end(connection)

    event.listen(engine, "rollback", _end)

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection, record, reset_state):
        # A connection returned to the pool without an explicit end of its transaction.
        record.info.pop(pending, None)
        _release(record.info)

    return queue


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
