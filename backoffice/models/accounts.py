"""Tables of the accounts area: organisation change requests (单位信息变更) and their history."""

from sqlalchemy import Index
from sqlalchemy.orm import relationship

from ..extensions import db
from .core import GLOBAL, now  # noqa: F401

__all__ = ["OrgChangeRequest", "ORG_CHANGE_TYPES", "ORG_CHANGE_STATUSES"]

ORG_CHANGE_TYPES = {"info": "修改单位信息", "superior": "更换上级部门"}
ORG_CHANGE_STATUSES = {"pending": "待审核", "approved": "审核通过", "rejected": "审核不通过", "withdrawn": "已撤销"}


class OrgChangeRequest(db.Model):
    """A request to change an organisation's name / credit code or its superior.

    Reviewed by the organisation's current HRSS parent (``reviewer_org``). A change of
    superior to another HRSS needs both sides (FAQ 单位如何更换上级部门): ``stage`` is
    'old' while the current superior decides, then 'new' while the new one does; the
    change takes effect on the last approval. Rows are never deleted: together they are
    the change history (变更记录).
    """

    __tablename__ = "org_change_request"
    # Visible to the admins above the organisation and above its new superior.
    __scope__ = {"org": ("org_id", "new_parent_id")}

    id = db.Column(db.Integer, primary_key=True)
    org_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False, index=True)
    change_type = db.Column(db.String(16), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="pending", index=True)
    reviewer_org_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)

    old_name = db.Column(db.String(200))
    new_name = db.Column(db.String(200))
    old_code = db.Column(db.String(32))
    new_code = db.Column(db.String(32))
    old_parent_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    new_parent_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    old_competent_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    new_competent_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    # Whether the competent department is part of the request (None is a valid new value).
    change_competent = db.Column(db.Boolean, nullable=False, default=False)
    # Superior changes across HRSS nodes: 'old' → 'new'; None for one-step requests.
    stage = db.Column(db.String(8))
    released_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    released_at = db.Column(db.DateTime)
    scan_file = db.Column(db.String(200))
    reason = db.Column(db.String(500))

    requested_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    decided_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    decision_comment = db.Column(db.String(500))
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    decided_at = db.Column(db.DateTime)

    org = relationship("Org", foreign_keys=[org_id])
    reviewer_org = relationship("Org", foreign_keys=[reviewer_org_id])
    old_parent = relationship("Org", foreign_keys=[old_parent_id])
    new_parent = relationship("Org", foreign_keys=[new_parent_id])
    old_competent = relationship("Org", foreign_keys=[old_competent_id])
    new_competent = relationship("Org", foreign_keys=[new_competent_id])
    requested_by = relationship("Membership", foreign_keys=[requested_by_id])
    decided_by = relationship("Membership", foreign_keys=[decided_by_id])

    __table_args__ = (Index("ix_org_change_request_org_status", "org_id", "status"),)

    @property
    def type_label(self):
        return ORG_CHANGE_TYPES.get(self.change_type, self.change_type)

    @property
    def status_label(self):
        if self.status == "pending" and self.stage == "old":
            return "待原上级部门审核"
        if self.status == "pending" and self.stage == "new":
            return "原上级已同意，待新上级部门审核"
        return ORG_CHANGE_STATUSES.get(self.status, self.status)
