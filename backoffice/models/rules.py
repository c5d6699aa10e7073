"""Tables of the rules area: frozen yearly results (年度认定结果)."""

from sqlalchemy import Index, text
from sqlalchemy.orm import relationship

from ..extensions import db
from .core import GLOBAL, PersonOwned, now  # noqa: F401

__all__ = ["YEAR_RESULT_STATUSES", "YearResult"]

YEAR_RESULT_STATUSES = {"valid": "有效", "revoked": "已撤销"}


class YearResult(PersonOwned, db.Model):
    """年度认定结果: the completion of a passed person-year, frozen when certified.

    The standard's id and figures are copied, so a later edit of the standards table
    never changes what a certificate shows. A result is never deleted: when the
    approved hours change it is marked ``revoked`` and a new one may be frozen.
    At most one ``valid`` row per (person, year) (partial unique index).
    """

    __tablename__ = "year_result"

    id = db.Column(db.Integer, primary_key=True)
    year = db.Column(db.Integer, nullable=False)
    # The standard applied (a copy: the standards table may change later).
    standard_id = db.Column(db.Integer, db.ForeignKey("hour_standard.id"))
    standard_text = db.Column(db.String(200))
    required_public = db.Column(db.Numeric(7, 1), nullable=False)
    required_professional = db.Column(db.Numeric(7, 1), nullable=False)
    required_total = db.Column(db.Numeric(7, 1), nullable=False)
    prorate_months = db.Column(db.Integer)
    # Approved hours at certification.
    public_hours = db.Column(db.Numeric(8, 1), nullable=False)
    professional_hours = db.Column(db.Numeric(8, 1), nullable=False)
    total_hours = db.Column(db.Numeric(8, 1), nullable=False)
    passed = db.Column(db.Boolean, nullable=False, default=True)
    status = db.Column(db.String(16), nullable=False, default="valid")
    certified_at = db.Column(db.DateTime, nullable=False, default=now)
    revoked_at = db.Column(db.DateTime)
    revoke_reason = db.Column(db.String(500))

    person = relationship("Person")
    unit = relationship("Org", foreign_keys="YearResult.unit_id")
    standard = relationship("HourStandard")

    __table_args__ = (
        Index("ix_year_result_person_year", "person_id", "year", "status"),
        Index(
            "uq_year_result_valid",
            "person_id",
            "year",
            unique=True,
            sqlite_where=text("status = 'valid'"),
            postgresql_where=text("status = 'valid'"),
        ),
        Index("ix_year_result_city_year", "city_id", "year", "status"),
        Index("ix_year_result_county_year", "county_id", "year", "status"),
        Index("ix_year_result_unit_year", "unit_id", "year", "status"),
    )

    @property
    def status_label(self):
        return YEAR_RESULT_STATUSES.get(self.status, self.status)

    def __str__(self):
        return f"{self.year} 年度认定结果"
