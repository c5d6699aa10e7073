"""The review chain of a declaration: an explicit transition table, one function per move.

Rules (SPEC §3, FAQ 学时审核流程 / 学时申报错误，如何撤销):

* The chain is fixed at submission and stored as ``ReviewStep`` rows:
  unit → competent department → HRSS of the unit's region. Levels that do not apply are
  skipped. Self-declared records start at the unit. Records declared by a unit or an
  institution skip the unit level; their public subjects go to the HRSS only, their
  professional ones to the competent department (``route='industry'``, the default) or
  straight to the HRSS (``route='hrss'``).
* Only one step is ``pending`` at a time; the declaration carries it as
  ``current_org_id`` / ``current_level``.
* Every move is guarded by optimistic concurrency: ``UPDATE declaration … WHERE id = :id
  AND version = :seen AND status = :status AND current_org_id = :org``. Zero rows means
  someone else moved the record meanwhile: ``WorkflowError(CONFLICT)``.
* Every move writes its audit row in the same session. The functions flush but never
  commit: the caller commits once, then delivers the returned notices
  (``deliver(notices)``), so a mail failure never undoes a decision.

A *round* is one submission: its steps are the ones after the last step that ended a
round (rejected / returned / withdrawn). Steps that never started are deleted when a
round ends, so ``waiting`` steps only ever belong to the current round.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, and_, delete, func, insert, select, update
from sqlalchemy.orm import aliased

from . import audit, jobs, summary
from .extensions import db
from .models import Declaration, Org, Person, ReviewStep, now
from .tree import hrss_of

CONFLICT = "该记录已被他人处理，请刷新后重试"

LEVEL_ROLES = {"unit": "unit_admin", "industry": "industry_admin", "hrss": "hrss_admin"}
ROUTES = {"industry": "行业主管部门", "hrss": "同级人社部门"}
ACTION_LABELS = {
    "submit": "提交",
    "approve": "审核通过",
    "reject": "审核不通过",
    "withdraw": "撤销",
    "send_back": "驳回",
    "reopen": "重新编辑",
}
ROUND_END = ("rejected", "returned", "withdrawn")

# ``NEXT``: the next step of the chain becomes pending, or the record is approved when
# the current step was the last one.
NEXT = "next"

# (status, current level) → action → next status. ``None`` as level: any/no level.
TRANSITIONS: dict[tuple[str, str | None], dict[str, str]] = {
    ("draft", None): {"submit": "pending"},
    ("rejected", None): {"submit": "pending", "reopen": "draft"},
    ("pending", "unit"): {"approve": NEXT, "reject": "rejected", "withdraw": "draft"},
    ("pending", "industry"): {"approve": NEXT, "reject": "rejected", "withdraw": "draft", "send_back": "draft"},
    ("pending", "hrss"): {"approve": NEXT, "reject": "rejected", "withdraw": "draft", "send_back": "draft"},
    ("approved", None): {"send_back": "draft"},
}


class WorkflowError(Exception):
    """A move that is not allowed; the message is shown to the user as is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


@dataclass(frozen=True)
class Notice:
    """An e-mail to send after the commit."""

    recipients: tuple
    subject: str
    body: str


class LazyNotices:
    """The e-mails of many records, read from the database only when delivered.

    Bulk moves append one of these instead of thousands of ``Notice`` objects, so that
    the request does not build them; ``deliver`` (after the commit, possibly in a
    background thread) expands it with one query.
    """

    def __init__(self, ids, text, reason=None):
        self.ids, self.text, self.reason = list(ids), text, reason

    def __len__(self):
        return len(self.ids)

    def __iter__(self):
        for chunk in _chunks(self.ids):
            yield from _notices_for(_match(Declaration.id, chunk), self.text, self.reason)


def expand(notices) -> list[Notice]:
    """Every ``Notice`` of a list that may hold ``LazyNotices``."""
    out = []
    for item in notices or ():
        if isinstance(item, Notice):
            out.append(item)
        else:
            out.extend(item)
    return out


def notice_count(notices) -> int:
    return sum(1 if isinstance(item, Notice) else len(item) for item in notices or ())


def deliver(notices: Iterable[Notice]) -> int:
    """Queue the notices' e-mails (after the commit). Never raises; returns how many
    were queued (each is a ``mail`` job with retries)."""
    import importlib
    import logging

    # ``backoffice.mail`` the module (the package attribute ``mail`` is the Flask-Mail object).
    mail = importlib.import_module(".mail", __package__)
    try:
        notices = expand(notices)
    except Exception:  # noqa: BLE001 - reading the addresses must not break the caller either
        logging.getLogger(__name__).exception("could not read the recipients of review notices")
        return 0
    queued = 0
    for start in range(0, len(notices), 1000):
        chunk = notices[start:start + 1000]
        queued += len(mail.enqueue_many([(list(n.recipients), n.subject, n.body) for n in chunk]))
    return queued


def notices_to_params(notices) -> dict:
    """Notices (plain or lazy) as JSON for a ``review_notices`` job."""
    plain, lazy = [], []
    for item in notices or ():
        if isinstance(item, Notice):
            plain.append([list(item.recipients), item.subject, item.body])
        else:
            lazy.append({"ids": list(item.ids), "text": item.text.__name__, "reason": item.reason})
    return {"plain": plain, "lazy": lazy}


def deliver_job(job, progress):
    """The ``review_notices`` job: queue the e-mails of a bulk move, resuming after the
    notices an interrupted run already queued (at most one chunk is queued twice)."""
    import importlib

    mail = importlib.import_module(".mail", __package__)
    notices = expand(notices_from_params(job.params))
    start = job.progress or 0
    progress(start, len(notices))
    for i in range(start, len(notices), 1000):
        chunk = notices[i:i + 1000]
        mail.enqueue_many([(list(n.recipients), n.subject, n.body) for n in chunk])
        progress(i + len(chunk))
    return {"queued": len(notices)}


jobs.task("review_notices", max_attempts=3)(deliver_job)


def notices_from_params(params) -> list:
    notices = [Notice(tuple(r), s, b) for r, s, b in params.get("plain", ())]
    for item in params.get("lazy", ()):
        text = globals().get(item["text"])
        if text is None or not item["text"].endswith("_text"):
            raise ValueError(f"unknown notice text {item['text']!r}")
        notices.append(LazyNotices(item["ids"], text, item.get("reason")))
    return notices


# --------------------------------------------------------------------------- table
def allowed_actions(status: str, level: str | None) -> dict[str, str]:
    """The moves the transition table allows from (status, level)."""
    return TRANSITIONS.get((status, level)) or TRANSITIONS.get((status, None)) or {}


def target_of(status: str, level: str | None, action: str) -> str:
    """Next status of ``action`` from (status, level), or WorkflowError."""
    target = allowed_actions(status, level).get(action)
    if target is None:
        from .models import DECLARATION_STATUSES

        raise WorkflowError(
            f"当前状态（{DECLARATION_STATUSES.get(status, status)}）下不能{ACTION_LABELS.get(action, action)}"
        )
    return target


# --------------------------------------------------------------------------- chain
def build_chain(declaration) -> list[tuple[str, int]]:
    """The levels and organisations that review ``declaration``, in order."""
    unit = db.session.get(Org, declaration.unit_id)
    if unit is None:
        raise WorkflowError("申报记录缺少所在单位，无法提交")
    hrss = hrss_of(unit)
    if hrss is None:
        raise WorkflowError("未找到单位所属的人社部门，无法提交")
    source = declaration.source or "self"
    professional = declaration.subject_kind == "professional"
    route = declaration.route
    chain: list[tuple[str, int]] = []
    if source == "self":
        chain.append(("unit", unit.id))
    if professional and unit.competent_dept_id and route in ("industry", None):
        chain.append(("industry", unit.competent_dept_id))
    chain.append(("hrss", hrss.id))
    return chain


def steps_of_round(declaration) -> list[ReviewStep]:
    """The steps of the current (or last) submission, in order."""
    steps = list(
        db.session.scalars(
            select(ReviewStep).where(ReviewStep.declaration_id == declaration.id).order_by(ReviewStep.seq)
        )
    )
    start = 0
    for i, step in enumerate(steps):
        if step.status in ROUND_END and i + 1 < len(steps):
            start = i + 1
    return steps[start:]


def current_step(declaration) -> ReviewStep | None:
    return db.session.scalar(
        select(ReviewStep).where(ReviewStep.declaration_id == declaration.id, ReviewStep.status == "pending")
    )


# --------------------------------------------------------------------------- who
def _active(actor):
    if actor is None or getattr(actor, "status", None) != "active":
        raise WorkflowError("当前账号不可用，请重新登录")


def is_reviewer_of(actor, level: str | None, org_id: int | None) -> bool:
    return (
        actor is not None
        and getattr(actor, "status", None) == "active"
        and level in LEVEL_ROLES
        and actor.role == LEVEL_ROLES[level]
        and actor.org_id == org_id
    )


def _person_id_of(actor):
    if actor is None or actor.role != "person":
        return None
    person = db.session.scalar(select(Person).where(Person.membership_id == actor.id))
    return person.id if person is not None else None


def _is_owner(declaration, actor) -> bool:
    pid = _person_id_of(actor)
    return pid is not None and pid == declaration.person_id


def _is_declarer_admin(declaration, actor) -> bool:
    return (
        actor is not None
        and actor.role in ("unit_admin", "institution_admin", "hrss_admin")
        and declaration.declarer_org_id is not None
        and actor.org_id == declaration.declarer_org_id
    )


def _may_declare(declaration, actor) -> bool:
    """The person (own records), the declaring organisation's admin, or an HRSS admin above."""
    if declaration.source == "self" and _is_owner(declaration, actor):
        return True
    if _is_declarer_admin(declaration, actor):
        return True
    if actor.role == "hrss_admin":
        from .permissions import Scope

        return Scope(actor).contains(declaration)
    return False


# --------------------------------------------------------------------------- guarded update
def _guarded_update(declaration, seen_version, values):
    """The optimistic-concurrency UPDATE: refused when the record moved meanwhile."""
    org_match = (
        Declaration.current_org_id.is_(None)
        if declaration.current_org_id is None
        else Declaration.current_org_id == declaration.current_org_id
    )
    result = db.session.execute(
        update(Declaration)
        .where(
            Declaration.id == declaration.id,
            Declaration.version == seen_version,
            Declaration.status == declaration.status,
            org_match,
        )
        .values(version=Declaration.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(declaration)
        raise WorkflowError(CONFLICT)


def _state(declaration):
    return {
        "status": declaration.status,
        "level": declaration.current_level,
        "org_id": declaration.current_org_id,
    }


def _prepare(declaration, version):
    db.session.flush()
    if declaration.id is None:
        raise WorkflowError("申报记录尚未保存")
    seen = declaration.version if version is None else int(version)
    if seen != declaration.version:
        raise WorkflowError(CONFLICT)
    return seen


def _finish(declaration, action, before, actor, comment=None):
    db.session.flush()
    db.session.expire(declaration)
    audit.record(action, "declaration", declaration.id, before=before, after=_state(declaration), comment=comment,
                 actor=actor)
    db.session.flush()


def _end_round(declaration_id):
    """Steps of the ending round that never started are dropped."""
    db.session.execute(
        delete(ReviewStep)
        .where(ReviewStep.declaration_id == declaration_id, ReviewStep.status == "waiting")
        .execution_options(synchronize_session=False)
    )


def _reason(reason, what="原因"):
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(f"请填写{what}")
    if len(reason) > 500:
        raise WorkflowError(f"{what}不能超过 500 个字")
    return reason


# --------------------------------------------------------------------------- moves
def submit(declaration, actor, *, route=None, version=None) -> list[Notice]:
    """draft (or rejected) → pending at the first level of the chain."""
    _active(actor)
    seen = _prepare(declaration, version)
    target_of(declaration.status, None, "submit")
    if not _may_declare(declaration, actor):
        raise WorkflowError("您不能提交此申报记录")
    if route is not None:
        if route not in ROUTES:
            raise WorkflowError("请选择审核部门：行业主管部门或同级人社部门")
        declaration.route = route
        db.session.flush()
    chain = build_chain(declaration)
    before = _state(declaration)
    first_level, first_org = chain[0]
    _guarded_update(
        declaration,
        seen,
        {
            "status": "pending",
            "current_org_id": first_org,
            "current_level": first_level,
            "submitted_at": now(),
            "decided_at": None,
            "reject_reason": None,
        },
    )
    _end_round(declaration.id)
    start = (
        db.session.scalar(select(func.max(ReviewStep.seq)).where(ReviewStep.declaration_id == declaration.id)) or 0
    )
    for i, (level, org_id) in enumerate(chain):
        db.session.add(
            ReviewStep(
                declaration_id=declaration.id,
                seq=start + 1 + i,
                level=level,
                org_id=org_id,
                status="pending" if i == 0 else "waiting",
            )
        )
    _finish(declaration, "submit", before, actor)
    return []


def submit_many(rows, actor, *, route) -> list[int]:
    """The set-based form of :func:`submit` for new records an organisation declares
    for many persons at once (a training class of 10,000 trainees).

    Each row (a dict of ``Declaration`` columns, ancestor ids stamped) is inserted
    already moved by the transition table's ``submit`` (draft → pending, version 2 as a
    submitted draft has), with the chain :func:`build_chain` gives it, its review steps
    and its ``submit`` audit row — the result of inserting drafts and calling
    :func:`submit` on each, in a handful of statements instead of ~8 per record. The
    actor must be the declaring organisation's admin, as :func:`submit` requires.
    Returns the new ids, in the order of ``rows``.
    """
    from types import SimpleNamespace

    _active(actor)
    target = target_of("draft", None, "submit")
    if route not in ROUTES:
        raise WorkflowError("请选择审核部门：行业主管部门或同级人社部门")
    rows = list(rows)
    if not rows:
        return []
    chains = {}
    at = now()
    values = []
    allowed = {}
    for row in rows:
        declarer = row.get("declarer_org_id")
        if declarer not in allowed:
            allowed[declarer] = _is_declarer_admin(SimpleNamespace(declarer_org_id=declarer), actor)
        if not allowed[declarer]:
            raise WorkflowError("您不能提交此申报记录")
        key = (row["unit_id"], row.get("source") or "self", row["subject_kind"])
        if key not in chains:
            chains[key] = build_chain(SimpleNamespace(unit_id=row["unit_id"], source=key[1],
                                                      subject_kind=row["subject_kind"], route=route))
        first_level, first_org = chains[key][0]
        values.append({**row, "route": route, "status": target, "current_org_id": first_org,
                       "current_level": first_level, "version": 2, "created_at": at, "submitted_at": at,
                       "decided_at": None, "reject_reason": None})
    # RETURNING without a guaranteed order keeps the insert batched on every backend;
    # each new row is told apart by its person (one record per person and call).
    table = Declaration.__table__
    by_person = {person_id: did for did, person_id in db.session.execute(
        insert(table).returning(table.c.id, table.c.person_id), values)}
    if len(by_person) != len(values):
        raise WorkflowError("同一次申报中同一人员只能出现一次")
    ids = [by_person[row["person_id"]] for row in rows]
    steps, entries = [], []
    for did, row, value in zip(ids, rows, values, strict=True):
        chain = chains[(row["unit_id"], row.get("source") or "self", row["subject_kind"])]
        for i, (level, org_id) in enumerate(chain):
            steps.append({"declaration_id": did, "seq": 1 + i, "level": level, "org_id": org_id,
                          "status": "pending" if i == 0 else "waiting"})
        entries.append((did, {"status": "draft", "level": None, "org_id": None},
                        {"status": target, "level": value["current_level"], "org_id": value["current_org_id"]}))
    db.session.execute(insert(ReviewStep.__table__), steps)
    audit.record_rows("submit", "declaration", entries, actor=actor)
    return ids


def withdraw(declaration, actor, *, version=None) -> list[Notice]:
    """撤销: pending with no approval yet → draft (the person, or the declaring organisation)."""
    _active(actor)
    seen = _prepare(declaration, version)
    target_of(declaration.status, declaration.current_level, "withdraw")
    if declaration.source == "institution" and not _is_declarer_admin(declaration, actor):
        raise WorkflowError("施教机构申报的学时不能由个人撤销，请联系申报的施教机构撤回")
    if not (_is_owner(declaration, actor) or _is_declarer_admin(declaration, actor)):
        raise WorkflowError("您不能撤销此申报记录")
    if any(s.status == "approved" for s in steps_of_round(declaration)):
        raise WorkflowError("该记录已有审核部门审核通过，不能撤销；如需更正请联系上级审核部门驳回")
    step = current_step(declaration)
    before = _state(declaration)
    _guarded_update(declaration, seen, {"status": "draft", "current_org_id": None, "current_level": None})
    if step is not None:
        step.status, step.actor_membership_id, step.acted_at = "withdrawn", actor.id, now()
    _end_round(declaration.id)
    _finish(declaration, "withdraw", before, actor)
    return []


def approve(declaration, actor, comment=None, *, version=None) -> list[Notice]:
    """The current level approves: the next level gets it, or the record is approved."""
    _active(actor)
    seen = _prepare(declaration, version)
    target_of(declaration.status, declaration.current_level, "approve")
    if not is_reviewer_of(actor, declaration.current_level, declaration.current_org_id):
        raise WorkflowError("该记录不在您的审核环节，不能审核")
    comment = (comment or "").strip() or None
    if comment and len(comment) > 500:
        raise WorkflowError("审核意见不能超过 500 个字")
    step = current_step(declaration)
    following = db.session.scalar(
        select(ReviewStep)
        .where(ReviewStep.declaration_id == declaration.id, ReviewStep.status == "waiting")
        .order_by(ReviewStep.seq)
        .limit(1)
    )
    before = _state(declaration)
    if following is not None:
        values = {"current_org_id": following.org_id, "current_level": following.level}
    else:
        values = {"status": "approved", "current_org_id": None, "current_level": None, "decided_at": now()}
    _guarded_update(declaration, seen, values)
    if step is not None:
        step.status, step.actor_membership_id, step.acted_at, step.comment = "approved", actor.id, now(), comment
    if following is not None:
        following.status = "pending"
    else:
        summary.add_approved([declaration.id])
    _finish(declaration, "approve", before, actor, comment)
    return _notices_of(declaration, _approved_text) if following is None else []


def reject(declaration, actor, reason, *, version=None) -> list[Notice]:
    """审核不通过 at the current level, with a required reason; ends the submission."""
    _active(actor)
    seen = _prepare(declaration, version)
    target_of(declaration.status, declaration.current_level, "reject")
    if not is_reviewer_of(actor, declaration.current_level, declaration.current_org_id):
        raise WorkflowError("该记录不在您的审核环节，不能审核")
    reason = _reason(reason, "不通过原因")
    step = current_step(declaration)
    before = _state(declaration)
    _guarded_update(
        declaration,
        seen,
        {"status": "rejected", "current_org_id": None, "current_level": None, "decided_at": now(),
         "reject_reason": reason},
    )
    if step is not None:
        step.status, step.actor_membership_id, step.acted_at, step.comment = "rejected", actor.id, now(), reason
    _end_round(declaration.id)
    _finish(declaration, "reject", before, actor, reason)
    return _notices_of(declaration, _rejected_text, reason)


def send_back(declaration, actor, reason, *, version=None) -> list[Notice]:
    """驳回: a higher level returns a record a lower level already approved → draft.

    Allowed to the current level when an earlier step of the round is approved, and to
    the last level of an approved record.
    """
    _active(actor)
    seen = _prepare(declaration, version)
    target_of(declaration.status, declaration.current_level, "send_back")
    reason = _reason(reason, "驳回原因")
    steps = steps_of_round(declaration)
    if declaration.status == "pending":
        step = next((s for s in steps if s.status == "pending"), None)
        if step is None or not is_reviewer_of(actor, step.level, step.org_id):
            raise WorkflowError("只有当前审核环节的部门可以驳回该记录")
        if not any(s.status == "approved" and s.seq < step.seq for s in steps):
            raise WorkflowError("下级尚未审核通过，请使用“审核不通过”")
    else:
        step = steps[-1] if steps else None
        if step is None or step.status != "approved" or not is_reviewer_of(actor, step.level, step.org_id):
            raise WorkflowError("只有最后一级审核部门可以驳回已审核通过的记录")
    before = _state(declaration)
    _guarded_update(
        declaration,
        seen,
        {"status": "draft", "current_org_id": None, "current_level": None, "decided_at": None,
         "reject_reason": reason},
    )
    step.status, step.actor_membership_id, step.acted_at, step.comment = "returned", actor.id, now(), reason
    _end_round(declaration.id)
    if before["status"] == "approved":
        summary.refresh([declaration.person_id], [declaration.year])
    _finish(declaration, "send_back", before, actor, reason)
    return _notices_of(declaration, _returned_text, reason)


def reopen(declaration, actor, *, version=None) -> list[Notice]:
    """A rejected record goes back to draft so that it can be corrected and submitted again."""
    _active(actor)
    seen = _prepare(declaration, version)
    target_of(declaration.status, None, "reopen")
    if not _may_declare(declaration, actor):
        raise WorkflowError("您不能修改此申报记录")
    before = _state(declaration)
    _guarded_update(declaration, seen, {"status": "draft", "decided_at": None})
    _finish(declaration, "reopen", before, actor)
    return []


def copy_rejected(declaration, actor, attachment_copier=None) -> Declaration:
    """修改后重新提交: a new draft with the rejected record's content.

    The rejected record, its reason and its trail stay as they are (history); the copy is
    the person's own draft to correct and submit. Both records get an audit entry.
    ``attachment_copier(name) -> new name`` duplicates the stored attachment file, so that
    deleting the draft never removes the rejected record's file.
    """
    from .tree import stamp_declaration

    _active(actor)
    if declaration.status != "rejected":
        raise WorkflowError("只有审核不通过的记录可以复制后重新提交")
    if declaration.source != "self" or not _is_owner(declaration, actor):
        raise WorkflowError("只有本人申报的记录可以复制后重新提交")
    copy = Declaration(
        source="self", status="draft", year=declaration.year, subject_kind=declaration.subject_kind,
        subject_id=declaration.subject_id, form_id=declaration.form_id, fields=dict(declaration.fields or {}),
        computed_hours=declaration.computed_hours, computed_reason=declaration.computed_reason,
        claimed_hours=declaration.claimed_hours, remarks=declaration.remarks,
    )
    if declaration.attachment and attachment_copier is not None:
        copy.attachment = attachment_copier(declaration.attachment)
        copy.attachment_name = declaration.attachment_name if copy.attachment else None
    stamp_declaration(copy, declaration.person)
    db.session.add(copy)
    db.session.flush()
    audit.record("copy_rejected", "declaration", copy.id, after={"copied_from": declaration.id, "status": "draft"},
                 comment=f"原记录不通过原因：{declaration.reject_reason or ''}"[:1000], actor=actor)
    audit.record("copy_rejected", "declaration", declaration.id, after={"copy": copy.id}, actor=actor)
    return copy


# --------------------------------------------------------------------------- bulk
def _ids_clause(ids_or_select):
    if isinstance(ids_or_select, Select):
        return Declaration.id.in_(ids_or_select.correlate(None))
    ids = []
    for value in ids_or_select or ():
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return Declaration.id.in_(ids)


def _queue_of(actor):
    """(level, org_id) whose pending records ``actor`` reviews."""
    _active(actor)
    level = next((lvl for lvl, role in LEVEL_ROLES.items() if role == actor.role), None)
    if level is None or actor.org_id is None:
        raise WorkflowError("您没有审核权限")
    return level, actor.org_id


def _targets(ids_or_select, level, org_id):
    return and_(
        _ids_clause(ids_or_select),
        Declaration.status == "pending",
        Declaration.current_org_id == org_id,
        Declaration.current_level == level,
    )


CHUNK = 30_000  # ids per statement (SQLite's default limit of bound variables is 32,766)


def _is_postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def _match(column, ids):
    """``column`` is one of ``ids``: one array parameter on PostgreSQL, an IN list elsewhere."""
    if _is_postgres():
        from sqlalchemy import Integer, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer), unique=True))
    return column.in_(list(ids))


def _chunks(rows):
    rows = list(rows)
    if _is_postgres():
        return [rows] if rows else []
    return [rows[i:i + CHUNK] for i in range(0, len(rows), CHUNK)]


def _plan(targets):
    """The targets with their current and next step, read once (and locked on PostgreSQL).

    Every statement after this one is keyed by these primary keys, so rows that enter
    or leave the queue meanwhile are never half-moved.
    """
    cur, nxt = aliased(ReviewStep), aliased(ReviewStep)
    stmt = (
        select(Declaration.id, cur.id, nxt.id, nxt.org_id, nxt.level,
               # what the summary needs of a record that is finally approved
               Declaration.person_id, Declaration.year, Declaration.subject_kind, Declaration.claimed_hours)
        .join(cur, and_(cur.declaration_id == Declaration.id, cur.status == "pending"))
        .outerjoin(nxt, and_(nxt.declaration_id == Declaration.id, nxt.status == "waiting", nxt.seq == cur.seq + 1))
        .where(targets)
    )
    if _is_postgres():
        stmt = stmt.with_for_update(of=Declaration)
    return db.session.execute(stmt).all()


def approve_many(ids_or_select, actor, comment=None, *, notices: list | None = None) -> int:
    """Approve, set-based, every given record pending at the actor's step; how many moved.

    ``ids_or_select``: ids, or a ``select(Declaration.id)…`` (e.g. the queue's filter).
    Records not at the actor's step are ignored. Pass ``notices=[]`` to collect the
    e-mails of the records that are finally approved (``LazyNotices``: hand the list
    to ``deliver`` after the commit; ``expand`` lists them).

    One SELECT reads the targets with their current and next step (FOR UPDATE on
    PostgreSQL); then, keyed by those ids: one INSERT … SELECT of audit rows per outcome,
    one UPDATE of the current steps, one of the next steps, one UPDATE of the records
    that finish and one per next organisation for those that move on (in practice one
    or two). No per-object ORM loop.
    """
    level, org_id = _queue_of(actor)
    comment = (comment or "").strip() or None
    if comment and len(comment) > 500:
        raise WorkflowError("审核意见不能超过 500 个字")
    db.session.flush()
    plan = _plan(_targets(ids_or_select, level, org_id))
    at = now()
    before = {"status": "pending", "level": level, "org_id": org_id}
    approved = []
    for rows in _chunks(plan):
        finishing = [r[0] for r in rows if r[2] is None]
        approved += [(r[0], *r[5:]) for r in rows if r[2] is None]
        moving = {}
        for decl_id, _, _, next_org, next_level, *_ in rows:
            if next_org is not None:
                moving.setdefault((next_org, next_level), []).append(decl_id)
        moving_ids = [i for ids in moving.values() for i in ids]
        if finishing:
            if notices is not None:
                notices.append(LazyNotices(finishing, _approved_text))
            audit.record_many("approve", "declaration", select(Declaration.id).where(_match(Declaration.id, finishing)),
                              before=before, after={"status": "approved"}, comment=comment, actor=actor)
        if moving_ids:
            audit.record_many("approve", "declaration", select(Declaration.id).where(_match(Declaration.id, moving_ids)),
                              before=before, after={"status": "pending", "moved": "next"}, comment=comment,
                              actor=actor)
        db.session.execute(
            update(ReviewStep)
            .where(_match(ReviewStep.id, [r[1] for r in rows]))
            .values(status="approved", actor_membership_id=actor.id, acted_at=at, comment=comment)
            .execution_options(synchronize_session=False)
        )
        if moving_ids:
            db.session.execute(
                update(ReviewStep)
                .where(_match(ReviewStep.id, [r[2] for r in rows if r[2] is not None]))
                .values(status="pending")
                .execution_options(synchronize_session=False)
            )
        if finishing:
            db.session.execute(
                update(Declaration)
                .where(_match(Declaration.id, finishing))
                .values(status="approved", current_org_id=None, current_level=None, decided_at=at,
                        version=Declaration.version + 1)
                .execution_options(synchronize_session=False)
            )
        for (next_org, next_level), ids in moving.items():
            db.session.execute(
                update(Declaration)
                .where(_match(Declaration.id, ids))
                .values(current_org_id=next_org, current_level=next_level, version=Declaration.version + 1)
                .execution_options(synchronize_session=False)
            )
    if approved:
        # The hours of the records approved here, added to their person-years, set-based.
        summary.add_approved(records=approved)
    db.session.expire_all()
    return len(plan)


def reject_many(ids_or_select, actor, reason, *, notices: list | None = None) -> int:
    """Reject, set-based, every given record pending at the actor's step (one reason)."""
    level, org_id = _queue_of(actor)
    reason = _reason(reason, "不通过原因")
    db.session.flush()
    plan = _plan(_targets(ids_or_select, level, org_id))
    at = now()
    for rows in _chunks(plan):
        ids = [r[0] for r in rows]
        if notices is not None:
            notices.append(LazyNotices(ids, _rejected_text, reason))
        audit.record_many("reject", "declaration", select(Declaration.id).where(_match(Declaration.id, ids)),
                          before={"status": "pending", "level": level, "org_id": org_id},
                          after={"status": "rejected"}, comment=reason, actor=actor)
        db.session.execute(
            update(ReviewStep)
            .where(_match(ReviewStep.id, [r[1] for r in rows]))
            .values(status="rejected", actor_membership_id=actor.id, acted_at=at, comment=reason)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            delete(ReviewStep)
            .where(_match(ReviewStep.declaration_id, ids), ReviewStep.status == "waiting")
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Declaration)
            .where(_match(Declaration.id, ids))
            .values(status="rejected", current_org_id=None, current_level=None, decided_at=at,
                    reject_reason=reason, version=Declaration.version + 1)
            .execution_options(synchronize_session=False)
        )
    db.session.expire_all()
    return len(plan)


def count_targets(ids_or_select, actor) -> int:
    """How many of the given records an approve/reject by ``actor`` would change."""
    level, org_id = _queue_of(actor)
    return db.session.scalar(select(func.count()).select_from(Declaration).where(_targets(ids_or_select, level,
                                                                                           org_id))) or 0


# --------------------------------------------------------------------------- notices
def _hours(value):
    if value is None:
        return ""
    return f"{Decimal(value):.1f}".rstrip("0").rstrip(".")


def _describe(year, subject_kind, form_name, claimed_hours):
    from .models import SUBJECT_KINDS

    return f"{year} 年度 {SUBJECT_KINDS.get(subject_kind, '')} {form_name or ''} {_hours(claimed_hours)} 学时"


def _approved_text(name, what, year, reason=None):
    return (
        "学时申报审核通过",
        f"{name}：\n\n您申报的继续教育记录（{what}）已审核通过，计入 {year} 年度学时。\n\n"
        "可登录系统在【申报进度查询】中查看详情。",
    )


def _rejected_text(name, what, year, reason):
    return (
        "学时申报审核不通过",
        f"{name}：\n\n您申报的继续教育记录（{what}）审核不通过。\n原因：{reason}\n\n"
        "可登录系统在【申报进度查询】中查看详情，修改后重新提交。",
    )


def _returned_text(name, what, year, reason):
    return (
        "学时申报已被驳回",
        f"{name}：\n\n您申报的继续教育记录（{what}）已被驳回，退回待提交状态。\n原因：{reason}\n\n"
        "可登录系统修改后重新提交。",
    )


def _notices_for(where, text, reason=None):
    """Notices for every record matching ``where``: one query, no per-row loads."""
    from .models import Account, LearningForm

    email = func.coalesce(func.nullif(Person.email, ""), Account.email)
    rows = db.session.execute(
        select(
            Declaration.year, Declaration.subject_kind, Declaration.claimed_hours,
            LearningForm.name.label("form_name"), Person.name, email.label("email"),
        )
        .join(Person, Person.id == Declaration.person_id)
        .join(Account, Account.id == Person.account_id)
        .join(LearningForm, LearningForm.id == Declaration.form_id)
        .where(where)
    ).all()
    out = []
    for row in rows:
        if not row.email:
            continue
        what = _describe(row.year, row.subject_kind, row.form_name, row.claimed_hours)
        subject, body = text(row.name, what, row.year, reason)
        out.append(Notice((row.email,), subject, body))
    return out


def _notices_of(declaration, text, reason=None):
    return _notices_for(Declaration.id == declaration.id, text, reason)


__all__ = [
    "ACTION_LABELS",
    "CONFLICT",
    "LEVEL_ROLES",
    "NEXT",
    "Notice",
    "ROUTES",
    "TRANSITIONS",
    "WorkflowError",
    "allowed_actions",
    "approve",
    "approve_many",
    "build_chain",
    "copy_rejected",
    "count_targets",
    "current_step",
    "deliver",
    "expand",
    "LazyNotices",
    "notice_count",
    "is_reviewer_of",
    "reject",
    "reject_many",
    "reopen",
    "send_back",
    "steps_of_round",
    "submit",
    "target_of",
    "withdraw",
]
