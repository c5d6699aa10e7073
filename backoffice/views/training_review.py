"""Reviewers' side of training: 审核培训计划 (plans sent to an HRSS bureau or an industry
department), 审核培训班申报信息 (class declarations grouped by declaring institution →
class → trainee) and the hour declarations of units' training plans with their
attachments. Rows come only through ``current_scope()``; declarations move only
through ``backoffice.workflow``.
"""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.orm import selectinload

from .. import training
from ..extensions import db
from ..formatting import hours_number
from ..mail import enqueue as send_mail
from ..models import (
    DECLARATION_STATUSES,
    PLAN_STATUSES,
    SUBJECT_KINDS,
    AuditLog,
    Declaration,
    Org,
    Person,
    TraineeScore,
    TrainingClass,
    TrainingPlan,
    UnitPlanAttachment,
    UnitPlanAttendee,
    UnitPlanDeclaration,
)
from ..permissions import ScopedBaseView, current_scope
from ..security import safe_next
from ._export import ListExportMixin
from .home import waiting_item
from .training import _int_or_none, _message, domain_errors, send_unit_plan_attachment

ORDER = 61
CATEGORY = "学时审核"  # beside the review queues of the declarations
PAGE = 50


# --------------------------------------------------------------------------- plans
class PlanReviewView(ListExportMixin, ScopedBaseView):
    """审核培训计划: single, batch and all-matching approve / reject."""

    roles = ("hrss_admin", "industry_admin")
    export_loads = (selectinload(TrainingPlan.owner_org), selectinload(TrainingPlan.current_org))

    def list_query(self, args):
        return self._filtered(args).order_by(TrainingPlan.id.desc())

    def export_columns(self):
        return (
            ("计划名称", lambda p: p.name),
            ("申报机构", lambda p: p.owner_org.name),
            ("科目类型", lambda p: SUBJECT_KINDS.get(p.subject_kind, p.subject_kind)),
            ("继续教育年度", lambda p: p.ce_year),
            ("计划人数", lambda p: p.planned_trainees),
            ("学时", lambda p: hours_number(p.hours)),
            ("审核状态", lambda p: p.status_label),
            ("当前审核部门", lambda p: p.current_org.name if p.current_org else ""),
        )

    def _filtered(self, args):
        query = current_scope().query(TrainingPlan).filter(TrainingPlan.status != "draft")
        status = args.get("status", "mine")
        if status == "mine":
            query = query.filter(TrainingPlan.status == "pending", TrainingPlan.current_org_id == current_user.org_id)
        elif status in PLAN_STATUSES:
            query = query.filter(TrainingPlan.status == status)
        if args.get("name"):
            query = query.filter(TrainingPlan.name.contains(args["name"].strip()))
        if args.get("owner"):
            owners = select(Org.id).where(Org.name.contains(args["owner"].strip()))
            query = query.filter(TrainingPlan.owner_org_id.in_(owners))
        if _int_or_none(args.get("ce_year")):
            query = query.filter(TrainingPlan.ce_year == int(args["ce_year"]))
        if args.get("owner_kind") in ("institution", "unit"):
            query = query.filter(TrainingPlan.owner_kind == args["owner_kind"])
        return query

    def _mine(self, query):
        return query.filter(TrainingPlan.status == "pending", TrainingPlan.current_org_id == current_user.org_id)

    @expose("/")
    def index(self):
        args = request.args
        query = self.list_query(args)
        total = query.order_by(None).count()
        page = max(_int_or_none(args.get("page")) or 1, 1)
        plans = query.offset((page - 1) * PAGE).limit(PAGE).all()
        mine_total = self._mine(self._filtered(args)).count()
        return self.render("training/plan_review.html", plans=plans, total=total, page=page, pages=(total - 1) // PAGE + 1,
                           args=args, statuses=PLAN_STATUSES, kinds=SUBJECT_KINDS, mine_total=mine_total,
                           form=FlaskForm())

    @expose("/act", methods=("POST",))
    def act(self):
        form = FlaskForm()
        back = safe_next(request.form.get("back"), url_for(".index"))
        if not form.validate_on_submit():
            flash("页面已过期，请重试", "error")
            return redirect(back)
        decision = request.form.get("decision")
        if decision not in ("approve", "reject"):
            abort(400)
        reason = request.form.get("reason", "")
        if request.form.get("scope") == "all":
            plans = self._mine(self._filtered(request.form)).all()
        else:
            ids = [i for i in (_int_or_none(v) for v in request.form.getlist("ids")) if i is not None]
            plans = self._mine(current_scope().query(TrainingPlan)).filter(TrainingPlan.id.in_(ids)).all() if ids else []
        if not plans:
            flash("没有可审核的培训计划（请勾选待您审核的计划）", "warning")
            return redirect(back)
        plan_ids = [p.id for p in plans]
        try:
            n = training.review_plans(plans, current_user, decision, reason)
            db.session.commit()
        except domain_errors() as exc:
            db.session.rollback()
            flash(_message(exc), "error")
            return redirect(back)
        for recipients, subject, body in training.plan_decision_notices(plan_ids):
            send_mail(recipients, subject, body)  # after the commit; never raises
        flash(f"已{'审核通过' if decision == 'approve' else '审核不通过'} {n} 个培训计划", "success")
        return redirect(back)

    @expose("/view/<int:plan_id>")
    def view(self, plan_id):
        plan = current_scope().get_or_404(TrainingPlan, plan_id)
        if plan.status == "draft":
            abort(404)
        trail = db.session.scalars(select(AuditLog).where(AuditLog.object_type == "training_plan",
                                                          AuditLog.object_id == plan.id).order_by(AuditLog.id)).all()
        mine = plan.status == "pending" and plan.current_org_id == current_user.org_id
        return self.render("training/plan_review_view.html", plan=plan, trail=trail, mine=mine, form=FlaskForm(),
                           kinds=SUBJECT_KINDS)


# --------------------------------------------------------------------------- declarations by group
def _pending_mine():
    return and_(Declaration.status == "pending", Declaration.current_org_id == current_user.org_id)


GROUP_KINDS = {"class": "培训班", "batch": "单位培训计划"}


class TrainingDeclarationReviewView(ListExportMixin, ScopedBaseView):
    """审核培训班申报信息 and 单位培训计划学时: declaring organisation → class / plan
    batch → trainee, with batch and all approve / reject."""

    roles = ("hrss_admin", "industry_admin")

    # The declarations of a group, inside the scope.
    def _group_select(self, kind, group_id):
        scope = current_scope()
        if kind == "class":
            link = select(TraineeScore.declaration_id).where(TraineeScore.class_id == group_id)
            source = "institution"
        elif kind == "batch":
            link = select(UnitPlanAttendee.declaration_id).where(UnitPlanAttendee.batch_id == group_id)
            source = "unit"
        else:
            abort(404)
        return select(Declaration.id).where(scope.clause(Declaration), Declaration.source == source,
                                            Declaration.id.in_(link))

    def list_query(self, args):
        """The groups of the list: (id, name, subject kind, year, declaring org, declared,
        waiting for me, kind) per class and per unit plan batch, by declaring org."""
        status = args.get("status", "mine")
        where = [current_scope().clause(Declaration)]
        if status == "mine":
            where.append(_pending_mine())
        elif status in DECLARATION_STATUSES:
            where.append(Declaration.status == status)
        if args.get("org"):
            where.append(Declaration.declarer_org_id.in_(select(Org.id).where(Org.name.contains(args["org"].strip()))))
        if args.get("subject_kind") in SUBJECT_KINDS:
            where.append(Declaration.subject_kind == args["subject_kind"])
        mine = func.sum(case((_pending_mine(), 1), else_=0))

        def groups(kind, group_id, owner, source, *joins):
            columns = (group_id.label("id"), owner.name.label("name"), owner.subject_kind.label("subject_kind"),
                       owner.ce_year.label("ce_year"), Org.name.label("org_name"))
            stmt = select(*columns, func.count(Declaration.id).label("declared"), mine.label("mine"),
                          literal(kind).label("kind")).select_from(Declaration)
            for target, on in joins:
                stmt = stmt.join(target, on)
            return (
                stmt.join(Org, Org.id == Declaration.declarer_org_id)
                .where(Declaration.source == source, *where)
                .group_by(*columns)
            )

        classes = groups("class", TrainingClass.id, TrainingClass, "institution",
                         (TraineeScore, TraineeScore.declaration_id == Declaration.id),
                         (TrainingClass, TrainingClass.id == TraineeScore.class_id))
        batches = groups("batch", UnitPlanDeclaration.id, TrainingPlan, "unit",
                         (UnitPlanAttendee, UnitPlanAttendee.declaration_id == Declaration.id),
                         (UnitPlanDeclaration, UnitPlanDeclaration.id == UnitPlanAttendee.batch_id),
                         (TrainingPlan, TrainingPlan.id == UnitPlanDeclaration.plan_id))
        both = union_all(classes, batches).subquery()
        return select(both).order_by(both.c.org_name, both.c.kind.desc(), both.c.id.desc())

    def export_columns(self):
        return (
            ("申报机构", lambda g: g[4]),
            ("类型", lambda g: GROUP_KINDS.get(g[7], g[7])),
            ("培训班 / 单位培训计划", lambda g: g[1]),
            ("科目类型", lambda g: SUBJECT_KINDS.get(g[2], g[2])),
            ("继续教育年度", lambda g: g[3]),
            ("申报人数", lambda g: g[5]),
            ("待我审核", lambda g: g[6] or 0),
        )

    @expose("/")
    def index(self):
        args = request.args
        grouped = {}
        for row in db.session.execute(self.list_query(args).limit(1000)):
            grouped.setdefault(row[4], []).append((row[7], row))
        return self.render("training/decl_review.html", grouped=grouped, args=args, statuses=DECLARATION_STATUSES,
                           kinds=SUBJECT_KINDS)

    @expose("/<kind>/<int:group_id>")
    def group(self, kind, group_id):
        ids = self._group_select(kind, group_id)
        query = current_scope().query(Declaration).filter(Declaration.id.in_(ids))
        if not query.count():
            abort(404)
        args = request.args
        shown = query
        if args.get("name"):
            persons = select(Person.id).where(Person.name.contains(args["name"].strip()))
            shown = shown.filter(Declaration.person_id.in_(persons))
        if args.get("status") in DECLARATION_STATUSES:
            shown = shown.filter(Declaration.status == args["status"])
        rows = shown.order_by(Declaration.id).all()
        scores, attachments, title = {}, [], ""
        if kind == "class":
            cls = db.session.get(TrainingClass, group_id)
            title = f"培训班「{cls.name}」（{cls.institution.name}）"
            scores = {s.declaration_id: s for s in db.session.scalars(
                select(TraineeScore).where(TraineeScore.class_id == group_id))}
            info = cls
        else:
            batch = db.session.get(UnitPlanDeclaration, group_id)
            title = f"单位培训计划「{batch.plan.name}」（{batch.unit.name}）"
            attachments = db.session.scalars(select(UnitPlanAttachment).where(
                UnitPlanAttachment.batch_id == group_id)).all()
            info = batch
        mine_total = query.filter(_pending_mine()).count()
        return self.render("training/decl_review_group.html", kind=kind, group_id=group_id, rows=rows, title=title,
                           scores=scores, attachments=attachments, info=info, args=args, mine_total=mine_total,
                           statuses=DECLARATION_STATUSES, kinds=SUBJECT_KINDS, form=FlaskForm())

    @expose("/<kind>/<int:group_id>/act", methods=("POST",))
    def act(self, kind, group_id):
        from .. import workflow

        form = FlaskForm()
        back = url_for(".group", kind=kind, group_id=group_id)
        if not form.validate_on_submit():
            flash("页面已过期，请重试", "error")
            return redirect(back)
        decision = request.form.get("decision")
        if decision not in ("approve", "reject"):
            abort(400)
        group_ids = self._group_select(kind, group_id)
        if request.form.get("scope") == "all":
            target = group_ids
        else:
            wanted = [i for i in (_int_or_none(v) for v in request.form.getlist("ids")) if i is not None]
            target = group_ids.where(Declaration.id.in_(wanted or [-1]))
        notices = []
        try:
            if decision == "approve":
                n = workflow.approve_many(target, current_user, notices=notices)
            else:
                n = workflow.reject_many(target, current_user, request.form.get("reason", ""), notices=notices)
            db.session.commit()
        except domain_errors() as exc:
            db.session.rollback()
            flash(_message(exc), "error")
            return redirect(back)
        workflow.deliver(notices)
        if not n:
            flash("没有可审核的记录（只有待您审核的记录可以审核）", "warning")
        else:
            flash(f"已{'审核通过' if decision == 'approve' else '审核不通过'} {n} 条记录", "success")
        return redirect(back)

    @expose("/record/<int:declaration_id>")
    def record(self, declaration_id):
        d = current_scope().get_or_404(Declaration, declaration_id)
        if d.source not in ("institution", "unit"):
            abort(404)
        trail = db.session.scalars(select(AuditLog).where(AuditLog.object_type == "declaration",
                                                          AuditLog.object_id == d.id).order_by(AuditLog.id)).all()
        return self.render("training/decl_review_record.html", d=d, trail=trail, kinds=SUBJECT_KINDS)

    @expose("/attachment/<int:attachment_id>")
    def attachment(self, attachment_id):
        return send_unit_plan_attachment(attachment_id)


# --------------------------------------------------------------------------- home
@waiting_item
def _reviewer_items(membership, scope):
    if membership.role not in ("hrss_admin", "industry_admin"):
        return []
    plans = scope.query(TrainingPlan).filter(TrainingPlan.status == "pending",
                                             TrainingPlan.current_org_id == membership.org_id).count()
    return [{"key": "plans_to_review", "label": "待审核培训计划", "count": plans, "url": url_for("plan_review.index")}]


def register(admin):
    admin.add_view(PlanReviewView(name="审核培训计划", endpoint="plan_review", category="管理培训计划"))
    admin.add_view(TrainingDeclarationReviewView(name="审核培训班申报信息", endpoint="training_decl_review",
                                                 category=CATEGORY))
