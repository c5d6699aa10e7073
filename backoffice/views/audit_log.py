"""审计日志: who did what, when, before → after — in Chinese words, names instead of ids."""

from .. import audit_text
from ..models import AuditLog
from ..permissions import ScopedModelView

ORDER = 90


def _fmt(fn):
    return lambda view, context, model, name: fn(model)


class AuditLogView(ScopedModelView):
    roles = ("sysadmin", "hrss_admin")
    can_create = False
    can_edit = False
    can_delete = False
    can_set_page_size = True
    column_list = ("at", "actor_account", "actor_org", "action", "object_type", "object_id", "before", "after", "comment")
    column_labels = {
        "at": "时间", "actor_account": "操作人", "actor_org": "所属组织", "action": "操作", "object_type": "对象类型",
        "object_id": "对象", "before": "变更前", "after": "变更后", "comment": "意见",
    }
    column_filters = ("action", "object_type", "at")
    column_choices = {
        "action": sorted(audit_text.ACTIONS.items(), key=lambda kv: kv[1]),
        "object_type": sorted(audit_text.OBJECTS.items(), key=lambda kv: kv[1]),
    }
    column_formatters = {
        "actor_account": _fmt(lambda m: m.actor_account.name if m.actor_account else "系统"),
        "actor_org": _fmt(lambda m: m.actor_org.name if m.actor_org else ""),
        "action": _fmt(lambda m: audit_text.action_label(m.action)),
        "object_type": _fmt(lambda m: audit_text.object_label(m.object_type)),
        "object_id": _fmt(lambda m: audit_text.object_name(m.object_type, m.object_id)),
        "before": _fmt(lambda m: audit_text.change_text(m.before)),
        "after": _fmt(lambda m: audit_text.change_text(m.after)),
    }
    column_formatters_export = column_formatters
    column_default_sort = ("id", True)
    count_cap = 10000


def register(admin):
    admin.add_view(AuditLogView(AuditLog, name="审计日志", endpoint="audit", category="系统管理"))
