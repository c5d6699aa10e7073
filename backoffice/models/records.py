"""Hour standards, learning forms, subjects, declarations and their review steps."""

from sqlalchemy import Index
from sqlalchemy.orm import relationship

from ..extensions import db
from .core import GLOBAL, PersonOwned, now

SUBJECT_KINDS = {"public": "公需科目", "professional": "专业科目"}

DECLARATION_STATUSES = {
    "draft": "待提交",
    "pending": "待审核",
    "approved": "审核通过",
    "rejected": "审核不通过",
}
DECLARATION_SOURCES = {"self": "个人申报", "unit": "单位申报", "institution": "施教机构申报"}
STEP_LEVELS = {"unit": "单位", "industry": "行业主管部门", "hrss": "人社部门"}
STEP_STATUSES = {
    "waiting": "未开始",
    "pending": "待审核",
    "approved": "审核通过",
    "rejected": "审核不通过",
    "returned": "已驳回",
    "withdrawn": "已撤销",
}

TITLE_GROUPS = {"all": "全部人员", "junior": "初级", "mid_senior": "中高级"}
REGION_GROUPS = {"all": "全省", "zhengzhou": "郑州地区", "other": "郑州以外地区"}


class HourStandard(db.Model):
    """年度学时标准: one row per (year range, title group, region group)."""

    __tablename__ = "hour_standard"
    __scope__ = GLOBAL

    id = db.Column(db.Integer, primary_key=True)
    year_from = db.Column(db.Integer, nullable=False)
    year_to = db.Column(db.Integer)  # None = open ended
    title_group = db.Column(db.String(20), nullable=False, default="all")
    region_group = db.Column(db.String(20), nullable=False, default="all")
    total = db.Column(db.Integer, nullable=False)
    public = db.Column(db.Integer, nullable=False)
    professional = db.Column(db.Integer, nullable=False)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    note = db.Column(db.String(200))

    def as_dict(self):
        return {
            "id": self.id,
            "year_from": self.year_from,
            "year_to": self.year_to,
            "title_group": self.title_group,
            "region_group": self.region_group,
            "total": self.total,
            "public": self.public,
            "professional": self.professional,
            "enabled": self.enabled,
        }

    def __str__(self):
        years = f"{self.year_from}–{self.year_to}" if self.year_to else f"{self.year_from} 起"
        return f"{years} {TITLE_GROUPS.get(self.title_group)} {REGION_GROUPS.get(self.region_group)}"


class LearningForm(db.Model):
    """学习形式 and its conversion rule (学时折算标准), kept as editable data."""

    __tablename__ = "learning_form"
    __scope__ = GLOBAL

    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(30), nullable=False, unique=True)
    name = db.Column(db.String(50), nullable=False, unique=True)
    rule = db.Column(db.JSON, nullable=False, default=dict)
    sort_order = db.Column(db.Integer, nullable=False, default=0)
    enabled = db.Column(db.Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class Subject(db.Model):
    """科目目录: public subjects (province HRSS) and professional ones (industry depts)."""

    __tablename__ = "subject"
    __scope__ = GLOBAL  # the catalogues are read by everyone; owners edit their own

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(20), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    year = db.Column(db.Integer, nullable=False)
    major_id = db.Column(db.Integer, db.ForeignKey("major.id"))
    owner_org_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    major = relationship("Major")
    owner_org = relationship("Org")

    __table_args__ = (Index("ix_subject_kind_year", "kind", "year", "enabled"),)

    def __str__(self):
        return f"{self.name}（{self.year}）"


class Declaration(PersonOwned, db.Model):
    """学时申报记录. Carries the ancestor ids of its person for scoping."""

    __tablename__ = "declaration"
    __scope__ = {**PersonOwned.__scope__, "institution": "declarer_org_id"}

    id = db.Column(db.Integer, primary_key=True)
    year = db.Column(db.Integer, nullable=False)
    subject_kind = db.Column(db.String(20), nullable=False)
    subject_id = db.Column(db.Integer, db.ForeignKey("subject.id"))
    form_id = db.Column(db.Integer, db.ForeignKey("learning_form.id"), nullable=False)
    fields = db.Column(db.JSON, nullable=False, default=dict)
    computed_hours = db.Column(db.Numeric(7, 1))
    computed_reason = db.Column(db.String(300))
    claimed_hours = db.Column(db.Numeric(7, 1), nullable=False)
    remarks = db.Column(db.String(1000))
    attachment = db.Column(db.String(100))
    attachment_name = db.Column(db.String(200))
    source = db.Column(db.String(20), nullable=False, default="self")
    declarer_org_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    # Professional subjects: 'industry' (via the competent department) or 'hrss'.
    route = db.Column(db.String(20))
    status = db.Column(db.String(20), nullable=False, default="draft")
    current_org_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    current_level = db.Column(db.String(20))
    reject_reason = db.Column(db.String(500))
    # Optimistic concurrency: every move bumps it and checks the old value.
    version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    submitted_at = db.Column(db.DateTime)
    decided_at = db.Column(db.DateTime)

    person = relationship("Person", backref="declarations")
    unit = relationship("Org", foreign_keys="Declaration.unit_id")
    subject = relationship("Subject")
    form = relationship("LearningForm")
    declarer_org = relationship("Org", foreign_keys=[declarer_org_id])
    current_org = relationship("Org", foreign_keys=[current_org_id])
    steps = relationship(
        "ReviewStep", backref="declaration", order_by="ReviewStep.seq", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_decl_unit_scope", "unit_id", "status", "year", "created_at"),
        Index("ix_decl_county_scope", "county_id", "status", "year", "created_at"),
        Index("ix_decl_city_scope", "city_id", "status", "year", "created_at"),
        Index("ix_decl_competent_scope", "competent_dept_id", "status", "year", "created_at"),
        Index("ix_decl_queue", "current_org_id", "status", "year", "created_at"),
        Index("ix_decl_person_year", "person_id", "year", "status"),
        Index("ix_decl_status_year", "status", "year", "created_at"),
    )

    @property
    def status_label(self):
        return DECLARATION_STATUSES.get(self.status, self.status)


class ReviewStep(db.Model):
    """One level of a declaration's review chain, fixed at submission."""

    __tablename__ = "review_step"
    __scope__ = {"via": ("declaration_id", "Declaration")}

    id = db.Column(db.Integer, primary_key=True)
    declaration_id = db.Column(db.Integer, db.ForeignKey("declaration.id"), nullable=False)
    seq = db.Column(db.Integer, nullable=False)
    level = db.Column(db.String(20), nullable=False)
    org_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    status = db.Column(db.String(20), nullable=False, default="waiting")
    actor_membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    acted_at = db.Column(db.DateTime)
    comment = db.Column(db.String(500))

    org = relationship("Org")
    actor = relationship("Membership")

    __table_args__ = (Index("ix_step_decl_seq", "declaration_id", "seq"),)
