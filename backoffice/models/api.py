"""Tables of the institutions' API: keys and the receipts that make score batches
idempotent.

* ``ApiKey``: one key of a training institution. Only a SHA-256 hash of the
  high-entropy secret is stored; ``prefix`` (public, unique) finds the row. A key acts
  as the institution through the membership of the super-admin who created it.
* ``ApiScoreReceipt``: the caller's idempotency key of one accepted trainee result, so
  the same result posted twice never creates a second row.
"""

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import relationship

from ..extensions import db
from .core import now

__all__ = ["ApiKey", "ApiScoreReceipt"]


class ApiKey(db.Model):
    """API 密钥 of a training institution."""

    __tablename__ = "api_key"
    __scope__ = {"institution": "institution_id"}

    id = db.Column(db.Integer, primary_key=True)
    institution_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False, index=True)
    # The membership the key acts as (the super-admin who created it).
    membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"), nullable=False)
    name = db.Column(db.String(100), nullable=False)
    prefix = db.Column(db.String(16), nullable=False, unique=True)
    secret_hash = db.Column(db.String(64), nullable=False)
    # Allowed client addresses or networks, one per line (None = any address).
    allowed_ips = db.Column(db.Text)
    expires_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    revoked_at = db.Column(db.DateTime)
    revoked_by_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    last_used_at = db.Column(db.DateTime)

    institution = relationship("Org")
    membership = relationship("Membership", foreign_keys=[membership_id])
    revoked_by = relationship("Membership", foreign_keys=[revoked_by_id])

    @property
    def ip_list(self):
        return [line.strip() for line in (self.allowed_ips or "").splitlines() if line.strip()]

    def state(self, at=None):
        """'active', 'revoked' or 'expired'."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (at or now()):
            return "expired"
        return "active"

    @property
    def state_label(self):
        return {"active": "有效", "revoked": "已吊销", "expired": "已过期"}[self.state()]

    def __str__(self):
        return f"{self.name}（{self.prefix}）"


class ApiScoreReceipt(db.Model):
    """One accepted trainee result, by the caller's idempotency key."""

    __tablename__ = "api_score_receipt"
    __scope__ = {"institution": "institution_id"}

    id = db.Column(db.Integer, primary_key=True)
    institution_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    api_key_id = db.Column(db.Integer, db.ForeignKey("api_key.id"), nullable=False)
    idempotency_key = db.Column(db.String(100), nullable=False)
    class_id = db.Column(db.Integer, db.ForeignKey("training_class.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    # Kept when the institution deletes the score on the page: the key stays used.
    trainee_score_id = db.Column(db.Integer, db.ForeignKey("trainee_score.id", ondelete="SET NULL"), index=True)
    id_number = db.Column(db.String(18), nullable=False)
    completed_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    __table_args__ = (
        UniqueConstraint("institution_id", "idempotency_key", name="uq_api_score_receipt_institution_key"),
        Index("ix_api_score_receipt_key", "api_key_id", "created_at"),
    )
