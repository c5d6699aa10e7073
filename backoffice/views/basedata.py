"""基础数据: the sysadmin's reference tables.

单位性质, 隶属关系, 单位级别, 所属行业, 职务系列, 专业, 行政区划, 行业主管部门, 人社局,
学习形式与折算标准, 年度学时标准. Every list is searchable and filterable; every create,
edit, enable/disable and delete writes an audit entry (before → after) in the same
transaction. A row that other rows use is never deleted: the delete is refused with
the reason (它被多少行使用) and the row can be disabled instead.

``enabled_choices(model)`` is the query other areas use for choice lists, so that a
disabled row disappears from every form.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from flask import flash, session
from flask_admin.actions import action
from flask_admin.contrib.sqla.validators import Unique
from markupsafe import Markup, escape
from sqlalchemy import func, inspect, or_, select
from wtforms import fields as wtf
from wtforms import validators as v
from wtforms.validators import ValidationError

from .. import audit, hours, standards, summary_jobs
from ..extensions import db
from ..models import (
    HRSS_KINDS,
    ORG_KINDS,
    ORG_STATUSES,
    REGION_GROUPS,
    TITLE_GROUPS,
    Affiliation,
    HourStandard,
    Industry,
    LearningForm,
    Major,
    Org,
    Region,
    TitleSeries,
    UnitLevel,
    UnitType,
)
from ..permissions import ScopedModelView
from ..tree import attach
from ..validators import is_valid_credit_code
from . import _common as c
from ._tree_select import HrssTreeSelect
from .rule_form import RuleField

ORDER = 80
CATEGORY = "基础数据"

ENABLED_LABELS = {True: "启用", False: "停用"}

UNTRANSLATED = {
    "Failed to create record.": "保存失败：请按提示修改后重新提交。",
    "Failed to save record.": "保存失败：请按提示修改后重新提交。",
}


# --------------------------------------------------------------------------- helpers
def enabled_choices(model, current=None):
    """Query of the enabled rows of a base-data model, in display order.

    ``current`` (a row or its primary key) stays in the list even when disabled, so
    that editing a record that still points at a disabled row does not fail.
    Use it as ``QuerySelectField(query_factory=lambda: enabled_choices(Major))``.
    """
    query = db.session.query(model)
    return only_enabled(query, model, current)


def only_enabled(query, model, current=None):
    """Narrow a (scoped) query of ``model`` to enabled rows (plus ``current``)."""
    pk = inspect(model).primary_key[0]
    clause = model.enabled.is_(True) if hasattr(model, "enabled") else None
    if clause is not None:
        if current is not None:
            current_pk = getattr(current, pk.key, current)
            clause = or_(clause, pk == current_pk)
        query = query.filter(clause)
    order = []
    if hasattr(model, "sort_order"):
        order.append(model.sort_order)
    order.append(getattr(model, "name", pk) if model is not Region else Region.code)
    if model is not Region:
        order.append(pk)
    return query.order_by(*order)


def row_values(model):
    """The column values of a row (for the audit log)."""
    mapper = inspect(type(model))
    return {attr.key: getattr(model, attr.key) for attr in mapper.column_attrs}


def values_before_change(model):
    """The column values a row had before the pending (unflushed) changes."""
    state = inspect(model)
    before = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        before[attr.key] = history.deleted[0] if history.deleted else getattr(model, attr.key)
    return before


def _changed(before, after):
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


# Nouns for usage counts: "已被 12 个单位使用".
TABLE_NOUNS = {
    "org": "个组织机构",
    "person": "名专业技术人员",
    "subject": "个科目",
    "declaration": "条学时申报记录",
    "year_result": "条年度认定结果",
    "membership": "个账号",
    "audit_log": "条审计日志",
    "review_step": "条审核记录",
    "hour_standard": "条年度学时标准",
    "learning_form": "个学习形式",
}


def usages(model, row_id, nouns=None):
    """[(noun, count)] of the rows of every table that refer to this row by foreign key.

    Found from the schema, so tables added by other areas are counted too. On the
    row's own table the row itself is not counted (org nodes carry their own id).
    """
    nouns = {**TABLE_NOUNS, **(nouns or {})}
    target = model.__table__
    by_table = {}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is target:
                by_table.setdefault(table, []).append(fk.parent)
    found = []
    for table, cols in by_table.items():
        stmt = select(func.count()).select_from(table).where(or_(*[col == row_id for col in cols]))
        if table is target:
            pk = list(target.primary_key.columns)[0]
            stmt = stmt.where(pk != row_id)
        n = db.session.scalar(stmt)
        if n:
            found.append((nouns.get(table.name, f"条「{table.name}」记录"), n))
    return found


def usage_message(label, found):
    parts = "、".join(f"{n} {noun}" for noun, n in found)
    return f"该{label}已被 {parts}使用，不能删除，可停用"


def enabled_badge(view, context, model, name):
    value = getattr(model, name)
    colour = "success" if value else "secondary"
    return Markup('<span class="badge badge-{}">{}</span>').format(colour, ENABLED_LABELS.get(bool(value)))


# --------------------------------------------------------------------------- base view
class AuditedModelView(ScopedModelView):
    """Create, edit, enable/disable and delete with audit entries and usage-checked deletes.

    Subclasses set ``label`` (单位性质…), ``object_type`` (audit) and may set
    ``usage_nouns`` and ``enabled_attr``/``enabled_values`` for the switch actions.
    """

    label = "记录"
    object_type = None
    usage_nouns = None
    # Name of the on/off column and its (on, off) values.
    enabled_attr = "enabled"
    enabled_values = (True, False)
    # Unique-name check: column and its Chinese name.
    unique_name_column = None
    unique_name_label = "名称"

    def __init__(self, model, *args, **kwargs):
        if self.object_type is None:
            self.object_type = model.__tablename__
        super().__init__(model, *args, **kwargs)

    def render(self, template, **kwargs):
        # Flask-Admin's compiled zh catalogue misses a few of its own messages.
        flashes = session.get("_flashes")
        if flashes:
            session["_flashes"] = [(cat, UNTRANSLATED.get(str(msg), msg)) for cat, msg in flashes]
        return super().render(template, **kwargs)

    # -- forms: Chinese unique checks instead of Flask-Admin's English ones
    def scaffold_form(self):
        form_class = super().scaffold_form()
        for name in dir(form_class):
            field = getattr(form_class, name, None)
            kwargs = getattr(field, "kwargs", None)
            if isinstance(kwargs, dict) and kwargs.get("validators"):
                kwargs["validators"] = [x for x in kwargs["validators"] if not isinstance(x, Unique)]
        return form_class

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form._row = None
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._row = obj
        return form

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "_row"):  # delete and action forms have no checks
            return ok
        try:
            self.check_form(form, getattr(form, "_row", None))
        except ValidationError as exc:
            flash(str(exc), "error")
            return False
        return not any(f.errors for f in form)

    def check_form(self, form, row):
        """Hook: add field errors (``field.errors.append``) or raise ValidationError."""
        column = self.unique_name_column
        if column and hasattr(form, column):
            field = getattr(form, column)
            value = (field.data or "").strip()
            field.data = value
            if not value:
                field.errors.append(f"请填写{self.unique_name_label}")
            else:
                stmt = select(func.count()).select_from(self.model).where(getattr(self.model, column) == value)
                for clause in self.unique_scope(form, row):
                    stmt = stmt.where(clause)
                if row is not None:
                    pk = inspect(self.model).primary_key[0]
                    stmt = stmt.where(pk != getattr(row, pk.key))
                if db.session.scalar(stmt):
                    field.errors.append(f"{self.unique_name_label}「{value}」已存在，不能重复")

    def unique_scope(self, form, row):
        """Extra clauses for the unique-name check (e.g. same year and owner)."""
        return ()

    # -- writes with audit entries
    def on_model_change(self, form, model, is_created):
        before = None if is_created else values_before_change(model)
        self.before_save(form, model, is_created)
        super().on_model_change(form, model, is_created)
        after = row_values(model)
        if is_created:
            audit.record("create", self.object_type, self._audit_id(model), after=after)
        else:
            old, new = _changed(before, after)
            if new:
                audit.record("edit", self.object_type, self._audit_id(model), before=old, after=new)

    def before_save(self, form, model, is_created):
        """Hook: set derived fields, attach to the tree… (raise ValidationError to refuse)."""

    def _audit_id(self, model):
        pk = inspect(self.model).primary_key[0]
        value = getattr(model, pk.key)
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    def usage_of(self, model):
        pk = inspect(self.model).primary_key[0]
        return usages(self.model, getattr(model, pk.key), self.usage_nouns)

    def on_model_delete(self, model):
        found = self.usage_of(model)
        if found:
            raise ValidationError(usage_message(self.label, found))
        audit.record("delete", self.object_type, self._audit_id(model), before=row_values(model),
                     comment=f"删除{self.label}：{model}")

    # -- enable / disable
    def _switch(self, ids, on):
        value = self.enabled_values[0] if on else self.enabled_values[1]
        verb = "启用" if on else "停用"
        rows = self.get_query().filter(
            inspect(self.model).primary_key[0].in_([self._pk_value(i) for i in ids])
        ).all()
        changed = []
        try:
            for row in rows:
                old = getattr(row, self.enabled_attr)
                if old == value:
                    continue
                self.check_switch(row, on)
                setattr(row, self.enabled_attr, value)
                audit.record("enable" if on else "disable", self.object_type, self._audit_id(row),
                             before={self.enabled_attr: old}, after={self.enabled_attr: value})
                changed.append(row)
            db.session.flush()
            self.after_switch(changed, on)
        except ValidationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return
        db.session.commit()
        flash(f"已{verb} {len(changed)} 条{self.label}", "success")

    def check_switch(self, row, on):
        """Hook: raise ValidationError to refuse enabling/disabling ``row``."""

    def after_switch(self, rows, on):
        """Hook: check the table after a switch (raise ValidationError to undo)."""

    def _pk_value(self, value):
        pk = inspect(self.model).primary_key[0]
        try:
            return pk.type.python_type(value)
        except (TypeError, ValueError):
            return None

    @action("delete", "删除", "确定删除所选记录吗？已被使用的记录不能删除，可停用。")
    def action_delete(self, ids):
        pk = inspect(self.model).primary_key[0]
        rows = self.get_query().filter(pk.in_([self._pk_value(i) for i in ids])).all()
        deleted = sum(1 for row in rows if self.delete_model(row))
        if deleted:
            flash(f"已删除 {deleted} 条{self.label}", "success")

    @action("disable", "停用", "确定停用所选记录吗？停用后不再出现在选择列表中。")
    def action_disable(self, ids):
        self._switch(ids, False)

    @action("enable", "启用", "确定启用所选记录吗？")
    def action_enable(self, ids):
        self._switch(ids, True)


# --------------------------------------------------------------------------- simple tables
class BaseDataView(AuditedModelView):
    """单位性质, 隶属关系, 单位级别, 所属行业, 职务系列, 专业."""

    roles = ("sysadmin",)
    unique_name_column = "name"
    column_list = ("name", "code", "sort_order", "enabled")
    column_labels = {"name": "名称", "code": "代码", "sort_order": "排序", "enabled": "状态"}
    column_searchable_list = ("name", "code")
    column_filters = ("name", "code", "enabled")
    column_default_sort = [("sort_order", False), ("id", False)]
    column_formatters = {"enabled": enabled_badge}
    column_details_list = ("id", "name", "code", "sort_order", "enabled")
    form_columns = ("name", "code", "sort_order", "enabled")
    form_args = {
        "name": {"label": "名称", "validators": [v.InputRequired("请填写名称"), v.Length(max=100, message="名称最多 100 个字")]},
        "code": {"label": "代码", "validators": [v.Optional(), v.Length(max=20, message="代码最多 20 个字符")]},
        "sort_order": {"label": "排序", "default": 0,
                       "validators": [v.InputRequired("请填写排序号（整数）"),
                                      v.NumberRange(min=0, max=99999, message="排序号须为 0 到 99999 的整数")]},
        "enabled": {"label": "启用", "default": True},
    }

    def __init__(self, model, label, usage_noun=None, **kwargs):
        self.label = label
        self.usage_nouns = {"org": usage_noun} if usage_noun else None
        super().__init__(model, **kwargs)


# --------------------------------------------------------------------------- regions
REGION_KINDS = {
    "province": "省",
    "city": "地级市",
    "sub_prefecture_city": "省直管市",
    "district": "市辖区",
    "county": "县",
    "county_city": "县级市",
    "functional_zone": "功能区",
}


class RegionView(AuditedModelView):
    roles = ("sysadmin",)
    label = "行政区划"
    column_list = ("code", "name", "parent_code", "kind", "enabled")
    column_labels = {"code": "区划代码", "name": "名称", "parent_code": "上级区划代码", "kind": "类别", "enabled": "状态"}
    column_searchable_list = ("code", "name")
    column_filters = ("code", "name", "parent_code", "kind", "enabled")
    column_choices = {"kind": c.choices(REGION_KINDS)}
    column_formatters = {"kind": c.label_formatter(REGION_KINDS), "enabled": enabled_badge}
    column_default_sort = ("code", False)
    column_details_list = ("code", "name", "parent_code", "kind", "enabled")
    form_columns = ("code", "name", "parent_code", "kind", "enabled")
    form_overrides = {"kind": wtf.SelectField}
    form_args = {
        "code": {"label": "区划代码", "validators": [v.InputRequired("请填写 6 位区划代码")]},
        "name": {"label": "名称", "validators": [v.InputRequired("请填写名称"), v.Length(max=50, message="名称最多 50 个字")]},
        "parent_code": {"label": "上级区划代码", "validators": [v.Optional()]},
        "kind": {"label": "类别", "choices": c.choices(REGION_KINDS)},
        "enabled": {"label": "启用", "default": True},
    }

    def get_edit_form(self):
        # The code is the key (and the HRSS login code): fixed once created.
        return type("RegionEditForm", (super().get_edit_form(),), {"code": None})

    def check_form(self, form, row):
        super().check_form(form, row)
        if row is None:
            code = (form.code.data or "").strip()
            form.code.data = code
            if not re.fullmatch(r"\d{6}", code):
                form.code.errors.append("区划代码须为 6 位数字")
            elif db.session.get(Region, code) is not None:
                form.code.errors.append(f"区划代码「{code}」已存在")
        parent = (form.parent_code.data or "").strip() or None
        form.parent_code.data = parent
        own = row.code if row is not None else (form.code.data or "")
        if parent is not None:
            if parent == own:
                form.parent_code.errors.append("上级区划不能是自身")
            elif db.session.get(Region, parent) is None:
                form.parent_code.errors.append(f"上级区划代码「{parent}」不存在")
        elif form.kind.data != "province":
            form.parent_code.errors.append("请填写上级区划代码")

    def usage_of(self, model):
        children = db.session.scalar(select(func.count()).select_from(Region).where(Region.parent_code == model.code))
        orgs = db.session.scalar(select(func.count()).select_from(Org).where(Org.division_code == model.code))
        return [(noun, n) for noun, n in (("个下级行政区划", children), ("个组织机构", orgs)) if n]

    def _audit_id(self, model):
        return int(model.code) if model.code and model.code.isdigit() else None


# --------------------------------------------------------------------------- org nodes
def _credit_code_check(form, field):
    value = (field.data or "").strip().upper()
    field.data = value
    if not is_valid_credit_code(value):
        raise ValidationError("统一社会信用代码不正确（18 位，含校验位）")


class OrgNodeView(AuditedModelView):
    """Org nodes kept by the sysadmin (行业主管部门, 人社局): add under an HRSS node."""

    roles = ("sysadmin",)
    kinds = ()
    enabled_attr = "status"
    enabled_values = ("approved", "disabled")
    unique_name_column = None
    column_labels = {
        "name": "名称", "kind": "类别", "code": "组织机构代码", "parent": "上级人社部门", "industry": "所属行业",
        "status": "状态", "address": "地址", "contact_name": "联系人", "contact_phone": "联系电话",
        "email": "电子邮箱", "created_at": "创建时间", "parent.name": "上级人社部门", "industry.name": "所属行业",
        "division_code": "区划代码",
    }
    column_searchable_list = ("name", "code")
    column_choices = {"kind": c.choices(ORG_KINDS), "status": c.choices(ORG_STATUSES)}
    column_formatters = {"kind": c.org_kind, "status": c.org_status}
    column_default_sort = ("parent_path", False)

    # -- only nodes of this view's kinds, on every path
    def get_query(self):
        return super().get_query().filter(Org.kind.in_(self.kinds))

    def get_count_query(self):
        return super().get_count_query().filter(Org.kind.in_(self.kinds))

    def get_one(self, id):
        row = super().get_one(id)
        if row.kind not in self.kinds:
            from flask import abort

            abort(404)
        return row

    def field_choice_query(self, name, query):
        if name == "parent":
            return query.filter(Org.kind.in_(HRSS_KINDS), Org.status != "disabled").order_by(Org.parent_path)
        return query

    def get_edit_form(self):
        # A node is not moved from here: the subtree's ancestor ids would follow.
        return type(f"{type(self).__name__}EditForm", (super().get_edit_form(),), {"parent": None, "kind": None})

    def _check_code_unique(self, form, row, kinds, label):
        code = (form.code.data or "").strip()
        form.code.data = code
        stmt = select(func.count()).select_from(Org).where(Org.code == code, Org.kind.in_(kinds))
        if row is not None:
            stmt = stmt.where(Org.id != row.id)
        if code and db.session.scalar(stmt):
            form.code.errors.append(f"{label}「{code}」已被其他组织使用")

    def _check_name_unique(self, form, row):
        name = (form.name.data or "").strip()
        form.name.data = name
        stmt = select(func.count()).select_from(Org).where(Org.name == name, Org.kind.in_(self.kinds))
        if row is not None:
            stmt = stmt.where(Org.id != row.id)
        if name and db.session.scalar(stmt):
            form.name.errors.append(f"名称「{name}」已存在，不能重复")

    def before_save(self, form, model, is_created):
        if is_created:
            model.status = "approved"
            attach(model, model.parent)


_CONTACT_ARGS = {
    "address": {"label": "地址", "validators": [v.Optional(), v.Length(max=200, message="地址最多 200 个字")]},
    "contact_name": {"label": "联系人", "validators": [v.Optional(), v.Length(max=50, message="联系人最多 50 个字")]},
    "contact_phone": {"label": "联系电话", "validators": [v.Optional(), v.Length(max=30, message="联系电话最多 30 个字符")]},
    "email": {"label": "电子邮箱", "validators": [v.Optional(), v.Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="电子邮箱格式不正确")]},
}


class IndustryDeptView(OrgNodeView):
    """行业主管部门: created under the HRSS of its level (province, city or county)."""

    label = "行业主管部门"
    kinds = ("industry_dept",)
    column_list = ("name", "code", "parent", "industry", "contact_name", "contact_phone", "status")
    column_details_list = ("name", "code", "parent", "industry", "address", "contact_name", "contact_phone",
                           "email", "status", "created_at")
    column_filters = ("name", "code", "parent.name", "industry.name", "status")
    form_columns = ("parent", "name", "code", "industry", "address", "contact_name", "contact_phone", "email")
    form_args = {
        "parent": {"label": "上级人社部门", "validators": [v.DataRequired("请选择上级人社部门")],
                   "blank_text": "（请选择）", "widget": HrssTreeSelect()},
        "name": {"label": "名称", "validators": [v.InputRequired("请填写名称"), v.Length(max=200, message="名称最多 200 个字")]},
        "code": {"label": "统一社会信用代码（登录用组织机构代码）",
                 "validators": [v.InputRequired("请填写统一社会信用代码"), _credit_code_check]},
        "industry": {"label": "所属行业", "blank_text": "（无）"},
        **_CONTACT_ARGS,
    }

    def check_form(self, form, row):
        super().check_form(form, row)
        self._check_name_unique(form, row)
        self._check_code_unique(form, row, ORG_KINDS.keys(), "统一社会信用代码")
        parent = getattr(form, "parent", None)
        if parent is not None and parent.data is not None and parent.data.kind not in HRSS_KINDS:
            parent.errors.append("上级须为人社部门")

    def before_save(self, form, model, is_created):
        if is_created:
            model.kind = "industry_dept"
        super().before_save(form, model, is_created)


HRSS_NEW_KINDS = {"city_hrss": "市人社局", "county_hrss": "区（县）人社局"}
HRSS_PARENT_KIND = {"city_hrss": "province_hrss", "county_hrss": "city_hrss"}


class HrssView(OrgNodeView):
    """人社局: city and county bureaus; the code is the division code (login code)."""

    label = "人社局"
    kinds = HRSS_KINDS
    column_list = ("name", "kind", "code", "parent", "contact_name", "contact_phone", "status")
    column_details_list = ("name", "kind", "code", "division_code", "parent", "address", "contact_name",
                           "contact_phone", "email", "status", "created_at")
    column_filters = ("name", "code", "kind", "parent.name", "status")
    column_default_sort = ("code", False)
    form_columns = ("kind", "parent", "name", "code", "address", "contact_name", "contact_phone", "email")
    form_overrides = {"kind": wtf.SelectField}
    form_args = {
        "kind": {"label": "类别", "choices": c.choices(HRSS_NEW_KINDS)},
        "parent": {"label": "上级人社部门", "validators": [v.DataRequired("请选择上级人社部门")],
                   "blank_text": "（请选择）", "widget": HrssTreeSelect()},
        "name": {"label": "名称", "validators": [v.InputRequired("请填写名称"), v.Length(max=200, message="名称最多 200 个字")]},
        "code": {"label": "行政区划代码（登录用组织机构代码）", "validators": [v.InputRequired("请填写 6 位行政区划代码")]},
        **_CONTACT_ARGS,
    }

    def check_form(self, form, row):
        super().check_form(form, row)
        self._check_name_unique(form, row)
        code = (form.code.data or "").strip()
        if not re.fullmatch(r"\d{6}", code):
            form.code.errors.append("行政区划代码须为 6 位数字")
            return
        self._check_code_unique(form, row, HRSS_KINDS, "行政区划代码")
        if db.session.get(Region, code) is None:
            form.code.errors.append(f"行政区划代码「{code}」不在行政区划表中，请先添加该行政区划")
        if row is None:
            kind, parent = form.kind.data, form.parent.data
            if parent is not None and parent.kind != HRSS_PARENT_KIND.get(kind):
                wanted = ORG_KINDS[HRSS_PARENT_KIND.get(kind, "province_hrss")]
                form.parent.errors.append(f"{HRSS_NEW_KINDS.get(kind, '人社局')}的上级须为{wanted}")
        elif row.kind == "province_hrss" and code != row.code:
            form.code.errors.append("省人社厅的代码不能修改")

    def before_save(self, form, model, is_created):
        model.division_code = model.code
        super().before_save(form, model, is_created)

    def check_switch(self, row, on):
        if not on and row.kind == "province_hrss":
            raise ValidationError("省人社厅不能停用")


# --------------------------------------------------------------------------- learning forms
def _check_rule(form, field):
    code = getattr(getattr(form, "_row", None), "code", None)
    if code is None or field.data is None:
        return
    try:
        hours.validate_rule(code, field.data)
    except hours.HoursError as exc:
        raise ValidationError(exc.message) from None


def rule_formatter(view, context, model, name):
    try:
        text = standards.describe_rule(model.code, model.rule)
    except (hours.HoursError, KeyError, TypeError, ValueError):
        text = "（折算标准有误，请编辑修正）"
    return Markup("<div class='rule-text'>{}</div>").format(escape(text))


class RecomputesSummary:
    """Mixed into the views of what the person-year summary is computed from (learning
    forms' rules, yearly standards): every save, delete and enable/disable queues the
    summary's recompute."""

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        summary_jobs.schedule_recompute(self.object_type)

    def after_model_delete(self, model):
        super().after_model_delete(model)
        summary_jobs.schedule_recompute(self.object_type)

    def _switch(self, ids, on):
        result = super()._switch(ids, on)
        summary_jobs.schedule_recompute(self.object_type)
        return result


class LearningFormView(RecomputesSummary, AuditedModelView):
    """学习形式与折算标准: names, order, on/off and the conversion rule of each form.

    The set of forms is fixed by the computation code (one rule shape per form), so
    forms are not added or deleted here; each is edited or disabled.
    """

    roles = ("sysadmin",)
    label = "学习形式"
    can_create = False
    can_delete = False
    unique_name_column = "name"
    column_list = ("sort_order", "name", "code", "rule", "enabled")
    column_details_list = ("name", "code", "rule", "sort_order", "enabled")
    column_labels = {"sort_order": "排序", "name": "学习形式", "code": "代码", "rule": "学时折算标准", "enabled": "状态"}
    column_searchable_list = ("name", "code")
    column_filters = ("name", "enabled")
    column_default_sort = ("sort_order", False)
    column_formatters = {"rule": rule_formatter, "enabled": enabled_badge}
    column_formatters_detail = {"rule": rule_formatter, "enabled": enabled_badge}
    form_columns = ("name", "rule", "sort_order", "enabled")
    form_overrides = {"rule": RuleField}
    form_args = {
        "name": {"label": "学习形式名称", "validators": [v.InputRequired("请填写名称"), v.Length(max=50, message="名称最多 50 个字")]},
        "rule": {"label": "学时折算标准", "validators": [v.InputRequired("请填写折算标准"), _check_rule]},
        "sort_order": {"label": "排序", "validators": [v.InputRequired("请填写排序号（整数）"),
                                                     v.NumberRange(min=0, max=99999, message="排序号须为 0 到 99999 的整数")]},
        "enabled": {"label": "启用"},
    }

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None:
            form.rule.set_code(obj.code)  # one labelled input per figure of this form's rule
            form.rule.description = Markup("<br>").join(rule_help(obj.code, obj.rule))
        return form


def rule_help(code, rule):
    """The current rule in words, and how rank figures are entered."""
    lines = []
    try:
        lines.append(f"当前标准：{standards.describe_rule(code, rule)}")
    except (hours.HoursError, KeyError, TypeError, ValueError):
        lines.append("当前标准有误，请修正。")
    lines.append("数字均为学时；按署名或职责排序的项目依次填写第一名、第二名……的学时，用逗号分隔。")
    return lines


# --------------------------------------------------------------------------- hour standards
MAX_HOURS = 500
MIN_YEAR, MAX_YEAR = 1990, 2100


def _hours_field_check(form, field):
    if field.data is None:
        return
    if field.data < 0:
        raise ValidationError("学时不能为负数")
    if field.data == 0:
        raise ValidationError("学时须大于 0")
    if field.data > MAX_HOURS:
        raise ValidationError(f"学时不能超过 {MAX_HOURS}，请检查是否多输入了数字")


def _year_field_check(form, field):
    if field.data is None:
        return
    if not MIN_YEAR <= field.data <= MAX_YEAR:
        raise ValidationError(f"年度须在 {MIN_YEAR} 到 {MAX_YEAR} 之间")


STANDARD_FIELD_OF = {
    "year_from": "year_from", "year_to": "year_to", "title_group": "title_group",
    "region_group": "region_group", "total": "total", "public": "public", "professional": "professional",
}


class HourStandardView(RecomputesSummary, AuditedModelView):
    """年度学时标准: add a year (range), edit, disable. The whole table is validated."""

    roles = ("sysadmin",)
    label = "年度学时标准"
    column_list = ("year_from", "year_to", "title_group", "region_group", "total", "public", "professional",
                   "enabled", "note")
    column_details_list = column_list
    column_labels = {
        "year_from": "起始年度", "year_to": "截止年度", "title_group": "职称", "region_group": "地区",
        "total": "总学时", "public": "公需科目学时", "professional": "专业科目学时", "enabled": "状态",
        "note": "备注",
    }
    column_filters = ("year_from", "year_to", "title_group", "region_group", "enabled")
    column_searchable_list = ("note",)
    column_choices = {"title_group": c.choices(TITLE_GROUPS), "region_group": c.choices(REGION_GROUPS)}
    column_formatters = {
        "title_group": c.label_formatter(hours.TITLE_GROUPS),
        "region_group": c.label_formatter(hours.REGION_GROUPS),
        "year_to": lambda v_, ctx, m, n: m.year_to if m.year_to is not None else "至今",
        "enabled": enabled_badge,
    }
    column_default_sort = [("year_from", False), ("id", False)]
    form_columns = ("year_from", "year_to", "title_group", "region_group", "public", "professional", "total",
                    "enabled", "note")
    form_overrides = {"title_group": wtf.SelectField, "region_group": wtf.SelectField}
    form_args = {
        "year_from": {"label": "起始年度", "validators": [v.InputRequired("请填写起始年度"), _year_field_check]},
        "year_to": {"label": "截止年度（留空表示至今）", "validators": [v.Optional(), _year_field_check]},
        "title_group": {"label": "职称", "choices": list(hours.TITLE_GROUPS.items()), "default": "all"},
        "region_group": {"label": "地区", "choices": list(hours.REGION_GROUPS.items()), "default": "all"},
        "public": {"label": "公需科目学时", "validators": [v.InputRequired("请填写公需科目学时"), _hours_field_check]},
        "professional": {"label": "专业科目学时",
                         "validators": [v.InputRequired("请填写专业科目学时"), _hours_field_check]},
        "total": {"label": "总学时", "validators": [v.InputRequired("请填写总学时"), _hours_field_check]},
        "enabled": {"label": "启用", "default": True},
        "note": {"label": "备注", "validators": [v.Optional(), v.Length(max=200, message="备注最多 200 个字")]},
    }

    def _candidate(self, form, row):
        data = {
            "id": row.id if row is not None else None,
            "year_from": form.year_from.data,
            "year_to": form.year_to.data,
            "title_group": form.title_group.data,
            "region_group": form.region_group.data,
            "total": form.total.data,
            "public": form.public.data,
            "professional": form.professional.data,
            "enabled": bool(form.enabled.data),
        }
        return data

    def check_form(self, form, row):
        super().check_form(form, row)
        if any(f.errors for f in form):
            return
        candidate = self._candidate(form, row)
        if candidate["year_to"] is not None and candidate["year_from"] > candidate["year_to"]:
            form.year_to.errors.append("截止年度不能早于起始年度")
            return
        if candidate["public"] + candidate["professional"] != candidate["total"]:
            form.total.errors.append(
                f"公需科目学时 {candidate['public']} + 专业科目学时 {candidate['professional']} "
                f"= {candidate['public'] + candidate['professional']}，须等于总学时 {candidate['total']}"
            )
            return
        rows = [r for r in standards.standards_rows() if row is None or r["id"] != row.id]
        self._validate_table(rows + [candidate], form)

    def _validate_table(self, rows, form=None):
        try:
            hours.validate_standards(rows)
        except hours.HoursError as exc:
            message = exc.message
            if "年度重叠" in message:
                message += "。如需从某年起执行新标准，请先将原标准的截止年度改为前一年，再添加新标准"
            field = getattr(form, STANDARD_FIELD_OF.get(exc.field or "", ""), None) if form is not None else None
            if field is None:
                raise ValidationError(message) from None
            field.errors.append(message)

    def after_switch(self, rows, on):
        if on and rows:
            self._validate_table(standards.standards_rows())

    def on_model_delete(self, model):
        found = self.usage_of(model)
        if found:
            raise ValidationError(usage_message(self.label, found) + "（已认定年度须保留其适用的标准）")
        this_year = date.today().year
        if model.year_from <= this_year:
            # A standard that took effect is the rule its years were (or are being) judged by.
            span = f"{model.year_from}–{model.year_to} 年" if model.year_to is not None else f"{model.year_from} 年起"
            raise ValidationError(
                f"{span}的学时标准已用于往年或本年度的学时认定，不能删除。"
                "如需执行新标准，请将其截止年度改为前一年，再添加新标准；错误的标准可停用"
            )
        super().on_model_delete(model)


# --------------------------------------------------------------------------- registration
SIMPLE_TABLES = (
    (UnitType, "单位性质", "unit_types", "个单位"),
    (Affiliation, "隶属关系", "affiliations", "个单位"),
    (UnitLevel, "单位级别", "unit_levels", "个单位"),
    (Industry, "所属行业", "industries", "个组织机构"),
    (TitleSeries, "职务系列", "title_series", None),
    (Major, "专业", "majors", None),
)


def register(admin):
    for model, label, endpoint, noun in SIMPLE_TABLES:
        admin.add_view(BaseDataView(model, label, usage_noun=noun, name=label, endpoint=endpoint, category=CATEGORY))
    admin.add_view(RegionView(Region, name="行政区划", endpoint="regions", category=CATEGORY))
    admin.add_view(IndustryDeptView(Org, name="行业主管部门", endpoint="industry_depts", category=CATEGORY))
    admin.add_view(HrssView(Org, name="人社局", endpoint="hrss_orgs", category=CATEGORY))
    admin.add_view(LearningFormView(LearningForm, name="学习形式与折算标准", endpoint="learning_forms",
                                    category=CATEGORY))
    admin.add_view(HourStandardView(HourStandard, name="年度学时标准", endpoint="hour_standards", category=CATEGORY))


__all__ = ["enabled_choices", "only_enabled", "usages", "AuditedModelView", "Decimal"]
