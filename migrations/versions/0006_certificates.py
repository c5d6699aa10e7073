"""certificates area tables: certificate, certificate_sequence, certificate_job

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("verify_code", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("competent_dept_id", sa.Integer(), nullable=True),
        sa.Column("year_from", sa.Integer(), nullable=False),
        sa.Column("year_to", sa.Integer(), nullable=False),
        sa.Column("person_name", sa.String(length=50), nullable=False),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("unit_name", sa.String(length=200), nullable=False),
        sa.Column("public_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("professional_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("total_hours", sa.Numeric(8, 1), nullable=False),
        sa.Column("required_total", sa.Numeric(8, 1), nullable=False),
        sa.Column("year_result_ids", sa.JSON(), nullable=False),
        sa.Column("issuer", sa.String(length=100), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by_membership_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_certificate_person_id_person")),
        sa.ForeignKeyConstraint(["unit_id"], ["org.id"], name=op.f("fk_certificate_unit_id_org")),
        sa.ForeignKeyConstraint(["county_id"], ["org.id"], name=op.f("fk_certificate_county_id_org")),
        sa.ForeignKeyConstraint(["city_id"], ["org.id"], name=op.f("fk_certificate_city_id_org")),
        sa.ForeignKeyConstraint(
            ["competent_dept_id"], ["org.id"], name=op.f("fk_certificate_competent_dept_id_org")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_membership_id"],
            ["membership.id"],
            name=op.f("fk_certificate_issued_by_membership_id_membership"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("number", name=op.f("uq_certificate_number")),
    )
    op.create_index("ix_certificate_person_years", "certificate", ["person_id", "year_from", "year_to", "status"])
    op.create_index(
        "uq_certificate_valid",
        "certificate",
        ["person_id", "year_from", "year_to"],
        unique=True,
        sqlite_where=sa.text("status = 'valid'"),
        postgresql_where=sa.text("status = 'valid'"),
    )
    op.create_index("ix_certificate_unit_year", "certificate", ["unit_id", "year_to", "status"])
    op.create_index("ix_certificate_county_year", "certificate", ["county_id", "year_to", "status"])
    op.create_index("ix_certificate_city_year", "certificate", ["city_id", "year_to", "status"])

    op.create_table(
        "certificate_sequence",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_certificate_sequence")),
    )

    op.create_table(
        "certificate_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=100), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["membership_id"], ["membership.id"], name=op.f("fk_certificate_job_membership_id_membership")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_certificate_job_org_id_org")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_job")),
    )
    op.create_index(op.f("ix_certificate_job_org_id"), "certificate_job", ["org_id"])


def downgrade():
    op.drop_index(op.f("ix_certificate_job_org_id"), table_name="certificate_job")
    op.drop_table("certificate_job")
    op.drop_table("certificate_sequence")
    op.drop_index("ix_certificate_city_year", table_name="certificate")
    op.drop_index("ix_certificate_county_year", table_name="certificate")
    op.drop_index("ix_certificate_unit_year", table_name="certificate")
    op.drop_index("uq_certificate_valid", table_name="certificate")
    op.drop_index("ix_certificate_person_years", table_name="certificate")
    op.drop_table("certificate")
