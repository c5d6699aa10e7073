"""person_year: derived rows without foreign keys and without the county / city /
competent-department indexes

Every approval writes person-year rows in its own transaction (keeping the summary may
add at most 20 % to approve-all of 10,000 records). The rows are derived — written only
by ``backoffice.summary`` from the records joined to their persons, deleted with the
person (registration withdrawal deletes them first), rebuilt from scratch by
``rebuild-summary`` — so their ids need no check of their own. On PostgreSQL the
foreign-key triggers cost ~170 ms per 10,000 approvals (~5,000 new rows), most of it the
check on the person, which takes a row lock on every person. Nothing reads person_year
by county, city or competent department (statistics read the roll-ups; the summary
finds rows by person and by unit), so those three indexes go too.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FOREIGN_KEYS = {
    "fk_person_year_person_id_person": ("person_id", "person"),
    "fk_person_year_unit_id_org": ("unit_id", "org"),
    "fk_person_year_county_id_org": ("county_id", "org"),
    "fk_person_year_city_id_org": ("city_id", "org"),
    "fk_person_year_competent_dept_id_org": ("competent_dept_id", "org"),
    "fk_person_year_department_id_org": ("department_id", "org"),
    "fk_person_year_standard_id_hour_standard": ("standard_id", "hour_standard"),
}
INDEXES = {
    "ix_person_year_county": ["county_id", "year", "active"],
    "ix_person_year_city": ["city_id", "year", "active"],
    "ix_person_year_competent": ["competent_dept_id", "year", "active"],
}


def upgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="person_year")
    with op.batch_alter_table("person_year") as batch:  # SQLite rebuilds the table
        for name in FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade():
    with op.batch_alter_table("person_year") as batch:
        for name, (column, target) in FOREIGN_KEYS.items():
            batch.create_foreign_key(name, target, [column], ["id"])
    for name, columns in INDEXES.items():
        op.create_index(name, "person_year", columns)
