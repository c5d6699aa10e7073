"""Tables of the certificates area: issued certificates, their number sequence and
the background print jobs of admins (证书打印)."""

from sqlalchemy import Index, text
from sqlalchemy.orm import relationship

from ..extensions import db
from .core import GLOBAL, PersonOwned, now

__all__ = ["CERTIFICATE_STATUSES", "JOB_STATUSES", "Certificate", "CertificateJob", "CertificateSequence"]

CERTIFICATE_STATUSES = {"valid": "有效", "revoked": "已作废"}
JOB_STATUSES = {"queued": "排队中", "running": "生成中", "done": "已完成", "failed": "失败"}


class Certificate(PersonOwned, db.Model):
    """继续教育证书: issued for a passed person-year or a merged range of passed years.

    Issuing fixes the number, the verification code, the hours and the frozen year
    results (``year_result_ids``) it stands on; the person's name, masked ID number
    and unit are copied so that re-printing shows the same certificate. A certificate
    is never deleted: when its year results no longer hold it is marked ``revoked``.
    At most one ``valid`` certificate per (person, year range) (partial unique index).
    Carries the person's ancestor ids for scoping.
    """

    __tablename__ = "certificate"

    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), nullable=False, unique=True)
    verify_code = db.Column(db.String(12), nullable=False)
    year_from = db.Column(db.Integer, nullable=False)
    year_to = db.Column(db.Integer, nullable=False)
    # What the certificate shows, fixed at issue.
    person_name = db.Column(db.String(50), nullable=False)
    id_number_masked = db.Column(db.String(18), nullable=False)
    unit_name = db.Column(db.String(200), nullable=False)
    public_hours = db.Column(db.Numeric(8, 1), nullable=False)
    professional_hours = db.Column(db.Numeric(8, 1), nullable=False)
    total_hours = db.Column(db.Numeric(8, 1), nullable=False)
    required_total = db.Column(db.Numeric(8, 1), nullable=False)
    year_result_ids = db.Column(db.JSON, nullable=False, default=list)
    issuer = db.Column(db.String(100), nullable=False)
    issued_at = db.Column(db.DateTime, nullable=False, default=now)
    issued_by_membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    status = db.Column(db.String(16), nullable=False, default="valid")
    revoked_at = db.Column(db.DateTime)
    revoke_reason = db.Column(db.String(500))

    person = relationship("Person")
    unit = relationship("Org", foreign_keys="Certificate.unit_id")

    __table_args__ = (
        Index("ix_certificate_person_years", "person_id", "year_from", "year_to", "status"),
        Index(
            "uq_certificate_valid",
            "person_id",
            "year_from",
            "year_to",
            unique=True,
            sqlite_where=text("status = 'valid'"),
            postgresql_where=text("status = 'valid'"),
        ),
        Index("ix_certificate_unit_year", "unit_id", "year_to", "status"),
        Index("ix_certificate_county_year", "county_id", "year_to", "status"),
        Index("ix_certificate_city_year", "city_id", "year_to", "status"),
    )

    @property
    def years_text(self):
        if self.year_from == self.year_to:
            return str(self.year_from)
        return f"{self.year_from}—{self.year_to}"

    @property
    def status_label(self):
        return CERTIFICATE_STATUSES.get(self.status, self.status)

    def __str__(self):
        return self.number


class CertificateSequence(db.Model):
    """The last sequence number used per year (the ``000123`` of ``JXJY-2024-000123``).

    Incremented with ``UPDATE … RETURNING``, which holds the row lock until commit, so
    concurrent issuers get distinct numbers; never exposed in a view.
    """

    __tablename__ = "certificate_sequence"
    __scope__ = GLOBAL

    year = db.Column(db.Integer, primary_key=True, autoincrement=False)
    last = db.Column(db.Integer, nullable=False, default=0)


class CertificateJob(db.Model):
    """A large print order (证书批量打印) built in the background into one PDF file.

    Owned by the admin's organisation: admins whose scope covers that organisation
    see it. The worker re-queries the persons through the creator's scope.
    """

    __tablename__ = "certificate_job"
    __scope__ = {"org": "org_id"}

    id = db.Column(db.Integer, primary_key=True)
    membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"), nullable=False)
    org_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False, index=True)
    year = db.Column(db.Integer, nullable=False)
    params = db.Column(db.JSON, nullable=False, default=dict)
    description = db.Column(db.String(300))
    status = db.Column(db.String(16), nullable=False, default="queued")
    total = db.Column(db.Integer, nullable=False, default=0)
    done = db.Column(db.Integer, nullable=False, default=0)
    pages = db.Column(db.Integer, nullable=False, default=0)
    skipped = db.Column(db.Integer, nullable=False, default=0)
    file_name = db.Column(db.String(100))
    error = db.Column(db.String(500))
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    updated_at = db.Column(db.DateTime, nullable=False, default=now)
    finished_at = db.Column(db.DateTime)
    # The background job that builds it (backoffice.jobs); NULL for rows made before.
    job_id = db.Column(db.Integer, db.ForeignKey("job.id"), index=True)

    membership = relationship("Membership")
    org = relationship("Org")
    job = relationship("Job")

    @property
    def status_label(self):
        return JOB_STATUSES.get(self.status, self.status)

    @property
    def percent(self):
        return int(100 * self.done / self.total) if self.total else (100 if self.status == "done" else 0)
