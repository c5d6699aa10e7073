"""人员与账号: professionals (专技人员) and organisation admins as each admin may see them."""

from flask import flash
from flask_admin.actions import action
from sqlalchemy import select, update
from wtforms.validators import ValidationError

from .. import audit
from ..extensions import db
from ..models import ACCOUNT_STATUSES, ROLES, TITLE_LEVELS, Account, Membership, Org, Person
from ..permissions import ScopedModelView
from . import _common as c

ORDER = 20


class PersonView(ScopedModelView):
    """专技人员信息: list, details, edit of contact and department."""

    roles = ("sysadmin", "hrss_admin", "industry_admin", "unit_admin")
    can_create = False
    can_delete = False
    can_export = True
    column_list = ("name", "id_number", "unit", "department", "gender", "title_level", "phone", "membership.status")
    column_details_list = (
        "name", "id_number", "unit", "department", "gender", "birth_date", "ethnicity", "native_place",
        "school", "major", "title_series", "title_level", "phone", "email", "membership.status", "created_at",
    )
    column_export_list = ("name", "id_number", "unit", "department", "title_level", "phone", "email")
    column_labels = {
        "name": "姓名", "id_number": "身份证号", "unit": "单位", "department": "部门", "gender": "性别",
        "birth_date": "出生日期", "ethnicity": "民族", "native_place": "籍贯", "school": "毕业院校",
        "major": "所学专业", "title_series": "职务系列", "title_level": "职称级别", "phone": "手机号码",
        "email": "电子邮箱", "membership.status": "状态", "created_at": "注册时间", "unit.name": "单位",
        "department.name": "部门",
    }
    column_searchable_list = ("name", "id_number")
    column_filters = ("name", "id_number", "department.name", "title_level")
    column_formatters = {
        "gender": c.label_formatter({"male": "男", "female": "女"}),
        "title_level": c.title_level,
        "membership.status": lambda v, ctx, m, n: ACCOUNT_STATUSES.get(m.membership.status, ""),
    }
    column_choices = {"title_level": c.choices(TITLE_LEVELS)}
    form_columns = ("department", "phone", "email")
    form_args = {"department": {"label": "部门"}, "phone": {"label": "手机号码"}, "email": {"label": "电子邮箱"}}
    form_ajax_refs = {"department": {"fields": ("name",), "page_size": 10, "placeholder": "输入部门名称搜索"}}
    column_default_sort = ("id", True)
    count_cap = 10000

    def field_choice_query(self, name, query):
        if name == "department":
            return query.filter(Org.kind == "department")
        return query

    def after_model_validate(self, model, is_created):
        if model.department is not None and model.department.unit_id != model.unit_id:
            raise ValidationError("所选部门不属于该人员所在单位")

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        audit.record("edit", "person", model.id, after={
            "department_id": model.department_id, "phone": model.phone, "email": model.email})


class MembershipView(ScopedModelView):
    """管理账户: organisation admins (and persons' logins for the sysadmin)."""

    roles = ("sysadmin", "hrss_admin")
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    column_list = ("account.name", "account.id_number", "role", "org", "is_super", "status", "created_at")
    column_labels = {
        "account.name": "姓名", "account.id_number": "身份证号", "role": "角色", "org": "所属组织",
        "is_super": "超级管理员", "status": "状态", "created_at": "注册时间", "org.name": "所属组织",
    }
    column_searchable_list = ("account.name", "account.id_number")
    column_filters = ("role", "status", "org.name", "is_super")
    column_choices = {"role": c.choices(ROLES), "status": c.choices(ACCOUNT_STATUSES)}
    column_formatters = {"role": c.role_label, "status": c.account_status}
    column_default_sort = ("id", True)

    def get_query(self):
        # Admin accounts only: professionals are managed in the personnel list.
        return super().get_query().filter(Membership.role != "person")

    def get_count_query(self):
        return super().get_count_query().filter(Membership.role != "person")

    def _set_status(self, ids, status, verb):
        ids = [int(i) for i in ids]
        if not ids:
            flash("没有可操作的记录", "warning")
            return
        rows = db.session.execute(select(Membership.id, Membership.status).where(Membership.id.in_(ids))).all()
        changed = [r.id for r in rows if r.status != status and r.status in ("active", "disabled")]
        if changed:
            db.session.execute(
                update(Membership).where(Membership.id.in_(changed)).values(status=status)
                .execution_options(synchronize_session=False)
            )
            for row in rows:
                if row.id in changed:
                    audit.record(verb, "membership", row.id, before={"status": row.status}, after={"status": status})
        db.session.commit()
        flash(f"已{ '停用' if status == 'disabled' else '启用' } {len(changed)} 个账号", "success")

    @action("disable", "停用", "确定停用所选账号吗？停用后将无法登录。")
    def action_disable(self, ids):
        self._set_status(ids, "disabled", "disable")

    @action("enable", "启用", "确定启用所选账号吗？")
    def action_enable(self, ids):
        self._set_status(ids, "active", "enable")


def register(admin):
    admin.add_view(PersonView(Person, name="专技人员信息", endpoint="persons", category="人员管理"))
    admin.add_view(MembershipView(Membership, name="管理账户", endpoint="memberships", category="人员管理"))


__all__ = ["PersonView", "MembershipView", "Account"]
