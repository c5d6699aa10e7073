"""background jobs: the job table behind the queue; print jobs name their job

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("owner_membership_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("result_key", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["owner_membership_id"], ["membership.id"],
                                name=op.f("fk_job_owner_membership_id_membership")),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_job_org_id_org")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job") as batch:
        batch.create_index("ix_job_owner_membership_id", ["owner_membership_id"])
        batch.create_index("ix_job_org_id", ["org_id"])
        batch.create_index("ix_job_state_run_after", ["state", "run_after"])
        batch.create_index("ix_job_finished", ["finished_at"])
    with op.batch_alter_table("certificate_job") as batch:
        batch.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_certificate_job_job_id_job", "job", ["job_id"], ["id"])
        batch.create_index("ix_certificate_job_job_id", ["job_id"])


def downgrade():
    with op.batch_alter_table("certificate_job") as batch:
        batch.drop_index("ix_certificate_job_job_id")
        batch.drop_constraint("fk_certificate_job_job_id_job", type_="foreignkey")
        batch.drop_column("job_id")
    op.drop_table("job")
