"""review area: a partial index over pending declarations for the review queues

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = [
    "current_org_id", "current_level", "year", "created_at", "id", "unit_id", "county_id", "city_id",
    "competent_dept_id", "declarer_org_id",
]


def upgrade():
    where = sa.text("status = 'pending'")
    op.create_index(
        "ix_decl_pending_queue", "declaration", COLUMNS, sqlite_where=where, postgresql_where=where
    )


def downgrade():
    op.drop_index("ix_decl_pending_queue", table_name="declaration")
