"""statistics: person-year summary and its roll-ups per unit and per area

Revision ID: 0011
Revises: 0010

After upgrading a database that already holds records, fill both tables once with
``flask --app backoffice rebuild-summary``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _ancestors():
    return [
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=False),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
        sa.Column("city_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
        sa.Column("competent_dept_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
    ]


def upgrade():
    op.create_table(
        "person_year",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        *_ancestors(),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
        sa.Column("title_level", sa.String(length=20), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("public_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("professional_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("total_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("standard_id", sa.Integer(), sa.ForeignKey("hour_standard.id"), nullable=True),
        sa.Column("required_public", sa.Numeric(7, 1), nullable=True),
        sa.Column("required_professional", sa.Numeric(7, 1), nullable=True),
        sa.Column("required_total", sa.Numeric(7, 1), nullable=True),
        sa.Column("prorate_months", sa.Integer(), nullable=True),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("person_id", "year", name="uq_person_year"),
    )
    op.create_index("ix_person_year_unit", "person_year", ["unit_id", "year", "active"])
    op.create_index("ix_person_year_county", "person_year", ["county_id", "year", "active"])
    op.create_index("ix_person_year_city", "person_year", ["city_id", "year", "active"])
    op.create_index("ix_person_year_competent", "person_year", ["competent_dept_id", "year", "active"])

    op.create_table(
        "stat_cell",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
        sa.Column("title_level", sa.String(length=20), nullable=False, server_default=""),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
        sa.Column("city_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
        sa.Column("competent_dept_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=True),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("public_hours", sa.Numeric(14, 1), nullable=False),
        sa.Column("professional_hours", sa.Numeric(14, 1), nullable=False),
        sa.Column("total_hours", sa.Numeric(14, 1), nullable=False),
        sa.UniqueConstraint("unit_id", "year", "department_id", "title_level", name="uq_stat_cell"),
    )
    op.create_index("ix_stat_cell_year_city", "stat_cell", ["year", "city_id", "county_id"])
    op.create_index("ix_stat_cell_county_year", "stat_cell", ["county_id", "year"])
    op.create_index("ix_stat_cell_competent_year", "stat_cell", ["competent_dept_id", "year"])

    op.create_table(
        "stat_area",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("title_level", sa.String(length=20), nullable=False, server_default=""),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("public_hours", sa.Numeric(16, 1), nullable=False),
        sa.Column("professional_hours", sa.Numeric(16, 1), nullable=False),
        sa.Column("total_hours", sa.Numeric(16, 1), nullable=False),
        sa.UniqueConstraint("city_id", "county_id", "year", "title_level", name="uq_stat_area"),
    )
    op.create_index("ix_stat_area_year", "stat_area", ["year", "city_id"])


def downgrade():
    op.drop_table("stat_area")
    op.drop_table("stat_cell")
    op.drop_table("person_year")
