"""Background jobs: everything that is not the request (print jobs, e-mail, exports,
imports, clean-up) runs here, in a worker, never in a thread of the web process.

The queue is Huey (``huey`` on PyPI): a ``SqliteHuey`` file under ``instance/`` for the
embedded start (``python run.py`` runs an in-process worker), ``RedisHuey`` when
``REDIS_URL`` is set (any number of ``python -m backoffice worker`` processes on any
machine). Huey only carries a job's id. The truth about a job is its row in the ``job``
table (``models.Job``): state, progress/total, attempts, heartbeat, error, result and
result file key, the owner's membership and organisation (for the permission layer),
params as JSON. Huey has no acknowledgements: a worker killed mid-job loses the message,
so every worker process beats a heartbeat on the rows it runs and a reaper (in every
worker) puts rows with a stale heartbeat back on the queue. The job then runs again from
the start, which is why tasks must be idempotent.

The API (all other modules use only this)::

    from backoffice import jobs

    @jobs.task("certificate_print", max_attempts=3)
    def print_certificates(job, progress):
        scope = job_scope(job)            # the owner's Scope (None for system jobs)
        ...                               # re-read rows through it; ids are in job.params
        progress(done, total)             # commits the session: a checkpoint
        job.result_key = key              # a file put into backoffice.storage
        return {"pages": 12}              # stored in job.result (JSON)

    job = jobs.submit("certificate_print", {"year": 2025}, owner=current_user, total=300)
    db.session.commit()                   # the job is enqueued AFTER this commit

- ``submit(kind, params, *, owner=None, org_id=None, total=None, max_attempts=None)``
  adds the row to the current session and returns it; the id goes to the queue only when
  that session commits (nothing is enqueued on a rollback). ``owner`` is a Membership;
  ``org_id`` defaults to the owner's organisation (admins whose scope covers it see the
  job through ``Scope.query(Job)``).
- ``@task(kind, max_attempts=3, backoff=30)`` registers ``fn(job, progress)``. Raise
  ``JobFailed("中文说明")`` for a failure that a retry will not fix (shown to the user);
  any other exception is retried after ``backoff * 2**(attempt-1)`` seconds until
  ``max_attempts`` runs, then the job is ``failed``. A task must be idempotent: after a
  killed worker it runs again from the start (re-use what the first run already did).
  Define tasks in a module that ``create_app`` imports, so the worker knows them.
- ``progress(done, total=None)`` stores progress and a heartbeat and commits the task's
  session (so the task's own writes up to that point are committed too).
- ``job_scope(job)`` the Scope of the job's owner, or None; ``JobFailed`` when the owner
  can no longer act.

Tests run jobs in-process: ``JOBS_IMMEDIATE`` (TestConfig) makes Huey execute a job at
the commit that enqueues it, in a fresh application context. ``run_due()`` runs what is
due now (retries) without a worker; ``reap()`` is the reaper's one pass.

Settings: ``REDIS_URL`` (queue on Redis), ``JOB_QUEUE_NAME`` (Huey name / Redis key
prefix, default ``backoffice``), ``JOB_QUEUE_FILE`` (the SQLite queue file),
``JOB_HEARTBEAT_SECONDS`` (10), ``JOB_STALE_SECONDS`` (60: a running job without a
heartbeat for that long is run again), ``JOB_LOST_SECONDS`` (600: a queued job not started
for that long is enqueued again), ``JOB_WORKERS`` (worker threads per process, 2).
"""

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.orm import Session

from .extensions import db
from .models import Job, Membership, now

log = logging.getLogger(__name__)

PENDING_KEY = "backoffice_jobs_pending"
EXTENSION_KEY = "backoffice_jobs"


class JobFailed(Exception):
    """A failure a retry will not fix; ``message`` (Chinese) is shown with the job."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class TaskSpec:
    kind: str
    fn: object
    max_attempts: int = 3
    backoff: int = 30
    on_failure: object = None


_TASKS: dict[str, TaskSpec] = {}
# Job ids this process is running now (the heartbeat thread beats for them).
_RUNNING: dict[int, str] = {}
_RUNNING_LOCK = threading.Lock()


def task(kind, *, max_attempts=3, backoff=30, on_failure=None):
    """Register ``fn(job, progress)`` as the task of ``kind``. ``on_failure(job)`` runs
    (and is committed) when the job ends ``failed``, however that happens."""

    def decorate(fn):
        _TASKS[kind] = TaskSpec(kind, fn, max_attempts, backoff, on_failure)
        return fn

    return decorate


def registered(kind):
    return _TASKS.get(kind)


# --------------------------------------------------------------------------- submit
def submit(kind, params=None, *, owner=None, org_id=None, total=None, max_attempts=None) -> Job:
    """Add a job row to the current session; it is enqueued after the commit."""
    spec = _TASKS.get(kind)
    if spec is None:
        raise KeyError(f"unknown job kind {kind!r}")
    if owner is not None and not isinstance(owner, Membership):
        owner = getattr(owner, "_get_current_object", lambda: owner)()
    job = Job(
        kind=kind,
        params=dict(params or {}),
        owner_membership_id=owner.id if owner is not None else None,
        org_id=org_id if org_id is not None else (owner.org_id if owner is not None else None),
        total=total,
        progress=0,
        attempts=0,
        max_attempts=max_attempts or spec.max_attempts,
        state="queued",
        created_at=now(),
    )
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    ids = session.info.pop(PENDING_KEY, None)
    if ids:
        for job_id in ids:
            dispatch(job_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop(PENDING_KEY, None)


def dispatch(job_id, eta=None, app=None):
    """Put a job id on the queue (at ``eta``). A failure is logged: the row stays
    ``queued`` and the reaper enqueues it again later."""
    from flask import current_app, has_app_context

    if app is None:
        if not has_app_context():
            log.warning("job %s not enqueued: no application context (the reaper will)", job_id)
            return
        app = current_app._get_current_object()
    queue = app.extensions.get(EXTENSION_KEY)
    if queue is None:
        log.warning("job %s not enqueued: the job queue is not initialised", job_id)
        return
    try:
        if eta is not None and not queue.huey.immediate:
            queue.run_task.schedule(args=(job_id,), eta=eta)
        else:
            queue.run_task(job_id)
    except Exception:  # noqa: BLE001 - the row is the truth; the reaper retries
        log.exception("job %s could not be enqueued", job_id)


# --------------------------------------------------------------------------- running
def _settings(app):
    c = app.config
    return (int(c.get("JOB_HEARTBEAT_SECONDS", 10)), int(c.get("JOB_STALE_SECONDS", 60)),
            int(c.get("JOB_LOST_SECONDS", 600)))


def _worker_id():
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:100]


def job_scope(job):
    """The owner's Scope (None for a system job); JobFailed when the owner is gone."""
    from .permissions import Scope

    if job.owner_membership_id is None:
        return None
    membership = db.session.get(Membership, job.owner_membership_id)
    if membership is None or membership.status != "active":
        raise JobFailed("提交任务的账号已不可用")
    return Scope(membership)


def execute(app, job_id):
    """Run one job in a fresh application context (what the Huey task does)."""
    with app.app_context():
        try:
            return _run(app, job_id)
        finally:
            db.session.remove()


def _claim(app, job_id):
    """Take the job for this worker: queued and due, or running with a dead worker."""
    _, stale_seconds, _ = _settings(app)
    t = now()
    me = _worker_id()
    result = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                and_(Job.state == "queued", or_(Job.run_after.is_(None), Job.run_after <= t)),
                and_(Job.state == "running", Job.heartbeat_at < t - timedelta(seconds=stale_seconds)),
            ),
        )
        .values(state="running", attempts=Job.attempts + 1, started_at=t, heartbeat_at=t, worker=me)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return me if result.rowcount == 1 else None


def _finish(job_id, me, **values):
    """Final state, only if this worker still owns the job (not reaped meanwhile)."""
    result = db.session.execute(
        update(Job).where(Job.id == job_id, Job.worker == me, Job.state == "running")
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount == 1 and values.get("state") == "failed":
        _failed(job_id)
    return result.rowcount == 1


def _failed(job_id):
    """Let the task's ``on_failure`` mirror the failure onto its own rows."""
    job = db.session.get(Job, job_id)
    spec = _TASKS.get(job.kind) if job is not None else None
    if spec is None or spec.on_failure is None:
        return
    try:
        spec.on_failure(job)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the job row says failed already
        db.session.rollback()
        log.exception("on_failure of job %s (%s) raised", job_id, job.kind)


def _run(app, job_id):
    me = _claim(app, job_id)
    if me is None:
        return False  # done, running elsewhere, not yet due, or gone
    job = db.session.get(Job, job_id)
    spec = _TASKS.get(job.kind)
    if spec is None:
        _finish(job_id, me, state="failed", error=f"未知的任务类型 {job.kind}", finished_at=now())
        return True
    if job.attempts > job.max_attempts:
        _finish(job_id, me, state="failed", error="任务多次中断，已停止重试，请重新提交", finished_at=now())
        return True

    def progress(done, total=None):
        values = {"progress": int(done), "heartbeat_at": now()}
        if total is not None:
            values["total"] = int(total)
        db.session.execute(update(Job).where(Job.id == job_id).values(**values)
                           .execution_options(synchronize_session=False))
        db.session.commit()

    with _RUNNING_LOCK:
        _RUNNING[job_id] = me
    log.info("job %s (%s) started, attempt %s", job_id, job.kind, job.attempts)
    try:
        result = spec.fn(job, progress)
    except JobFailed as exc:
        db.session.rollback()
        _finish(job_id, me, state="failed", error=exc.message[:1000], finished_at=now())
        log.info("job %s (%s) failed: %s", job_id, spec.kind, exc.message)
    except Exception as exc:  # noqa: BLE001 - retried, then failed; never lost
        log.exception("job %s (%s) raised", job_id, spec.kind)
        db.session.rollback()
        job = db.session.get(Job, job_id)
        attempts = job.attempts if job is not None else 1
        message = f"{type(exc).__name__}: {exc}"[:1000]
        if job is not None and attempts < job.max_attempts:
            eta = now() + timedelta(seconds=spec.backoff * 2 ** (attempts - 1))
            if _finish(job_id, me, state="queued", run_after=eta, error=message, worker=None):
                dispatch(job_id, eta=eta, app=app)
        else:
            _finish(job_id, me, state="failed", error=message, finished_at=now())
    else:
        job = db.session.get(Job, job_id)
        values = {"state": "done", "finished_at": now(), "error": None, "heartbeat_at": now(),
                  "result_key": job.result_key}
        if job.total is not None:
            values["progress"] = job.total
        if result is not None:
            values["result"] = result
        db.session.flush()
        _finish(job_id, me, **values)
        log.info("job %s (%s) done", job_id, spec.kind)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(job_id, None)
    return True


# --------------------------------------------------------------------------- reaper
def heartbeat():
    """Beat for the jobs this process is running (in an app context)."""
    with _RUNNING_LOCK:
        pairs = list(_RUNNING.items())
    for job_id, me in pairs:
        db.session.execute(update(Job).where(Job.id == job_id, Job.worker == me, Job.state == "running")
                           .values(heartbeat_at=now()).execution_options(synchronize_session=False))
    db.session.commit()


def reap(app=None):
    """One pass of the reaper: a running job whose heartbeat is stale (its worker was
    killed) goes back on the queue, or fails after ``max_attempts`` runs; a queued job
    not started for ``JOB_LOST_SECONDS`` (its message was lost) is enqueued again.
    Conditional updates make concurrent reapers harmless. Returns the ids enqueued."""
    from flask import current_app

    app = app or current_app._get_current_object()
    _, stale_seconds, lost_seconds = _settings(app)
    t = now()
    stale, lost = t - timedelta(seconds=stale_seconds), t - timedelta(seconds=lost_seconds)
    rows = db.session.execute(
        select(Job.id, Job.state, Job.attempts, Job.max_attempts).where(or_(
            and_(Job.state == "running", Job.heartbeat_at < stale),
            and_(Job.state == "queued", func.coalesce(Job.run_after, Job.created_at) < lost),
        )).order_by(Job.id).limit(1000)).all()
    enqueued = []
    for job_id, state, attempts, max_attempts in rows:
        if state == "running":
            cond = and_(Job.id == job_id, Job.state == "running", Job.heartbeat_at < stale)
            if attempts >= max_attempts:
                values = {"state": "failed", "finished_at": t, "error": "任务多次中断，已停止重试，请重新提交"}
            else:
                values = {"state": "queued", "run_after": t, "worker": None,
                          "error": "执行任务的进程已中断，任务将重新执行"}
        else:
            cond = and_(Job.id == job_id, Job.state == "queued",
                        func.coalesce(Job.run_after, Job.created_at) < lost)
            values = {"run_after": t}
        result = db.session.execute(update(Job).where(cond).values(**values)
                                    .execution_options(synchronize_session=False))
        db.session.commit()
        if result.rowcount != 1:
            continue
        if values.get("state") == "failed":
            log.warning("job %s failed: its worker died %s times", job_id, attempts)
            _failed(job_id)
        else:
            log.warning("job %s (%s) re-enqueued by the reaper", job_id, state)
            enqueued.append(job_id)
            dispatch(job_id, app=app)
    return enqueued


def run_due(app=None):
    """Run every queued job that is due now, in this process (tests, maintenance)."""
    from flask import current_app

    app = app or current_app._get_current_object()
    ids = db.session.scalars(select(Job.id).where(
        Job.state == "queued", or_(Job.run_after.is_(None), Job.run_after <= now())).order_by(Job.id)).all()
    db.session.commit()
    return [job_id for job_id in ids if execute(app, job_id)]


# --------------------------------------------------------------------------- the queue
class JobQueue:
    """The Huey instance of one application and its one task, ``run_job(job_id)``."""

    def __init__(self, app):
        from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab

        name = app.config.get("JOB_QUEUE_NAME") or "backoffice"
        if app.config.get("JOBS_IMMEDIATE"):
            huey = MemoryHuey(name, immediate=True, results=False, utc=False)
        elif app.config.get("REDIS_URL"):
            huey = RedisHuey(name, url=app.config["REDIS_URL"], results=False, utc=False)
        else:
            filename = app.config.get("JOB_QUEUE_FILE") or os.path.join(app.instance_path, "job-queue.sqlite3")
            huey = SqliteHuey(name, filename=filename, results=False, utc=False)
        self.app, self.huey = app, huey

        @huey.task(name="backoffice.run_job")
        def run_job(job_id):
            execute(app, job_id)

        @huey.periodic_task(crontab(minute="*/15"), name="backoffice.retention")
        def retention():
            from . import retention as retention_module

            retention_module.run_all(app)

        self.run_task, self.retention_task = run_job, retention

    # -- workers
    def maintenance_loop(self, stop):
        """Heartbeat and reaper, every JOB_HEARTBEAT_SECONDS, until ``stop`` is set."""
        interval, _, _ = _settings(self.app)
        while not stop.is_set():
            with self.app.app_context():
                try:
                    heartbeat()
                    reap(self.app)
                except Exception:  # noqa: BLE001 - keep beating; the database may be back soon
                    log.exception("job heartbeat/reaper pass failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            stop.wait(interval)

    def _consumer(self, workers, embedded):
        from huey.consumer import Consumer

        class _Consumer(Consumer):
            def _set_signal_handlers(self):
                if not embedded:
                    super()._set_signal_handlers()

        return _Consumer(self.huey, workers=workers, worker_type="thread", periodic=True,
                         initial_delay=0.1, max_delay=2.0, scheduler_interval=1)

    def start_embedded(self, workers=2):
        """Worker threads inside this process (``python run.py``); daemon threads."""
        consumer = self._consumer(workers, embedded=True)
        consumer.start()
        stop = threading.Event()
        threading.Thread(target=self.maintenance_loop, args=(stop,), name="job-maintenance", daemon=True).start()
        return consumer, stop

    def run_worker(self, workers=2):
        """The ``python -m backoffice worker`` process: until SIGINT/SIGTERM."""
        consumer = self._consumer(workers, embedded=False)
        stop = threading.Event()
        threading.Thread(target=self.maintenance_loop, args=(stop,), name="job-maintenance", daemon=True).start()
        try:
            consumer.run()
        finally:
            stop.set()


def init_app(app):
    queue = JobQueue(app)
    app.extensions[EXTENSION_KEY] = queue
    return queue


def queue_of(app):
    return app.extensions[EXTENSION_KEY]
