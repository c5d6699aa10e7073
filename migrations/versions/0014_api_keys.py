"""institutions' API: keys (hashed secrets) and idempotency receipts of score batches

Revision ID: 0014
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("allowed_ips", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["institution_id"], ["org.id"], name="fk_api_key_institution_id_org"),
        sa.ForeignKeyConstraint(["membership_id"], ["membership.id"], name="fk_api_key_membership_id_membership"),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["membership.id"], name="fk_api_key_revoked_by_id_membership"),
        sa.PrimaryKeyConstraint("id", name="pk_api_key"),
        sa.UniqueConstraint("prefix", name="uq_api_key_prefix"),
    )
    op.create_index("ix_api_key_institution_id", "api_key", ["institution_id"])
    op.create_table(
        "api_score_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("trainee_score_id", sa.Integer(), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["org.id"], name="fk_api_score_receipt_institution_id_org"),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], name="fk_api_score_receipt_api_key_id_api_key"),
        sa.ForeignKeyConstraint(["class_id"], ["training_class.id"], ondelete="CASCADE",
                                name="fk_api_score_receipt_class_id_training_class"),
        sa.ForeignKeyConstraint(["trainee_score_id"], ["trainee_score.id"], ondelete="SET NULL",
                                name="fk_api_score_receipt_trainee_score_id_trainee_score"),
        sa.PrimaryKeyConstraint("id", name="pk_api_score_receipt"),
        sa.UniqueConstraint("institution_id", "idempotency_key", name="uq_api_score_receipt_institution_key"),
    )
    op.create_index("ix_api_score_receipt_class_id", "api_score_receipt", ["class_id"])
    op.create_index("ix_api_score_receipt_trainee_score_id", "api_score_receipt", ["trainee_score_id"])
    op.create_index("ix_api_score_receipt_key", "api_score_receipt", ["api_key_id", "created_at"])


def downgrade():
    op.drop_table("api_score_receipt")
    op.drop_table("api_key")
