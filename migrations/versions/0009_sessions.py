"""server-side sessions and the per-account session generation

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "http_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("expiry", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_http_session"),
        sa.UniqueConstraint("session_id", name="uq_http_session_session_id"),
    )
    op.create_index("ix_http_session_expiry", "http_session", ["expiry"])
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("account") as batch:
        batch.drop_column("session_generation")
    op.drop_index("ix_http_session_expiry", table_name="http_session")
    op.drop_table("http_session")
