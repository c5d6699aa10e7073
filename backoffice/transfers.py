"""单位调转: a professional moves to another unit.

Two ways: the person asks (old unit approves the release, then the new unit the
intake), or the old unit starts it (the new unit approves the intake). Only with
nothing pending. On completion the person's ancestor ids and those of their
declarations and title-change requests follow, in set-based updates; the history
stays with the person. Callers commit, then call :func:`notify`.
"""

from sqlalchemy import func, select

from . import audit
from .extensions import db
from .models import Declaration, Org, Person, TitleChangeRequest, TransferRequest, now
from .tree import move_person

OPEN = ("release_pending", "intake_pending")


class TransferError(ValueError):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


def blockers(person):
    """Why a transfer cannot start now (Chinese messages), empty when it can."""
    reasons = []
    pending = db.session.scalar(
        select(func.count()).select_from(Declaration).where(
            Declaration.person_id == person.id, Declaration.status == "pending")
    )
    if pending:
        reasons.append(f"有 {pending} 条学时申报记录正在审核中")
    if db.session.scalar(select(TitleChangeRequest.id).where(
            TitleChangeRequest.person_id == person.id, TitleChangeRequest.status == "pending").limit(1)):
        reasons.append("有待审核的专业技术职务变更")
    if db.session.scalar(select(TransferRequest.id).where(
            TransferRequest.person_id == person.id, TransferRequest.status.in_(OPEN)).limit(1)):
        reasons.append("已有正在办理的调转申请")
    if person.membership.status != "active":
        reasons.append("账号状态不正常")
    return reasons


def blockers_of(person_ids):
    """{person id: [reasons]} for the persons among ``person_ids`` who cannot move now.

    The same rules as ``blockers``, in three grouped queries, for the transfer-out picker.
    """
    ids = list(person_ids)
    found = {}
    if not ids:
        return found
    for pid, n in db.session.execute(
        select(Declaration.person_id, func.count()).where(Declaration.person_id.in_(ids),
                                                          Declaration.status == "pending")
        .group_by(Declaration.person_id)
    ):
        found.setdefault(pid, []).append(f"有 {n} 条学时申报记录正在审核中")
    for pid in db.session.scalars(select(TitleChangeRequest.person_id).where(
            TitleChangeRequest.person_id.in_(ids), TitleChangeRequest.status == "pending").distinct()):
        found.setdefault(pid, []).append("有待审核的专业技术职务变更")
    for pid in db.session.scalars(select(TransferRequest.person_id).where(
            TransferRequest.person_id.in_(ids), TransferRequest.status.in_(OPEN)).distinct()):
        found.setdefault(pid, []).append("已有正在办理的调转申请")
    return found


def _target(person, to_unit):
    if to_unit is None or to_unit.kind != "unit" or to_unit.status != "approved":
        raise TransferError("请选择调入单位（须为已审核通过的单位）", "to_unit_id")
    if to_unit.id == person.unit_id:
        raise TransferError("调入单位不能是当前所在单位", "to_unit_id")


def start(person, to_unit, reason, actor, by="person"):
    """Open a transfer request. ``by='unit'``: the old unit starts it (release implied)."""
    _target(person, to_unit)
    problems = blockers(person)
    if problems:
        raise TransferError("当前不能申请调转：" + "；".join(problems))
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise TransferError("调转原因不能超过 500 个字符", "reason")
    old = person.unit
    request = TransferRequest(
        person_id=person.id, initiated_by=by,
        from_unit_id=old.id, from_county_id=old.county_id, from_city_id=old.city_id,
        from_competent_dept_id=old.competent_dept_id,
        to_unit_id=to_unit.id, to_county_id=to_unit.county_id, to_city_id=to_unit.city_id,
        to_competent_dept_id=to_unit.competent_dept_id,
        status="intake_pending" if by == "unit" else "release_pending", reason=reason,
    )
    if by == "unit":
        request.released_at, request.released_by_id = now(), actor.id
    db.session.add(request)
    db.session.flush()
    audit.record("start_transfer", "transfer", request.id, after={
        "person_id": person.id, "from_unit_id": old.id, "to_unit_id": to_unit.id, "status": request.status,
    }, comment=reason or None, actor=actor)
    return request


def release(request, actor):
    """The old unit agrees to let the person go."""
    if request.status != "release_pending":
        raise TransferError("该调转申请不在待调出审核状态")
    request.status = "intake_pending"
    request.released_at, request.released_by_id = now(), actor.id
    audit.record("release_transfer", "transfer", request.id, before={"status": "release_pending"},
                 after={"status": "intake_pending"}, actor=actor)


def reject(request, actor, reason):
    if request.status not in OPEN:
        raise TransferError("该调转申请已办结")
    reason = (reason or "").strip()
    if not reason:
        raise TransferError("请填写不通过的原因", "reason")
    before = request.status
    request.status = "rejected"
    request.reject_reason = reason[:500]
    request.decided_at, request.decided_by_id = now(), actor.id
    audit.record("reject_transfer", "transfer", request.id, before={"status": before},
                 after={"status": "rejected"}, comment=reason, actor=actor)


def cancel(request, actor):
    """The person withdraws a request no unit has acted on yet."""
    if request.status != "release_pending" or request.initiated_by != "person":
        raise TransferError("只能撤销尚未审核的本人调转申请")
    request.status = "cancelled"
    request.decided_at = now()
    audit.record("cancel_transfer", "transfer", request.id, before={"status": "release_pending"},
                 after={"status": "cancelled"}, actor=actor)


def accept(request, actor, department=None):
    """The new unit takes the person in: the move happens here."""
    if request.status != "intake_pending":
        raise TransferError("该调转申请不在待调入审核状态")
    if department is not None and (department.kind != "department" or department.unit_id != request.to_unit_id):
        raise TransferError("所选部门不属于本单位", "department_id")
    person = db.session.get(Person, request.person_id)
    if person.unit_id != request.from_unit_id:
        raise TransferError("该人员已不在调出单位")
    pending = db.session.scalar(select(func.count()).select_from(Declaration).where(
        Declaration.person_id == person.id, Declaration.status == "pending"))
    if pending:
        raise TransferError("该人员有正在审核的学时申报，暂不能调入")
    unit = db.session.get(Org, request.to_unit_id)
    move_person(person, unit, department)
    request.status = "completed"
    request.to_department_id = department.id if department is not None else None
    request.decided_at, request.decided_by_id = now(), actor.id
    audit.record("accept_transfer", "transfer", request.id, before={"status": "intake_pending",
                 "unit_id": request.from_unit_id}, after={"status": "completed", "unit_id": unit.id}, actor=actor)


def open_for(person):
    return db.session.scalars(
        select(TransferRequest).where(TransferRequest.person_id == person.id, TransferRequest.status.in_(OPEN))
    ).first()


def notify(request):
    from . import mail

    person = db.session.get(Person, request.person_id)
    if person is None:
        return
    texts = {
        "intake_pending": "原单位已同意调出，等待调入单位审核",
        "completed": "调转已完成，您的所在单位已变更",
        "rejected": f"调转申请未通过审核。原因：{request.reject_reason or '无'}",
    }
    if request.status in texts:
        mail.enqueue(person.email, "单位调转进度", f"{person.name}：{texts[request.status]}。")


