"""organisation change requests: both superiors approve a change of superior

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("org_change_request") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("released_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("released_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            "fk_org_change_request_released_by_id_membership", "membership", ["released_by_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("org_change_request") as batch:
        batch.drop_constraint("fk_org_change_request_released_by_id_membership", type_="foreignkey")
        batch.drop_column("released_at")
        batch.drop_column("released_by_id")
        batch.drop_column("stage")
