"""人员与账号: professionals (专技人员) and organisation admins as each admin may see them."""

from flask import abort, flash
from flask_admin.actions import action
from flask_admin.model.template import TemplateLinkRowAction
from flask_login import current_user
from wtforms.validators import ValidationError

from .. import accounts, audit
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
        "email": "电子邮箱", "membership.status": "状态", "created_at": "注册时间", "unit.name": "单位名称",
        "department.name": "部门",
    }
    column_searchable_list = ("name", "id_number")
    column_filters = ("name", "id_number", "unit.name", "department.name", "title_level")
    column_formatters = {
        "gender": c.label_formatter({"male": "男", "female": "女"}),
        "title_level": c.title_level,
        "membership.status": c.label_formatter(ACCOUNT_STATUSES),
    }
    column_choices = {"title_level": c.choices(TITLE_LEVELS)}
    form_columns = ("department", "phone", "email")
    form_args = {"department": {"label": "部门"}, "phone": {"label": "手机号码"}, "email": {"label": "电子邮箱"}}
    form_ajax_refs = {"department": {"fields": ("name",), "page_size": 10, "placeholder": "输入部门名称搜索"}}
    column_default_sort = ("id", True)
    count_cap = 10000
    # FAQ: 重置密码 is a button on the person's row (the unit admin's; the bulk action stays).
    column_extra_row_actions = [TemplateLinkRowAction("daily_rows.reset_password", "重置密码")]

    def field_choice_query(self, name, query):
        if name == "department":
            return query.filter(Org.kind == "department")
        return query

    def after_model_validate(self, model, is_created):
        if model.department is not None and model.department.unit_id != model.unit_id:
            raise ValidationError("所选部门不属于该人员所在单位")

    def is_action_allowed(self, name):
        if name == "reset_password":
            return current_user.is_authenticated and current_user.role == "unit_admin"
        return super().is_action_allowed(name)

    @action("reset_password", "重置密码", "确定重置所选人员的密码吗？重置后的密码为身份证号后六位，登录后须修改。")
    def action_reset_password(self, ids):
        if current_user.role != "unit_admin":
            abort(403)
        membership_ids = [
            r.membership_id for r in self.get_query().filter(Person.id.in_([int(i) for i in ids]))
            .with_entities(Person.membership_id)
        ]
        n, refused = accounts.reset_passwords(self.scope, membership_ids, "id_tail", actor=current_user)
        if n:
            flash(f"已重置 {n} 人的密码为身份证号后六位，登录后须修改密码", "success")
        if refused:
            flash(f"{refused} 人同时拥有本单位以外的角色，未重置（请联系系统管理员）", "error")
        if not n and not refused:
            flash("没有可重置的人员", "warning")

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        audit.record("edit", "person", model.id, after={
            "department_id": model.department_id, "phone": model.phone, "email": model.email})
        from .. import summary

        summary.refresh([model.id])  # the statistics group a unit's persons by department


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

    @action("disable", "停用", "确定停用所选账号吗？停用后将无法登录。")
    def action_disable(self, ids):
        n, refused = accounts.set_membership_status(self.scope, ids, "disabled", actor=current_user)
        for message in refused:
            flash(message, "error")
        flash(f"已停用 {n} 个账号", "success")

    @action("enable", "启用", "确定启用所选账号吗？")
    def action_enable(self, ids):
        n, refused = accounts.set_membership_status(self.scope, ids, "active", actor=current_user)
        for message in refused:
            flash(message, "error")
        flash(f"已启用 {n} 个账号", "success")


def register(admin):
    admin.add_view(PersonView(Person, name="专技人员信息", endpoint="persons", category="人员管理"))
    admin.add_view(MembershipView(Membership, name="管理员账号", endpoint="memberships", category="人员管理"))


__all__ = ["PersonView", "MembershipView", "Account"]
