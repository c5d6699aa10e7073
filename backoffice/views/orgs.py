"""组织机构: the organisation tree as each admin may see it."""

from .. import audit
from ..models import ORG_KINDS, ORG_STATUSES, Org
from ..permissions import ScopedModelView
from . import _common as c

ORDER = 10


class OrgView(ScopedModelView):
    roles = ("sysadmin", "hrss_admin", "industry_admin", "unit_admin")
    can_create = False
    can_delete = False
    can_export = True
    column_list = ("name", "kind", "code", "parent", "competent_dept", "status", "created_at")
    column_details_list = (
        "name", "kind", "code", "parent", "competent_dept", "unit_type", "affiliation", "unit_level",
        "industry", "address", "contact_name", "contact_phone", "email", "status", "created_at",
    )
    column_export_list = ("name", "kind", "code", "parent", "competent_dept", "status")
    column_labels = {
        "name": "名称", "kind": "类别", "code": "组织机构代码", "parent": "上级", "competent_dept": "主管部门",
        "status": "状态", "created_at": "注册时间", "unit_type": "单位性质", "affiliation": "隶属关系",
        "unit_level": "单位级别", "industry": "所属行业", "address": "地址", "contact_name": "联系人",
        "contact_phone": "联系电话", "email": "电子邮箱", "parent.name": "上级",
    }
    column_searchable_list = ("name", "code")
    column_filters = ("name", "kind", "status", "unit_type", "unit_level", "affiliation", "industry")
    column_choices = {"kind": c.choices(ORG_KINDS), "status": c.choices(ORG_STATUSES)}
    column_formatters = {"kind": c.org_kind, "status": c.org_status}
    column_formatters_export = {"kind": lambda v, ctx, m, n: ORG_KINDS.get(m.kind, m.kind),
                                "status": lambda v, ctx, m, n: ORG_STATUSES.get(m.status, m.status)}
    column_default_sort = ("parent_path", False)
    form_columns = ("address", "contact_name", "contact_phone", "email")
    form_args = {"address": {"label": "地址"}, "contact_name": {"label": "联系人"},
                 "contact_phone": {"label": "联系电话"}, "email": {"label": "电子邮箱"}}

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        audit.record("edit", "org", model.id, after={f: getattr(model, f) for f in self.form_columns})


def register(admin):
    admin.add_view(OrgView(Org, name="组织机构", endpoint="orgs", category="组织机构"))
