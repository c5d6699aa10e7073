"""培训信息管理: training plans of institutions and units, training classes, trainee
scores (with spreadsheet import), score declaration, and the institution's own
information. Reviewer pages live in ``training_review.py``.

Every row is fetched through the permission layer (``ScopedModelView`` or
``current_scope()``); every change goes through ``backoffice.training`` and is
committed here together with its audit rows.
"""

from datetime import date

from flask import flash, redirect, request, send_file, session, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import func, select
from wtforms import DateField, DecimalField, FileField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from .. import audit, storage, training
from ..extensions import db
from ..formatting import HoursInput, hours_number
from ..models import (
    PLAN_ROUTES,
    PLAN_STATUSES,
    SUBJECT_KINDS,
    LearningForm,
    Org,
    Person,
    Subject,
    TraineeScore,
    TrainingClass,
    TrainingPlan,
)
from ..permissions import ScopedBaseView, ScopedModelView, current_scope
from . import _common as c
from ._export import ListExportMixin
from .home import waiting_item

ORDER = 60
CATEGORY = "培训信息管理"

EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PLAN_STATUS = c.badge_formatter(PLAN_STATUSES, c.STATUS_COLOURS)


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _year_choices():
    this = date.today().year
    return [(y, f"{y} 年") for y in range(this + 1, this - 6, -1)]


def form_error(form, exc):
    """Show a domain error at its field (or as a page message)."""
    name = getattr(exc, "field", None)
    if name and hasattr(form, name):
        getattr(form, name).errors = list(getattr(form, name).errors or []) + [exc.message]
    else:
        flash(exc.message, "error")


def _workflow_error():
    try:
        from ..workflow import WorkflowError
    except ImportError:  # pragma: no cover - the workflow module is part of the app
        return ()
    return (WorkflowError,)


def domain_errors():
    return (training.TrainingError, *_workflow_error())


def _message(exc):
    return getattr(exc, "message", None) or str(exc)


# --------------------------------------------------------------------------- plans

class HoursField(HoursInput, DecimalField):
    pass

class PlanForm(FlaskForm):
    name = StringField("计划名称", validators=[DataRequired("请输入计划名称"), Length(max=200, message="不超过 200 字")])
    subject_kind = SelectField("科目类型", choices=list(SUBJECT_KINDS.items()))
    subject_id = SelectField("培训科目", coerce=_int_or_none, validate_choice=False)
    training_year = SelectField("培训年度", coerce=int, validate_choice=False)
    ce_year = SelectField("继续教育年度", coerce=int, validate_choice=False)
    form_id = SelectField("培训形式", coerce=_int_or_none, validate_choice=False)
    planned_trainees = IntegerField("计划培训人数", validators=[
        InputRequired("请输入计划培训人数"), NumberRange(1, 100000, "计划培训人数须为 1–100000 的整数")])
    hours = HoursField("学时", places=1, validators=[
        InputRequired("请输入学时"), NumberRange(0.1, 1000, "学时须大于 0 且不超过 1000")])
    start_date = DateField("开始日期", validators=[InputRequired("请输入开始日期")])
    end_date = DateField("结束日期", validators=[InputRequired("请输入结束日期")])
    location = StringField("培训地点", validators=[Optional(), Length(max=200, message="不超过 200 字")])
    content = TextAreaField("培训内容", validators=[Optional(), Length(max=5000, message="不超过 5000 字")])
    route = SelectField("送审部门", choices=[("hrss", "同级人社部门"), ("industry", "行业主管部门")])
    competent_dept_id = SelectField("行业主管部门", coerce=_int_or_none, validate_choice=False)


class UnitPlanForm(PlanForm):
    route = None
    competent_dept_id = None


def plan_data(form, owner):
    return training.PlanData(
        name=form.name.data or "", subject_kind=form.subject_kind.data, subject_id=form.subject_id.data,
        training_year=form.training_year.data, ce_year=form.ce_year.data, form_id=form.form_id.data,
        planned_trainees=form.planned_trainees.data, hours=form.hours.data, start_date=form.start_date.data,
        end_date=form.end_date.data, location=form.location.data or "", content=form.content.data or "",
        route=getattr(getattr(form, "route", None), "data", None) or "hrss",
        competent_dept_id=getattr(getattr(form, "competent_dept_id", None), "data", None),
    )


class _DomainDeletes:
    """Single and batch deletes go through the domain function, which refuses rows that
    may no longer be deleted (approved plans, declared classes) with its own message;
    the edit page is refused for the same rows (``edit_refusal``)."""

    delete_rows = None  # staticmethod(fn(rows, actor) -> count)
    deleted_noun = ""

    def _delete(self, rows):
        try:
            n = self.delete_rows(rows, current_user)
            db.session.commit()
            return n
        except domain_errors() as exc:
            db.session.rollback()
            flash(_message(exc), "error")
            return None

    def delete_model(self, model):
        return self._delete([model]) is not None

    def edit_refusal(self, row):
        """Why ``row`` may no longer be edited (a Chinese message), or None."""
        return None

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        refusal = self.edit_refusal(self.get_one(self.row_id_from_request()))
        if refusal:
            flash(refusal, "error")
            return redirect(self.get_url(".index_view"))
        return super().edit_view()

    def delete_selected(self, ids):
        rows = self.get_query().filter(self.model.id.in_([int(i) for i in ids])).all()
        n = self._delete(rows)
        if n is not None:
            flash(f"已删除 {n} {self.deleted_noun}", "success")


class _PlanViewBase(_DomainDeletes, ScopedModelView):
    delete_rows = staticmethod(training.delete_plans)
    deleted_noun = "个培训计划"

    can_export = True
    create_template = "training/plan_form.html"
    edit_template = "training/plan_edit.html"
    details_template = "training/plan_details.html"
    column_list = ("name", "subject_kind", "subject", "training_year", "ce_year", "form", "planned_trainees",
                   "hours", "route", "current_org", "status")
    column_details_list = ("name", "subject_kind", "subject", "training_year", "ce_year", "form",
                           "planned_trainees", "hours", "start_date", "end_date", "location", "content", "route",
                           "competent_dept", "status", "current_org", "reject_reason", "created_at",
                           "submitted_at", "decided_at")
    column_export_list = ("name", "subject_kind", "subject", "training_year", "ce_year", "form", "planned_trainees",
                          "hours", "start_date", "end_date", "status")
    column_labels = {
        "name": "计划名称", "subject_kind": "科目类型", "subject": "培训科目", "training_year": "培训年度",
        "ce_year": "继续教育年度", "form": "培训形式", "planned_trainees": "计划人数", "hours": "学时",
        "start_date": "开始日期", "end_date": "结束日期", "location": "培训地点", "content": "培训内容",
        "route": "送审部门", "competent_dept": "行业主管部门", "status": "审核状态", "current_org": "当前审核部门",
        "reject_reason": "不通过原因", "created_at": "创建时间", "submitted_at": "送审时间", "decided_at": "办结时间",
        "owner_org": "申报机构", "owner_org.name": "申报机构",
    }
    column_filters = ("name", "ce_year", "training_year", "subject_kind", "status")
    column_searchable_list = ("name",)
    column_choices = {"status": c.choices(PLAN_STATUSES), "subject_kind": c.choices(SUBJECT_KINDS)}
    column_formatters = {
        "status": PLAN_STATUS,
        "subject_kind": c.label_formatter(SUBJECT_KINDS),
        "route": c.label_formatter(PLAN_ROUTES),
    }
    column_formatters_export = {
        "status": lambda v, ctx, m, n: PLAN_STATUSES.get(m.status, m.status),
        "subject_kind": lambda v, ctx, m, n: SUBJECT_KINDS.get(m.subject_kind, m.subject_kind),
    }
    column_default_sort = ("id", True)

    # -- form choices
    def _fill_choices(self, form):
        subjects = db.session.scalars(
            select(Subject).where(Subject.enabled.is_(True)).order_by(Subject.kind, Subject.year.desc(), Subject.name)
        ).all()
        form.subject_id.choices = [("", "（请选择培训科目）")] + [
            (s.id, f"{SUBJECT_KINDS.get(s.kind)}｜{s.name}（{s.year}）") for s in subjects
        ]
        # id:kind:year — the form's script offers the chosen kind of the plan's 继续教育年度 only.
        form.subject_id.render_kw = {"data-kinds": ",".join(f"{s.id}:{s.kind}:{s.year}" for s in subjects)}
        form.training_year.choices = _year_choices()
        form.ce_year.choices = _year_choices()
        forms = db.session.scalars(select(LearningForm).where(LearningForm.enabled.is_(True))
                                   .order_by(LearningForm.sort_order)).all()
        form.form_id.choices = [(f.id, f.name) for f in forms]
        if request.method == "GET" and form.form_id.data is None:
            form.form_id.data = next((f.id for f in forms if f.code == "training_class"), None)
        if getattr(form, "competent_dept_id", None) is not None:
            depts = training.industry_dept_choices(current_user.org)
            form.competent_dept_id.choices = [("", "（请选择）")] + [(d.id, d.name) for d in depts]
        return form

    def create_form(self, obj=None):
        form = self._fill_choices(super().create_form(obj))
        if request.method == "GET":
            form.training_year.data = form.training_year.data or date.today().year
            form.ce_year.data = form.ce_year.data or date.today().year
        return form

    def edit_form(self, obj=None):
        return self._fill_choices(super().edit_form(obj))

    # -- writes through the domain
    def create_model(self, form):
        try:
            plan = training.create_plan(current_user.org, plan_data(form, current_user.org), current_user)
            if request.form.get("_submit_now"):
                training.submit_plan(plan, current_user)
            db.session.commit()
            if request.form.get("_submit_now"):
                flash("培训计划已送审", "success")
            return plan
        except domain_errors() as exc:
            db.session.rollback()
            form_error(form, exc)
            return False

    def update_model(self, form, model):
        try:
            was_pending = model.status == "pending"
            training.update_plan(model, plan_data(form, current_user.org), current_user)
            if request.form.get("_submit_now"):
                training.submit_plan(model, current_user)
            db.session.commit()
            if was_pending and not request.form.get("_submit_now"):
                flash("培训计划已修改并退回待送审状态，请重新送审", "info")
            return True
        except domain_errors() as exc:
            db.session.rollback()
            form_error(form, exc)
            return False

    def edit_refusal(self, plan):
        return training.MSG_PLAN_LOCKED if plan.locked else None

    @action("delete", "批量删除", "确定删除所选培训计划吗？已审核通过的计划不能删除。")
    def action_delete(self, ids):
        self.delete_selected(ids)

    @action("submit", "送审", "确定将所选培训计划送审吗？")
    def action_submit(self, ids):
        rows = self.get_query().filter(TrainingPlan.id.in_([int(i) for i in ids])).all()
        try:
            for plan in rows:
                training.submit_plan(plan, current_user)
            db.session.commit()
            flash(f"已送审 {len(rows)} 个培训计划", "success")
        except domain_errors() as exc:
            db.session.rollback()
            flash(_message(exc), "error")

    @expose("/submit/", methods=("POST",))
    def submit_one(self):
        plan = self.get_one(request.form.get("id"))
        try:
            training.submit_plan(plan, current_user)
            db.session.commit()
            flash("培训计划已送审", "success")
        except domain_errors() as exc:
            db.session.rollback()
            flash(_message(exc), "error")
        return redirect(self.get_url(".details_view", id=plan.id))


class InstitutionPlanView(_PlanViewBase):
    """培训计划管理 of a training institution."""

    roles = ("institution_admin",)
    form = PlanForm


class UnitPlanView(_PlanViewBase):
    """单位培训计划: a unit's own plans (competent department → HRSS), then the hours."""

    roles = ("unit_admin",)
    form = UnitPlanForm
    column_list = ("name", "subject_kind", "subject", "ce_year", "planned_trainees", "hours", "current_org",
                   "status", "declare")
    column_formatters = dict(_PlanViewBase.column_formatters)
    column_formatters["declare"] = lambda v, ctx, m, n: Markup(
        '<a class="btn btn-sm btn-outline-primary" href="{}">学时申报</a>'
    ).format(url_for("unit_plans.declare_view", id=m.id)) if m.status == "approved" else ""
    column_labels = dict(_PlanViewBase.column_labels, declare="学时申报")

    @expose("/declare/", methods=("GET", "POST"))
    def declare_view(self):
        plan = self.get_one(request.args.get("id"))
        if plan.status != "approved":
            flash("培训计划审核通过后才能申报学时", "error")
            return redirect(self.get_url(".index_view"))
        declared_ids = set(db.session.scalars(
            select(training.UnitPlanAttendee.person_id).where(training.UnitPlanAttendee.plan_id == plan.id)))
        persons = current_scope().query(Person).filter(Person.unit_id == plan.unit_id).order_by(Person.name).all()
        persons = [p for p in persons if p.membership.status == "active"]
        errors = {}
        if request.method == "POST":
            wanted = {_int_or_none(v) for v in request.form.getlist("person_ids")} - {None}
            chosen = current_scope().query(Person).filter(Person.id.in_(wanted)).all() if wanted else []
            if len(chosen) != len(wanted):
                errors["persons"] = "所选人员不在您的管理范围内"
            uploads = []
            for kind in ("sign_in", "photo", "video", "other"):
                for f in request.files.getlist(kind):
                    if f and f.filename:
                        uploads.append(training.Upload(kind, f.filename, f.read()))
            if not errors:
                try:
                    training.declare_unit_plan(plan, chosen, uploads, request.form.get("remark", ""), current_user)
                    db.session.commit()
                    flash(f"已为 {len(chosen)} 名专技人员申报学时，请耐心等待上级部门审核", "success")
                    return redirect(self.get_url(".declare_view", id=plan.id))
                except domain_errors() as exc:
                    db.session.rollback()
                    errors[getattr(exc, "field", None) or "form"] = _message(exc)
        batches = current_scope().query(training.UnitPlanDeclaration).filter(
            training.UnitPlanDeclaration.plan_id == plan.id).order_by(training.UnitPlanDeclaration.id.desc()).all()
        return self.render("training/unit_plan_declare.html", plan=plan, persons=persons, declared_ids=declared_ids,
                           batches=batches, errors=errors, rules=training.ATTACHMENT_RULES,
                           labels=training.ATTACHMENT_LABELS)

    @expose("/attachment/<int:attachment_id>")
    def attachment(self, attachment_id):
        return send_unit_plan_attachment(attachment_id)


def send_unit_plan_attachment(attachment_id):
    """Serve an attachment only when its declaration batch is inside the scope."""
    from ..models import UnitPlanAttachment, UnitPlanDeclaration

    att = db.session.get(UnitPlanAttachment, attachment_id)
    if att is None:
        from flask import abort

        abort(404)
    current_scope().get_or_404(UnitPlanDeclaration, att.batch_id)
    return storage.send(training.attachment_key(att.stored_name), mimetype=att.content_type,
                        download_name=att.original_name)


# --------------------------------------------------------------------------- classes
class ClassCreateForm(FlaskForm):
    plan_id = SelectField("培训计划", coerce=_int_or_none, validate_choice=False)
    name = StringField("培训班名称", validators=[DataRequired("请输入培训班名称"), Length(max=200, message="不超过 200 字")])
    hours = HoursField("学时", places=1, validators=[
        InputRequired("请输入学时"), NumberRange(0.1, 1000, "学时须大于 0 且不超过 1000")])
    planned_trainees = IntegerField("计划培训人数", validators=[
        InputRequired("请输入计划培训人数"), NumberRange(1, 100000, "计划培训人数须为 1–100000 的整数")])
    start_date = DateField("开始日期", validators=[InputRequired("请输入开始日期")])
    end_date = DateField("结束日期", validators=[InputRequired("请输入结束日期")])
    location = StringField("培训地点", validators=[Optional(), Length(max=200, message="不超过 200 字")])
    teacher = StringField("授课教师", validators=[Optional(), Length(max=100, message="不超过 100 字")])
    remark = TextAreaField("备注", validators=[Optional(), Length(max=500, message="不超过 500 字")])


class ClassEditForm(ClassCreateForm):
    plan_id = None


def class_data(form):
    return training.ClassData(name=form.name.data or "", hours=form.hours.data, start_date=form.start_date.data,
                              end_date=form.end_date.data, planned_trainees=form.planned_trainees.data,
                              location=form.location.data or "", teacher=form.teacher.data or "",
                              remark=form.remark.data or "")


def _trainees(view, context, model, name):
    return training.trainee_count(model)


def _declared(view, context, model, name):
    if model.declared_at is None:
        return Markup('<span class="badge badge-light">未申报</span>')
    return Markup('<span class="badge badge-success">已申报</span> <small>{}</small>').format(
        model.declared_at.strftime("%Y-%m-%d"))


class ClassView(_DomainDeletes, ScopedModelView):
    delete_rows = staticmethod(training.delete_classes)
    deleted_noun = "个培训班"

    """培训班管理: classes of the institution's approved plans."""

    roles = ("institution_admin",)
    can_export = True
    create_template = "training/class_form.html"
    column_list = ("name", "plan", "subject_kind", "training_year", "ce_year", "form", "planned_trainees",
                   "trainees", "hours", "start_date", "end_date", "declared_at")
    column_details_list = ("name", "plan", "subject_kind", "subject", "training_year", "ce_year", "form",
                           "planned_trainees", "trainees", "hours", "start_date", "end_date", "location", "teacher",
                           "remark", "declared_at", "declared_route", "declared_count", "created_at")
    column_export_list = ("name", "plan", "subject_kind", "training_year", "ce_year", "planned_trainees", "trainees",
                          "hours", "start_date", "end_date", "declared_at")
    column_labels = {
        "name": "培训班名称", "plan": "培训计划", "subject_kind": "科目类型", "subject": "培训科目",
        "training_year": "培训年度", "ce_year": "继续教育年度", "form": "培训形式", "planned_trainees": "计划人数",
        "trainees": "目前人数", "hours": "学时", "start_date": "开始日期", "end_date": "结束日期",
        "location": "培训地点", "teacher": "授课教师", "remark": "备注", "declared_at": "申报状态",
        "declared_route": "送审部门", "declared_count": "申报人数", "created_at": "创建时间", "plan.name": "培训计划",
    }
    column_filters = ("name", "training_year", "ce_year", "subject_kind")
    column_searchable_list = ("name",)
    column_choices = {"subject_kind": c.choices(SUBJECT_KINDS)}
    column_formatters = {
        "subject_kind": c.label_formatter(SUBJECT_KINDS),
        "trainees": _trainees,
        "declared_at": _declared,
        "declared_route": c.label_formatter(PLAN_ROUTES),
    }
    column_formatters_export = {
        "subject_kind": lambda v, ctx, m, n: SUBJECT_KINDS.get(m.subject_kind, m.subject_kind),
        "trainees": lambda v, ctx, m, n: training.trainee_count(m),
        "declared_at": lambda v, ctx, m, n: "已申报" if m.declared_at else "未申报",
    }
    column_default_sort = ("id", True)

    def get_create_form(self):
        return ClassCreateForm

    def get_edit_form(self):
        return ClassEditForm

    def approved_plans(self):
        return current_scope().query(TrainingPlan).filter(
            TrainingPlan.owner_kind == "institution", TrainingPlan.status == "approved"
        ).order_by(TrainingPlan.id.desc()).all()

    def create_form(self, obj=None):
        form = super().create_form(obj)
        plans = self.approved_plans()
        form.plan_id.choices = [("", "（请选择审核通过的培训计划）")] + [
            (p.id, f"{p.name}（{SUBJECT_KINDS.get(p.subject_kind)}·{p.ce_year} 年度）") for p in plans]
        if request.method == "GET":
            wanted = _int_or_none(request.args.get("plan_id"))
            plan = next((p for p in plans if p.id == wanted), None)
            if plan is not None:
                form.plan_id.data = plan.id
                form.name.data = form.name.data or plan.name
                form.hours.data = plan.hours
                form.planned_trainees.data = plan.planned_trainees
                form.start_date.data, form.end_date.data = plan.start_date, plan.end_date
                form.location.data = plan.location
        return form

    def render(self, template, **kwargs):
        if template == self.create_template:
            wanted = _int_or_none(request.values.get("plan_id"))
            kwargs["chosen_plan"] = current_scope().get(TrainingPlan, wanted) if wanted else None
        return super().render(template, **kwargs)

    def create_model(self, form):
        plan = current_scope().get(TrainingPlan, form.plan_id.data) if form.plan_id.data else None
        if plan is None:
            form.plan_id.errors = list(form.plan_id.errors or []) + ["请选择审核通过的培训计划"]
            return False
        try:
            cls = training.create_class(plan, class_data(form), current_user)
            db.session.commit()
            return cls
        except domain_errors() as exc:
            db.session.rollback()
            form_error(form, exc)
            return False

    def update_model(self, form, model):
        try:
            training.update_class(model, class_data(form), current_user)
            db.session.commit()
            return True
        except domain_errors() as exc:
            db.session.rollback()
            form_error(form, exc)
            return False

    def edit_refusal(self, cls):
        return training.MSG_CLASS_DECLARED if cls.declared else None

    @action("delete", "批量删除", "确定删除所选培训班吗？培训班的学员成绩将一并删除；已申报的培训班不能删除。")
    def action_delete(self, ids):
        self.delete_selected(ids)


# --------------------------------------------------------------------------- scores
class ScoreCreateForm(FlaskForm):
    class_id = SelectField("培训班名称", coerce=_int_or_none, validate_choice=False)
    id_number = StringField("身份证号", validators=[DataRequired("请输入身份证号"), Length(max=18, message="身份证号非法")])
    score = StringField("成绩", validators=[DataRequired("请输入成绩")])
    passed = SelectField("是否合格", choices=[("", "按成绩判定（≥60 合格）"), ("合格", "合格"), ("不合格", "不合格")])
    remark = StringField("备注", validators=[Optional(), Length(max=500, message="不超过 500 字")])


class ScoreEditForm(ScoreCreateForm):
    class_id = None
    id_number = None


class ImportForm(FlaskForm):
    class_id = SelectField("培训班名称", coerce=_int_or_none, validate_choice=False)
    file = FileField("成绩文件（.xlsx 或 .csv）")


class ScoreView(_DomainDeletes, ScopedModelView):
    delete_rows = staticmethod(training.delete_scores)
    deleted_noun = "条学员成绩"

    """学员成绩管理: enter, edit, delete and import trainees' scores."""

    roles = ("institution_admin",)
    can_export = True
    list_template = "training/score_list.html"
    create_template = "training/score_form.html"
    column_list = ("training_class", "name", "id_number", "score", "passed", "remark", "declaration")
    column_export_list = ("training_class", "name", "id_number", "score", "passed", "remark")
    column_labels = {
        "training_class": "培训班", "training_class.name": "培训班名称", "name": "姓名", "id_number": "身份证号",
        "score": "成绩", "passed": "是否合格", "remark": "备注", "declaration": "申报状态",
        "created_at": "录入时间",
    }
    column_details_list = ("training_class", "name", "id_number", "score", "passed", "remark", "declaration",
                           "created_at")
    column_filters = ("training_class.name", "name", "id_number", "passed")
    column_searchable_list = ("name", "id_number")
    column_formatters = {
        "passed": lambda v, ctx, m, n: "合格" if m.passed else "不合格",
        "declaration": lambda v, ctx, m, n: m.declaration.status_label if m.declaration is not None else (
            "未申报" if m.passed else "不申报（不合格）"),
    }
    column_formatters_export = {"passed": lambda v, ctx, m, n: "合格" if m.passed else "不合格",
                                "training_class": lambda v, ctx, m, n: m.training_class.name}
    column_default_sort = ("id", True)

    def get_create_form(self):
        return ScoreCreateForm

    def get_edit_form(self):
        return ScoreEditForm

    def open_classes(self):
        return current_scope().query(TrainingClass).filter(TrainingClass.declared_at.is_(None)).order_by(
            TrainingClass.id.desc()).all()

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.class_id.choices = [("", "（请选择培训班）")] + [(k.id, k.name) for k in self.open_classes()]
        if request.method == "GET" and request.args.get("class_id"):
            form.class_id.data = _int_or_none(request.args.get("class_id"))
        return form

    def render(self, template, **kwargs):
        if template == self.create_template:
            wanted = _int_or_none(request.values.get("class_id"))
            cls = current_scope().get(TrainingClass, wanted) if wanted else None
            kwargs["chosen_class"] = cls
            kwargs["class_scores"] = training.roster(cls) if cls is not None else []
        return super().render(template, **kwargs)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None:
            form.passed.data = "合格" if obj.passed else "不合格"
            form.score.data = str(obj.score)
        return form

    def _score_passed(self, form):
        try:
            score = training.parse_score(form.score.data)
        except training.TrainingError as exc:
            form_error(form, exc)
            return None
        try:
            return score, training.parse_passed(form.passed.data, score)
        except training.TrainingError as exc:
            form_error(form, exc)
            return None

    def create_model(self, form):
        cls = current_scope().get(TrainingClass, form.class_id.data) if form.class_id.data else None
        if cls is None:
            form.class_id.errors = list(form.class_id.errors or []) + ["请选择培训班"]
            return False
        parsed = self._score_passed(form)
        if parsed is None:
            return False
        try:
            row = training.add_score(cls, form.id_number.data, parsed[0], parsed[1], form.remark.data, current_user)
            db.session.commit()
            return row
        except domain_errors() as exc:
            db.session.rollback()
            form_error(form, exc)
            return False

    def get_save_return_url(self, model, is_created=False):
        if is_created:
            return self.get_url(".create_view", class_id=model.class_id)
        return super().get_save_return_url(model, is_created)

    def update_model(self, form, model):
        parsed = self._score_passed(form)
        if parsed is None:
            return False
        try:
            training.update_score(model, parsed[0], parsed[1], form.remark.data, current_user)
            db.session.commit()
            return True
        except domain_errors() as exc:
            db.session.rollback()
            form_error(form, exc)
            return False

    def edit_refusal(self, row):
        return training.MSG_CLASS_DECLARED if row.training_class.declared else None

    @action("delete", "批量删除", "确定删除所选学员成绩吗？")
    def action_delete(self, ids):
        self.delete_selected(ids)

    # -- import
    @expose("/import/template/")
    def import_template(self):
        import io

        return send_file(io.BytesIO(training.template_xlsx()), as_attachment=True,
                         download_name="学员成绩导入模板.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    def _tokens(self):
        return session.setdefault("score_imports", {})

    @expose("/import/", methods=("GET", "POST"))
    def import_view(self):
        form = ImportForm()
        form.class_id.choices = [("", "（请选择培训班）")] + [(k.id, k.name) for k in self.open_classes()]
        if request.method == "GET" and request.args.get("class_id"):
            form.class_id.data = _int_or_none(request.args.get("class_id"))
        if form.validate_on_submit():
            cls = current_scope().get(TrainingClass, form.class_id.data) if form.class_id.data else None
            upload = request.files.get("file")
            if cls is None:
                form.class_id.errors = ["请选择培训班"]
            elif cls.declared:
                form.class_id.errors = [training.MSG_CLASS_DECLARED]
            elif upload is None or not upload.filename:
                form.file.errors = ["请选择要导入的文件"]
            else:
                try:
                    rows = training.parse_rows(training.read_upload(upload.filename, upload.read()))
                except training.TrainingError as exc:
                    form.file.errors = [exc.message]
                else:
                    training.check_rows(cls, rows)
                    tokens = self._tokens()
                    for old in list(tokens):
                        training.drop_import(old)
                        tokens.pop(old, None)
                    token = training.stash_import(cls.id, rows)
                    tokens[token] = cls.id
                    session.modified = True
                    return redirect(self.get_url(".import_preview", token=token))
        return self.render("training/score_import.html", form=form)

    def _stashed(self, token):
        from flask import abort

        if token not in self._tokens():
            abort(404)
        loaded = training.load_import(token)
        if loaded is None:
            abort(404)
        class_id, rows = loaded
        cls = current_scope().get_or_404(TrainingClass, class_id)
        return cls, rows

    @expose("/import/preview/<token>")
    def import_preview(self, token):
        cls, rows = self._stashed(token)
        training.check_rows(cls, rows)
        good = sum(1 for r in rows if r.ok)
        return self.render("training/score_import_preview.html", cls=cls, rows=rows, token=token, good=good,
                           bad=len(rows) - good, form=FlaskForm())

    @expose("/import/confirm/<token>", methods=("POST",))
    def import_confirm(self, token):
        form = FlaskForm()
        if not form.validate_on_submit():
            flash("页面已过期，请重新导入", "error")
            return redirect(self.get_url(".import_view"))
        cls, rows = self._stashed(token)
        if request.form.get("cancel"):
            training.drop_import(token)
            self._tokens().pop(token, None)
            session.modified = True
            flash("已取消导入", "info")
            return redirect(self.get_url(".import_view", class_id=cls.id))
        valid_only = request.form.get("valid_only") == "1"
        try:
            imported, skipped = training.import_rows(cls, rows, current_user, valid_only=valid_only)
            db.session.commit()
        except domain_errors() as exc:
            db.session.rollback()
            flash(_message(exc), "error")
            return redirect(self.get_url(".import_preview", token=token))
        training.drop_import(token)
        self._tokens().pop(token, None)
        session.modified = True
        text = f"已导入 {imported} 名学员的成绩"
        if skipped:
            text += f"，{skipped} 行有误未导入"
        flash(text, "success")
        return redirect(self.get_url(".index_view"))


# --------------------------------------------------------------------------- declaring
class DeclareForm(FlaskForm):
    route = SelectField("送审部门", choices=[("hrss", "人社部门"), ("industry", "行业主管部门")])


def _trainees(passed=None):
    """The count of a class's trainees (passed ones only when ``passed``), per list row."""
    where = [TraineeScore.class_id == TrainingClass.id]
    if passed:
        where.append(TraineeScore.passed.is_(True))
    return select(func.count(TraineeScore.id)).where(*where).correlate(TrainingClass).scalar_subquery()


class ScoreDeclarationView(ListExportMixin, ScopedBaseView):
    """学员成绩申报: roster first, then declare each class once."""

    roles = ("institution_admin",)

    def list_query(self, args):
        """(class, trainees, passed trainees) of the institution's classes under the filters."""
        stmt = current_scope().select(TrainingClass)
        if args.get("name"):
            stmt = stmt.where(TrainingClass.name.contains(args["name"].strip()))
        for key in ("training_year", "ce_year"):
            if _int_or_none(args.get(key)):
                stmt = stmt.where(getattr(TrainingClass, key) == int(args[key]))
        if args.get("subject_kind") in SUBJECT_KINDS:
            stmt = stmt.where(TrainingClass.subject_kind == args["subject_kind"])
        return stmt.add_columns(_trainees(), _trainees(passed=True)).order_by(TrainingClass.id.desc())

    def export_columns(self):
        return (
            ("培训班名称", lambda r: r[0].name),
            ("科目类型", lambda r: SUBJECT_KINDS.get(r[0].subject_kind, r[0].subject_kind)),
            ("培训年度", lambda r: r[0].training_year),
            ("继续教育年度", lambda r: r[0].ce_year),
            ("学时", lambda r: hours_number(r[0].hours)),
            ("学员人数", lambda r: r[1]),
            ("合格人数", lambda r: r[2]),
            ("状态", lambda r: "已申报" if r[0].declared_at else "未申报"),
        )

    @expose("/")
    def index(self):
        args = request.args
        classes = db.session.execute(self.list_query(args).limit(200)).all()
        return self.render("training/declare_list.html", classes=classes, args=args, kinds=SUBJECT_KINDS)

    @expose("/roster/<int:class_id>")
    def roster(self, class_id):
        cls = current_scope().get_or_404(TrainingClass, class_id)
        return self.render("training/roster.html", cls=cls, rows=training.roster(cls), form=DeclareForm(),
                           kinds=SUBJECT_KINDS)

    @expose("/declare/<int:class_id>", methods=("POST",))
    def declare(self, class_id):
        cls = current_scope().get_or_404(TrainingClass, class_id)
        form = DeclareForm()
        if not form.validate_on_submit():
            flash("请选择送审部门", "error")
            return redirect(url_for(".roster", class_id=cls.id))
        try:
            n = training.declare_class(cls, form.route.data, current_user)
            db.session.commit()
        except domain_errors() as exc:
            db.session.rollback()
            flash(_message(exc), "error")
            return redirect(url_for(".roster", class_id=class_id))
        flash(f"申报成功：已为 {n} 名合格学员申报学时，请耐心等待上级部门的审批", "success")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- institution account
class OrgInfoForm(FlaskForm):
    address = StringField("地址", validators=[Optional(), Length(max=200, message="不超过 200 字")])
    contact_name = StringField("联系人", validators=[DataRequired("请输入联系人"), Length(max=50, message="不超过 50 字")])
    contact_phone = StringField("联系电话", validators=[DataRequired("请输入联系电话"),
                                                     Length(max=30, message="不超过 30 字")])
    email = StringField("电子邮箱", validators=[DataRequired("请输入电子邮箱"), Regexp(EMAIL_RE, message="电子邮箱格式不正确"),
                                             Length(max=120, message="不超过 120 字")])


class ProfileForm(FlaskForm):
    phone = StringField("手机号码", validators=[DataRequired("请输入手机号码"), Length(max=30, message="不超过 30 字")])
    email = StringField("电子邮箱", validators=[DataRequired("请输入电子邮箱"), Regexp(EMAIL_RE, message="电子邮箱格式不正确"),
                                             Length(max=120, message="不超过 120 字")])


class InstitutionInfoView(ScopedBaseView):
    """施教机构信息维护 and 修改基本信息 (the password page is /password)."""

    roles = ("institution_admin",)

    @expose("/", methods=("GET", "POST"))
    def index(self):
        org = current_scope().get_or_404(Org, current_user.org_id)
        account = current_user.account
        org_form = OrgInfoForm(prefix="org", obj=org)
        profile_form = ProfileForm(prefix="me", obj=account)
        if request.method == "POST" and request.form.get("which") == "org" and org_form.validate_on_submit():
            fields = ("address", "contact_name", "contact_phone", "email")
            before = {f: getattr(org, f) for f in fields}
            for f in fields:
                setattr(org, f, (getattr(org_form, f).data or "").strip() or None)
            audit.record("edit", "org", org.id, before=before, after={f: getattr(org, f) for f in fields})
            db.session.commit()
            flash("施教机构信息已保存", "success")
            return redirect(url_for(".index"))
        if request.method == "POST" and request.form.get("which") == "me" and profile_form.validate_on_submit():
            before = {"phone": account.phone, "email": account.email}
            account.phone = profile_form.phone.data.strip()
            account.email = profile_form.email.data.strip()
            audit.record("edit", "account", account.id, before=before,
                         after={"phone": account.phone, "email": account.email})
            db.session.commit()
            flash("个人基本信息已保存", "success")
            return redirect(url_for(".index"))
        return self.render("training/institution_info.html", org=org, account=account, org_form=org_form,
                           profile_form=profile_form)


# --------------------------------------------------------------------------- home
@waiting_item
def _institution_items(membership, scope):
    if membership.role == "institution_admin":
        rejected = scope.query(TrainingPlan).filter(TrainingPlan.status == "rejected").count()
        undeclared = scope.query(TrainingClass).filter(TrainingClass.declared_at.is_(None)).count()
        return [
            {"key": "plans_rejected", "label": "审核不通过的培训计划", "count": rejected,
             "url": url_for("training_plans.index_view")},
            {"key": "classes_undeclared", "label": "未申报学时的培训班", "count": undeclared,
             "url": url_for("score_declaration.index")},
        ]
    return []


def register(admin):
    admin.add_view(InstitutionInfoView(name="施教机构信息维护", endpoint="institution_info", category="管理员信息管理"))
    admin.add_view(InstitutionPlanView(TrainingPlan, name="培训计划管理", endpoint="training_plans", category=CATEGORY))
    admin.add_view(ClassView(TrainingClass, name="培训班管理", endpoint="training_classes", category=CATEGORY))
    admin.add_view(ScoreView(TraineeScore, name="学员成绩管理", endpoint="trainee_scores", category=CATEGORY))
    admin.add_view(ScoreDeclarationView(name="学员成绩申报", endpoint="score_declaration", category=CATEGORY))
    admin.add_view(UnitPlanView(TrainingPlan, name="单位培训计划", endpoint="unit_plans", category="学时申报"))


__all__ = ["InstitutionPlanView", "UnitPlanView", "ClassView", "ScoreView", "escape"]
