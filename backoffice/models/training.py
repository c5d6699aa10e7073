"""Tables of the training area: training plans (institutions' and units'), training
classes, trainee scores, and units' plan hour declarations with their attachments.

Every table carries the ancestor ids the permission layer reads (``__scope__``):

* an institution sees its own rows (``institution_id``);
* a unit sees its own plans and declarations (``unit_id``);
* HRSS bureaus see rows whose ``county_id`` / ``city_id`` lies under them (copied from
  the owning organisation, so the HRSS a plan was sent to — the owner's own HRSS — and
  every HRSS above it see it);
* an industry department sees rows whose ``competent_dept_id`` is itself: for an
  institution's plan the department it was sent to, for a unit's rows the unit's
  competent department.
"""

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import relationship

from ..extensions import db
from .core import now

__all__ = [
    "PLAN_STATUSES",
    "PLAN_ROUTES",
    "ATTACHMENT_KINDS",
    "TrainingPlan",
    "TrainingPlanStep",
    "TrainingClass",
    "TraineeScore",
    "UnitPlanDeclaration",
    "UnitPlanAttendee",
    "UnitPlanAttachment",
]

PLAN_STATUSES = {"draft": "待送审", "pending": "待审核", "approved": "审核通过", "rejected": "审核不通过"}
PLAN_ROUTES = {"hrss": "人社部门", "industry": "行业主管部门"}
ATTACHMENT_KINDS = {"sign_in": "签到表", "photo": "现场图片", "video": "培训视频", "other": "其他材料"}

_SCOPE = {
    "institution": "institution_id",
    "unit": "unit_id",
    "county": "county_id",
    "city": "city_id",
    "competent_dept": "competent_dept_id",
}


class TrainingPlan(db.Model):
    """培训计划 of a training institution, or 单位培训计划 of a unit."""

    __tablename__ = "training_plan"
    __scope__ = dict(_SCOPE)

    id = db.Column(db.Integer, primary_key=True)
    owner_kind = db.Column(db.String(20), nullable=False)  # 'institution' | 'unit'
    owner_org_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    institution_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    unit_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    county_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    city_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"))

    name = db.Column(db.String(200), nullable=False)
    subject_kind = db.Column(db.String(20), nullable=False)
    subject_id = db.Column(db.Integer, db.ForeignKey("subject.id"))
    training_year = db.Column(db.Integer, nullable=False)
    ce_year = db.Column(db.Integer, nullable=False)
    form_id = db.Column(db.Integer, db.ForeignKey("learning_form.id"), nullable=False)
    planned_trainees = db.Column(db.Integer, nullable=False)
    hours = db.Column(db.Numeric(7, 1), nullable=False)
    start_date = db.Column(db.Date, nullable=False)
    end_date = db.Column(db.Date, nullable=False)
    location = db.Column(db.String(200))
    content = db.Column(db.Text)

    # Where it is sent: 'hrss' or 'industry' (professional plans of institutions only).
    route = db.Column(db.String(20), nullable=False, default="hrss")
    status = db.Column(db.String(20), nullable=False, default="draft")
    current_org_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    current_level = db.Column(db.String(20))
    reject_reason = db.Column(db.String(500))
    version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    submitted_at = db.Column(db.DateTime)
    decided_at = db.Column(db.DateTime)

    owner_org = relationship("Org", foreign_keys=[owner_org_id])
    institution = relationship("Org", foreign_keys=[institution_id])
    unit = relationship("Org", foreign_keys=[unit_id])
    competent_dept = relationship("Org", foreign_keys=[competent_dept_id])
    current_org = relationship("Org", foreign_keys=[current_org_id])
    subject = relationship("Subject")
    form = relationship("LearningForm")
    steps = relationship(
        "TrainingPlanStep", backref="plan", order_by="TrainingPlanStep.seq", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_training_plan_institution", "institution_id", "status", "ce_year"),
        Index("ix_training_plan_unit", "unit_id", "status", "ce_year"),
        Index("ix_training_plan_county", "county_id", "status"),
        Index("ix_training_plan_city", "city_id", "status"),
        Index("ix_training_plan_competent", "competent_dept_id", "status"),
        Index("ix_training_plan_queue", "current_org_id", "status"),
    )

    @property
    def status_label(self):
        return PLAN_STATUSES.get(self.status, self.status)

    @property
    def locked(self):
        return self.status == "approved"

    def __str__(self):
        return self.name


class TrainingPlanStep(db.Model):
    """One level of a plan's review chain, fixed when the plan is sent."""

    __tablename__ = "training_plan_step"
    __scope__ = {"via": ("plan_id", "TrainingPlan")}  # in scope when its plan is

    id = db.Column(db.Integer, primary_key=True)
    plan_id = db.Column(db.Integer, db.ForeignKey("training_plan.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    seq = db.Column(db.Integer, nullable=False)
    level = db.Column(db.String(20), nullable=False)  # 'industry' | 'hrss'
    org_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    status = db.Column(db.String(20), nullable=False, default="waiting")
    actor_membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    acted_at = db.Column(db.DateTime)
    comment = db.Column(db.String(500))

    org = relationship("Org")
    actor = relationship("Membership")


class TrainingClass(db.Model):
    """培训班, created from an approved plan of an institution."""

    __tablename__ = "training_class"
    __scope__ = {"institution": "institution_id", "county": "county_id", "city": "city_id"}

    id = db.Column(db.Integer, primary_key=True)
    plan_id = db.Column(db.Integer, db.ForeignKey("training_plan.id"), nullable=False, index=True)
    institution_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    county_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    city_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    name = db.Column(db.String(200), nullable=False)
    subject_kind = db.Column(db.String(20), nullable=False)
    subject_id = db.Column(db.Integer, db.ForeignKey("subject.id"))
    training_year = db.Column(db.Integer, nullable=False)
    ce_year = db.Column(db.Integer, nullable=False)
    form_id = db.Column(db.Integer, db.ForeignKey("learning_form.id"), nullable=False)
    planned_trainees = db.Column(db.Integer, nullable=False)
    hours = db.Column(db.Numeric(7, 1), nullable=False)
    start_date = db.Column(db.Date, nullable=False)
    end_date = db.Column(db.Date, nullable=False)
    location = db.Column(db.String(200))
    teacher = db.Column(db.String(100))
    remark = db.Column(db.String(500))
    # Declared once (每个培训班仅允许上报一次成绩): set by one guarded UPDATE.
    declared_at = db.Column(db.DateTime)
    declared_route = db.Column(db.String(20))
    declared_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    declared_count = db.Column(db.Integer)
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    plan = relationship("TrainingPlan", backref="classes")
    institution = relationship("Org", foreign_keys=[institution_id])
    subject = relationship("Subject")
    form = relationship("LearningForm")
    declared_by = relationship("Membership")

    __table_args__ = (
        Index("ix_training_class_institution", "institution_id", "ce_year", "created_at"),
        Index("ix_training_class_county", "county_id"),
        Index("ix_training_class_city", "city_id"),
    )

    @property
    def declared(self):
        return self.declared_at is not None

    def __str__(self):
        return self.name


class TraineeScore(db.Model):
    """学员成绩: one registered person in one class."""

    __tablename__ = "trainee_score"
    __scope__ = {"institution": "institution_id", "person": "person_id"}

    id = db.Column(db.Integer, primary_key=True)
    class_id = db.Column(db.Integer, db.ForeignKey("training_class.id"), nullable=False)
    institution_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False, index=True)
    person_id = db.Column(db.Integer, db.ForeignKey("person.id"), nullable=False, index=True)
    id_number = db.Column(db.String(18), nullable=False)
    name = db.Column(db.String(50), nullable=False)
    score = db.Column(db.Numeric(5, 1), nullable=False)
    passed = db.Column(db.Boolean, nullable=False, default=True)
    remark = db.Column(db.String(500))
    declaration_id = db.Column(db.Integer, db.ForeignKey("declaration.id"), unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    training_class = relationship("TrainingClass", backref=db.backref("scores", lazy="dynamic"))
    person = relationship("Person")
    declaration = relationship("Declaration")

    __table_args__ = (UniqueConstraint("class_id", "person_id", name="uq_trainee_score_class_person"),)

    @property
    def passed_label(self):
        return "合格" if self.passed else "不合格"


class UnitPlanDeclaration(db.Model):
    """A unit's hour declaration for the attendees of one of its approved plans."""

    __tablename__ = "unit_plan_declaration"
    __scope__ = {"unit": "unit_id", "county": "county_id", "city": "city_id", "competent_dept": "competent_dept_id"}

    id = db.Column(db.Integer, primary_key=True)
    plan_id = db.Column(db.Integer, db.ForeignKey("training_plan.id"), nullable=False, index=True)
    unit_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False, index=True)
    county_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    city_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    hours = db.Column(db.Numeric(7, 1), nullable=False)
    remark = db.Column(db.String(1000))
    declared_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    plan = relationship("TrainingPlan", backref="unit_declarations")
    unit = relationship("Org", foreign_keys=[unit_id])
    attendees = relationship("UnitPlanAttendee", backref="batch", cascade="all, delete-orphan")
    attachments = relationship("UnitPlanAttachment", backref="batch", cascade="all, delete-orphan")


class UnitPlanAttendee(db.Model):
    """One attendee of a unit plan, declared once per plan."""

    __tablename__ = "unit_plan_attendee"
    __scope__ = {"via": ("batch_id", "UnitPlanDeclaration")}  # in scope when its batch is

    id = db.Column(db.Integer, primary_key=True)
    batch_id = db.Column(db.Integer, db.ForeignKey("unit_plan_declaration.id"), nullable=False, index=True)
    plan_id = db.Column(db.Integer, db.ForeignKey("training_plan.id"), nullable=False)
    person_id = db.Column(db.Integer, db.ForeignKey("person.id"), nullable=False)
    declaration_id = db.Column(db.Integer, db.ForeignKey("declaration.id"), unique=True)

    person = relationship("Person")
    declaration = relationship("Declaration")

    __table_args__ = (UniqueConstraint("plan_id", "person_id", name="uq_unit_plan_attendee_plan_person"),)


class UnitPlanAttachment(db.Model):
    """签到表 / 现场图片 / 培训视频 of a unit plan declaration, kept in the file storage (``unit_plans/<stored_name>``)."""

    __tablename__ = "unit_plan_attachment"
    __scope__ = {"via": ("batch_id", "UnitPlanDeclaration")}  # in scope when its batch is

    id = db.Column(db.Integer, primary_key=True)
    batch_id = db.Column(db.Integer, db.ForeignKey("unit_plan_declaration.id"), nullable=False, index=True)
    kind = db.Column(db.String(20), nullable=False)
    stored_name = db.Column(db.String(100), nullable=False, unique=True)
    original_name = db.Column(db.String(200), nullable=False)
    content_type = db.Column(db.String(100))
    size = db.Column(db.Integer, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    @property
    def kind_label(self):
        return ATTACHMENT_KINDS.get(self.kind, self.kind)
