"""其它继续教育形式申报: a unit declares one CE activity for several of its persons at once.

Public or professional; professional records go to the competent department or the
HRSS, as the unit chooses. Each record is declared once: a second declaration of the
same person, year, subject type, learning form and content is refused. The records
enter the same review chain (``workflow.submit``), starting above the unit.
"""

import os
import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import declarations, hours, storage, workflow
from ..extensions import db
from ..models import (
    DECLARATION_STATUSES,
    SUBJECT_KINDS,
    Declaration,
    HourStandard,
    LearningForm,
    Membership,
    Org,
    Person,
    Subject,
)
from ..permissions import ScopedBaseView, current_scope
from ..tree import stamp_declaration

ORDER = 36
ALLOWED_EXTENSIONS = {".pdf", ".jpg", ".jpeg", ".png", ".zip", ".rar", ".7z", ".doc", ".docx", ".xls", ".xlsx"}
MAX_PERSONS = 500


def _standards():
    return [row.as_dict() for row in db.session.scalars(select(HourStandard))]


def _is_zhengzhou(person):
    if person.city_id is None:
        return False
    city = db.session.get(Org, person.city_id)
    return city is not None and city.division_code == "410100"


def _decimal(raw, label, errors, key, maximum=Decimal("1000")):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
        if not value.is_finite() or value <= 0 or value > maximum:
            raise InvalidOperation
    except InvalidOperation:
        errors[key] = f"{label}应为大于 0、不超过 {maximum} 的数字"
        return None
    return value.quantize(Decimal("0.1"))


class UnitDeclareView(ScopedBaseView):
    """其它继续教育形式申报（公需/专业）"""

    roles = ("unit_admin",)

    def _forms(self):
        return db.session.scalars(
            select(LearningForm).where(LearningForm.enabled.is_(True), LearningForm.code != "training_class")
            .order_by(LearningForm.sort_order)
        ).all()

    def _persons(self, q=None):
        stmt = (
            current_scope().select(Person)
            .join(Membership, Membership.id == Person.membership_id)
            .where(Membership.status == "active", Person.unit_id == current_user.org_id)
            .order_by(Person.name, Person.id)
            .limit(MAX_PERSONS)
        )
        if q:
            stmt = stmt.where((Person.name == q) | (Person.id_number == q.upper()) |
                              ((Person.name >= q) & (Person.name < q + "\uffff")))
        return db.session.scalars(stmt.options(joinedload(Person.department))).all()

    def _render(self, values, errors):
        unit = current_user.org
        kind = values.get("kind") if values.get("kind") in SUBJECT_KINDS else "public"
        forms = self._forms()
        form = next((f for f in forms if f.code == values.get("form")), forms[0] if forms else None)
        year = date.today().year
        subjects = db.session.scalars(
            select(Subject).where(Subject.kind == kind, Subject.year == year, Subject.enabled.is_(True))
            .order_by(Subject.name)
        ).all()
        recent = db.session.scalars(
            current_scope().select(Declaration)
            .where(Declaration.source == "unit", Declaration.declarer_org_id == unit.id)
            .options(joinedload(Declaration.person), joinedload(Declaration.form))
            .order_by(Declaration.created_at.desc(), Declaration.id.desc()).limit(20)
        ).unique().all()
        return self.render(
            "review/declare.html", unit=unit, kind=kind, forms=forms, form=form,
            spec=hours.FORM_FIELDS.get(form.code, []) if form else [], subjects=subjects, year=year,
            persons=self._persons(values.get("q")), values=values, errors=errors,
            selected={str(x) for x in values.get("persons", [])}, subject_kinds=SUBJECT_KINDS,
            recent=recent, statuses=DECLARATION_STATUSES, routes=workflow.ROUTES,
        )

    @expose("/")
    def index_view(self):
        values = request.args.to_dict()
        return self._render(values, {})

    @expose("/", methods=["POST"])
    def declare_view(self):
        form_values = request.form.to_dict()
        form_values["persons"] = request.form.getlist("persons")
        errors = {}
        try:
            created = self._declare(form_values, errors)
        except workflow.WorkflowError as exc:
            db.session.rollback()
            errors["_"] = str(exc)
            created = None
        if errors or created is None:
            db.session.rollback()
            return self._render(form_values, errors), 200
        db.session.commit()
        flash(f"已为 {created} 人申报并提交审核", "success")
        return redirect(url_for(".index_view", kind=form_values.get("kind"), form=form_values.get("form")))

    # -- the declaration itself
    def _declare(self, values, errors):
        unit = current_user.org
        year = date.today().year
        kind = values.get("kind")
        if kind not in SUBJECT_KINDS:
            errors["kind"] = "请选择科目类型"
        form = db.session.scalar(select(LearningForm).where(
            LearningForm.code == values.get("form"), LearningForm.enabled.is_(True),
            LearningForm.code != "training_class"))
        if form is None:
            errors["form"] = "请选择学习形式"
        route = None
        if kind == "professional":
            route = values.get("route")
            if route not in workflow.ROUTES:
                errors["route"] = "请选择审核部门：行业主管部门或同级人社部门"
            elif route == "industry" and not unit.competent_dept_id:
                errors["route"] = "本单位没有行业主管部门，请选择同级人社部门"
        subject = None
        if values.get("subject"):
            try:
                subject = db.session.scalar(select(Subject).where(
                    Subject.id == int(values["subject"]), Subject.kind == kind, Subject.year == year,
                    Subject.enabled.is_(True)))
            except ValueError:
                subject = None
            if subject is None:
                errors["subject"] = "所选科目不存在或已停用"
        content = (values.get("content") or "").strip()
        if not content:
            errors["content"] = "请填写学习内容（名称）"
        elif len(content) > 200:
            errors["content"] = "学习内容不能超过 200 个字"
        dates = {}
        for key, label in (("start_date", "开始日期"), ("end_date", "结束日期")):
            raw = (values.get(key) or "").strip()
            if raw:
                try:
                    dates[key] = date.fromisoformat(raw)
                except ValueError:
                    errors[key] = f"{label}格式应为 年-月-日"
        if dates.get("start_date") and dates.get("end_date") and dates["start_date"] > dates["end_date"]:
            errors["end_date"] = "结束日期不能早于开始日期"
        organiser = (values.get("organiser") or "").strip()[:100]
        remarks = (values.get("remarks") or "").strip()
        if len(remarks) > 1000:
            errors["remarks"] = "备注不能超过 1000 个字"
        claimed = _decimal(values.get("claimed_hours"), "申报学时", errors, "claimed_hours")
        person_ids = []
        for raw in values.get("persons") or []:
            try:
                person_ids.append(int(raw))
            except ValueError:
                continue
        persons = []
        if person_ids:
            persons = db.session.scalars(
                current_scope().select(Person)
                .join(Membership, Membership.id == Person.membership_id)
                .where(Person.id.in_(person_ids), Membership.status == "active", Person.unit_id == unit.id)
            ).all()
        if not persons:
            errors["persons"] = "请至少选择一名本单位人员"
        elif len(persons) != len(set(person_ids)):
            errors["persons"] = "所选人员中有不属于本单位或未审核通过的人员"
        upload = request.files.get("attachment")
        if upload is not None and upload.filename:
            ext = os.path.splitext(upload.filename)[1].lower()
            if ext not in ALLOWED_EXTENSIONS:
                errors["attachment"] = "附件格式不支持，请上传 PDF、图片或压缩包（多个文件请先压缩为一个文件）"
        if errors:
            return None

        # Form-specific fields → computed hours (per person: some rules use the year's standard).
        fields = {}
        for spec in hours.FORM_FIELDS.get(form.code, []):
            raw = values.get(f"f_{spec['name']}")
            if spec["type"] == "bool":
                fields[spec["name"]] = raw in ("1", "on", "true", "y")
            elif raw not in (None, ""):
                fields[spec["name"]] = raw.strip()
        fields["content"] = content
        if organiser:
            fields["organiser"] = organiser
        for key, value in dates.items():
            fields[key] = value.isoformat()

        # Each record is declared once (same person, year, subject type, form and content).
        existing = db.session.execute(
            select(Declaration.person_id, Declaration.fields)
            .where(Declaration.person_id.in_([p.id for p in persons]), Declaration.year == year,
                   Declaration.subject_kind == kind, Declaration.form_id == form.id)
        ).all()
        dup_ids = {pid for pid, f in existing if (f or {}).get("content", "").strip() == content}
        if dup_ids:
            names = "、".join(p.name for p in persons if p.id in dup_ids)
            errors["persons"] = f"以下人员已申报过相同的继续教育记录，不能重复申报：{names}"
            return None

        standards = _standards()
        stored = original = None
        if upload is not None and upload.filename:
            ext = os.path.splitext(upload.filename)[1].lower()
            ext = ext if re.fullmatch(r"\.[a-z0-9]{1,10}", ext) else ""
            stored = f"{declarations.ATTACHMENT_PREFIX}/{uuid.uuid4().hex}{ext}"
            original = os.path.basename(upload.filename)[:200]
        created = []
        for person in persons:
            try:
                std = hours.standard_for(standards, year, person.title_level, _is_zhengzhou(person))
            except hours.HoursError:
                std = {}
            try:
                result = hours.compute_hours(form.code, fields, form.rule or None,
                                             public_required=std.get("public"),
                                             professional_required=std.get("professional"))
            except hours.HoursError as exc:
                errors[f"f_{exc.field}" if exc.field else "_"] = exc.message
                return None
            d = Declaration(
                year=year, subject_kind=kind, subject_id=subject.id if subject else None, form_id=form.id,
                fields=fields, computed_hours=result.hours, computed_reason=result.reason[:300],
                claimed_hours=claimed if claimed is not None else result.hours, remarks=remarks or None,
                attachment=stored, attachment_name=original, source="unit", declarer_org_id=unit.id, route=route,
                status="draft",
            )
            stamp_declaration(d, person)
            db.session.add(d)
            db.session.flush()
            workflow.submit(d, current_user, route=route)
            created.append(d)
        if stored:
            upload.stream.seek(0)
            storage.put(stored, upload.stream)
        return len(created)


def register(admin):
    admin.add_view(UnitDeclareView(name="其它继续教育形式申报", endpoint="unit_declare", url="/admin/unit-declare",
                                   category="学时申报"))
