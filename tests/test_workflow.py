"""The review chain as domain functions: chain building, every move, bulk moves, races."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import workflow
from backoffice.extensions import db
from backoffice.models import AuditLog, Declaration, LearningForm, ReviewStep
from backoffice.tree import stamp_declaration
from backoffice.workflow import WorkflowError

from .conftest import membership_of, org, person_named


def _form(code="training_class"):
    return db.session.scalar(select(LearningForm).where(LearningForm.code == code))


def new_decl(person, kind="professional", source="self", route=None, declarer=None, year=None, hours=10):
    d = Declaration(year=year or date.today().year, subject_kind=kind, form=_form(), fields={"hours": hours},
                    computed_hours=Decimal(hours), claimed_hours=Decimal(hours), source=source, route=route,
                    declarer_org_id=declarer.id if declarer is not None else None, status="draft")
    stamp_declaration(d, person)
    db.session.add(d)
    db.session.flush()
    return d


def person_membership(name):
    return person_named(name).membership


def levels(chain):
    return [(level, db.session.get(type(org("410105")), org_id).name) for level, org_id in chain]


def test_chain_of_a_self_declared_professional_record_has_three_levels(ctx):
    d = new_decl(person_named("张伟"), "professional")
    assert levels(workflow.build_chain(d)) == [
        ("unit", "郑州市金水区人民医院"),
        ("industry", "金水区卫生健康委员会"),
        ("hrss", "金水区人力资源和社会保障局"),
    ]


def test_chain_skips_levels_that_do_not_apply(ctx):
    # Public subject: no competent department.
    assert [lvl for lvl, _ in workflow.build_chain(new_decl(person_named("张伟"), "public"))] == ["unit", "hrss"]
    # A unit without a competent department (city level): unit → city HRSS.
    chain = levels(workflow.build_chain(new_decl(person_named("杨帆"), "professional")))
    assert chain == [("unit", "郑州市建筑设计院"), ("hrss", "郑州市人力资源和社会保障局")]
    # Province-level unit: its HRSS is the province.
    chain = levels(workflow.build_chain(new_decl(person_named("孙丽"), "public")))
    assert chain[-1] == ("hrss", "河南省人力资源和社会保障厅")


def test_chain_of_unit_and_institution_declarations(ctx):
    zhang = person_named("张伟")
    hospital = org("郑州市金水区人民医院")
    inst = org("河南省专业技术人员继续教育基地")
    assert [lvl for lvl, _ in workflow.build_chain(new_decl(zhang, "public", "unit", declarer=hospital))] == ["hrss"]
    assert [lvl for lvl, _ in workflow.build_chain(
        new_decl(zhang, "professional", "unit", route="hrss", declarer=hospital))] == ["hrss"]
    assert [lvl for lvl, _ in workflow.build_chain(
        new_decl(zhang, "professional", "unit", route="industry", declarer=hospital))] == ["industry", "hrss"]
    assert [lvl for lvl, _ in workflow.build_chain(
        new_decl(zhang, "professional", "institution", declarer=inst))] == ["industry", "hrss"]
    assert [lvl for lvl, _ in workflow.build_chain(
        new_decl(zhang, "public", "institution", declarer=inst))] == ["hrss"]


def test_transition_table_is_consulted():
    assert workflow.target_of("pending", "unit", "approve") == workflow.NEXT
    assert workflow.target_of("pending", "hrss", "reject") == "rejected"
    with pytest.raises(WorkflowError, match="不能审核通过"):
        workflow.target_of("approved", None, "approve")
    with pytest.raises(WorkflowError, match="不能撤销"):
        workflow.target_of("rejected", None, "withdraw")


def test_full_chain_of_moves_with_steps_and_audit(ctx):
    zhang = person_named("张伟")
    d = new_decl(zhang, "professional")
    workflow.submit(d, zhang.membership)
    assert (d.status, d.current_level, d.current_org.name) == ("pending", "unit", "郑州市金水区人民医院")
    assert [s.status for s in d.steps] == ["pending", "waiting", "waiting"]
    assert workflow.approve(d, membership_of("unit"), "属实") == []
    assert (d.status, d.current_level) == ("pending", "industry")
    assert workflow.approve(d, membership_of("industry")) == []
    assert d.current_level == "hrss"
    notices = workflow.approve(d, membership_of("county"))
    assert d.status == "approved" and d.current_org_id is None and d.decided_at is not None
    assert [s.status for s in d.steps] == ["approved", "approved", "approved"]
    assert d.steps[0].comment == "属实" and d.steps[0].actor_membership_id == membership_of("unit").id
    assert len(notices) == 1 and "审核通过" in notices[0].subject and zhang.email in notices[0].recipients
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.object_type == "declaration", AuditLog.object_id == d.id).order_by(AuditLog.id)).all()
    assert actions == ["submit", "approve", "approve", "approve"]
    assert d.version == 5


def test_only_the_current_step_may_approve(ctx):
    zhang = person_named("张伟")
    d = new_decl(zhang, "professional")
    workflow.submit(d, zhang.membership)
    for key in ("industry", "county", "city", "province", "unit2", "sysadmin", "person"):
        with pytest.raises(WorkflowError):
            workflow.approve(d, membership_of(key))
        with pytest.raises(WorkflowError):
            workflow.reject(d, membership_of(key), "原因")
    assert (d.status, d.current_level, d.version) == ("pending", "unit", 2)


def test_reject_needs_a_reason_and_ends_the_round(ctx):
    zhang = person_named("张伟")
    d = new_decl(zhang, "professional")
    workflow.submit(d, zhang.membership)
    workflow.approve(d, membership_of("unit"))
    with pytest.raises(WorkflowError, match="请填写不通过原因"):
        workflow.reject(d, membership_of("industry"), "  ")
    notices = workflow.reject(d, membership_of("industry"), "证明材料不全")
    assert d.status == "rejected" and d.reject_reason == "证明材料不全"
    assert [s.status for s in d.steps] == ["approved", "rejected"]  # the waiting HRSS step is gone
    assert "证明材料不全" in notices[0].body
    # Corrected and submitted again: a new round of steps.
    workflow.submit(d, zhang.membership)
    assert [s.status for s in d.steps] == ["approved", "rejected", "pending", "waiting", "waiting"]
    assert [s.status for s in workflow.steps_of_round(d)] == ["pending", "waiting", "waiting"]


def test_withdraw_before_any_approval_only(ctx):
    zhang = person_named("张伟")
    d = new_decl(zhang, "professional")
    workflow.submit(d, zhang.membership)
    with pytest.raises(WorkflowError):
        workflow.withdraw(d, person_membership("李娜"))
    workflow.withdraw(d, zhang.membership)
    assert d.status == "draft" and [s.status for s in d.steps] == ["withdrawn"]
    workflow.submit(d, zhang.membership)
    workflow.approve(d, membership_of("unit"))
    with pytest.raises(WorkflowError, match="不能撤销"):
        workflow.withdraw(d, zhang.membership)


def test_institution_records_cannot_be_withdrawn_by_the_person(ctx):
    zhang = person_named("张伟")
    inst = org("河南省专业技术人员继续教育基地")
    d = new_decl(zhang, "public", "institution", declarer=inst)
    workflow.submit(d, membership_of("institution"))
    assert d.current_level == "hrss"
    with pytest.raises(WorkflowError, match="施教机构"):
        workflow.withdraw(d, zhang.membership)
    workflow.withdraw(d, membership_of("institution"))
    assert d.status == "draft"


def test_send_back_by_a_higher_level(ctx):
    zhang = person_named("张伟")
    d = new_decl(zhang, "professional")
    workflow.submit(d, zhang.membership)
    with pytest.raises(WorkflowError, match="不能驳回"):
        workflow.send_back(d, membership_of("unit"), "填错了")
    workflow.approve(d, membership_of("unit"))
    with pytest.raises(WorkflowError):
        workflow.send_back(d, membership_of("county"), "填错了")  # not its turn yet
    notices = workflow.send_back(d, membership_of("industry"), "年度填错了")
    assert d.status == "draft" and d.reject_reason == "年度填错了"
    assert [s.status for s in d.steps] == ["approved", "returned"]
    assert "驳回" in notices[0].subject
    # An approved record: only the last level may send it back.
    workflow.submit(d, zhang.membership)
    for key in ("unit", "industry", "county"):
        workflow.approve(d, membership_of(key))
    with pytest.raises(WorkflowError):
        workflow.send_back(d, membership_of("unit"), "x")
    workflow.send_back(d, membership_of("county"), "学时有误")
    assert d.status == "draft"


def test_stale_version_is_refused(ctx):
    zhang = person_named("张伟")
    d = new_decl(zhang, "public")
    workflow.submit(d, zhang.membership)
    with pytest.raises(WorkflowError, match="已被他人处理"):
        workflow.approve(d, membership_of("unit"), version=d.version - 1)
    assert d.status == "pending"


def _pending_at_unit(n, name="张伟", kind="public"):
    person = person_named(name)
    out = []
    for _ in range(n):
        d = new_decl(person, kind)
        workflow.submit(d, person.membership)
        out.append(d.id)
    return out


def test_approve_many_moves_or_finishes_and_ignores_others(ctx):
    public = _pending_at_unit(3, kind="public")
    professional = _pending_at_unit(2, kind="professional")
    other_unit = _pending_at_unit(1, name="刘洋")
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    n = workflow.approve_many(public + professional + other_unit, membership_of("unit"), "同意")
    assert n == 5
    rows = {d.id: d for d in db.session.scalars(select(Declaration).where(
        Declaration.id.in_(public + professional + other_unit)))}
    assert {rows[i].current_level for i in public} == {"hrss"}
    assert {rows[i].current_level for i in professional} == {"industry"}
    assert rows[other_unit[0]].current_level == "unit"  # not this unit's record
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before + 5
    steps = db.session.scalars(select(ReviewStep).where(ReviewStep.declaration_id == public[0])
                               .order_by(ReviewStep.seq)).all()
    assert [(s.status, s.comment) for s in steps] == [("approved", "同意"), ("pending", None)]
    # The county finishes the public ones; the e-mails are collected.
    notices = []
    sel = select(Declaration.id).where(Declaration.id.in_(public + professional))
    assert workflow.approve_many(sel, membership_of("county"), notices=notices) == 3
    assert {d.status for d in db.session.scalars(select(Declaration).where(Declaration.id.in_(public)))} == {
        "approved"}
    notices = workflow.expand(notices)
    assert len(notices) == 3 and all("审核通过" in n.subject for n in notices)


def test_approve_many_with_a_limited_select_in_small_chunks(ctx, monkeypatch):
    monkeypatch.setattr(workflow, "CHUNK", 2)
    ids = _pending_at_unit(5, kind="professional")
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    window = select(Declaration.id).where(Declaration.id.in_(ids)).order_by(Declaration.id).limit(3)
    assert workflow.approve_many(window, membership_of("unit")) == 3
    rows = db.session.scalars(select(Declaration).where(Declaration.id.in_(ids)).order_by(Declaration.id)).all()
    assert [d.current_level for d in rows] == ["industry", "industry", "industry", "unit", "unit"]
    assert [d.version for d in rows] == [3, 3, 3, 2, 2]
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before + 3
    assert db.session.scalar(select(func.count()).select_from(ReviewStep).where(
        ReviewStep.declaration_id.in_(ids), ReviewStep.status == "pending")) == 5


def test_reject_many_needs_a_reason(ctx):
    ids = _pending_at_unit(2, kind="professional")
    with pytest.raises(WorkflowError, match="请填写不通过原因"):
        workflow.reject_many(ids, membership_of("unit"), "")
    notices = []
    assert workflow.reject_many(ids, membership_of("unit"), "材料不全", notices=notices) == 2
    notices = workflow.expand(notices)
    rows = db.session.scalars(select(Declaration).where(Declaration.id.in_(ids))).all()
    assert {(d.status, d.reject_reason) for d in rows} == {("rejected", "材料不全")}
    assert db.session.scalar(select(func.count()).select_from(ReviewStep).where(
        ReviewStep.declaration_id.in_(ids), ReviewStep.status == "waiting")) == 0
    assert len(notices) == 2
    assert workflow.reject_many(ids, membership_of("unit"), "again") == 0


@pytest.mark.real_commits
def test_two_reviewers_approving_at_once_never_both_succeed(app):
    """Two real sessions load the same record and approve it concurrently."""
    from backoffice.models import Account, Membership

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL (row locks between two connections)")
        zhang = person_named("张伟")
        d = new_decl(zhang, "public")
        workflow.submit(d, zhang.membership)
        unit_m = membership_of("unit")
        # A second admin of the same unit.
        acc = db.session.get(Account, membership_of("unit2").account_id)
        second = Membership(account=acc, role="unit_admin", org_id=unit_m.org_id, status="active")
        db.session.add(second)
        db.session.commit()
        decl_id, m1, m2 = d.id, unit_m.id, second.id

    results = {}
    barrier = threading.Barrier(2)

    def reviewer(name, membership_id):
        # Each thread has its own app context, hence its own session and connection.
        with app.app_context():
            try:
                decl = db.session.get(Declaration, decl_id)
                actor = db.session.get(Membership, membership_id)
                _ = decl.version, actor.org_id, actor.status
                barrier.wait()
                workflow.approve(decl, actor)
                db.session.commit()
                results[name] = "ok"
            except WorkflowError as exc:
                db.session.rollback()
                results[name] = str(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=reviewer, args=(n, m)) for n, m in (("a", m1), ("b", m2))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results.values()) == sorted(["ok", workflow.CONFLICT]), results
        with app.app_context():
            d = db.session.get(Declaration, decl_id)
            assert d.current_level == "hrss" and d.version == 3
            assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.object_id == decl_id, AuditLog.action == "approve")) == 1
    finally:
        with app.app_context():
            db.session.execute(AuditLog.__table__.delete().where(AuditLog.object_type == "declaration",
                                                                 AuditLog.object_id == decl_id))
            db.session.execute(ReviewStep.__table__.delete().where(ReviewStep.declaration_id == decl_id))
            db.session.execute(Declaration.__table__.delete().where(Declaration.id == decl_id))
            db.session.execute(Membership.__table__.delete().where(Membership.id == m2))
            db.session.commit()
