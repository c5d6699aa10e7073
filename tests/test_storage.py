"""File storage (backoffice.storage): the directory backend, and the S3 backend against
moto's standalone S3-compatible server started here on a free 127.0.0.1 port; files
uploaded and downloaded over HTTP go through it and downloads stay scoped."""

import io
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backoffice import retention, storage
from backoffice.extensions import db
from backoffice.models import CertificateJob, Declaration, Job, now

from .conftest import membership_of, org, sign_in
from .test_person_declarations import PNG, conference_form, post_declaration


# --------------------------------------------------------------------------- directory
def test_directory_backend_round_trip(tmp_path):
    files = storage.DirectoryStorage(tmp_path / "files")
    assert files.put("a/b/c.txt", b"hello") == "a/b/c.txt"
    assert files.exists("a/b/c.txt") and files.read("a/b/c.txt") == b"hello"
    files.put("a/b/c.txt", io.BytesIO(b"replaced"))  # atomic replace
    with files.open("a/b/c.txt") as f:
        assert f.read() == b"replaced"
    assert [k for k, _ in files.list("a")] == ["a/b/c.txt"]
    assert not [n for n in os.listdir(tmp_path / "files" / "a" / "b") if n.startswith(".part-")]
    files.delete("a/b/c.txt")
    files.delete("a/b/c.txt")  # twice is fine
    assert not files.exists("a/b/c.txt")
    with pytest.raises(storage.FileMissing):
        files.open("a/b/c.txt")
    assert files.url("x.txt") is None


@pytest.mark.parametrize("key", ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "", "a\\b", "证书.pdf", ".hidden"])
def test_keys_cannot_escape_the_root(tmp_path, key):
    files = storage.DirectoryStorage(tmp_path)
    with pytest.raises(ValueError):
        files.put(key, b"x")


def test_storage_url_selects_the_backend(tmp_path):
    assert isinstance(storage.from_url(None, default_root=tmp_path), storage.DirectoryStorage)
    chosen = storage.from_url(f"file://{tmp_path}/shared")
    assert isinstance(chosen, storage.DirectoryStorage) and chosen.root == tmp_path / "shared"
    s3 = storage.from_url("s3://bucket/some/prefix?endpoint=http://127.0.0.1:9&region=cn-north-1")
    assert isinstance(s3, storage.S3Storage) and s3.bucket == "bucket" and s3.prefix == "some/prefix"
    with pytest.raises(ValueError):
        storage.from_url("ftp://host/x")


# --------------------------------------------------------------------------- S3 (moto)
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """A fresh bucket; the application's storage switched to it for the test."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"bo-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    backend = storage.from_url(f"s3://{bucket}/files?endpoint={s3_endpoint}")
    return backend


def test_s3_backend_round_trip(s3):
    s3.put("a/b.txt", b"hello")
    assert s3.exists("a/b.txt") and s3.read("a/b.txt") == b"hello"
    assert s3.client.head_object(Bucket=s3.bucket, Key="files/a/b.txt")["ContentLength"] == 5  # under the prefix
    s3.put("a/b.txt", io.BytesIO(b"replaced"))
    body = s3.open("a/b.txt")
    assert body.read() == b"replaced"
    body.close()
    assert [k for k, _ in s3.list("a")] == ["a/b.txt"]
    assert s3.url("a/b.txt").startswith("http://127.0.0.1")
    s3.delete("a/b.txt")
    assert not s3.exists("a/b.txt")
    with pytest.raises(storage.FileMissing):
        s3.open("a/b.txt")
    assert s3.ping()


def test_an_attachment_uploaded_to_s3_downloads_only_within_the_scope(app, ctx, s3, monkeypatch):
    monkeypatch.setitem(app.extensions, storage.EXTENSION_KEY, s3)
    person = membership_of("person")
    me = sign_in(app.test_client(), "person")
    response = post_declaration(me, conference_form(action="submit", remarks="对象存储附件测试"), file=("scan.png", PNG))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    record = db.session.scalars(select(Declaration).where(Declaration.person_id == person.person.id)
                                .order_by(Declaration.id.desc())).first()
    assert record.attachment.startswith("declarations/") and s3.exists(record.attachment)
    assert not os.path.exists(os.path.join(app.config["UPLOAD_DIR"], record.attachment))  # not on the local disk
    assert me.get(f"/declarations/{record.id}/attachment").data == PNG
    assert sign_in(app.test_client(), "unit").get(f"/admin/declaration/{record.id}/attachment").data == PNG
    for key in ("unit2", "county2", "luoyang"):
        browser = sign_in(app.test_client(), key)
        assert browser.get(f"/declarations/{record.id}/attachment").status_code == 404, key
        assert browser.get(f"/admin/declaration/{record.id}/attachment").status_code == 404, key


def test_a_certificate_job_pdf_lives_in_s3(app, ctx, s3, monkeypatch):
    from .test_certificates import PASSED, make_passed_persons, read_pdf

    monkeypatch.setitem(app.extensions, storage.EXTENSION_KEY, s3)
    monkeypatch.setitem(app.config, "CERTIFICATE_JOB_THRESHOLD", 2)
    make_passed_persons(3, org("郑州市金水区人民医院"), PASSED)
    browser = sign_in(app.test_client(), "unit")
    response = browser.post("/admin/certificates/print", {"year": str(PASSED), "name": "测试", "all": "1"},
                            form_url="/admin/certificates/")
    assert response.status_code == 302
    job = db.session.scalar(select(CertificateJob).order_by(CertificateJob.id.desc()))
    assert job.status == "done" and job.file_name.startswith("certificate_jobs/") and s3.exists(job.file_name)
    assert len(read_pdf(browser.get(f"/admin/certificates/jobs/{job.id}/download")).pages) == 3
    assert sign_in(app.test_client(), "unit2").get(f"/admin/certificates/jobs/{job.id}/download").status_code == 404


# --------------------------------------------------------------------------- retention
def test_finished_job_files_are_removed_after_the_retention_period(app, ctx):
    files = storage.get()
    old_key, new_key = storage.new_key("certificate_jobs", ".pdf"), storage.new_key("certificate_jobs", ".pdf")
    files.put(old_key, b"%PDF old")
    files.put(new_key, b"%PDF new")
    unit = membership_of("unit")
    rows = []
    for key, age in ((old_key, 8), (new_key, 1)):
        job = Job(kind="certificate_print", state="done", params={}, owner_membership_id=unit.id,
                  org_id=unit.org_id, result_key=key, created_at=now(), finished_at=now() - timedelta(days=age))
        db.session.add(job)
        db.session.flush()
        row = CertificateJob(membership_id=unit.id, org_id=unit.org_id, year=date.today().year - 1, params={},
                             status="done", total=1, done=1, pages=1, file_name=key, job_id=job.id,
                             finished_at=now() - timedelta(days=age))
        db.session.add(row)
        rows.append((job, row))
    db.session.commit()

    assert retention.run_all(app)["job_files"] >= 2  # the old job's file: once as job, once as print job
    db.session.expire_all()
    assert not files.exists(old_key) and files.exists(new_key)
    (old_job, old_row), (new_job, new_row) = rows
    assert old_job.result_key is None and old_row.file_name is None and "保留期限" in old_row.error
    assert new_job.result_key == new_key and new_row.file_name == new_key
    browser = sign_in(app.test_client(), "unit")
    assert "保留期限" in browser.get(f"/admin/certificates/jobs/{old_row.id}").get_data(as_text=True)
    assert browser.get(f"/admin/certificates/jobs/{old_row.id}/download").status_code == 404


def test_abandoned_import_stashes_go_after_a_day(app, ctx):
    from backoffice import training

    fresh = training.stash_import(1, [])
    stale = training.stash_import(1, [])
    path = storage.get().path(f"{training.IMPORT_PREFIX}/{stale}.json")
    two_days_ago = (datetime.now() - timedelta(days=2)).timestamp()
    os.utime(path, (two_days_ago, two_days_ago))
    assert retention.run_all(app)["import_stashes"] >= 1
    assert training.load_import(stale) is None and training.load_import(fresh) == (1, [])
    training.drop_import(fresh)


def test_old_system_job_rows_are_dropped_and_hooks_can_be_added(app, ctx, monkeypatch):
    old = Job(kind="mail", state="done", params={}, created_at=now(), finished_at=now() - timedelta(days=40))
    recent = Job(kind="mail", state="done", params={}, created_at=now(), finished_at=now() - timedelta(days=1))
    db.session.add_all([old, recent])
    db.session.commit()
    old_id, recent_id = old.id, recent.id
    seen = []

    def broken(app):
        raise RuntimeError("boom")

    monkeypatch.setitem(retention.HOOKS, "a_broken_one", broken)
    monkeypatch.setitem(retention.HOOKS, "a_counting_one", lambda app: seen.append(app) or 3)
    results = retention.run_all(app)
    assert results["a_counting_one"] == 3 and seen == [app] and results["a_broken_one"] is None
    db.session.expire_all()
    assert db.session.get(Job, old_id) is None and db.session.get(Job, recent_id) is not None


def test_old_audit_rows_are_archived_to_a_file_before_they_leave_the_table(app, ctx, tmp_path):
    import gzip
    import json

    from backoffice.audit_archive import archive
    from backoffice.models import AuditLog

    long_ago = datetime(2001, 5, 1, 8, 0)
    for i in range(3):
        db.session.add(AuditLog(at=long_ago + timedelta(days=i), action="approve", object_type="declaration",
                                object_id=900000 + i, comment=f"归档测试{i}"))
    db.session.add(AuditLog(at=now(), action="approve", object_type="declaration", object_id=900009))
    db.session.commit()
    out = tmp_path / "audit-2001.jsonl.gz"
    assert archive(datetime(2002, 1, 1), out) == 3  # export only
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.at < datetime(2002, 1, 1))) == 3
    assert archive(datetime(2002, 1, 1), out, remove=True) == 3
    lines = [json.loads(line) for line in gzip.open(out, "rt", encoding="utf-8")]
    assert [r["comment"] for r in lines] == ["归档测试0", "归档测试1", "归档测试2"]
    assert lines[0]["at"] == "2001-05-01T08:00:00"
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.at < datetime(2002, 1, 1))) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) > 0  # newer rows stay


def test_expired_sessions_and_old_reset_records_are_dropped(app, ctx):
    from backoffice.models import Account, HttpSession, PasswordResetUse

    account_id = db.session.scalar(select(Account.id).limit(1))
    utc = datetime.utcnow()
    db.session.add_all([
        HttpSession(session_id="retention-expired", data=b"x", expiry=utc - timedelta(minutes=1)),
        HttpSession(session_id="retention-live", data=b"x", expiry=utc + timedelta(minutes=30)),
        PasswordResetUse(token_id="retention-old", account_id=account_id, used_at=now() - timedelta(days=2)),
        PasswordResetUse(token_id="retention-new", account_id=account_id, used_at=now() - timedelta(minutes=5)),
    ])
    db.session.commit()
    results = retention.run_all(app)
    assert results["sessions"] >= 1 and results["reset_token_uses"] >= 1
    db.session.expire_all()
    sessions = set(db.session.scalars(select(HttpSession.session_id).where(HttpSession.session_id.like("retention-%"))))
    uses = set(db.session.scalars(select(PasswordResetUse.token_id).where(PasswordResetUse.token_id.like("retention-%"))))
    assert sessions == {"retention-live"} and uses == {"retention-new"}
