"""Tables of the professional's portal: title changes, transfers, password-reset tokens
and past years opened for declaration."""

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import relationship

from ..extensions import db
from .core import GLOBAL, PersonOwned, now  # noqa: F401

__all__ = [
    "REQUEST_STATUSES",
    "TRANSFER_STATUSES",
    "PasswordResetUse",
    "TitleChangeRequest",
    "TransferIntake",
    "TransferRequest",
    "YearOpening",
]

REQUEST_STATUSES = {"pending": "待审核", "approved": "审核通过", "rejected": "审核不通过"}

TRANSFER_STATUSES = {
    "release_pending": "待调出单位审核",
    "intake_pending": "待调入单位审核",
    "completed": "调转完成",
    "rejected": "审核不通过",
    "cancelled": "已撤销",
}


class TitleChangeRequest(PersonOwned, db.Model):
    """A change of title series/level asked by a person (专业技术职务变更), with its result.

    The rows are the person's change history (变更记录); the unit admin decides them.
    The ancestor ids are copied from the person and follow a transfer.
    """

    __tablename__ = "title_change_request"

    id = db.Column(db.Integer, primary_key=True)
    old_series_id = db.Column(db.Integer, db.ForeignKey("title_series.id"))
    old_level = db.Column(db.String(20))
    new_series_id = db.Column(db.Integer, db.ForeignKey("title_series.id"))
    new_level = db.Column(db.String(20))
    status = db.Column(db.String(16), nullable=False, default="pending")
    reason = db.Column(db.String(500))
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    decided_at = db.Column(db.DateTime)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))

    person = relationship("Person")
    old_series = relationship("TitleSeries", foreign_keys=[old_series_id])
    new_series = relationship("TitleSeries", foreign_keys=[new_series_id])
    decided_by = relationship("Membership")

    __table_args__ = (
        Index("ix_title_change_unit_status", "unit_id", "status", "created_at"),
        Index("ix_title_change_person", "person_id", "created_at"),
    )


class TransferRequest(db.Model):
    """单位调转: a person moves from one unit to another.

    Seen from the releasing side (调出): scoped by the old unit's ancestors. The same
    table is mapped again as :class:`TransferIntake`, scoped by the new unit's.
    """

    __tablename__ = "transfer_request"
    __scope__ = {
        "person": "person_id",
        "unit": "from_unit_id",
        "county": "from_county_id",
        "city": "from_city_id",
        "competent_dept": "from_competent_dept_id",
    }

    id = db.Column(db.Integer, primary_key=True)
    person_id = db.Column(db.Integer, db.ForeignKey("person.id"), nullable=False)
    # Who started it: 'person' (the professional) or 'unit' (the old unit's admin).
    initiated_by = db.Column(db.String(10), nullable=False, default="person")
    from_unit_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    from_county_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    from_city_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    from_competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    to_unit_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    to_county_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    to_city_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    to_competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    to_department_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    status = db.Column(db.String(20), nullable=False, default="release_pending")
    reason = db.Column(db.String(500))
    reject_reason = db.Column(db.String(500))
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    released_at = db.Column(db.DateTime)
    released_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    decided_at = db.Column(db.DateTime)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))

    person = relationship("Person")
    from_unit = relationship("Org", foreign_keys=[from_unit_id])
    to_unit = relationship("Org", foreign_keys=[to_unit_id])
    to_department = relationship("Org", foreign_keys=[to_department_id])

    __table_args__ = (
        Index("ix_transfer_from_status", "from_unit_id", "status"),
        Index("ix_transfer_to_status", "to_unit_id", "status"),
        Index("ix_transfer_person", "person_id", "created_at"),
    )

    @property
    def status_label(self):
        return TRANSFER_STATUSES.get(self.status, self.status)


class TransferIntake(db.Model):
    """The same transfer rows seen from the receiving side (调入)."""

    __table__ = TransferRequest.__table__
    __scope__ = {
        "person": "person_id",
        "unit": "to_unit_id",
        "county": "to_county_id",
        "city": "to_city_id",
        "competent_dept": "to_competent_dept_id",
    }

    person = relationship("Person", viewonly=True)
    from_unit = relationship("Org", foreign_keys=[__table__.c.from_unit_id], viewonly=True)
    to_unit = relationship("Org", foreign_keys=[__table__.c.to_unit_id], viewonly=True)
    to_department = relationship("Org", foreign_keys=[__table__.c.to_department_id], viewonly=True)

    @property
    def status_label(self):
        return TRANSFER_STATUSES.get(self.status, self.status)


class PasswordResetUse(db.Model):
    """A password-reset link that has been used (a link works once)."""

    __tablename__ = "password_reset_use"
    __scope__ = GLOBAL  # never listed; written and read by the reset page only

    id = db.Column(db.Integer, primary_key=True)
    token_id = db.Column(db.String(64), nullable=False)
    account_id = db.Column(db.Integer, db.ForeignKey("account.id"), nullable=False)
    used_at = db.Column(db.DateTime, nullable=False, default=now)

    __table_args__ = (UniqueConstraint("token_id"),)


class YearOpening(db.Model):
    """A past year opened for declaration at one unit by an HRSS admin (往年学时申报)."""

    __tablename__ = "year_opening"
    __scope__ = {"unit": "unit_id", "county": "county_id", "city": "city_id", "competent_dept": "competent_dept_id"}

    id = db.Column(db.Integer, primary_key=True)
    unit_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    county_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    city_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    year = db.Column(db.Integer, nullable=False)
    opened_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    unit = relationship("Org", foreign_keys=[unit_id])
    opened_by = relationship("Membership")

    __table_args__ = (UniqueConstraint("unit_id", "year"),)
