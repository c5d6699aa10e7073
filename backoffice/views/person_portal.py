"""The professional's own pages (role ``person``): profile, declaring hours, progress
query, yearly completion and unit transfer. Every row comes through ``current_scope()``
(a person's scope is their own rows)."""

from datetime import date
from decimal import Decimal

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from .. import audit, declarations, hours, transfers, workflow
from ..extensions import db
from ..formatting import hours_text
from ..models import (
    DECLARATION_SOURCES,
    DECLARATION_STATUSES,
    GENDERS,
    REQUEST_STATUSES,
    STEP_LEVELS,
    STEP_STATUSES,
    SUBJECT_KINDS,
    TITLE_LEVELS,
    Declaration,
    LearningForm,
    Major,
    Org,
    Person,
    Subject,
    TitleChangeRequest,
    TitleSeries,
    TransferRequest,
)
from ..permissions import ScopedBaseView, current_scope
from ..web.person import (
    EMAIL_RE,
    ETHNICITIES,
    PHONE_RE,
    approved_unit,
    base_choices,
    check_birth_and_gender,
    region_choices,
)
from .home import waiting_item

ORDER = 5

FILTERS = {"all": "全部", "draft": "待提交", "pending": "待审核", "approved": "审核通过", "rejected": "审核不通过"}
MSG_READONLY = "姓名、身份证号和所在单位不能修改"
MSG_TITLE_SUBMITTED = "信息已经提交审核"


def my_person():
    """The signed-in person's own profile row, through the scope."""
    scope = current_scope()
    person = scope.get(Person, scope.person_id) if scope.person_id else None
    if person is None:
        abort(404)
    return person


class PersonPage(ScopedBaseView):
    roles = ("person",)


# --------------------------------------------------------------------------- profile
class ProfileForm(FlaskForm):
    id_number = StringField("身份证号")  # read-only: shown, never written
    department_id = SelectField("所属工作部门", validate_choice=False)
    gender = SelectField("性别", choices=[("", "请选择")] + list(GENDERS.items()), validators=[DataRequired("请选择性别")])
    birth_date = DateField("出生日期", validators=[DataRequired("请输入出生日期（格式 2000-01-31）")])
    ethnicity = SelectField("民族", choices=[("", "请选择")] + [(e, e) for e in ETHNICITIES],
                            validators=[DataRequired("请选择民族")])
    native_place = StringField("籍贯", validators=[Optional(), Length(max=100)])
    school = StringField("毕业院校", validators=[Optional(), Length(max=100)])
    major_id = SelectField("所学专业", validators=[DataRequired("请选择所学专业")])
    phone = StringField("手机号码", validators=[DataRequired("请输入手机号码"), Regexp(PHONE_RE, message="手机号码格式不正确")])
    email = StringField("电子邮箱", validators=[DataRequired("请输入电子邮箱"), Length(max=120),
                                            Regexp(EMAIL_RE, message="电子邮箱格式不正确")])


class TitleForm(FlaskForm):
    title_series_id = SelectField("专业技术职务系列", validators=[DataRequired("请选择专业技术职务系列")])
    title_level = SelectField("职称级别", choices=[("", "请选择")] + list(TITLE_LEVELS.items()),
                              validators=[DataRequired("请选择职称级别")])


def _dept_choices(person):
    rows = current_scope_departments(person)
    return [("", "（不选择部门）")] + [(str(r.id), r.name) for r in rows]


def current_scope_departments(person):
    return db.session.scalars(
        select(Org).where(Org.kind == "department", Org.unit_id == person.unit_id).order_by(Org.parent_path)
    ).all()


class ProfileView(PersonPage):
    """用户资料管理: basic information, title change (reviewed by the unit), history."""

    def _render(self, person, form, title_form):
        history = current_scope().query(TitleChangeRequest).filter(
            TitleChangeRequest.person_id == person.id).order_by(TitleChangeRequest.created_at.desc()).all()
        pending = next((h for h in history if h.status == "pending"), None)
        return self.render("person/profile.html", person=person, form=form, title_form=title_form,
                           history=history, pending=pending, statuses=REQUEST_STATUSES, levels=TITLE_LEVELS)

    def _forms(self, person, formdata=None):
        form = ProfileForm(formdata=formdata, obj=None if formdata else person,
                           data=None if formdata else {
                               "department_id": str(person.department_id or ""),
                               "major_id": str(person.major_id or "")})
        form.id_number.data = person.id_number
        form.department_id.choices = _dept_choices(person)
        form.major_id.choices = base_choices(Major, "请选择所学专业")
        title_form = TitleForm(formdata=None, data={"title_series_id": str(person.title_series_id or ""),
                                                     "title_level": person.title_level or ""})
        title_form.title_series_id.choices = base_choices(TitleSeries, "请选择职务系列")
        return form, title_form

    @expose("/", methods=("GET", "POST"))
    def index(self):
        person = my_person()
        if request.method == "GET":
            form, title_form = self._forms(person)
            return self._render(person, form, title_form)
        form, title_form = self._forms(person, formdata=request.form)
        crafted = [k for k in ("name", "id_number", "unit_id", "unit", "account_id", "title_level",
                               "title_series_id") if k in request.form]
        valid = form.validate()
        valid = check_birth_and_gender(form) and valid
        if crafted:
            flash(MSG_READONLY + "；职称变更请通过“专业技术职务变更”提交审核", "error")
            form.id_number.errors = [MSG_READONLY]
            return self._render(person, form, title_form), 400
        department = None
        if form.department_id.data:
            department = db.session.get(Org, int(form.department_id.data)) if form.department_id.data.isdigit() else None
            if department is None or department.kind != "department" or department.unit_id != person.unit_id:
                form.department_id.errors.append("所选部门不属于您所在的单位")
                valid = False
        if not valid:
            return self._render(person, form, title_form)
        before = {k: str(getattr(person, k) or "") for k in (
            "department_id", "gender", "birth_date", "ethnicity", "native_place", "school", "major_id", "phone", "email")}
        person.department_id = department.id if department else None
        person.gender = form.gender.data
        person.birth_date = form.birth_date.data
        person.ethnicity = form.ethnicity.data
        person.native_place = (form.native_place.data or "").strip() or None
        person.school = (form.school.data or "").strip() or None
        person.major_id = int(form.major_id.data)
        person.phone = form.phone.data.strip()
        person.email = form.email.data.strip()
        account = person.account
        account.phone, account.email = person.phone, person.email
        after = {k: str(getattr(person, k) or "") for k in before}
        audit.record("edit_profile", "person", person.id, before=before, after=after)
        db.session.commit()
        flash("基本信息已保存", "success")
        return redirect(url_for(".index"))

    @expose("/title", methods=("POST",))
    def title(self):
        person = my_person()
        form, _ = self._forms(person)
        title_form = TitleForm()
        title_form.title_series_id.choices = base_choices(TitleSeries, "请选择职务系列")
        if not title_form.validate():
            return self._render(person, form, title_form)
        series_id, level = int(title_form.title_series_id.data), title_form.title_level.data
        if current_scope().query(TitleChangeRequest).filter(
                TitleChangeRequest.person_id == person.id, TitleChangeRequest.status == "pending").first():
            title_form.title_level.errors.append("已有待审核的职务变更，请等待单位审核后再提交")
            return self._render(person, form, title_form)
        if series_id == person.title_series_id and level == person.title_level:
            title_form.title_level.errors.append("职务系列和级别没有变化")
            return self._render(person, form, title_form)
        change = TitleChangeRequest(
            person_id=person.id, unit_id=person.unit_id, county_id=person.county_id, city_id=person.city_id,
            competent_dept_id=person.competent_dept_id, old_series_id=person.title_series_id,
            old_level=person.title_level, new_series_id=series_id, new_level=level, status="pending")
        db.session.add(change)
        db.session.flush()
        audit.record("request_title_change", "title_change", change.id,
                     before={"series_id": person.title_series_id, "level": person.title_level},
                     after={"series_id": series_id, "level": level})
        db.session.commit()
        flash(MSG_TITLE_SUBMITTED, "success")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- declare
def _raw_from_request(form_code):
    raw = {k: request.form.get(k) for k in ("subject_kind", "form_id", "year", "subject_id", "claimed_hours",
                                            "remarks", *declarations.RECORD_FIELDS)}
    prefix = f"fields-{form_code}-"
    raw["fields"] = {k[len(prefix):]: v for k, v in request.form.items() if k.startswith(prefix)}
    return raw


class DeclareView(PersonPage):
    """学时（分）申报: one form for a new record and for editing a draft."""

    def _context(self, person, values, errors, declaration=None):
        scope = current_scope()
        forms = db.session.scalars(
            scope.select(LearningForm).where(LearningForm.enabled.is_(True)).order_by(LearningForm.sort_order)).all()
        years = declarations.open_years(person)
        subjects = db.session.scalars(
            scope.select(Subject).where(Subject.enabled.is_(True), Subject.year.in_(years)).order_by(Subject.kind, Subject.name)
        ).all()
        return dict(person=person, forms=forms, form_fields=hours.FORM_FIELDS, years=years, subjects=subjects,
                    values=values, errors=errors, declaration=declaration, kinds=SUBJECT_KINDS,
                    max_remarks=declarations.MAX_REMARKS)

    def _handle(self, person, declaration=None):
        form_code = ""
        form_row = None
        if (request.form.get("form_id") or "").isdigit():
            form_row = current_scope().get(LearningForm, int(request.form["form_id"]))
            form_code = form_row.code if form_row else ""
        raw = _raw_from_request(form_code)
        values = dict(raw, fields_code=form_code)
        action = request.form.get("action", "save")
        try:
            cleaned = declarations.clean(person, raw)
            attachment = None
            upload = request.files.get("attachment")
            if upload is not None and upload.filename:
                ext, data = declarations.check_attachment(upload)
                attachment = (ext, data, upload.filename)
            record, old_file = declarations.save_draft(person, cleaned, attachment, declaration, actor=current_user)
            warning = declarations.over_computed(cleaned)
            if warning:
                flash(warning, "warning")
            if action == "submit":
                notices = workflow.submit(record, current_user._get_current_object())
            else:
                notices = []
        except declarations.DeclarationError as exc:
            db.session.rollback()
            return None, values, {exc.field or "form_id": [exc.message]}
        except workflow.WorkflowError as exc:
            db.session.rollback()
            return None, values, {"action": [exc.message]}
        db.session.commit()
        if attachment is not None and old_file:
            declarations.remove_attachment_file(old_file)
        workflow.deliver(notices)
        return record, values, {}

    @expose("/", methods=("GET", "POST"))
    def index(self):
        person = my_person()
        if request.method == "POST":
            record, values, errors = self._handle(person)
            if not errors:
                flash("已提交审核" if record.status == "pending" else "已保存，可在“申报进度查询”中提交", "success")
                return redirect(url_for("person_records.detail", id=record.id))
            return self.render("person/declare.html", **self._context(person, values, errors))
        values = {"year": str(date.today().year), "subject_kind": request.args.get("kind", "professional"),
                  "fields": {}}
        return self.render("person/declare.html", **self._context(person, values, {}))

    @expose("/<int:id>/edit", methods=("GET", "POST"))
    def edit(self, id):
        person = my_person()
        record = current_scope().get_or_404(Declaration, id)
        if record.status != "draft" or record.source != "self":
            flash("只有本人待提交的记录可以修改", "error")
            return redirect(url_for("person_records.detail", id=id))
        if request.method == "POST":
            record2, values, errors = self._handle(person, record)
            if not errors:
                flash("已提交审核" if record2.status == "pending" else "已保存", "success")
                return redirect(url_for("person_records.detail", id=id))
            db.session.expire_all()
            record = current_scope().get_or_404(Declaration, id)
            return self.render("person/declare.html", **self._context(person, values, errors, record))
        values = {
            "subject_kind": record.subject_kind, "form_id": str(record.form_id), "year": str(record.year),
            "subject_id": str(record.subject_id or ""), "claimed_hours": hours_text(record.claimed_hours),
            "remarks": record.remarks or "", "fields": {k: ("1" if v is True else "" if v is False else str(v))
                                                        for k, v in (record.fields or {}).items()},
            **{k: (record.fields or {}).get(k, "") for k in declarations.RECORD_FIELDS},
            "fields_code": record.form.code,
        }
        return self.render("person/declare.html", **self._context(person, values, {}, record))

    @expose("/compute")
    def compute(self):
        """JSON: the hours the rule gives for the chosen form's fields, with the reason."""
        form_row = current_scope().get(LearningForm, request.args.get("form_id", type=int) or 0)
        if form_row is None or not form_row.enabled:
            return jsonify({"ok": False, "error": "请选择学习形式"})
        prefix = f"fields-{form_row.code}-"
        fields = {k[len(prefix):]: v for k, v in request.args.items() if k.startswith(prefix)}
        for spec in hours.FORM_FIELDS[form_row.code]:
            if spec["type"] == "bool":
                fields[spec["name"]] = fields.get(spec["name"]) in ("1", "on", "true")
        try:
            result = declarations.compute(form_row, fields, my_person(), request.args.get("year", type=int))
        except hours.HoursError as exc:
            return jsonify({"ok": False, "error": exc.message,
                            "field": f"fields-{form_row.code}-{exc.field}" if exc.field else None})
        return jsonify({"ok": True, "hours": format(Decimal(result.hours).normalize(), "f"), "reason": result.reason})


# --------------------------------------------------------------------------- progress
class ProgressView(PersonPage):
    """申报进度查询: own records of every source, filtered by status."""

    def _mine(self):
        person = my_person()
        return person, current_scope().query(Declaration).filter(Declaration.person_id == person.id)

    @expose("/")
    def index(self):
        person, query = self._mine()
        status = request.args.get("status", "all")
        if status not in FILTERS:
            status = "all"
        counts = dict(query.with_entities(Declaration.status, func.count()).group_by(Declaration.status).all())
        if status != "all":
            query = query.filter(Declaration.status == status)
        page = max(1, request.args.get("page", 1, type=int))
        rows = query.order_by(Declaration.created_at.desc(), Declaration.id.desc()).offset((page - 1) * 20).limit(21).all()
        return self.render("person/records.html", rows=rows[:20], has_more=len(rows) > 20, page=page, status=status,
                           filters=FILTERS, counts=counts, total=sum(counts.values()), statuses=DECLARATION_STATUSES,
                           kinds=SUBJECT_KINDS, sources=DECLARATION_SOURCES, can_withdraw=declarations.can_withdraw)

    @expose("/<int:id>")
    def detail(self, id):
        record = current_scope().get_or_404(Declaration, id)
        specs = {s["name"]: s for s in hours.FORM_FIELDS.get(record.form.code, [])}
        shown = []
        for name, value in (record.fields or {}).items():
            spec = specs.get(name)
            if spec is None:
                continue
            if spec["type"] == "choice":
                value = dict(map(tuple, spec["choices"])).get(value, value)
            elif spec["type"] == "bool":
                value = "是" if value else "否"
            shown.append((spec["label"], value))
        for name, label in declarations.RECORD_FIELDS.items():
            if (record.fields or {}).get(name):
                shown.append((label, record.fields[name]))
        audit_rows = db.session.scalars(select(audit.AuditLog).where(
            audit.AuditLog.object_type == "declaration", audit.AuditLog.object_id == record.id
        ).order_by(audit.AuditLog.at, audit.AuditLog.id)).all()
        return self.render("person/record_detail.html", d=record, shown=shown, statuses=DECLARATION_STATUSES,
                           kinds=SUBJECT_KINDS, sources=DECLARATION_SOURCES, levels=STEP_LEVELS,
                           step_statuses=STEP_STATUSES, can_withdraw=declarations.can_withdraw(record),
                           trail=audit_rows, action_labels=workflow.ACTION_LABELS)

    def _act(self, id, fn, done):
        record = current_scope().get_or_404(Declaration, id)
        try:
            notices = fn(record)
        except (workflow.WorkflowError, declarations.DeclarationError) as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".detail", id=id))
        db.session.commit()
        workflow.deliver(notices or [])
        flash(done, "success")
        return redirect(url_for(".detail", id=id))

    @expose("/<int:id>/withdraw", methods=("POST",))
    def withdraw(self, id):
        actor = current_user._get_current_object()
        return self._act(id, lambda d: workflow.withdraw(d, actor), "已撤销，记录已回到待提交状态")

    @expose("/<int:id>/submit", methods=("POST",))
    def submit(self, id):
        actor = current_user._get_current_object()

        def go(d):
            declarations.check_year(my_person(), d.year)
            return workflow.submit(d, actor)

        return self._act(id, go, "已提交审核")

    @expose("/<int:id>/copy", methods=("POST",))
    def copy(self, id):
        """修改后重新提交: a rejected record becomes a new draft; the rejected one stays."""
        record = current_scope().get_or_404(Declaration, id)
        stored = []

        def copier(name):
            new = declarations.copy_attachment_file(name)
            stored.append(new)
            return new

        try:
            draft = workflow.copy_rejected(record, current_user._get_current_object(), attachment_copier=copier)
        except workflow.WorkflowError as exc:
            db.session.rollback()
            for name in stored:
                declarations.remove_attachment_file(name)
            flash(exc.message, "error")
            return redirect(url_for(".detail", id=id))
        db.session.commit()
        flash("已复制为新的待提交记录，原记录及不通过原因保留在申报记录中。请修改后提交", "success")
        return redirect(url_for("person_declare.edit", id=draft.id))

    @expose("/<int:id>/delete", methods=("POST",))
    def delete(self, id):
        record = current_scope().get_or_404(Declaration, id)
        try:
            name = declarations.delete_draft(record, actor=current_user._get_current_object())
        except declarations.DeclarationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".detail", id=id))
        db.session.commit()
        declarations.remove_attachment_file(name)
        flash("记录已删除", "success")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- completion
def completion_rows(person):
    from .. import standards

    years = {date.today().year}
    years.update(y for (y,) in current_scope().query(Declaration).filter(Declaration.person_id == person.id)
                 .with_entities(Declaration.year).distinct())
    rows = []
    for year in sorted(years, reverse=True):
        try:
            result = standards.year_completion(person, year)
            rows.append({"year": year, "c": result, "error": None})
        except hours.HoursError as exc:
            rows.append({"year": year, "c": None, "error": exc.message})
    return rows


class CompletionView(PersonPage):
    """年度完成情况: every year against the standard, with the education history."""

    @expose("/")
    def index(self):
        person = my_person()
        rows = completion_rows(person)
        passed = sorted(r["year"] for r in rows if r["c"] is not None and r["c"].passed)
        return self.render("person/completion.html", person=person, rows=rows, passed=passed)

    @expose("/<int:year>")
    def year(self, year):
        from .. import standards

        person = my_person()
        records = current_scope().query(Declaration).filter(
            Declaration.person_id == person.id, Declaration.year == year).order_by(Declaration.created_at).all()
        try:
            result = standards.year_completion(person, year)
            error = None
        except hours.HoursError as exc:
            result, error = None, exc.message
        return self.render("person/completion_year.html", person=person, year=year, records=records, c=result,
                           error=error, statuses=DECLARATION_STATUSES, kinds=SUBJECT_KINDS,
                           sources=DECLARATION_SOURCES)


# --------------------------------------------------------------------------- transfer
class TransferView(PersonPage):
    """单位调转: request a move to another unit; see the progress and history."""

    def _render(self, person, errors=None, values=None):
        history = current_scope().query(TransferRequest).filter(
            TransferRequest.person_id == person.id).order_by(TransferRequest.created_at.desc()).all()
        return self.render("person/transfer.html", person=person, history=history, blockers=transfers.blockers(person),
                           regions=region_choices(), errors=errors or {}, values=values or {})

    @expose("/", methods=("GET", "POST"))
    def index(self):
        person = my_person()
        if request.method == "GET":
            return self._render(person)
        unit = approved_unit(request.form.get("to_unit_id"))
        values = {"to_unit_id": request.form.get("to_unit_id"), "to_unit_name": unit.name if unit else "",
                  "reason": request.form.get("reason", "")}
        try:
            req = transfers.start(person, unit, request.form.get("reason"), current_user._get_current_object())
        except transfers.TransferError as exc:
            db.session.rollback()
            return self._render(person, {exc.field or "form": [exc.message]}, values)
        db.session.commit()
        transfers.notify(req)
        flash("调转申请已提交，等待原单位审核", "success")
        return redirect(url_for(".index"))

    @expose("/<int:id>/cancel", methods=("POST",))
    def cancel(self, id):
        req = current_scope().get_or_404(TransferRequest, id)
        try:
            transfers.cancel(req, current_user._get_current_object())
        except transfers.TransferError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash("调转申请已撤销", "success")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- home
def _url(endpoint, **values):
    from flask import current_app

    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


@waiting_item
def person_items(membership, scope):
    if membership.role != "person" or scope.person_id is None:
        return []
    mine = scope.query(Declaration).filter(Declaration.person_id == scope.person_id)
    counts = dict(mine.with_entities(Declaration.status, func.count()).group_by(Declaration.status).all())
    year = date.today().year
    approved_this_year = mine.filter(Declaration.status == "approved", Declaration.year == year).count()
    items = [
        {"key": "my_drafts", "label": "待提交的学时申报", "count": counts.get("draft", 0),
         "url": _url("person_records.index", status="draft")},
        {"key": "my_pending", "label": "审核中的学时申报", "count": counts.get("pending", 0),
         "url": _url("person_records.index", status="pending")},
        {"key": "my_rejected", "label": "审核不通过的学时申报", "count": counts.get("rejected", 0),
         "url": _url("person_records.index", status="rejected")},
        {"key": "my_approved", "label": f"{year} 年已通过的申报", "count": approved_this_year,
         "url": _url("person_completion.year", year=year)},
    ]
    pending_title = scope.query(TitleChangeRequest).filter(
        TitleChangeRequest.person_id == scope.person_id, TitleChangeRequest.status == "pending").count()
    if pending_title:
        items.append({"key": "my_title_change", "label": "待单位审核的职务变更", "count": pending_title,
                      "url": _url("person_profile.index")})
    open_transfer = scope.query(TransferRequest).filter(
        TransferRequest.person_id == scope.person_id, TransferRequest.status.in_(transfers.OPEN)).count()
    if open_transfer:
        items.append({"key": "my_transfer", "label": "办理中的单位调转", "count": open_transfer,
                      "url": _url("person_transfer.index")})
    return items


def register(admin):
    admin.add_view(ProfileView(name="用户资料管理", endpoint="person_profile", url="/admin/my/profile"))
    admin.add_view(DeclareView(name="学时（分）申报", endpoint="person_declare", url="/admin/my/declare"))
    admin.add_view(ProgressView(name="申报进度查询", endpoint="person_records", url="/admin/my/records"))
    admin.add_view(CompletionView(name="年度完成情况", endpoint="person_completion", url="/admin/my/completion"))
    admin.add_view(TransferView(name="单位调转", endpoint="person_transfer", url="/admin/my/transfer"))
