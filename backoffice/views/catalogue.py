"""科目目录: the public-subject catalogue (province HRSS) and each industry department's
professional-subject catalogue.

``Subject`` is global reference data (every declarer reads the catalogues), so these
views narrow it themselves on every path — list, count, details, edit, delete,
actions: the province sees and keeps the public subjects; an industry department
sees and keeps only the professional subjects it owns. A subject used by a
declaration (or any other row) is never deleted, only disabled.
"""

from flask import abort
from flask_login import current_user
from sqlalchemy import and_, false
from wtforms import validators as v
from wtforms.validators import ValidationError

from ..models import Major, Subject
from .basedata import AuditedModelView, enabled_badge

ORDER = 70
CATEGORY = "科目管理"

MIN_YEAR, MAX_YEAR = 2000, 2100


def _year_check(form, field):
    if field.data is not None and not MIN_YEAR <= field.data <= MAX_YEAR:
        raise ValidationError(f"培训年度须在 {MIN_YEAR} 到 {MAX_YEAR} 之间")


class CatalogueView(AuditedModelView):
    """One catalogue: ``kind`` and, for professional subjects, the owner's rows only."""

    kind = None
    label = "科目"
    object_type = "subject"
    unique_name_column = "name"
    unique_name_label = "科目名称"
    usage_nouns = {"declaration": "条学时申报记录"}
    column_list = ("name", "year", "major", "enabled", "created_at")
    column_details_list = ("name", "kind", "year", "major", "owner_org", "enabled", "created_at")
    column_labels = {
        "name": "科目名称", "year": "培训年度", "major": "专业", "enabled": "状态", "created_at": "创建时间",
        "kind": "科目类型", "owner_org": "维护单位", "major.name": "专业",
    }
    column_searchable_list = ("name",)
    column_filters = ("year", "major.name", "enabled", "name")
    column_formatters = {"enabled": enabled_badge}
    column_formatters_detail = {"enabled": enabled_badge,
                                "kind": lambda v_, ctx, m, n: "公需科目" if m.kind == "public" else "专业科目"}
    column_default_sort = [("year", True), ("id", False)]
    form_columns = ("name", "year", "major", "enabled")
    form_args = {
        "name": {"label": "科目名称", "validators": [v.InputRequired("请填写科目名称"),
                                                 v.Length(max=200, message="科目名称最多 200 个字")]},
        "year": {"label": "培训年度", "validators": [v.InputRequired("请填写培训年度（4 位年份）"), _year_check]},
        "major": {"label": "专业", "blank_text": "（不限专业）"},
        "enabled": {"label": "启用", "default": True},
    }

    # -- the catalogue this view keeps, on every path
    def catalogue_clause(self):
        if self.kind == "public":
            return Subject.kind == "public"
        org_id = getattr(current_user, "org_id", None)
        if org_id is None:
            return false()
        return and_(Subject.kind == "professional", Subject.owner_org_id == org_id)

    def get_query(self):
        return super().get_query().filter(self.catalogue_clause())

    def get_count_query(self):
        return super().get_count_query().filter(self.catalogue_clause())

    def get_one(self, id):
        row = self.get_query().filter(Subject.id == self._pk_value(id)).one_or_none()
        if row is None:
            abort(404)
        return row

    def field_choice_query(self, name, query):
        if name == "major":
            return query.order_by(Major.sort_order, Major.name)
        return query

    def unique_scope(self, form, row):
        year = form.year.data
        owner = row.owner_org_id if row is not None else current_user.org_id
        return (Subject.kind == self.kind, Subject.year == year, Subject.owner_org_id == owner)

    def check_form(self, form, row):
        super().check_form(form, row)
        errors = [e for e in form.name.errors if "已存在" in e]
        if errors:
            form.name.errors[:] = [e for e in form.name.errors if "已存在" not in e]
            form.name.errors.append(f"{form.year.data} 年度已有同名科目「{form.name.data}」")

    def before_save(self, form, model, is_created):
        if is_created:
            model.kind = self.kind
            model.owner_org_id = current_user.org_id
        # Never moved to another catalogue by a crafted form.
        if model.kind != self.kind or (self.kind == "professional" and model.owner_org_id != current_user.org_id):
            raise ValidationError("不能修改其他目录的科目")


class PublicSubjectView(CatalogueView):
    """公需科目目录: kept by the province HRSS."""

    kind = "public"
    label = "公需科目"
    roles = ("hrss_admin",)
    hrss_kinds = ("province_hrss",)


class ProfessionalSubjectView(CatalogueView):
    """专业科目目录: each industry department keeps its own."""

    kind = "professional"
    label = "专业科目"
    roles = ("industry_admin",)


def register(admin):
    admin.add_view(PublicSubjectView(Subject, name="公需科目目录", endpoint="public_subjects", category=CATEGORY))
    admin.add_view(ProfessionalSubjectView(Subject, name="专业科目目录", endpoint="professional_subjects",
                                           category=CATEGORY))
