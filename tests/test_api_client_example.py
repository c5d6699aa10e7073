"""The Python client of docs/api_client.py runs end to end, as a platform developer
would run it: a real server (waitress on a free port) over its own SQLite database
with the demo data, a key from the domain, a CSV of trainee results; the client lists
plans, creates a class, posts the results, declares and reads the review status."""

import csv
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice import create_app, training
from backoffice.api import keys
from backoffice.config import TestConfig
from backoffice.extensions import db
from backoffice.models import Declaration, LearningForm, Membership, Org, Subject, TraineeScore

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.real_commits
def test_example_client_runs_end_to_end(tmp_path):
    from flask_migrate import upgrade
    from waitress import create_server

    from seed.demo import load_demo

    from .training_helpers import make_person

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'client.sqlite3'}",
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    year = date.today().year
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        admin = db.session.scalar(select(Membership).join(Org, Org.id == Membership.org_id).where(
            Membership.role == "institution_admin", Org.kind == "institution"))
        subject = db.session.scalar(select(Subject).where(Subject.kind == "public", Subject.year == year))
        form = db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))
        plan = training.create_plan(admin.org, training.PlanData(
            name="示例客户端公需课计划", subject_kind="public", subject_id=subject.id, training_year=year, ce_year=year,
            form_id=form.id, planned_trainees=100, hours=Decimal("6"), start_date=date(year, 3, 1),
            end_date=date(year, 3, 31)), admin)
        training.submit_plan(plan, admin)
        reviewer = db.session.scalar(select(Membership).where(Membership.org_id == plan.current_org_id,
                                                              Membership.status == "active"))
        training.approve_plan(plan, reviewer)
        hospital = db.session.scalar(select(Org).where(Org.name == "郑州市金水区人民医院"))
        people = [make_person(f"客户端学员{i}", hospital, 700 + i) for i in range(5)]
        _, secret = keys.create_key(admin, "示例客户端")
        db.session.commit()
        plan_id = plan.id
        rows = [(f"platform-{i}", p.id_number, p.name, 90 - i * 10, f"{year}-03-20T10:00:00+08:00")
                for i, p in enumerate(people)]
    rows.append(("platform-bad", "410105199001011234", "某人", 80, f"{year}-03-20T10:00:00+08:00"))
    scores = tmp_path / "scores.csv"
    with open(scores, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["record_id", "id_number", "name", "score", "completed_at"])
        writer.writerows(rows)

    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "docs" / "api_client.py"), "--base-url", f"http://127.0.0.1:{server.effective_port}",
             "--key", secret, "--plan", str(plan_id), "--class-name", "示例客户端第一期", "--hours", "6",
             "--start", f"{year}-03-01", "--end", f"{year}-03-31", "--planned", "50", "--scores", str(scores)],
            capture_output=True, text=True, timeout=120)
    finally:
        server.close()
        thread.join(timeout=10)
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    assert "已创建培训班" in out and "成绩：新接收 5 条" in out
    assert "未接收 platform-bad：身份证号非法" in out
    assert "已申报：4 名合格学员" in out  # the fifth scored 50
    assert "待审核 4 条" in out
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TraineeScore)) == 5
        assert db.session.scalar(select(func.count()).select_from(Declaration).where(
            Declaration.source == "institution", Declaration.status == "pending")) == 4
        db.session.remove()
        db.engine.dispose()
