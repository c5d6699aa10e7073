"""审计日志: who did what, when, before → after."""

from ..models import AuditLog
from ..permissions import ScopedModelView

ORDER = 90


class AuditLogView(ScopedModelView):
    roles = ("sysadmin", "hrss_admin")
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("at", "actor_account", "actor_org", "action", "object_type", "object_id", "before", "after", "comment")
    column_labels = {
        "at": "时间", "actor_account": "操作人", "actor_org": "所属组织", "action": "操作", "object_type": "对象",
        "object_id": "对象编号", "before": "变更前", "after": "变更后", "comment": "意见",
    }
    column_filters = ("action", "object_type", "object_id", "at")
    column_default_sort = ("id", True)
    count_cap = 10000


def register(admin):
    admin.add_view(AuditLogView(AuditLog, name="审计日志", endpoint="audit", category="系统管理"))
