"""Stored aggregates of the statistics area (查询统计).

* :class:`PersonYear` — one row per person and year with approved hours: the approved
  public / professional / total hours, the requirement that applies (the frozen
  result's when the year is certified, else the standards table's for the person's
  title level and region), passed or not, and whether the registration is active.
  Kept by ``backoffice.summary`` in the transaction of every move that changes it.
* :class:`StatCell` — the summary rolled up per unit, department, title level and year (``year = 0``
  holds the unit's head count of active persons), so that a province or city page reads
  a few thousand rows instead of millions. Recomputed per touched unit by the same
  function.
* :class:`StatArea` — the cells rolled up once more per county (and per city or
  province for units directly under them), title level and year: what the province and
  city pages read when no unit attribute is filtered.
"""

from sqlalchemy import Index, UniqueConstraint

from ..extensions import db
from .core import PersonOwned

__all__ = ["HEADCOUNT_YEAR", "NO_AREA", "PersonYear", "StatArea", "StatCell"]

HEADCOUNT_YEAR = 0  # StatCell.year of the head-count rows
NO_AREA = 0  # StatArea.city_id / county_id of units directly under the province / a city


class PersonYear(PersonOwned, db.Model):
    """人员年度学时汇总: a person-year's approved hours against its requirement."""

    __tablename__ = "person_year"

    id = db.Column(db.Integer, primary_key=True)
    # Derived rows (see migration 0015): no foreign keys. Each one would be checked on
    # every row an approval writes (the person's with a row lock); the rows are written
    # only by ``backoffice.summary`` from records joined to their persons, removed with
    # the person (registration withdrawal), and ``rebuild-summary`` recomputes them all.
    person_id = db.Column(db.Integer, nullable=False)
    unit_id = db.Column(db.Integer, nullable=False)
    county_id = db.Column(db.Integer)
    city_id = db.Column(db.Integer)
    competent_dept_id = db.Column(db.Integer)
    year = db.Column(db.Integer, nullable=False)
    department_id = db.Column(db.Integer)
    title_level = db.Column(db.String(20), nullable=False, default="")
    active = db.Column(db.Boolean, nullable=False, default=True)
    public_hours = db.Column(db.Numeric(8, 1), nullable=False, default=0)
    professional_hours = db.Column(db.Numeric(8, 1), nullable=False, default=0)
    total_hours = db.Column(db.Numeric(8, 1), nullable=False, default=0)
    standard_id = db.Column(db.Integer)
    required_public = db.Column(db.Numeric(7, 1))
    required_professional = db.Column(db.Numeric(7, 1))
    required_total = db.Column(db.Numeric(7, 1))
    prorate_months = db.Column(db.Integer)
    frozen = db.Column(db.Boolean, nullable=False, default=False)
    passed = db.Column(db.Boolean, nullable=False, default=False)

    __table_args__ = (
        UniqueConstraint("person_id", "year", name="uq_person_year"),
        Index("ix_person_year_unit", "unit_id", "year", "active"),
    )


class StatCell(db.Model):
    """统计单元: the active person-years of one unit, department, title level and year, summed."""

    __tablename__ = "stat_cell"
    __scope__ = {
        "unit": "unit_id",
        "county": "county_id",
        "city": "city_id",
        "competent_dept": "competent_dept_id",
    }

    id = db.Column(db.Integer, primary_key=True)
    year = db.Column(db.Integer, nullable=False)
    unit_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    department_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    title_level = db.Column(db.String(20), nullable=False, default="")
    county_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    city_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    persons = db.Column(db.Integer, nullable=False, default=0)
    passed = db.Column(db.Integer, nullable=False, default=0)
    public_hours = db.Column(db.Numeric(14, 1), nullable=False, default=0)
    professional_hours = db.Column(db.Numeric(14, 1), nullable=False, default=0)
    total_hours = db.Column(db.Numeric(14, 1), nullable=False, default=0)

    __table_args__ = (
        UniqueConstraint("unit_id", "year", "department_id", "title_level", name="uq_stat_cell"),
        Index("ix_stat_cell_year_city", "year", "city_id", "county_id"),
        Index("ix_stat_cell_county_year", "county_id", "year"),
        Index("ix_stat_cell_competent_year", "competent_dept_id", "year"),
    )


class StatArea(db.Model):
    """统计区域: the cells of one county (or of the units directly under a city or the
    province: ``county_id`` / ``city_id`` = 0), per title level and year, summed."""

    __tablename__ = "stat_area"
    __scope__ = {"city": "city_id", "county": "county_id"}

    id = db.Column(db.Integer, primary_key=True)
    year = db.Column(db.Integer, nullable=False)
    city_id = db.Column(db.Integer, nullable=False, default=NO_AREA)
    county_id = db.Column(db.Integer, nullable=False, default=NO_AREA)
    title_level = db.Column(db.String(20), nullable=False, default="")
    persons = db.Column(db.Integer, nullable=False, default=0)
    passed = db.Column(db.Integer, nullable=False, default=0)
    public_hours = db.Column(db.Numeric(16, 1), nullable=False, default=0)
    professional_hours = db.Column(db.Numeric(16, 1), nullable=False, default=0)
    total_hours = db.Column(db.Numeric(16, 1), nullable=False, default=0)

    __table_args__ = (
        UniqueConstraint("city_id", "county_id", "year", "title_level", name="uq_stat_area"),
        Index("ix_stat_area_year", "year", "city_id"),
    )
