"""rules area tables: frozen yearly results (year_result)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "year_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("competent_dept_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=True),
        sa.Column("standard_text", sa.String(length=200), nullable=True),
        sa.Column("required_public", sa.Numeric(7, 1), nullable=False),
        sa.Column("required_professional", sa.Numeric(7, 1), nullable=False),
        sa.Column("required_total", sa.Numeric(7, 1), nullable=False),
        sa.Column("prorate_months", sa.Integer(), nullable=True),
        sa.Column("public_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("professional_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("total_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("certified_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_year_result_person_id_person")),
        sa.ForeignKeyConstraint(["unit_id"], ["org.id"], name=op.f("fk_year_result_unit_id_org")),
        sa.ForeignKeyConstraint(["county_id"], ["org.id"], name=op.f("fk_year_result_county_id_org")),
        sa.ForeignKeyConstraint(["city_id"], ["org.id"], name=op.f("fk_year_result_city_id_org")),
        sa.ForeignKeyConstraint(
            ["competent_dept_id"], ["org.id"], name=op.f("fk_year_result_competent_dept_id_org")
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"], ["hour_standard.id"], name=op.f("fk_year_result_standard_id_hour_standard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_year_result")),
    )
    op.create_index("ix_year_result_person_year", "year_result", ["person_id", "year", "status"])
    op.create_index(
        "uq_year_result_valid",
        "year_result",
        ["person_id", "year"],
        unique=True,
        sqlite_where=sa.text("status = 'valid'"),
        postgresql_where=sa.text("status = 'valid'"),
    )
    op.create_index("ix_year_result_city_year", "year_result", ["city_id", "year", "status"])
    op.create_index("ix_year_result_county_year", "year_result", ["county_id", "year", "status"])
    op.create_index("ix_year_result_unit_year", "year_result", ["unit_id", "year", "status"])


def downgrade():
    op.drop_index("ix_year_result_unit_year", table_name="year_result")
    op.drop_index("ix_year_result_county_year", table_name="year_result")
    op.drop_index("ix_year_result_city_year", table_name="year_result")
    op.drop_index("uq_year_result_valid", table_name="year_result")
    op.drop_index("ix_year_result_person_year", table_name="year_result")
    op.drop_table("year_result")
