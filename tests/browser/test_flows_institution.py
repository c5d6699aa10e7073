"""The training institution's daily flow: a class under an approved plan, scores imported
from a spreadsheet, the class's hours declared."""

import io
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from tests.browser.flow_helpers import body_text, count, db_value

YEAR = date.today().year


def _approved_plan(live_server):
    """An approved public plan of the demo institution (made the way the domain makes it)."""
    from backoffice import training
    from backoffice.extensions import db
    from backoffice.models import LearningForm, Membership, Org, Subject

    def make():
        inst_admin = db.session.scalar(select(Membership).where(Membership.role == "institution_admin"))
        province = db.session.scalar(select(Membership).join(Org, Org.id == Membership.org_id)
                                     .where(Membership.role == "hrss_admin", Org.kind == "province_hrss"))
        subject = db.session.scalar(select(Subject).where(Subject.kind == "public", Subject.year == YEAR))
        form = db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))
        plan = training.create_plan(inst_admin.org, training.PlanData(
            name="公需科目春季培训", subject_kind="public", subject_id=subject.id, training_year=YEAR, ce_year=YEAR,
            form_id=form.id, planned_trainees=50, hours=Decimal("12"), start_date=date(YEAR, 4, 1),
            end_date=date(YEAR, 4, 30), location="郑州"), inst_admin)
        training.submit_plan(plan, inst_admin)
        while plan.status == "pending":
            training.approve_plan(plan, province)
        db.session.commit()
        return plan.id, plan.status

    plan_id, status = db_value(live_server, make)
    assert status == "approved"
    return plan_id


def _persons(live_server, n):
    from backoffice.extensions import db
    from backoffice.models import Membership, Person

    return db_value(live_server, lambda: [
        (p.id_number, p.name) for p in db.session.scalars(
            select(Person).join(Membership, Membership.id == Person.membership_id)
            .where(Membership.status == "active").order_by(Person.id).limit(n))])


def test_institution_imports_scores_and_declares_a_class(page, login, live_server, tmp_path):
    from openpyxl import Workbook

    from backoffice.models import Declaration, TraineeScore

    page.on("dialog", lambda dialog: dialog.accept())
    plan_id = _approved_plan(live_server)
    login(page, "institution")

    # A class outside the plan's dates is refused; inside, it is saved.
    page.goto(live_server.url + "/admin/training_classes/new/")
    page.select_option("#plan_id", str(plan_id))
    page.fill("#name", "春季一班")
    page.fill("#hours", "12")
    page.fill("#planned_trainees", "40")
    page.fill("#start_date", f"{YEAR}-08-01")
    page.fill("#end_date", f"{YEAR}-08-05")
    page.fill("#location", "郑州")
    page.click("form button[type=submit]:has-text('保存'), form input[type=submit][value='保存']")
    page.wait_for_load_state()
    assert "不能晚于培训计划的结束日期" in body_text(page) or "不能早于培训计划的开始日期" in body_text(page)
    page.fill("#start_date", f"{YEAR}-04-10")
    page.fill("#end_date", f"{YEAR}-04-11")
    page.click("form button[type=submit]:has-text('保存'), form input[type=submit][value='保存']")
    page.wait_for_load_state()
    assert "春季一班" in body_text(page)

    # Scores from a spreadsheet: three good rows and one bad one, previewed, then the good ones imported.
    people = _persons(live_server, 3)
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "成绩", "是否合格", "备注"])
    for (id_number, name), score in zip(people, (92, 78, 55), strict=True):
        ws.append([id_number, name, score, "合格" if score >= 60 else "不合格", ""])
    ws.append(["410105199901019999", "查无此人", 80, "合格", ""])
    path = tmp_path / "成绩.xlsx"
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())
    page.goto(live_server.url + "/admin/trainee_scores/import/")
    page.select_option("#class_id", label="春季一班")
    page.set_input_files("#file", str(path))
    page.click("#upload-button")
    page.wait_for_load_state()
    summary = page.locator("#import-summary").inner_text()
    assert "共 4 行" in summary and "3 行可以导入" in summary and "1 行有误" in summary
    page.click("button[name=valid_only]")
    page.wait_for_load_state()
    assert count(live_server, lambda: select(TraineeScore.id)) == 3

    # 申报学时: once per class; the two passed trainees get a record each.
    page.goto(live_server.url + "/admin/score_declaration/")
    row = page.locator("#declare-classes tr", has_text="春季一班")
    row.locator("a:has-text('申报花名册')").click()
    page.wait_for_load_state()
    assert page.locator("#roster tr").count() == 4 and "合格学员 2 人" in body_text(page)  # header + 3
    page.click("#declare button[type=submit]")
    page.wait_for_load_state()
    assert "已为 2 名合格学员申报学时" in body_text(page)
    assert count(live_server, lambda: select(Declaration.id).where(Declaration.source == "institution")) >= 2
