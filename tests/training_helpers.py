"""Shared steps of the training tests: plans, classes, persons and spreadsheets built
the way a user would (over HTTP) or, for the trainees themselves, through the ORM."""

import io
from datetime import date

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import (
    Account,
    LearningForm,
    Membership,
    Org,
    Person,
    Subject,
    TrainingClass,
    TrainingPlan,
)
from backoffice.tree import attach, place_person
from backoffice.validators import make_credit_code, make_id_number

from .conftest import PASSWORD, org, sign_in

YEAR = date.today().year


def subject(kind):
    return db.session.scalar(select(Subject).where(Subject.kind == kind, Subject.year == YEAR).order_by(Subject.id))


def training_form():
    return db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))


def plan_form(name, kind="professional", route="industry", dept=None, **extra):
    if dept is None and route == "industry":
        dept = industry_js()
    data = {
        "name": name, "subject_kind": kind, "subject_id": str(subject(kind).id), "training_year": str(YEAR),
        "ce_year": str(YEAR), "form_id": str(training_form().id), "planned_trainees": "40", "hours": "24",
        "start_date": f"{YEAR}-03-01", "end_date": f"{YEAR}-03-05", "location": "郑州", "content": "临床诊疗进展",
        "route": route, "competent_dept_id": str(dept.id) if dept is not None else "",
    }
    data.update(extra)
    return data


def plan_named(name):
    return db.session.scalar(select(TrainingPlan).where(TrainingPlan.name == name))


def class_named(name):
    return db.session.scalar(select(TrainingClass).where(TrainingClass.name == name))


def industry_js():
    return org("金水区卫生健康委员会")


def create_plan(browser, name, submit=True, **kw):
    data = plan_form(name, **kw)
    if submit:
        data["_submit_now"] = "1"
    response = browser.post("/admin/training_plans/new/", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return plan_named(name)


def approve_plan(browser, plan):
    response = browser.post("/admin/plan_review/act", {"ids": str(plan.id), "decision": "approve",
                                                       "scope": "selected"}, form_url="/admin/plan_review/")
    assert response.status_code == 302
    db.session.expire_all()
    return db.session.get(TrainingPlan, plan.id)


def create_class(browser, plan, name, hours="24"):
    response = browser.post("/admin/training_classes/new/", {
        "plan_id": str(plan.id), "name": name, "hours": hours, "planned_trainees": "40",
        "start_date": f"{YEAR}-03-01", "end_date": f"{YEAR}-03-05", "location": "郑州", "teacher": "王老师",
        "remark": "",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return class_named(name)


def make_person(name, unit, seq, birth=date(1990, 1, 1), status="active"):
    """A registered professional of ``unit`` with a valid ID number."""
    id_number = make_id_number("410105", birth, seq)
    account = Account(id_number=id_number, name=name, email=f"t{seq}@example.com", phone="13900000000")
    account.set_password(PASSWORD)
    db.session.add(account)
    db.session.flush()
    membership = Membership(account=account, role="person", org=unit, status=status)
    db.session.add(membership)
    db.session.flush()
    person = Person(membership=membership, account=account, id_number=id_number, name=name, gender="male",
                    birth_date=birth, title_level="intermediate")
    place_person(person, unit)
    db.session.add(person)
    db.session.flush()
    return person


def make_institution(name="郑州市职业培训学院", parent_code="410100", admin_seq=777):
    """A second training institution with its own active admin."""
    parent = org(parent_code)
    inst = attach(Org(kind="institution", name=name, code=make_credit_code(parent_code, 9000 + admin_seq, prefix="12"),
                      status="approved"), parent)
    id_number = make_id_number("410102", date(1979, 9, 9), admin_seq)
    account = Account(id_number=id_number, name=f"{name}管理员", email=f"inst{admin_seq}@example.gov.cn")
    account.set_password(PASSWORD)
    db.session.add(account)
    db.session.flush()
    membership = Membership(account=account, role="institution_admin", org=inst, is_super=True, status="active")
    db.session.add(membership)
    db.session.commit()
    return inst, membership


def xlsx(rows, header=("身份证号", "姓名", "成绩", "是否合格", "备注")):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload_scores(browser, cls, content, filename="scores.xlsx"):
    """Upload a file; return the preview page's response (after the redirect)."""
    response = browser.post("/admin/trainee_scores/import/",
                            {"class_id": str(cls.id), "file": (io.BytesIO(content), filename)},
                            form_url="/admin/trainee_scores/import/", content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return response.headers["Location"], browser.get(response.headers["Location"])


def foreign_institution(app):
    """A second institution (under 郑州市) with an approved plan, a class, scores and a
    pending upload; returns its rows and its signed-in browser."""
    inst, admin = make_institution()
    other = sign_in(app.test_client(), admin)
    plan = create_plan(other, "外机构专业计划", route="hrss")
    assert plan.current_org.name == "郑州市人力资源和社会保障局"
    plan = approve_plan(sign_in(app.test_client(), "city"), plan)
    assert plan.status == "approved"
    cls = create_class(other, plan, "外机构培训班")
    people = [make_person(f"外学员{i}", org("郑州市金水区人民医院"), 400 + i) for i in range(3)]
    db.session.commit()
    url, _ = upload_scores(other, cls, xlsx([(p.id_number, p.name, 90, "合格", "") for p in people[:2]]))
    other.post(url.replace("/preview/", "/confirm/"), {"confirm": "1"}, form_url=url)
    _, _ = upload_scores(other, cls, xlsx([(people[2].id_number, people[2].name, 90, "合格", "")]))
    token = _.request.path.rsplit("/", 1)[1]
    draft = create_plan(other, "外机构草稿计划", submit=False)
    score = cls.scores.first()
    return {"inst": inst, "browser": other, "plan": plan, "draft": draft, "cls": cls, "score": score,
            "token": token, "people": people}
