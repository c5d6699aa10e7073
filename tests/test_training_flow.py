"""The institution's whole path over HTTP: professional plan → industry department
approves → class → 30 rows imported from .xlsx (2 bad rows reported, not imported) →
roster → class declared once → the HRSS approves all → each trainee's year counts."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import workflow
from backoffice.extensions import db
from backoffice.models import AuditLog, Declaration, TraineeScore, TrainingClass, TrainingPlan
from backoffice.validators import make_id_number
from backoffice.workflow import WorkflowError

from .conftest import org, sign_in
from .training_helpers import (
    YEAR,
    approve_plan,
    create_class,
    create_plan,
    industry_js,
    make_person,
    upload_scores,
    xlsx,
)


def _approved_hours(person, year):
    return db.session.scalar(
        select(func.coalesce(func.sum(Declaration.claimed_hours), 0))
        .where(Declaration.person_id == person.id, Declaration.year == year, Declaration.status == "approved")
    )


def _trainees(n=28):
    hospital = org("郑州市金水区人民医院")
    return [make_person(f"学员{i:02d}", hospital, 100 + i) for i in range(n)]


def test_institution_plan_class_import_declare_and_hrss_approves_all(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    # 1. A professional plan sent to the industry department the institution chose.
    plan = create_plan(inst, "2026年临床医学继续教育计划", kind="professional", route="industry", dept=industry_js())
    assert plan.status == "pending"
    assert plan.current_org.name == "金水区卫生健康委员会"
    assert plan.owner_org.name == "河南省专业技术人员继续教育基地"

    # 2. The industry department sees it and approves it.
    industry = sign_in(app.test_client(), "industry")
    queue = industry.get("/admin/plan_review/").get_data(as_text=True)
    assert "2026年临床医学继续教育计划" in queue
    plan = approve_plan(industry, plan)
    assert plan.status == "approved"
    assert [s.status for s in plan.steps] == ["approved"]

    # 3. Approved plans are locked: the edit page and a crafted POST are refused.
    page = inst.get(f"/admin/training_plans/edit/?id={plan.id}", follow_redirects=True).get_data(as_text=True)
    assert "培训计划已审核通过，不能修改或删除" in page
    inst.post(f"/admin/training_plans/edit/?id={plan.id}", {"name": "改名"}, form_url="/admin/training_plans/")
    db.session.expire_all()
    assert db.session.get(TrainingPlan, plan.id).name == "2026年临床医学继续教育计划"

    # 4. A class of the approved plan; subject type, years, form come from the plan.
    page = inst.get(f"/admin/training_classes/new/?plan_id={plan.id}").get_data(as_text=True)
    assert "专业科目" in page and 'value="40"' in page
    cls = create_class(inst, plan, "临床诊疗指南第一期", hours="24")
    assert (cls.subject_kind, cls.ce_year, cls.form.code, cls.planned_trainees) == ("professional", YEAR,
                                                                                    "training_class", 40)

    # 5. 30 rows: 28 registered trainees, one invalid ID number, one unknown person.
    trainees = _trainees()
    db.session.commit()
    unknown = make_id_number("410105", __import__("datetime").date(1991, 2, 2), 901)
    rows = [(p.id_number, p.name, 80 + i % 20, "合格", "") for i, p in enumerate(trainees)]
    rows.insert(5, ("410105199001011234", "错号", 90, "合格", ""))
    rows.insert(17, (unknown, "未注册", 90, "合格", ""))
    assert len(rows) == 30
    preview_url, preview = upload_scores(inst, cls, xlsx(rows))
    page = preview.get_data(as_text=True)
    assert "28 行可以导入" in page and "2 行有误" in page
    assert "身份证号非法" in page and "该身份证号未在本系统注册" in page
    assert db.session.scalar(select(func.count()).select_from(TraineeScore)) == 0  # nothing yet

    # Confirming without choosing "valid rows only" imports nothing.
    token = preview_url.rsplit("/", 1)[1]
    response = inst.post(f"/admin/trainee_scores/import/confirm/{token}", {"confirm": "1"}, form_url=preview_url)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(TraineeScore)) == 0
    # "Import the valid rows": the 28 good ones.
    response = inst.post(f"/admin/trainee_scores/import/confirm/{token}", {"valid_only": "1"}, form_url=preview_url)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(TraineeScore).where(
        TraineeScore.class_id == cls.id)) == 28
    # The stashed upload is gone: a replay finds nothing.
    assert inst.post(f"/admin/trainee_scores/import/confirm/{token}", {"valid_only": "1"},
                     form_url="/admin/trainee_scores/").status_code == 404
    listing = inst.get("/admin/training_classes/").get_data(as_text=True)
    assert "临床诊疗指南第一期" in listing

    # 6. The roster, then the declaration (professional → the institution sends it to the HRSS).
    roster = inst.get(f"/admin/score_declaration/roster/{cls.id}").get_data(as_text=True)
    assert all(p.id_number in roster for p in trainees)
    response = inst.post(f"/admin/score_declaration/declare/{cls.id}", {"route": "hrss"},
                         form_url=f"/admin/score_declaration/roster/{cls.id}")
    assert response.status_code == 302
    declarations = db.session.scalars(select(Declaration).where(Declaration.source == "institution")).all()
    assert len(declarations) == 28
    county = org("410105")
    for d in declarations:
        assert d.declarer_org_id == org("河南省专业技术人员继续教育基地").id
        assert d.form.code == "training_class" and d.claimed_hours == Decimal("24")
        assert d.status == "pending" and d.current_org_id == county.id  # HRSS of the trainee's unit
        assert d.fields["class_id"] == cls.id
    # The person sees it in their progress list and cannot withdraw it.
    with pytest.raises(WorkflowError, match="施教机构申报的学时不能由个人撤销"):
        workflow.withdraw(declarations[0], declarations[0].person.membership)
    db.session.rollback()
    trainee = sign_in(app.test_client(), trainees[0].membership)
    mine = next(d for d in declarations if d.person_id == trainees[0].id)
    progress = trainee.get("/admin/my/records/").get_data(as_text=True)
    assert "施教机构申报" in progress and "待审核" in progress
    page = trainee.post(f"/admin/my/records/{mine.id}/withdraw", {}, form_url=f"/admin/my/records/{mine.id}",
                        follow_redirects=True).get_data(as_text=True)
    assert "施教机构申报的学时不能由个人撤销" in page
    db.session.expire_all()
    assert db.session.get(Declaration, mine.id).status == "pending"

    # 7. A class is declared once: the second try is refused and creates nothing.
    page = inst.post(f"/admin/score_declaration/declare/{cls.id}", {"route": "hrss"},
                     form_url=f"/admin/score_declaration/roster/{cls.id}", follow_redirects=True)
    assert "每个培训班仅允许申报一次" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Declaration).where(
        Declaration.source == "institution")) == 28
    # Declared classes and their scores are locked too.
    score = db.session.scalar(select(TraineeScore).where(TraineeScore.class_id == cls.id))
    inst.post("/admin/trainee_scores/delete/", {"id": str(score.id)}, form_url="/admin/trainee_scores/")
    assert db.session.get(TraineeScore, score.id) is not None
    inst.post("/admin/training_classes/delete/", {"id": str(cls.id)}, form_url="/admin/training_classes/")
    assert db.session.get(TrainingClass, cls.id) is not None

    # 8. The HRSS sees them grouped by institution → class, and approves all.
    hrss = sign_in(app.test_client(), "county")
    groups = hrss.get("/admin/training_decl_review/").get_data(as_text=True)
    assert "河南省专业技术人员继续教育基地" in groups and "临床诊疗指南第一期" in groups
    detail = hrss.get(f"/admin/training_decl_review/class/{cls.id}").get_data(as_text=True)
    assert trainees[0].id_number in detail
    # The issue-4 grouped queue lists the institution as a declaring organisation too.
    assert "河南省专业技术人员继续教育基地" in hrss.get("/admin/review/").get_data(as_text=True)
    from backoffice.mail import outbox

    outbox().clear()
    response = hrss.post(f"/admin/training_decl_review/class/{cls.id}/act", {"decision": "approve", "scope": "all"},
                         form_url=f"/admin/training_decl_review/class/{cls.id}")
    assert response.status_code == 302
    db.session.expire_all()
    statuses = db.session.scalars(select(Declaration.status).where(Declaration.source == "institution")).all()
    assert statuses == ["approved"] * 28

    # Each trainee was told by e-mail (after the commit).
    told = {r for message in outbox() for r in message.recipients}
    assert {p.account.email for p in trainees} <= told

    # 9. Each passed trainee's year now counts the class hours.
    for p in trainees:
        assert _approved_hours(p, YEAR) == Decimal("24")
    # Every step left an audit row.
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_type.in_(
        ("training_plan", "training_class")))))
    assert {"create", "submit", "approve", "import", "declare"} <= actions


def test_professional_class_sent_to_the_industry_department_goes_there_first(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    plan = create_plan(inst, "专业计划B", route="industry", dept=industry_js())
    plan = approve_plan(sign_in(app.test_client(), "industry"), plan)
    cls = create_class(inst, plan, "专业班B")
    trainees = _trainees(3)
    db.session.commit()
    rows = [(p.id_number, p.name, 50 if i == 0 else 90, "", "") for i, p in enumerate(trainees)]
    url, _ = upload_scores(inst, cls, xlsx(rows))
    inst.post(url.replace("/preview/", "/confirm/"), {"confirm": "1"}, form_url=url)
    assert cls.scores.count() == 3
    assert [s.passed for s in cls.scores.order_by(TraineeScore.id)] == [False, True, True]  # < 60 fails
    inst.post(f"/admin/score_declaration/declare/{cls.id}", {"route": "industry"},
              form_url=f"/admin/score_declaration/roster/{cls.id}")
    decls = db.session.scalars(select(Declaration).where(Declaration.source == "institution")).all()
    assert len(decls) == 2  # passed trainees only
    assert {d.current_org.name for d in decls} == {"金水区卫生健康委员会"}
    industry = sign_in(app.test_client(), "industry")
    groups = industry.get("/admin/training_decl_review/").get_data(as_text=True)
    assert "专业班B" in groups


def test_public_plan_offers_public_subjects_and_goes_to_hrss(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    # A professional subject in a public plan is refused at the field.
    from .training_helpers import plan_form, subject

    data = plan_form("公需计划", kind="public", route="industry", dept=industry_js())
    data["subject_id"] = str(subject("professional").id)
    page = inst.post("/admin/training_plans/new/", data).get_data(as_text=True)
    assert "公需科目计划只能选择公需科目" in page
    assert db.session.scalar(select(func.count()).select_from(TrainingPlan)) == 0
    plan = create_plan(inst, "公需计划", kind="public", route="industry", dept=industry_js())
    assert plan.route == "hrss" and plan.competent_dept_id is None
    assert plan.current_org.name == "河南省人力资源和社会保障厅"  # the institution's own HRSS
    # The province reviews it; it can reject with a reason, then the institution edits and resends.
    province = sign_in(app.test_client(), "province")
    response = province.post("/admin/plan_review/act", {"ids": str(plan.id), "decision": "reject", "scope": "selected"},
                             form_url="/admin/plan_review/", follow_redirects=True)
    assert "请填写审核不通过的原因" in response.get_data(as_text=True)
    from backoffice.mail import outbox

    sent_before = len(outbox())
    province.post("/admin/plan_review/act", {"ids": str(plan.id), "decision": "reject", "scope": "selected",
                                             "reason": "学时安排不合理"}, form_url="/admin/plan_review/")
    db.session.expire_all()
    plan = db.session.get(TrainingPlan, plan.id)
    assert plan.status == "rejected" and plan.reject_reason == "学时安排不合理"
    # The institution's admins are told, with the reason.
    notices = outbox()[sent_before:]
    assert len(notices) == 1 and notices[0].recipients == ["institution@example.gov.cn"]
    assert "公需计划" in notices[0].body and "学时安排不合理" in notices[0].body
    data = plan_form("公需计划（修改）", kind="public", hours="12", _submit_now="1")
    assert inst.post(f"/admin/training_plans/edit/?id={plan.id}", data).status_code == 302
    db.session.expire_all()
    plan = db.session.get(TrainingPlan, plan.id)
    assert (plan.name, plan.hours, plan.status) == ("公需计划（修改）", Decimal("12"), "pending")


def test_unapproved_plans_edit_and_batch_delete(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    a = create_plan(inst, "计划A", submit=False)
    b = create_plan(inst, "计划B")
    c = create_plan(inst, "计划C")
    c = approve_plan(sign_in(app.test_client(), "industry"), c)
    assert (a.status, b.status, c.status) == ("draft", "pending", "approved")
    # Editing a pending plan sends it back to draft (to be sent again).
    from .training_helpers import plan_form

    assert inst.post(f"/admin/training_plans/edit/?id={b.id}", plan_form("计划B2", dept=industry_js())).status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingPlan, b.id).status == "draft"
    # Bad input is refused at the field and saves nothing.
    page = inst.post(f"/admin/training_plans/edit/?id={a.id}",
                     plan_form("计划A", dept=industry_js(), end_date=f"{YEAR}-02-01")).get_data(as_text=True)
    assert "结束日期不能早于开始日期" in page
    page = inst.post(f"/admin/training_plans/edit/?id={a.id}",
                     plan_form("计划A", dept=industry_js(), subject_id="")).get_data(as_text=True)
    assert "请选择培训科目" in page
    # Batch delete with an approved plan among them: all or nothing, with the reason.
    page = inst.post("/admin/training_plans/action/", {"action": "delete", "rowid": [str(a.id), str(c.id)]},
                     form_url="/admin/training_plans/", follow_redirects=True).get_data(as_text=True)
    assert "培训计划已审核通过，不能修改或删除" in page
    assert db.session.get(TrainingPlan, a.id) is not None
    a_id, b_id, c_id = a.id, b.id, c.id
    inst.post("/admin/training_plans/action/", {"action": "delete", "rowid": [str(a_id), str(b_id)]},
              form_url="/admin/training_plans/")
    db.session.expire_all()
    assert db.session.get(TrainingPlan, a_id) is None and db.session.get(TrainingPlan, b_id) is None
    c = db.session.get(TrainingPlan, c_id)
    assert c is not None
    # Single delete of the approved plan is refused too.
    inst.post("/admin/training_plans/delete/", {"id": str(c.id)}, form_url="/admin/training_plans/")
    assert db.session.get(TrainingPlan, c.id) is not None


def test_score_entry_by_id_number(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    plan = approve_plan(sign_in(app.test_client(), "industry"), create_plan(inst, "计划S", dept=industry_js()))
    cls = create_class(inst, plan, "班S")
    person = _trainees(1)[0]
    pending = make_person("待审核学员", org("郑州市金水区人民医院"), 300, status="pending")
    db.session.commit()

    def enter(id_number, score="88", passed=""):
        return inst.post("/admin/trainee_scores/new/", {"class_id": str(cls.id), "id_number": id_number,
                                                        "score": score, "passed": passed, "remark": ""})

    assert "身份证号非法" in enter("410105199001011234").get_data(as_text=True)
    unknown = make_id_number("410105", __import__("datetime").date(1992, 3, 3), 555)
    assert "该身份证号未在本系统注册" in enter(unknown).get_data(as_text=True)
    assert "尚未通过注册审核" in enter(pending.id_number).get_data(as_text=True)
    assert "成绩须为 0–100 之间的数字" in enter(person.id_number, score="120").get_data(as_text=True)
    assert cls.scores.count() == 0
    assert enter(person.id_number, passed="不合格").status_code == 302
    page = inst.get(f"/admin/trainee_scores/new/?class_id={cls.id}").get_data(as_text=True)
    assert "本班已登记的学员" in page and person.id_number in page
    assert "该学员已在本培训班中" in enter(person.id_number).get_data(as_text=True)
    row = cls.scores.one()
    assert (row.name, row.score, row.passed) == (person.name, Decimal("88.0"), False)
    # Edit and delete.
    assert inst.post(f"/admin/trainee_scores/edit/?id={row.id}", {"score": "92", "passed": "合格", "remark": "补考"},
                     ).status_code == 302
    db.session.expire_all()
    assert db.session.get(TraineeScore, row.id).passed is True
    inst.post("/admin/trainee_scores/action/", {"action": "delete", "rowid": [str(row.id)]},
              form_url="/admin/trainee_scores/")
    assert cls.scores.count() == 0
    # Declaring a class without a passed trainee is refused.
    page = inst.post(f"/admin/score_declaration/declare/{cls.id}", {"route": "hrss"},
                     form_url=f"/admin/score_declaration/roster/{cls.id}", follow_redirects=True)
    assert "没有成绩合格的学员" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(TrainingClass, cls.id).declared_at is None


def test_import_reports_duplicates_missing_scores_and_csv(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    plan = approve_plan(sign_in(app.test_client(), "industry"), create_plan(inst, "计划I", dept=industry_js()))
    cls = create_class(inst, plan, "班I")
    a, b = _trainees(2)
    db.session.commit()
    # The template downloads as a real workbook with the header row.
    template = inst.get("/admin/trainee_scores/import/template/")
    assert template.status_code == 200
    import io

    from openpyxl import load_workbook

    header = [c.value for c in next(load_workbook(io.BytesIO(template.data)).active.iter_rows())]
    assert header == ["身份证号", "姓名", "成绩", "是否合格", "备注"]
    csv_text = "身份证号,姓名,成绩,是否合格,备注\n" + "\n".join([
        f"{a.id_number},{a.name},90,合格,",
        f"{a.id_number},{a.name},91,合格,",
        f"{b.id_number},{b.name},,合格,",
    ])
    url, preview = upload_scores(inst, cls, csv_text.encode("utf-8-sig"), filename="s.csv")
    page = preview.get_data(as_text=True)
    assert "与第 2 行重复" in page and "缺少成绩" in page
    inst.post(url.replace("/preview/", "/confirm/"), {"confirm": "1"}, form_url=url)
    assert cls.scores.count() == 0  # nothing partial
    # A wrong file type is refused at the field.
    import io as _io

    response = inst.post("/admin/trainee_scores/import/", {"class_id": str(cls.id),
                                                           "file": (_io.BytesIO(b"x"), "a.txt")},
                         content_type="multipart/form-data")
    assert "只支持 .xlsx 或 .csv 文件" in response.get_data(as_text=True)


def test_a_stale_class_cannot_be_declared_twice_and_a_stale_plan_cannot_be_moved(app, ctx):
    """Another session declared the class (or approved the plan) meanwhile: the guarded
    UPDATE refuses the second move even though this session still sees the old state."""
    from sqlalchemy import update

    from backoffice import training
    from backoffice.models import now

    from .conftest import membership_of

    inst = sign_in(app.test_client(), "institution")
    plan = approve_plan(sign_in(app.test_client(), "industry"), create_plan(inst, "计划R", dept=industry_js()))
    cls = create_class(inst, plan, "班R")
    person = _trainees(1)[0]
    training.add_score(cls, person.id_number, Decimal("90"), True, "", membership_of("institution"))
    db.session.commit()
    assert cls.declared_at is None
    db.session.execute(update(TrainingClass).where(TrainingClass.id == cls.id).values(declared_at=now())
                       .execution_options(synchronize_session=False))
    with pytest.raises(training.TrainingError, match="每个培训班仅允许申报一次"):
        training.declare_class(cls, "hrss", membership_of("institution"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Declaration).where(
        Declaration.source == "institution")) == 0

    pending = create_plan(inst, "计划R2", dept=industry_js())
    reviewer = membership_of("industry")
    seen = db.session.get(TrainingPlan, pending.id)
    db.session.execute(update(TrainingPlan).where(TrainingPlan.id == pending.id)
                       .values(version=TrainingPlan.version + 1).execution_options(synchronize_session=False))
    with pytest.raises(training.TrainingError, match="状态已被他人更改"):
        training.approve_plan(seen, reviewer)
    db.session.rollback()
    assert db.session.get(TrainingPlan, pending.id).status == "pending"


def test_a_class_lies_within_its_plan_and_a_plan_takes_its_years_subjects(app, ctx):
    from backoffice.models import Subject

    from .training_helpers import class_named, plan_form, plan_named, subject

    inst = sign_in(app.test_client(), "institution")
    # The plan's subject list offers each subject with its year; another year's subject is refused.
    page = inst.get("/admin/training_plans/new/").get_data(as_text=True)
    current = subject("professional")
    assert f"{current.id}:professional:{YEAR}" in page and "plan_form.js" in page
    older = db.session.scalar(select(Subject).where(Subject.kind == "professional", Subject.year == YEAR - 1))
    assert older is not None
    data = plan_form("跨年度计划")
    data["subject_id"] = str(older.id)
    page = inst.post("/admin/training_plans/new/", data).get_data(as_text=True)
    assert f"所选培训科目属于 {YEAR - 1} 年度，请选择 {YEAR} 年度（继续教育年度）的科目" in page
    assert plan_named("跨年度计划") is None

    # A plan of Mar 1–5: a class on Aug 1–5 is refused, one on Mar 2–4 is accepted.
    plan = create_plan(inst, "日期计划")
    plan = approve_plan(sign_in(app.test_client(), "industry"), plan)
    assert plan.status == "approved", plan.status
    page = inst.post("/admin/training_classes/new/", {
        "plan_id": str(plan.id), "name": "八月班", "hours": "24", "planned_trainees": "40",
        "start_date": f"{YEAR}-08-01", "end_date": f"{YEAR}-08-05", "location": "郑州", "teacher": "王老师",
    }).get_data(as_text=True)
    assert "培训班开始日期不能早于培训计划的开始日期" not in page
    assert f"培训班结束日期不能晚于培训计划的结束日期（计划日期：{YEAR}-03-01 至 {YEAR}-03-05）" in page
    assert class_named("八月班") is None
    cls = create_class(inst, plan, "三月班")
    # Editing it out of the plan's dates is refused too.
    page = inst.post(f"/admin/training_classes/edit/?id={cls.id}", {
        "plan_id": str(plan.id), "name": "三月班", "hours": "24", "planned_trainees": "40",
        "start_date": f"{YEAR}-02-20", "end_date": f"{YEAR}-03-03", "location": "郑州", "teacher": "王老师",
    }).get_data(as_text=True)
    assert "培训班开始日期不能早于培训计划的开始日期" in page
    db.session.expire_all()
    assert class_named("三月班").start_date.month == 3
