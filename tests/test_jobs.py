"""The job queue's contract (backoffice.jobs): enqueued after the commit, progress in the
database, retries with back-off, a dead worker's job run again by the reaper, scoped
visibility. Jobs run in-process here (Huey immediate mode of the test configuration)."""

import smtplib
from datetime import timedelta

from sqlalchemy import select, update

from backoffice import jobs, mail
from backoffice.extensions import db
from backoffice.models import Job, now
from backoffice.permissions import Scope

from .conftest import membership_of

CALLS = []


@jobs.task("test_count", max_attempts=3, backoff=5)
def _count(job, progress):
    """Counts to params['n']; fails the first params['fail'] attempts."""
    CALLS.append((job.id, job.attempts))
    n = job.params.get("n", 3)
    for i in range(n):
        progress(i + 1, n)
    if job.attempts <= job.params.get("fail", 0):
        raise RuntimeError("flaky")
    if job.params.get("refuse"):
        raise jobs.JobFailed("参数不正确，任务无法完成")
    job.result_key = "jobs/test.txt"
    return {"counted": n}


def row(job_id):
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_a_job_runs_after_the_commit_and_reports_progress(ctx):
    CALLS.clear()
    job = jobs.submit("test_count", {"n": 4}, total=4)
    assert job.state == "queued" and CALLS == []  # nothing runs before the commit
    db.session.commit()
    done = row(job.id)
    assert done.state == "done" and done.progress == 4 and done.percent == 100
    assert done.result == {"counted": 4} and done.result_key == "jobs/test.txt"
    assert done.attempts == 1 and done.started_at and done.finished_at
    assert CALLS == [(job.id, 1)]


def test_a_rolled_back_submit_never_runs(ctx):
    CALLS.clear()
    db.session.begin_nested()
    jobs.submit("test_count", {"n": 1})
    db.session.rollback()
    db.session.commit()
    assert CALLS == []


def test_a_failing_job_is_retried_with_backoff_then_done(ctx):
    CALLS.clear()
    job = jobs.submit("test_count", {"n": 2, "fail": 1})
    db.session.commit()
    first = row(job.id)
    assert first.state == "queued" and first.attempts == 1 and "flaky" in first.error
    assert first.run_after > now() + timedelta(seconds=3)  # back-off: 5 s before the first retry
    assert jobs.run_due() == []  # not due yet
    db.session.execute(update(Job).where(Job.id == job.id).values(run_after=now() - timedelta(seconds=1)))
    db.session.commit()
    assert jobs.run_due() == [job.id]
    second = row(job.id)
    assert second.state == "done" and second.attempts == 2 and second.error is None


def test_a_job_failing_every_attempt_ends_failed(ctx):
    job = jobs.submit("test_count", {"n": 1, "fail": 9}, max_attempts=2)
    db.session.commit()
    db.session.execute(update(Job).where(Job.id == job.id).values(run_after=now() - timedelta(seconds=1)))
    db.session.commit()
    jobs.run_due()
    failed = row(job.id)
    assert failed.state == "failed" and failed.attempts == 2 and failed.finished_at


def test_a_refused_job_fails_at_once_with_its_message(ctx):
    job = jobs.submit("test_count", {"n": 1, "refuse": True})
    db.session.commit()
    failed = row(job.id)
    assert failed.state == "failed" and failed.attempts == 1 and failed.error == "参数不正确，任务无法完成"


def test_the_reaper_runs_again_the_job_of_a_dead_worker(app, ctx):
    """A worker killed mid-job leaves the row running with an old heartbeat."""
    CALLS.clear()
    job = Job(kind="test_count", params={"n": 3}, state="running", attempts=1, max_attempts=3, progress=1, total=3,
              worker="gone:1:Worker-1", heartbeat_at=now() - timedelta(minutes=5), created_at=now())
    db.session.add(job)
    db.session.commit()
    fresh_beat = Job(kind="test_count", params={"n": 1}, state="running", attempts=1, max_attempts=3,
                     worker="alive:2:Worker-1", heartbeat_at=now(), created_at=now())
    db.session.add(fresh_beat)
    db.session.commit()
    assert jobs.reap(app) == [job.id]  # the live worker's job is left alone
    done = row(job.id)
    assert done.state == "done" and done.attempts == 2 and done.progress == 3
    assert row(fresh_beat.id).state == "running"
    assert jobs.reap(app) == []  # a second pass finds nothing


def test_the_reaper_gives_up_after_max_attempts(app, ctx):
    job = Job(kind="test_count", params={}, state="running", attempts=3, max_attempts=3,
              worker="gone:1:Worker-1", heartbeat_at=now() - timedelta(minutes=5), created_at=now())
    db.session.add(job)
    db.session.commit()
    assert jobs.reap(app) == []
    assert row(job.id).state == "failed" and "多次中断" in row(job.id).error


def test_a_lost_queued_job_is_enqueued_again(app, ctx):
    CALLS.clear()
    job = Job(kind="test_count", params={"n": 1}, state="queued", attempts=0, max_attempts=3,
              created_at=now() - timedelta(hours=1))
    db.session.add(job)
    db.session.commit()
    assert jobs.reap(app) == [job.id]
    assert row(job.id).state == "done"


def test_a_job_claimed_twice_runs_once(app, ctx):
    """A duplicate message (the reaper and a slow worker) finds the job taken or done."""
    CALLS.clear()
    job = jobs.submit("test_count", {"n": 1})
    db.session.commit()
    assert jobs.execute(app, job.id) is False  # already done: a second delivery does nothing
    assert CALLS == [(job.id, 1)]


def test_jobs_are_seen_only_within_the_owners_scope(ctx):
    unit = membership_of("unit")  # 金水区人民医院
    job = jobs.submit("test_count", {"n": 1}, owner=unit)
    db.session.commit()
    assert job.org_id == unit.org_id and job.owner_membership_id == unit.id

    def visible(key):
        return job.id in db.session.scalars(Scope(membership_of(key)).select(Job).with_only_columns(Job.id)).all()

    assert visible("unit") and visible("county") and visible("city")
    assert not visible("unit2") and not visible("county2") and not visible("luoyang")


def test_unknown_kinds_are_refused(ctx):
    try:
        jobs.submit("no_such_kind", {})
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown kind was accepted")


# --------------------------------------------------------------------------- e-mail
def test_enqueued_mail_reaches_the_outbox(app, ctx):
    before = len(mail.outbox())
    job_id = mail.enqueue("someone@example.com", "测试", "正文")
    assert job_id is not None and row(job_id).state == "done"
    message = mail.outbox()[before]
    assert message.recipients == ["someone@example.com"] and "测试" in message.subject
    assert mail.enqueue([], "无收件人", "x") is None


def test_a_refused_mail_is_retried_later_and_then_sent(app, ctx, monkeypatch):
    from backoffice.extensions import mail as flask_mail

    attempts = []

    def refuse(message):
        attempts.append(message)
        raise smtplib.SMTPServerDisconnected("connection refused")

    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    monkeypatch.setattr(flask_mail, "send", refuse)
    job_id = mail.enqueue("someone@example.com", "重试", "正文")
    queued = row(job_id)
    assert queued.state == "queued" and queued.attempts == 1 and len(attempts) == 1
    assert queued.run_after >= now() + timedelta(seconds=50)  # a minute's back-off

    monkeypatch.setattr(flask_mail, "send", lambda message: attempts.append(message))
    db.session.execute(update(Job).where(Job.id == job_id).values(run_after=now()))
    db.session.commit()
    jobs.run_due()
    assert row(job_id).state == "done" and len(attempts) == 2


def test_bulk_notices_go_through_one_job(app, ctx):
    from backoffice import workflow

    before = len(mail.outbox())
    notices = [workflow.Notice((f"p{i}@example.com",), "审核结果", "正文") for i in range(30)]
    job = jobs.submit("review_notices", workflow.notices_to_params(notices), total=30)
    db.session.commit()
    assert row(job.id).state == "done" and row(job.id).progress == 30
    assert len(mail.outbox()) - before == 30
    kinds = db.session.scalars(select(Job.kind).where(Job.id > job.id)).all()
    assert kinds.count("mail") == 30
