"""accounts area tables: organisation change requests

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "org_change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("change_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer_org_id", sa.Integer(), nullable=True),
        sa.Column("old_name", sa.String(length=200), nullable=True),
        sa.Column("new_name", sa.String(length=200), nullable=True),
        sa.Column("old_code", sa.String(length=32), nullable=True),
        sa.Column("new_code", sa.String(length=32), nullable=True),
        sa.Column("old_parent_id", sa.Integer(), nullable=True),
        sa.Column("new_parent_id", sa.Integer(), nullable=True),
        sa.Column("old_competent_id", sa.Integer(), nullable=True),
        sa.Column("new_competent_id", sa.Integer(), nullable=True),
        sa.Column("change_competent", sa.Boolean(), nullable=False),
        sa.Column("scan_file", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_comment", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_org_change_request_org_id_org")),
        sa.ForeignKeyConstraint(
            ["reviewer_org_id"], ["org.id"], name=op.f("fk_org_change_request_reviewer_org_id_org")
        ),
        sa.ForeignKeyConstraint(["old_parent_id"], ["org.id"], name=op.f("fk_org_change_request_old_parent_id_org")),
        sa.ForeignKeyConstraint(["new_parent_id"], ["org.id"], name=op.f("fk_org_change_request_new_parent_id_org")),
        sa.ForeignKeyConstraint(
            ["old_competent_id"], ["org.id"], name=op.f("fk_org_change_request_old_competent_id_org")
        ),
        sa.ForeignKeyConstraint(
            ["new_competent_id"], ["org.id"], name=op.f("fk_org_change_request_new_competent_id_org")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["membership.id"], name=op.f("fk_org_change_request_requested_by_id_membership")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["membership.id"], name=op.f("fk_org_change_request_decided_by_id_membership")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_change_request")),
    )
    with op.batch_alter_table("org_change_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_change_request_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_org_change_request_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_org_change_request_reviewer_org_id"), ["reviewer_org_id"], unique=False)
        batch_op.create_index("ix_org_change_request_org_status", ["org_id", "status"], unique=False)


def downgrade():
    with op.batch_alter_table("org_change_request", schema=None) as batch_op:
        batch_op.drop_index("ix_org_change_request_org_status")
        batch_op.drop_index(batch_op.f("ix_org_change_request_reviewer_org_id"))
        batch_op.drop_index(batch_op.f("ix_org_change_request_status"))
        batch_op.drop_index(batch_op.f("ix_org_change_request_org_id"))
    op.drop_table("org_change_request")
