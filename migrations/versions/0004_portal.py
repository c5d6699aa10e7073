"""portal area tables: title change requests, transfers, password-reset uses, opened years

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _fk(table, column, referred):
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade():
    t = "title_change_request"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("competent_dept_id", sa.Integer(), nullable=True),
        sa.Column("old_series_id", sa.Integer(), nullable=True),
        sa.Column("old_level", sa.String(length=20), nullable=True),
        sa.Column("new_series_id", sa.Integer(), nullable=True),
        sa.Column("new_level", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        _fk(t, "person_id", "person"),
        _fk(t, "unit_id", "org"),
        _fk(t, "county_id", "org"),
        _fk(t, "city_id", "org"),
        _fk(t, "competent_dept_id", "org"),
        _fk(t, "old_series_id", "title_series"),
        _fk(t, "new_series_id", "title_series"),
        _fk(t, "decided_by_id", "membership"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_title_change_request")),
    )
    op.create_index("ix_title_change_unit_status", t, ["unit_id", "status", "created_at"])
    op.create_index("ix_title_change_person", t, ["person_id", "created_at"])

    t = "transfer_request"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("initiated_by", sa.String(length=10), nullable=False),
        sa.Column("from_unit_id", sa.Integer(), nullable=False),
        sa.Column("from_county_id", sa.Integer(), nullable=True),
        sa.Column("from_city_id", sa.Integer(), nullable=True),
        sa.Column("from_competent_dept_id", sa.Integer(), nullable=True),
        sa.Column("to_unit_id", sa.Integer(), nullable=False),
        sa.Column("to_county_id", sa.Integer(), nullable=True),
        sa.Column("to_city_id", sa.Integer(), nullable=True),
        sa.Column("to_competent_dept_id", sa.Integer(), nullable=True),
        sa.Column("to_department_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("reject_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        _fk(t, "person_id", "person"),
        _fk(t, "from_unit_id", "org"),
        _fk(t, "from_county_id", "org"),
        _fk(t, "from_city_id", "org"),
        _fk(t, "from_competent_dept_id", "org"),
        _fk(t, "to_unit_id", "org"),
        _fk(t, "to_county_id", "org"),
        _fk(t, "to_city_id", "org"),
        _fk(t, "to_competent_dept_id", "org"),
        _fk(t, "to_department_id", "org"),
        _fk(t, "released_by_id", "membership"),
        _fk(t, "decided_by_id", "membership"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_request")),
    )
    op.create_index("ix_transfer_from_status", t, ["from_unit_id", "status"])
    op.create_index("ix_transfer_to_status", t, ["to_unit_id", "status"])
    op.create_index("ix_transfer_person", t, ["person_id", "created_at"])

    t = "password_reset_use"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        _fk(t, "account_id", "account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_use")),
        sa.UniqueConstraint("token_id", name=op.f("uq_password_reset_use_token_id")),
    )

    t = "year_opening"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("competent_dept_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk(t, "unit_id", "org"),
        _fk(t, "county_id", "org"),
        _fk(t, "city_id", "org"),
        _fk(t, "competent_dept_id", "org"),
        _fk(t, "opened_by_id", "membership"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_year_opening")),
        sa.UniqueConstraint("unit_id", "year", name=op.f("uq_year_opening_unit_id_year")),
    )


def downgrade():
    op.drop_table("year_opening")
    op.drop_table("password_reset_use")
    op.drop_index("ix_transfer_person", table_name="transfer_request")
    op.drop_index("ix_transfer_to_status", table_name="transfer_request")
    op.drop_index("ix_transfer_from_status", table_name="transfer_request")
    op.drop_table("transfer_request")
    op.drop_index("ix_title_change_person", table_name="title_change_request")
    op.drop_index("ix_title_change_unit_status", table_name="title_change_request")
    op.drop_table("title_change_request")
