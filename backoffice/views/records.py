"""继续教育记录: declarations as each admin, and the person, may see them."""

from flask import abort, request
from flask_admin import expose
from flask_admin.model.helpers import get_mdict_item_or_list
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import audit_text
from ..extensions import db
from ..models import (
    DECLARATION_SOURCES,
    DECLARATION_STATUSES,
    STEP_LEVELS,
    STEP_STATUSES,
    SUBJECT_KINDS,
    Account,
    AuditLog,
    Declaration,
    Org,
    ReviewStep,
)
from ..permissions import ScopedModelView
from . import _common as c


def declaration_trail(d):
    """(steps, audit rows) of one record already read through the scope."""
    steps = db.session.scalars(
        select(ReviewStep).where(ReviewStep.declaration_id == d.id).order_by(ReviewStep.seq)
        .options(joinedload(ReviewStep.org), joinedload(ReviewStep.actor))
    ).unique().all()
    audit_rows = db.session.execute(
        select(AuditLog, Account.name, Org.name)
        .outerjoin(Account, Account.id == AuditLog.actor_account_id)
        .outerjoin(Org, Org.id == AuditLog.actor_org_id)
        .where(AuditLog.object_type == "declaration", AuditLog.object_id == d.id)
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    return steps, audit_rows

ORDER = 30

STATUS = c.badge_formatter(DECLARATION_STATUSES, c.STATUS_COLOURS)


class DeclarationView(ScopedModelView):
    """继续教育记录查询 (read-only; reviewing is done in the review queues)."""

    roles = ("sysadmin", "hrss_admin", "industry_admin", "unit_admin", "institution_admin")
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    column_list = (
        "person.name", "person.id_number", "unit", "year", "subject_kind", "form", "computed_hours",
        "claimed_hours", "source", "status", "created_at",
    )
    column_details_list = (
        "person.name", "person.id_number", "unit", "year", "subject_kind", "subject", "form", "fields",
        "computed_hours", "computed_reason", "claimed_hours", "remarks", "source", "declarer_org", "status",
        "current_org", "reject_reason", "created_at", "submitted_at", "decided_at",
    )
    column_labels = {
        "person.name": "姓名", "person.id_number": "身份证号", "unit": "单位", "year": "计入年度",
        "subject_kind": "科目类型", "subject": "科目", "form": "学习形式", "fields": "学习内容",
        "computed_hours": "折算学时", "computed_reason": "折算依据", "claimed_hours": "申报学时",
        "remarks": "备注", "source": "来源", "declarer_org": "申报组织", "status": "状态",
        "current_org": "当前审核单位", "reject_reason": "不通过原因", "created_at": "创建时间",
        "submitted_at": "提交时间", "decided_at": "办结时间", "form.name": "学习形式", "unit.name": "单位名称",
    }
    column_filters = ("year", "status", "subject_kind", "form.name", "source", "person.name", "person.id_number",
                      "unit.name")
    column_choices = {
        "status": c.choices(DECLARATION_STATUSES),
        "subject_kind": c.choices(SUBJECT_KINDS),
        "source": c.choices(DECLARATION_SOURCES),
    }
    column_formatters = {
        "fields": lambda v, ctx, m, n: audit_text.fields_text(m.form.code if m.form else None, m.fields),
        "status": STATUS,
        "subject_kind": c.label_formatter(SUBJECT_KINDS),
        "source": c.label_formatter(DECLARATION_SOURCES),
    }
    # Exports print the labels as text (the list's badges are markup); label formatters
    # carry their map, so the export still reads plain SQL rows.
    column_formatters_export = {
        "status": c.label_formatter(DECLARATION_STATUSES),
        "subject_kind": c.label_formatter(SUBJECT_KINDS),
        "source": c.label_formatter(DECLARATION_SOURCES),
    }
    column_default_sort = ("created_at", True)
    count_cap = 10000
    details_template = "admin/record_details.html"

    @expose("/details/")
    def details_view(self):
        """The stock details plus the record's review progress and trail."""
        row_id = get_mdict_item_or_list(request.args, "id")
        if row_id is not None:
            d = self.get_one(row_id)  # scoped; a person's draft is 404
            steps, audit_rows = declaration_trail(d)
            self._template_args.update(trail_record=d, steps=steps, audit_rows=audit_rows, step_levels=STEP_LEVELS,
                                       step_statuses=STEP_STATUSES)
        return super().details_view()

    # A person's draft is the person's own until submitted: no admin lists, counts or opens it.
    @staticmethod
    def _not_private_draft():
        return ~((Declaration.status == "draft") & (Declaration.source == "self"))

    def get_query(self):
        return super().get_query().filter(self._not_private_draft())

    def get_count_query(self):
        return super().get_count_query().filter(self._not_private_draft())

    def get_one(self, id):
        row = super().get_one(id)
        if row.status == "draft" and row.source == "self":
            abort(404)
        return row


def register(admin):
    admin.add_view(DeclarationView(Declaration, name="继续教育记录", endpoint="records", category="继续教育"))
