"""Training institutions and training plans: the domain rules (no request parsing here).

* **Plans** (培训计划 of institutions, 单位培训计划 of units) have their own review
  chain with an explicit transition table (``PLAN_TRANSITIONS``) and one function per
  move; each move bumps ``version`` with a guarded UPDATE (two reviewers acting on the
  same plan never both succeed) and writes its audit row in the same transaction.
* **Classes** (培训班) come from an approved institution plan; **scores** (学员成绩) name
  registered persons; a class is **declared once** (申报学时): one declaration per
  passed trainee, submitted into the declaration review chain by ``workflow.submit``.
* **Unit plan declarations**: once a unit's plan is approved the unit declares the
  hours of several of its persons, with the sign-in sheet / photos / video attached.

Functions flush and never commit: the caller commits once (the change and its audit
rows together). Errors are :class:`TrainingError` with a Chinese message and, where
it belongs to an input, the field name.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from . import audit
from . import storage as file_storage
from .extensions import db
from .models import (
    Declaration,
    LearningForm,
    Membership,
    Org,
    Person,
    Subject,
    TraineeScore,
    TrainingClass,
    TrainingPlan,
    TrainingPlanStep,
    UnitPlanAttachment,
    UnitPlanAttendee,
    UnitPlanDeclaration,
    now,
)
from .tree import hrss_of, stamp_declaration, subtree_clause
from .validators import is_valid_id_number, normalise_id_number


class TrainingError(ValueError):
    """A refused change: ``str(error)`` is the Chinese message for the user."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


MSG_PLAN_LOCKED = "培训计划已审核通过，不能修改或删除"
MSG_PLAN_CHANGED = "该培训计划的状态已被他人更改，请刷新后重试"
MSG_CLASS_DECLARED = "该培训班已申报学时，不能再修改、删除或录入成绩"
MSG_CLASS_TWICE = "该培训班已申报过学时，每个培训班仅允许申报一次"

# --------------------------------------------------------------------------- plans
# The transition table of plans: (status, move) -> next status. "approve" moves to
# the next step while one is left, so its target is decided by the chain.
PLAN_TRANSITIONS = {
    ("draft", "submit"): "pending",
    ("rejected", "submit"): "pending",
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("pending", "withdraw"): "draft",
}
EDITABLE_PLAN_STATUSES = ("draft", "pending", "rejected")


def _check_move(plan, move):
    target = PLAN_TRANSITIONS.get((plan.status, move))
    if target is None:
        if plan.status == "approved":
            raise TrainingError(MSG_PLAN_LOCKED)
        labels = {"submit": "送审", "approve": "审核通过", "reject": "审核不通过", "withdraw": "撤回"}
        raise TrainingError(f"培训计划「{plan.name}」当前状态为{plan.status_label}，不能{labels.get(move, move)}")
    return target


def _bump(plan, values):
    """Guarded write: the plan must still be at the version we read."""
    old = plan.version
    result = db.session.execute(
        update(TrainingPlan)
        .where(TrainingPlan.id == plan.id, TrainingPlan.version == old)
        .values(version=old + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise TrainingError(MSG_PLAN_CHANGED)
    db.session.expire(plan)


def industry_dept_choices(owner):
    """Industry departments an institution may send a professional plan to.

    The seeds say 同级行业主管; the demo institution sits under the province while the
    departments sit under cities and counties, so every approved department inside
    the institution's HRSS subtree (its own level and below) may be chosen.
    """
    hrss = hrss_of(owner)
    stmt = select(Org).where(Org.kind == "industry_dept", Org.status == "approved")
    if hrss is not None and hrss.kind != "province_hrss":
        stmt = stmt.where(subtree_clause(hrss.parent_path))
    return db.session.scalars(stmt.order_by(Org.parent_path, Org.name)).all()


def plan_chain(plan):
    """[(level, org)] of a plan's review, fixed when it is sent."""
    owner = plan.owner_org
    hrss = hrss_of(owner)
    if hrss is None:
        raise TrainingError("找不到所属人社部门，无法送审")
    if plan.owner_kind == "unit":
        chain = []
        if owner.competent_dept_id:
            chain.append(("industry", owner.competent_dept))
        chain.append(("hrss", hrss))
        return chain
    if plan.subject_kind == "professional" and plan.route == "industry":
        if plan.competent_dept is None:
            raise TrainingError("请选择送审的行业主管部门", "competent_dept_id")
        return [("industry", plan.competent_dept)]
    return [("hrss", hrss)]


@dataclass
class PlanData:
    name: str
    subject_kind: str
    subject_id: int | None
    training_year: int
    ce_year: int
    form_id: int
    planned_trainees: int
    hours: Decimal
    start_date: date
    end_date: date
    location: str = ""
    content: str = ""
    route: str = "hrss"
    competent_dept_id: int | None = None


def _check_schedule(data):
    """Hours, planned trainees and dates, shared by plans and classes."""
    if data.hours is None or data.hours <= 0 or data.hours > 1000:
        raise TrainingError("学时须大于 0 且不超过 1000", "hours")
    if data.planned_trainees is None or data.planned_trainees <= 0 or data.planned_trainees > 100000:
        raise TrainingError("计划培训人数须为正整数", "planned_trainees")
    if data.start_date is None:
        raise TrainingError("请输入开始日期", "start_date")
    if data.end_date is None:
        raise TrainingError("请输入结束日期", "end_date")
    if data.end_date < data.start_date:
        raise TrainingError("结束日期不能早于开始日期", "end_date")


def _validate_plan(owner, data: PlanData):
    if not (data.name or "").strip():
        raise TrainingError("请输入计划名称", "name")
    if data.subject_kind not in ("public", "professional"):
        raise TrainingError("请选择科目类型", "subject_kind")
    if data.subject_id is None:
        raise TrainingError("请选择培训科目", "subject_id")
    subject = db.session.get(Subject, data.subject_id)
    if subject is None or not subject.enabled:
        raise TrainingError("所选培训科目不存在或已停用", "subject_id")
    if subject.kind != data.subject_kind:
        kind = "公需科目" if data.subject_kind == "public" else "专业科目"
        raise TrainingError(f"{kind}计划只能选择{kind}", "subject_id")
    form = db.session.get(LearningForm, data.form_id) if data.form_id else None
    if form is None or not form.enabled:
        raise TrainingError("请选择培训形式", "form_id")
    for name, value in (("training_year", data.training_year), ("ce_year", data.ce_year)):
        if value is None or not 2000 <= value <= 2100:
            raise TrainingError("请输入正确的年度（2000–2100）", name)
    if subject.year != data.ce_year:
        # The hours count for the continuing-education year: its catalogue is the one offered.
        raise TrainingError(f"所选培训科目属于 {subject.year} 年度，请选择 {data.ce_year} 年度（继续教育年度）的科目",
                            "subject_id")
    _check_schedule(data)
    if owner.kind == "institution":
        if data.subject_kind == "public":
            data.route = "hrss"  # public plans go to the HRSS only
            data.competent_dept_id = None
        elif data.route not in ("hrss", "industry"):
            raise TrainingError("请选择送审部门", "route")
        if data.route == "industry":
            allowed = {d.id for d in industry_dept_choices(owner)}
            if data.competent_dept_id not in allowed:
                raise TrainingError("请选择送审的行业主管部门", "competent_dept_id")
        else:
            data.competent_dept_id = None
    else:
        data.route = "industry" if owner.competent_dept_id else "hrss"
        data.competent_dept_id = owner.competent_dept_id


def _plan_snapshot(plan):
    return {
        "name": plan.name, "subject_kind": plan.subject_kind, "subject_id": plan.subject_id,
        "training_year": plan.training_year, "ce_year": plan.ce_year, "form_id": plan.form_id,
        "planned_trainees": plan.planned_trainees, "hours": plan.hours, "start_date": plan.start_date,
        "end_date": plan.end_date, "route": plan.route, "competent_dept_id": plan.competent_dept_id,
        "status": plan.status,
    }


def create_plan(owner, data: PlanData, actor):
    """A new plan (draft) of an institution or a unit."""
    if owner.kind not in ("institution", "unit"):
        raise TrainingError("只有施教机构和用人单位可以制定培训计划")
    _validate_plan(owner, data)
    plan = TrainingPlan(owner_kind=owner.kind, owner_org_id=owner.id, status="draft")
    plan.owner_org = owner
    if owner.kind == "institution":
        plan.institution_id = owner.id
    else:
        plan.unit_id = owner.id
    plan.county_id, plan.city_id = owner.county_id, owner.city_id
    _apply(plan, data)
    db.session.add(plan)
    db.session.flush()
    audit.record("create", "training_plan", plan.id, after=_plan_snapshot(plan), actor=actor)
    return plan


def _apply(plan, data: PlanData):
    plan.name = data.name.strip()
    plan.subject_kind = data.subject_kind
    plan.subject_id = data.subject_id
    plan.training_year = data.training_year
    plan.ce_year = data.ce_year
    plan.form_id = data.form_id
    plan.planned_trainees = data.planned_trainees
    plan.hours = data.hours
    plan.start_date = data.start_date
    plan.end_date = data.end_date
    plan.location = (data.location or "").strip() or None
    plan.content = (data.content or "").strip() or None
    plan.route = data.route
    plan.competent_dept_id = data.competent_dept_id


def update_plan(plan, data: PlanData, actor):
    """Edit an unapproved plan; a pending one goes back to draft (must be sent again)."""
    if plan.status not in EDITABLE_PLAN_STATUSES:
        raise TrainingError(MSG_PLAN_LOCKED)
    before = _plan_snapshot(plan)
    _validate_plan(plan.owner_org, data)
    values = {}
    if plan.status == "pending":
        values = {"status": "draft", "current_org_id": None, "current_level": None}
    version = plan.version
    _apply(plan, data)
    db.session.flush()
    _bump_after_edit(plan, version, values)
    if values:
        _clear_steps(plan)
    audit.record("edit", "training_plan", plan.id, before=before, after=_plan_snapshot(plan), actor=actor)
    return plan


def _bump_after_edit(plan, version, values):
    result = db.session.execute(
        update(TrainingPlan)
        .where(TrainingPlan.id == plan.id, TrainingPlan.version == version,
               TrainingPlan.status.in_(EDITABLE_PLAN_STATUSES))
        .values(version=version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise TrainingError(MSG_PLAN_CHANGED)
    db.session.expire(plan)


def _clear_steps(plan):
    db.session.execute(delete(TrainingPlanStep).where(TrainingPlanStep.plan_id == plan.id))


def delete_plans(plans, actor):
    """Delete unapproved plans (all or nothing). Returns the count."""
    plans = list(plans)
    locked = [p.name for p in plans if p.status not in EDITABLE_PLAN_STATUSES]
    if locked:
        raise TrainingError(f"{MSG_PLAN_LOCKED}：{'、'.join(locked[:5])}")
    for plan in plans:
        audit.record("delete", "training_plan", plan.id, before=_plan_snapshot(plan), actor=actor)
        _clear_steps(plan)
        result = db.session.execute(
            delete(TrainingPlan)
            .where(TrainingPlan.id == plan.id, TrainingPlan.status.in_(EDITABLE_PLAN_STATUSES))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise TrainingError(MSG_PLAN_CHANGED)
    db.session.expire_all()
    return len(plans)


def submit_plan(plan, actor):
    """送审: fix the chain and put the plan at its first step."""
    _check_move(plan, "submit")
    chain = plan_chain(plan)
    _clear_steps(plan)
    db.session.flush()
    for seq, (level, org) in enumerate(chain, start=1):
        db.session.add(TrainingPlanStep(plan_id=plan.id, seq=seq, level=level, org_id=org.id,
                                        status="pending" if seq == 1 else "waiting"))
    first_level, first_org = chain[0]
    before = plan.status
    _bump(plan, {"status": "pending", "current_org_id": first_org.id, "current_level": first_level,
                 "submitted_at": now(), "decided_at": None, "reject_reason": None})
    audit.record("submit", "training_plan", plan.id, before={"status": before},
                 after={"status": "pending", "current_org": first_org.name}, actor=actor)
    return plan


def _current_step(plan, actor):
    if plan.status != "pending" or actor is None or plan.current_org_id != actor.org_id:
        raise TrainingError(f"培训计划「{plan.name}」不在您的待审核环节")
    step = db.session.scalar(
        select(TrainingPlanStep).where(TrainingPlanStep.plan_id == plan.id, TrainingPlanStep.status == "pending")
        .order_by(TrainingPlanStep.seq)
    )
    if step is None or step.org_id != actor.org_id:
        raise TrainingError(f"培训计划「{plan.name}」不在您的待审核环节")
    return step


def approve_plan(plan, actor, comment=None):
    """审核通过 at the current step: the next step, or approved at the last one."""
    _check_move(plan, "approve")
    step = _current_step(plan, actor)
    step.status, step.actor_membership_id, step.acted_at, step.comment = "approved", actor.id, now(), comment
    following = db.session.scalar(
        select(TrainingPlanStep).where(TrainingPlanStep.plan_id == plan.id, TrainingPlanStep.seq == step.seq + 1)
    )
    if following is not None:
        following.status = "pending"
        values = {"current_org_id": following.org_id, "current_level": following.level}
        after = {"status": "pending", "current_org": following.org.name}
    else:
        values = {"status": "approved", "current_org_id": None, "current_level": None, "decided_at": now()}
        after = {"status": "approved"}
    _bump(plan, values)
    audit.record("approve", "training_plan", plan.id, before={"status": "pending"}, after=after,
                 comment=comment, actor=actor)
    return plan


def reject_plan(plan, actor, reason):
    """审核不通过 with a reason; the owner may edit and send it again."""
    reason = (reason or "").strip()
    if not reason:
        raise TrainingError("请填写审核不通过的原因", "reason")
    if len(reason) > 500:
        raise TrainingError("原因不能超过 500 字", "reason")
    _check_move(plan, "reject")
    step = _current_step(plan, actor)
    step.status, step.actor_membership_id, step.acted_at, step.comment = "rejected", actor.id, now(), reason
    _bump(plan, {"status": "rejected", "current_org_id": None, "current_level": None, "decided_at": now(),
                 "reject_reason": reason})
    audit.record("reject", "training_plan", plan.id, before={"status": "pending"}, after={"status": "rejected"},
                 comment=reason, actor=actor)
    return plan


def review_plans(plans, actor, decision, reason=None):
    """Batch approve/reject: all or nothing (a stale plan refuses the whole batch)."""
    count = 0
    for plan in plans:
        if decision == "approve":
            approve_plan(plan, actor)
        else:
            reject_plan(plan, actor, reason)
        count += 1
    return count


def plan_decision_notices(plan_ids):
    """(recipients, subject, body) for plans that reached a final decision: the e-mails
    of the owning organisation's active admins. Read after the commit."""
    from .models import Membership

    notices = []
    for plan in db.session.scalars(select(TrainingPlan).where(TrainingPlan.id.in_(list(plan_ids)))):
        if plan.status not in ("approved", "rejected"):
            continue
        recipients = sorted({m.account.email for m in db.session.scalars(select(Membership).where(
            Membership.org_id == plan.owner_org_id, Membership.role.in_(("institution_admin", "unit_admin")),
            Membership.status == "active")) if m.account.email})
        if not recipients:
            continue
        verdict = "已审核通过" if plan.status == "approved" else f"审核不通过。原因：{plan.reject_reason or ''}"
        notices.append((recipients, "培训计划审核结果",
                        f"{plan.owner_org.name}：您好！培训计划“{plan.name}”（{plan.ce_year} 年度）{verdict}"))
    return notices


# --------------------------------------------------------------------------- classes
@dataclass
class ClassData:
    name: str
    hours: Decimal
    start_date: date
    end_date: date
    planned_trainees: int
    location: str = ""
    teacher: str = ""
    remark: str = ""


def _validate_class(data: ClassData, plan):
    if not (data.name or "").strip():
        raise TrainingError("请输入培训班名称", "name")
    _check_schedule(data)
    # A class is held within its plan's dates.
    if plan is not None and plan.start_date and plan.end_date:
        span = f"{plan.start_date:%Y-%m-%d} 至 {plan.end_date:%Y-%m-%d}"
        if data.start_date < plan.start_date:
            raise TrainingError(f"培训班开始日期不能早于培训计划的开始日期（计划日期：{span}）", "start_date")
        if data.end_date > plan.end_date:
            raise TrainingError(f"培训班结束日期不能晚于培训计划的结束日期（计划日期：{span}）", "end_date")


def create_class(plan, data: ClassData, actor):
    """A class of an approved institution plan; subject, years and form come from the plan."""
    if plan.owner_kind != "institution":
        raise TrainingError("只能从施教机构的培训计划创建培训班", "plan_id")
    if plan.status != "approved":
        raise TrainingError("只能从审核通过的培训计划创建培训班", "plan_id")
    _validate_class(data, plan)
    cls = TrainingClass(
        plan_id=plan.id, institution_id=plan.institution_id, county_id=plan.county_id, city_id=plan.city_id,
        subject_kind=plan.subject_kind, subject_id=plan.subject_id, training_year=plan.training_year,
        ce_year=plan.ce_year, form_id=plan.form_id,
    )
    _apply_class(cls, data)
    db.session.add(cls)
    db.session.flush()
    audit.record("create", "training_class", cls.id, after=_class_snapshot(cls), actor=actor)
    return cls


def _apply_class(cls, data: ClassData):
    cls.name = data.name.strip()
    cls.hours = data.hours
    cls.start_date, cls.end_date = data.start_date, data.end_date
    cls.planned_trainees = data.planned_trainees
    cls.location = (data.location or "").strip() or None
    cls.teacher = (data.teacher or "").strip() or None
    cls.remark = (data.remark or "").strip() or None


def _class_snapshot(cls):
    return {"name": cls.name, "plan_id": cls.plan_id, "hours": cls.hours, "start_date": cls.start_date,
            "end_date": cls.end_date, "planned_trainees": cls.planned_trainees}


def _undeclared(cls):
    if cls.declared_at is not None:
        raise TrainingError(MSG_CLASS_DECLARED)


def update_class(cls, data: ClassData, actor):
    _undeclared(cls)
    before = _class_snapshot(cls)
    _validate_class(data, cls.plan)
    _apply_class(cls, data)
    db.session.flush()
    audit.record("edit", "training_class", cls.id, before=before, after=_class_snapshot(cls), actor=actor)
    return cls


def trainee_count(cls):
    return db.session.scalar(select(func.count()).select_from(TraineeScore).where(TraineeScore.class_id == cls.id))


def delete_classes(classes, actor):
    """Delete undeclared classes with their scores (all or nothing)."""
    classes = list(classes)
    declared = [c.name for c in classes if c.declared_at is not None]
    if declared:
        raise TrainingError(f"{MSG_CLASS_DECLARED}：{'、'.join(declared[:5])}")
    for cls in classes:
        audit.record("delete", "training_class", cls.id, before=_class_snapshot(cls), actor=actor)
        db.session.execute(delete(TraineeScore).where(TraineeScore.class_id == cls.id))
        result = db.session.execute(
            delete(TrainingClass).where(TrainingClass.id == cls.id, TrainingClass.declared_at.is_(None))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise TrainingError(MSG_CLASS_DECLARED)
    db.session.expire_all()
    return len(classes)


# --------------------------------------------------------------------------- scores
MSG_UNKNOWN_PERSON = "该身份证号未在本系统注册，请先让学员注册"
MSG_PERSON_NOT_ACTIVE = "该身份证号的人员尚未通过注册审核或已停用"
MSG_DUPLICATE = "该学员已在本培训班中"
MSG_RACE = "该学员已在本培训班中（可能刚被他人录入），请刷新后重试"


def _flush_scores():
    """Flush new scores; a trainee entered meanwhile by someone else hits the unique
    (class, person) constraint and becomes a clear message (the caller rolls back)."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise TrainingError(MSG_RACE, "id_number") from None


def registered_persons(id_numbers):
    """{normalised ID number: (person row with id, id_number, name; None) or (None, message)} for many ID numbers
    typed or sent by an institution, with one query per thousand numbers."""
    result, wanted = {}, []
    for raw in id_numbers:
        number = normalise_id_number(raw)
        if number in result:
            continue
        if not number:
            result[number] = (None, "请输入身份证号")
        elif not is_valid_id_number(number):
            result[number] = (None, "身份证号非法")
        else:
            result[number] = (None, MSG_UNKNOWN_PERSON)
            wanted.append(number)
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        # Plain rows (id, id_number, name), not ORM objects: a batch resolves 1,000 at once.
        rows = db.session.execute(
            select(Person.id, Person.id_number, Person.name, Membership.status)
            .join(Membership, Membership.id == Person.membership_id)
            .where(Person.id_number.in_(chunk)).order_by(Person.id)
        ).all()
        for row in rows:
            person, status = row, row.status
            found = result[person.id_number]
            if status == "active":
                if found[0] is None:
                    result[person.id_number] = (person, None)
            elif found[0] is None:
                result[person.id_number] = (None, MSG_PERSON_NOT_ACTIVE)
    return result


def registered_person(id_number):
    """(person, None) or (None, message) for an ID number typed by an institution."""
    return registered_persons([id_number])[normalise_id_number(id_number)]


def parse_score(value):
    """A score 0–100 (one decimal), or raise TrainingError."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise TrainingError("请输入成绩", "score")
    try:
        score = Decimal(text)
    except InvalidOperation:
        raise TrainingError("成绩须为 0–100 之间的数字", "score") from None
    if not score.is_finite() or score < 0 or score > 100:
        raise TrainingError("成绩须为 0–100 之间的数字", "score")
    return score.quantize(Decimal("0.1"))


PASS_WORDS = {"合格": True, "是": True, "通过": True, "不合格": False, "否": False, "不通过": False}


def parse_passed(value, score):
    text = "" if value is None else str(value).strip()
    if not text:
        return score >= 60
    if text not in PASS_WORDS:
        raise TrainingError("是否合格须填写“合格”或“不合格”", "passed")
    return PASS_WORDS[text]


def add_score(cls, id_number, score, passed, remark, actor):
    _undeclared(cls)
    person, problem = registered_person(id_number)
    if person is None:
        raise TrainingError(problem, "id_number")
    exists = db.session.scalar(select(TraineeScore.id).where(TraineeScore.class_id == cls.id,
                                                             TraineeScore.person_id == person.id))
    if exists is not None:
        raise TrainingError(MSG_DUPLICATE, "id_number")
    if remark and len(remark) > 500:
        raise TrainingError("备注不能超过 500 字", "remark")
    row = TraineeScore(class_id=cls.id, institution_id=cls.institution_id, person_id=person.id,
                       id_number=person.id_number, name=person.name, score=score, passed=bool(passed),
                       remark=(remark or "").strip() or None)
    db.session.add(row)
    _flush_scores()
    audit.record("create", "trainee_score", row.id, after=_score_snapshot(row), actor=actor)
    return row


def _score_snapshot(row):
    return {"class_id": row.class_id, "id_number": row.id_number, "name": row.name, "score": row.score,
            "passed": row.passed, "remark": row.remark}


def update_score(row, score, passed, remark, actor):
    _undeclared(row.training_class)
    if remark and len(remark) > 500:
        raise TrainingError("备注不能超过 500 字", "remark")
    before = _score_snapshot(row)
    row.score, row.passed, row.remark = score, bool(passed), (remark or "").strip() or None
    db.session.flush()
    audit.record("edit", "trainee_score", row.id, before=before, after=_score_snapshot(row), actor=actor)
    return row


def delete_scores(rows, actor):
    rows = list(rows)
    declared = [r.name for r in rows if r.training_class.declared_at is not None]
    if declared:
        raise TrainingError(f"{MSG_CLASS_DECLARED}：{'、'.join(declared[:5])}")
    for row in rows:
        audit.record("delete", "trainee_score", row.id, before=_score_snapshot(row), actor=actor)
        db.session.delete(row)
    db.session.flush()
    return len(rows)


@dataclass
class ScoreInput:
    """One trainee result of a batch (the API's ``scores`` call)."""

    id_number: str
    name: str
    score: object
    passed: object = None  # True / False / None (None: passed when the score is at least 60)
    remark: str = ""


@dataclass
class ScoreOutcome:
    """Per-row result: ``score_id`` when accepted, else a code and the Chinese reason."""

    score_id: int | None = None
    code: str | None = None
    message: str | None = None
    field: str | None = None
    person_id: int | None = None

    @property
    def ok(self):
        return self.score_id is not None


PERSON_CODES = {"身份证号非法": "invalid_id_number", "请输入身份证号": "invalid_id_number",
                MSG_UNKNOWN_PERSON: "not_registered", MSG_PERSON_NOT_ACTIVE: "not_active"}
BATCH_MAX_ROWS = 1000


def add_scores_batch(cls, rows, actor):
    """Add many trainee results to an undeclared class: the rules of the page's entry
    and import (registered, active person, name matches, once per class, score 0–100,
    remark length), checked per row; the valid rows are inserted with one statement and
    the others come back with their reason, leaving the rest of the batch unaffected.
    Returns one :class:`ScoreOutcome` per row, in order; one audit row for the batch."""
    _undeclared(cls)
    rows = list(rows)
    if len(rows) > BATCH_MAX_ROWS:
        raise TrainingError(f"每次最多提交 {BATCH_MAX_ROWS} 条成绩", "results")
    persons = registered_persons([r.id_number for r in rows])
    existing = set(db.session.scalars(select(TraineeScore.person_id).where(TraineeScore.class_id == cls.id)))
    outcomes, values, seen = [], [], {}
    for i, row in enumerate(rows):
        out = ScoreOutcome()
        outcomes.append(out)
        person, problem = persons[normalise_id_number(row.id_number)]
        if person is None:
            out.code, out.message, out.field = PERSON_CODES.get(problem, "invalid_id_number"), problem, "id_number"
            continue
        if row.name and row.name.strip() != person.name:
            out.code, out.message, out.field = "name_mismatch", "姓名与注册信息不符", "name"
            continue
        try:
            score = parse_score(row.score)
            passed = parse_passed({True: "合格", False: "不合格"}.get(row.passed, row.passed), score)
        except TrainingError as exc:
            out.code, out.message, out.field = "invalid_score", exc.message, exc.field
            continue
        remark = (row.remark or "").strip()
        if len(remark) > 500:
            out.code, out.message, out.field = "invalid_remark", "备注不能超过 500 字", "remark"
            continue
        if person.id in existing:
            out.code, out.message, out.field = "duplicate", MSG_DUPLICATE, "id_number"
            continue
        if person.id in seen:
            out.code, out.message, out.field = "duplicate", f"重复：与本批第 {seen[person.id] + 1} 条为同一学员", \
                "id_number"
            continue
        seen[person.id] = i
        out.person_id = person.id
        values.append({"class_id": cls.id, "institution_id": cls.institution_id, "person_id": person.id,
                       "id_number": person.id_number, "name": person.name, "score": score, "passed": passed,
                       "remark": remark or None, "created_at": now()})
    if values:
        from sqlalchemy import insert

        try:
            with db.session.begin_nested():
                # Unordered RETURNING stays one batched statement; rows are told apart
                # by their person (once per class).
                table = TraineeScore.__table__
                ids = dict(db.session.execute(
                    insert(table).returning(table.c.person_id, table.c.id), values).all())
        except IntegrityError:
            raise TrainingError(MSG_RACE, "id_number") from None
        for out in outcomes:
            if out.person_id is not None:
                out.score_id = ids[out.person_id]
    audit.record("import", "training_class", cls.id,
                 after={"imported": len(values), "skipped": len(rows) - len(values), "via": "batch"}, actor=actor)
    return outcomes


# --------------------------------------------------------------------------- import
IMPORT_HEADERS = ["身份证号", "姓名", "成绩", "是否合格", "备注"]
IMPORT_MAX_ROWS = 5000


@dataclass
class ImportRow:
    line: int
    id_number: str
    name: str
    score: str
    passed: str
    remark: str
    errors: list = field(default_factory=list)
    person_id: int | None = None
    person_name: str | None = None

    @property
    def ok(self):
        return not self.errors


def template_xlsx():
    """The import template (.xlsx) with the header row and one example row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "学员成绩"
    ws.append(IMPORT_HEADERS)
    ws.append(["410105198001010011", "张三", 85, "合格", "示例行，导入前请删除"])
    for col, width in zip("ABCDE", (22, 12, 8, 10, 30), strict=True):
        ws.column_dimensions[col].width = width
    ws["A2"].number_format = "@"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_upload(filename, data):
    """Rows of an uploaded .xlsx or .csv as lists of strings (header row first)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook gets one message
            raise TrainingError("无法读取该 Excel 文件，请使用下载的模板（.xlsx）", "file") from None
        ws = wb.worksheets[0]
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise TrainingError("无法识别 CSV 文件的编码，请保存为 UTF-8 编码", "file")
        return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text))]
    raise TrainingError("只支持 .xlsx 或 .csv 文件", "file")


def parse_rows(raw_rows):
    """Header check and per-row fields (no database look-up yet)."""
    rows = [r for r in raw_rows if any(c for c in r)]
    if not rows:
        raise TrainingError("文件中没有数据", "file")
    header = [c.strip() for c in rows[0]]
    try:
        index = {name: header.index(name) for name in ("身份证号", "成绩")}
    except ValueError:
        raise TrainingError("文件表头须包含“身份证号”和“成绩”两列，请使用下载的模板", "file") from None
    for name in ("姓名", "是否合格", "备注"):
        index[name] = header.index(name) if name in header else None
    body = rows[1:]
    if not body:
        raise TrainingError("文件中没有学员数据", "file")
    if len(body) > IMPORT_MAX_ROWS:
        raise TrainingError(f"一次最多导入 {IMPORT_MAX_ROWS} 行", "file")

    def get(row, name):
        i = index[name]
        return row[i].strip() if i is not None and i < len(row) else ""

    # Line numbers as the spreadsheet shows them (header = line 1), blank lines skipped.
    result = []
    line = 1
    for row in raw_rows[1:]:
        line += 1
        if not any(c for c in row):
            continue
        result.append(ImportRow(line=line, id_number=normalise_id_number(get(row, "身份证号")), name=get(row, "姓名"),
                                score=get(row, "成绩"), passed=get(row, "是否合格"), remark=get(row, "备注")))
    return result


def check_rows(cls, rows):
    """Validate every row against the database: invalid ID, unknown person, duplicate
    in the class (already there or twice in the file), missing or bad score."""
    existing = set(db.session.scalars(select(TraineeScore.person_id).where(TraineeScore.class_id == cls.id)))
    seen = {}
    for row in rows:
        row.errors = []
        row.person_id = None
        person, problem = registered_person(row.id_number)
        if person is None:
            row.errors.append(problem)
        else:
            row.person_id, row.person_name = person.id, person.name
            if row.name and row.name != person.name:
                row.errors.append(f"姓名与注册信息不符（系统中为{person.name}）")
            if person.id in existing:
                row.errors.append("该学员已在本培训班中")
            elif person.id in seen:
                row.errors.append(f"与第 {seen[person.id]} 行重复")
            else:
                seen[person.id] = row.line
        try:
            score = parse_score(row.score)
            parse_passed(row.passed, score)
        except TrainingError as exc:
            row.errors.append(exc.message if row.score else "缺少成绩")
        if len(row.remark) > 500:
            row.errors.append("备注不能超过 500 字")
    return rows


def import_rows(cls, rows, actor, *, valid_only=False):
    """Insert the checked rows: all of them when every row is valid, or only the valid
    ones when the admin chose so. Returns (imported, skipped)."""
    _undeclared(cls)
    check_rows(cls, rows)
    bad = [r for r in rows if not r.ok]
    if bad and not valid_only:
        raise TrainingError(f"有 {len(bad)} 行数据有误，未导入任何数据")
    good = [r for r in rows if r.ok]
    for r in good:
        score = parse_score(r.score)
        person = db.session.get(Person, r.person_id)
        db.session.add(TraineeScore(class_id=cls.id, institution_id=cls.institution_id, person_id=person.id,
                                    id_number=person.id_number, name=person.name, score=score,
                                    passed=parse_passed(r.passed, score), remark=r.remark or None))
    _flush_scores()
    audit.record("import", "training_class", cls.id, after={"imported": len(good), "skipped": len(bad)},
                 actor=actor)
    return len(good), len(bad)


# Parsed uploads wait server-side (in the file storage, so any app process can confirm)
# between preview and confirmation; the retention job removes abandoned ones after a day.
IMPORT_PREFIX = "score_imports"


def _valid_token(token):
    return bool(token) and len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


def stash_import(class_id, rows):
    token = secrets.token_hex(16)  # a storage key must not start with '_' or '-'
    payload = {"class_id": class_id, "rows": [
        {k: getattr(r, k) for k in ("line", "id_number", "name", "score", "passed", "remark")} for r in rows]}
    file_storage.put(f"{IMPORT_PREFIX}/{token}.json", json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    return token


def load_import(token):
    """(class_id, rows) of a stashed upload, or None."""
    if not _valid_token(token):
        return None
    try:
        payload = json.loads(file_storage.read(f"{IMPORT_PREFIX}/{token}.json").decode("utf-8"))
    except file_storage.FileMissing:
        return None
    return payload["class_id"], [ImportRow(**r) for r in payload["rows"]]


def drop_import(token):
    if _valid_token(token):
        try:
            file_storage.delete(f"{IMPORT_PREFIX}/{token}.json")
        except Exception:  # noqa: BLE001 - an abandoned stash is removed by the retention job
            pass


# --------------------------------------------------------------------------- declaring
def roster(cls):
    """申报花名册: the class's trainees, passed ones first."""
    return db.session.scalars(
        select(TraineeScore).where(TraineeScore.class_id == cls.id)
        .order_by(TraineeScore.passed.desc(), TraineeScore.id)
    ).all()


def _training_form():
    form = db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))
    if form is None:
        raise TrainingError("系统未配置“培训班”学习形式，请联系系统管理员")
    return form


def _fmt_hours(value):
    return format(Decimal(value).normalize(), "f")


def declare_class(cls, route, actor):
    """申报学时: once per class; one declaration per passed trainee, submitted into the
    review chain (public → HRSS; professional → industry department or HRSS)."""
    from . import workflow

    if cls.declared_at is not None:
        raise TrainingError(MSG_CLASS_TWICE)
    if cls.subject_kind == "public":
        route = "hrss"
    elif route not in ("industry", "hrss"):
        raise TrainingError("请选择送审部门", "route")
    passed = db.session.execute(
        select(TraineeScore.id, Person.id, Person.unit_id, Person.county_id, Person.city_id,
               Person.competent_dept_id, TraineeScore.score)
        .join(Person, Person.id == TraineeScore.person_id)
        .where(TraineeScore.class_id == cls.id, TraineeScore.passed.is_(True))
        .order_by(TraineeScore.id)
    ).all()
    if not passed:
        raise TrainingError("该培训班没有成绩合格的学员，无法申报")
    # The guard: one UPDATE that only succeeds while the class is undeclared.
    result = db.session.execute(
        update(TrainingClass)
        .where(TrainingClass.id == cls.id, TrainingClass.declared_at.is_(None))
        .values(declared_at=now(), declared_route=route, declared_by_id=actor.id, declared_count=len(passed))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise TrainingError(MSG_CLASS_TWICE)
    form = _training_form()
    institution = cls.institution
    hours = Decimal(cls.hours)
    reason = f"培训班「{cls.name}」学时由基地审批部门按实际学习时间确定：{_fmt_hours(hours)} 学时"
    common = {
        "year": cls.ce_year, "subject_kind": cls.subject_kind, "subject_id": cls.subject_id, "form_id": form.id,
        "computed_hours": hours, "computed_reason": reason, "claimed_hours": hours,
        "remarks": f"施教机构{institution.name}申报：培训班「{cls.name}」", "source": "institution",
        "declarer_org_id": institution.id,
    }
    base_fields = {
        "hours": str(_fmt_hours(hours)), "class_id": cls.id, "class_name": cls.name,
        "institution": institution.name, "start_date": cls.start_date.isoformat(),
        "end_date": cls.end_date.isoformat(), "passed": True,
    }
    rows = [{**common, "person_id": person_id, "unit_id": unit_id, "county_id": county_id, "city_id": city_id,
             "competent_dept_id": dept_id, "fields": {**base_fields, "score": str(score)}}
            for _, person_id, unit_id, county_id, city_id, dept_id, score in passed]
    # One declaration per passed trainee, submitted into the review chain set-based.
    ids = workflow.submit_many(rows, actor, route=route)
    from sqlalchemy import bindparam

    db.session.execute(
        update(TraineeScore.__table__).where(TraineeScore.__table__.c.id == bindparam("score_id"))
        .values(declaration_id=bindparam("declaration_id")),
        [{"score_id": row[0], "declaration_id": did} for row, did in zip(passed, ids, strict=True)],
    )
    db.session.expire_all()  # the scores' declaration ids were written set-based
    audit.record("declare", "training_class", cls.id, after={"route": route, "declarations": len(passed)},
                 actor=actor)
    return len(passed)


# --------------------------------------------------------------------------- unit plans
ATTACHMENT_RULES = {
    # kind: (allowed suffixes, max bytes)
    "sign_in": ({".pdf", ".jpg", ".jpeg", ".png", ".zip"}, 5 * 1024 * 1024),
    "photo": ({".jpg", ".jpeg", ".png"}, 5 * 1024 * 1024),
    "video": ({".mp4", ".mov", ".avi", ".wmv"}, 10 * 1024 * 1024),
    "other": ({".pdf", ".jpg", ".jpeg", ".png", ".zip", ".doc", ".docx", ".xls", ".xlsx"}, 5 * 1024 * 1024),
}
ATTACHMENT_LABELS = {"sign_in": "签到表", "photo": "现场图片", "video": "培训视频", "other": "其他材料"}
CONTENT_TYPES = {
    ".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
    ".zip": "application/zip", ".mp4": "video/mp4", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
    ".wmv": "video/x-ms-wmv", ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Upload:
    kind: str
    filename: str
    data: bytes


def check_upload(upload: Upload):
    suffixes, limit = ATTACHMENT_RULES[upload.kind]
    label = ATTACHMENT_LABELS[upload.kind]
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in suffixes:
        raise TrainingError(f"{label}只能上传 {'、'.join(sorted(suffixes))} 格式的文件", upload.kind)
    if not upload.data:
        raise TrainingError(f"{label}文件为空", upload.kind)
    if len(upload.data) > limit:
        raise TrainingError(f"{label}单个文件不能超过 {limit // (1024 * 1024)} MB", upload.kind)
    return suffix


ATTACHMENT_PREFIX = "unit_plans"


def attachment_key(stored_name):
    """The storage key of a unit plan attachment (``stored_name`` is a bare name)."""
    return file_storage.check_key(f"{ATTACHMENT_PREFIX}/{stored_name}")


def declare_unit_plan(plan, persons, uploads, remark, actor):
    """单位培训计划 学时申报: the unit declares the hours of some of its persons.

    Needs an approved unit plan, at least one person, each person once per plan, and
    the sign-in sheet. Files are written before the flush of the rows that name them
    and removed again if anything fails; the caller commits."""
    from . import workflow

    if plan.owner_kind != "unit":
        raise TrainingError("只能为单位培训计划申报学时")
    if plan.status != "approved":
        raise TrainingError("培训计划审核通过后才能申报学时")
    persons = list(persons)
    if not persons:
        raise TrainingError("请选择参加培训的专技人员", "persons")
    if any(p.unit_id != plan.unit_id for p in persons):
        raise TrainingError("只能为本单位的专技人员申报", "persons")
    inactive = [p.name for p in persons if p.membership.status != "active"]
    if inactive:
        raise TrainingError(f"以下人员账号未审核通过或已停用：{'、'.join(inactive[:5])}", "persons")
    already = db.session.scalars(
        select(Person.name).join(UnitPlanAttendee, UnitPlanAttendee.person_id == Person.id)
        .where(UnitPlanAttendee.plan_id == plan.id, UnitPlanAttendee.person_id.in_([p.id for p in persons]))
    ).all()
    if already:
        raise TrainingError(f"以下人员已申报过本培训计划的学时：{'、'.join(already[:5])}", "persons")
    if remark and len(remark) > 1000:
        raise TrainingError("备注不能超过 1000 字", "remark")
    uploads = [u for u in uploads if u.filename]
    if not any(u.kind == "sign_in" for u in uploads):
        raise TrainingError("请上传签到表", "sign_in")
    suffixes = [check_upload(u) for u in uploads]

    unit = plan.owner_org
    batch = UnitPlanDeclaration(plan_id=plan.id, unit_id=unit.id, county_id=unit.county_id, city_id=unit.city_id,
                                competent_dept_id=unit.competent_dept_id, hours=plan.hours,
                                remark=(remark or "").strip() or None, declared_by_id=actor.id)
    db.session.add(batch)
    db.session.flush()
    written = []
    try:
        for upload, suffix in zip(uploads, suffixes, strict=True):
            stored = secrets.token_hex(16) + suffix
            file_storage.put(attachment_key(stored), upload.data)
            written.append(attachment_key(stored))
            db.session.add(UnitPlanAttachment(batch_id=batch.id, kind=upload.kind, stored_name=stored,
                                              original_name=Path(upload.filename).name[:200],
                                              content_type=CONTENT_TYPES.get(suffix), size=len(upload.data)))
        form = _training_form()
        hours = Decimal(plan.hours)
        route = "industry" if unit.competent_dept_id else "hrss"
        for person in persons:
            d = Declaration(
                year=plan.ce_year, subject_kind=plan.subject_kind, subject_id=plan.subject_id, form_id=form.id,
                fields={"hours": _fmt_hours(hours), "unit_plan_id": plan.id, "unit_plan_batch_id": batch.id,
                        "plan_name": plan.name, "start_date": plan.start_date.isoformat(),
                        "end_date": plan.end_date.isoformat()},
                computed_hours=hours,
                computed_reason=f"单位培训计划「{plan.name}」学时：{_fmt_hours(hours)} 学时",
                claimed_hours=hours, remarks=f"单位培训计划「{plan.name}」（附签到表等材料）",
                source="unit", declarer_org_id=unit.id, route=route, status="draft",
            )
            stamp_declaration(d, person)
            d.person = person
            db.session.add(d)
            db.session.flush()
            db.session.add(UnitPlanAttendee(batch_id=batch.id, plan_id=plan.id, person_id=person.id,
                                            declaration_id=d.id))
            workflow.submit(d, actor, route=route)
        db.session.flush()
        audit.record("declare", "unit_plan_declaration", batch.id,
                     after={"plan_id": plan.id, "persons": len(persons), "attachments": len(uploads)}, actor=actor)
    except Exception:
        for key in written:
            try:
                file_storage.delete(key)
            except Exception:  # noqa: BLE001 - the original error is what matters
                pass
        raise
    return batch
