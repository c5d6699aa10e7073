"""Organisations, accounts, persons, base data and the audit log."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Index, String
from sqlalchemy.orm import declared_attr, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db

# On PostgreSQL the materialised path must compare byte-wise so that a B-tree range
# serves "everything under 1/7/"; SQLite compares byte-wise already.
PathType = String(255).with_variant(String(255, collation="C"), "postgresql")


def now():
    return datetime.now()


# --------------------------------------------------------------------------- scope keys
# Every model that holds organisational rows declares ``__scope__``: the columns that
# carry its ancestors.  ``permissions.Scope`` reads them; a model without it cannot be
# put behind a ScopedModelView.  ``GLOBAL`` marks reference data readable by every
# signed-in user (write access is decided by the view's roles).
GLOBAL = "global"

ORG_KINDS = {
    "province_hrss": "省人社厅",
    "city_hrss": "市人社局",
    "county_hrss": "区（县）人社局",
    "industry_dept": "行业主管部门",
    "unit": "用人单位",
    "department": "部门",
    "institution": "施教机构",
}
HRSS_KINDS = ("province_hrss", "city_hrss", "county_hrss")

ORG_STATUSES = {"pending": "待审核", "approved": "审核通过", "rejected": "审核不通过", "disabled": "已停用"}
ACCOUNT_STATUSES = {
    "pending": "待审核", "active": "正常", "rejected": "审核不通过", "disabled": "已停用", "removed": "已移除",
}

ROLES = {
    "person": "专业技术人员",
    "unit_admin": "单位管理员",
    "institution_admin": "施教机构管理员",
    "industry_admin": "行业主管部门管理员",
    "hrss_admin": "人社局管理员",
    "sysadmin": "系统管理员",
}

TITLE_LEVELS = {"junior": "初级", "intermediate": "中级", "associate_senior": "副高级", "senior": "正高级"}
GENDERS = {"male": "男", "female": "女"}


class Org(db.Model):
    """A node of the organisation tree (组织机构树)."""

    __tablename__ = "org"
    __scope__ = {
        "unit": "unit_id",
        "county": "county_id",
        "city": "city_id",
        "competent_dept": "competent_dept_id",
        "institution": "id",
    }

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(20), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False)
    # Login/organisation code: division code for HRSS nodes, credit code otherwise.
    code = db.Column(db.String(32), index=True)
    division_code = db.Column(db.String(6))
    parent_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    parent_path = db.Column(PathType, nullable=False, default="", index=True)
    # The second line upward: the unit's competent department (主管部门).
    competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    # Ancestor ids (self included where the node is of that level), written by tree.py.
    unit_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    county_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    city_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)

    status = db.Column(db.String(16), nullable=False, default="approved", index=True)
    unit_type_id = db.Column(db.Integer, db.ForeignKey("unit_type.id"))
    affiliation_id = db.Column(db.Integer, db.ForeignKey("affiliation.id"))
    unit_level_id = db.Column(db.Integer, db.ForeignKey("unit_level.id"))
    industry_id = db.Column(db.Integer, db.ForeignKey("industry.id"))
    address = db.Column(db.String(200))
    contact_name = db.Column(db.String(50))
    contact_phone = db.Column(db.String(30))
    email = db.Column(db.String(120))
    license_file = db.Column(db.String(200))
    sort_order = db.Column(db.Integer, default=0)
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    parent = relationship("Org", remote_side=[id], foreign_keys=[parent_id], backref="children")
    competent_dept = relationship("Org", remote_side=[id], foreign_keys=[competent_dept_id])
    unit_type = relationship("UnitType")
    affiliation = relationship("Affiliation")
    unit_level = relationship("UnitLevel")
    industry = relationship("Industry")

    __table_args__ = (Index("ix_org_kind_parent", "kind", "parent_id"),)

    @property
    def kind_label(self):
        return ORG_KINDS.get(self.kind, self.kind)

    @property
    def is_hrss(self):
        return self.kind in HRSS_KINDS

    @property
    def depth(self):
        return self.parent_path.count("/")

    def __str__(self):
        return self.name


class Account(db.Model):
    """An identity: one citizen ID number, one password (登录账号)."""

    __tablename__ = "account"
    __scope__ = {"accounts": "id"}  # accounts holding a membership in scope

    id = db.Column(db.Integer, primary_key=True)
    id_number = db.Column(db.String(18), nullable=False, unique=True)
    name = db.Column(db.String(50), nullable=False)
    password_hash = db.Column(db.String(255), nullable=False)
    email = db.Column(db.String(120))
    phone = db.Column(db.String(30))
    must_change_password = db.Column(db.Boolean, nullable=False, default=False)
    password_changed_at = db.Column(db.DateTime)
    last_login_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    # Sessions remember the generation they signed in with; bumping it ends them all
    # at their next request (password change, disabled or removed roles).
    session_generation = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method="scrypt")
        self.password_changed_at = now()
        self.session_generation = (self.session_generation or 0) + 1

    def check_password(self, password):
        return bool(password) and check_password_hash(self.password_hash, password)

    def __str__(self):
        return f"{self.name}（{self.id_number}）"


class Membership(UserMixin, db.Model):
    """One role of an account, in one organisation: what a login opens (用户类型)."""

    __tablename__ = "membership"
    __scope__ = {"org": "org_id"}

    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("account.id"), nullable=False, index=True)
    role = db.Column(db.String(20), nullable=False)
    org_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    is_super = db.Column(db.Boolean, nullable=False, default=False)
    status = db.Column(db.String(16), nullable=False, default="pending", index=True)
    # Menus an ordinary admin may use (角色管理); None = every menu of the role.
    menus = db.Column(db.JSON)
    reject_reason = db.Column(db.String(500))
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    approved_at = db.Column(db.DateTime)

    account = relationship("Account", backref="memberships")
    org = relationship("Org")

    __table_args__ = (
        Index("ix_membership_account_role", "account_id", "role"),
        Index("ix_membership_org_role_status", "org_id", "role", "status"),
    )

    @property
    def role_label(self):
        if self.role == "hrss_admin" and self.org is not None:
            return self.org.kind_label + "管理员"
        return ROLES.get(self.role, self.role)

    @property
    def is_active(self):
        return self.status == "active"

    @property
    def name(self):
        return self.account.name

    def __str__(self):
        return f"{self.account.name}（{self.role_label}）"


class Person(db.Model):
    """A professional's profile (专业技术人员). Carries its ancestor ids."""

    __tablename__ = "person"
    __scope__ = {
        "person": "id",
        "unit": "unit_id",
        "county": "county_id",
        "city": "city_id",
        "competent_dept": "competent_dept_id",
    }

    id = db.Column(db.Integer, primary_key=True)
    membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"), nullable=False, unique=True)
    account_id = db.Column(db.Integer, db.ForeignKey("account.id"), nullable=False, index=True)
    id_number = db.Column(db.String(18), nullable=False, index=True)
    name = db.Column(db.String(50), nullable=False, index=True)
    unit_id = db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)
    department_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    county_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    city_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    competent_dept_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    gender = db.Column(db.String(8))
    birth_date = db.Column(db.Date)
    ethnicity = db.Column(db.String(20))
    native_place = db.Column(db.String(100))
    school = db.Column(db.String(100))
    major_id = db.Column(db.Integer, db.ForeignKey("major.id"))
    title_series_id = db.Column(db.Integer, db.ForeignKey("title_series.id"))
    title_level = db.Column(db.String(20))
    phone = db.Column(db.String(30))
    email = db.Column(db.String(120))
    created_at = db.Column(db.DateTime, nullable=False, default=now)

    membership = relationship("Membership", backref=db.backref("person", uselist=False))
    account = relationship("Account")
    unit = relationship("Org", foreign_keys=[unit_id])
    department = relationship("Org", foreign_keys=[department_id])
    major = relationship("Major")
    title_series = relationship("TitleSeries")

    __table_args__ = (
        Index("ix_person_unit_name", "unit_id", "name"),
        Index("ix_person_county_name", "county_id", "name"),
        Index("ix_person_city_name", "city_id", "name"),
        Index("ix_person_competent_name", "competent_dept_id", "name"),
    )

    @property
    def status(self):
        return self.membership.status

    @property
    def title_level_label(self):
        return TITLE_LEVELS.get(self.title_level or "", "")

    def __str__(self):
        return f"{self.name}（{self.id_number}）"


class PersonOwned:
    """A row that belongs to a person and carries the person's ancestor ids.

    The ids are copied from the person when the row is written and rewritten by
    ``tree.py`` on transfers and organisation moves (it finds every model with this
    base), so the permission layer filters such rows by one indexed column.
    """

    __scope__ = {
        "person": "person_id",
        "unit": "unit_id",
        "county": "county_id",
        "city": "city_id",
        "competent_dept": "competent_dept_id",
    }

    @declared_attr
    def person_id(cls):
        return db.Column(db.Integer, db.ForeignKey("person.id"), nullable=False)

    @declared_attr
    def unit_id(cls):
        return db.Column(db.Integer, db.ForeignKey("org.id"), nullable=False)

    @declared_attr
    def county_id(cls):
        return db.Column(db.Integer, db.ForeignKey("org.id"))

    @declared_attr
    def city_id(cls):
        return db.Column(db.Integer, db.ForeignKey("org.id"))

    @declared_attr
    def competent_dept_id(cls):
        return db.Column(db.Integer, db.ForeignKey("org.id"))


# --------------------------------------------------------------------------- base data
class BaseDataMixin:
    __scope__ = GLOBAL

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True)
    code = db.Column(db.String(20))
    sort_order = db.Column(db.Integer, nullable=False, default=0)
    enabled = db.Column(db.Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class UnitType(BaseDataMixin, db.Model):
    """单位性质"""

    __tablename__ = "unit_type"


class Affiliation(BaseDataMixin, db.Model):
    """隶属关系"""

    __tablename__ = "affiliation"


class UnitLevel(BaseDataMixin, db.Model):
    """单位级别"""

    __tablename__ = "unit_level"


class Industry(BaseDataMixin, db.Model):
    """所属行业"""

    __tablename__ = "industry"


class TitleSeries(BaseDataMixin, db.Model):
    """专业技术职务系列"""

    __tablename__ = "title_series"


class Major(BaseDataMixin, db.Model):
    """所学专业"""

    __tablename__ = "major"


class Region(db.Model):
    """行政区划 (national division codes of Henan)."""

    __tablename__ = "region"
    __scope__ = GLOBAL

    code = db.Column(db.String(6), primary_key=True)
    name = db.Column(db.String(50), nullable=False)
    parent_code = db.Column(db.String(6), index=True)
    kind = db.Column(db.String(30), nullable=False)
    enabled = db.Column(db.Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


# --------------------------------------------------------------------------- audit
class AuditLog(db.Model):
    """Who did what to which row, before → after (审计日志)."""

    __tablename__ = "audit_log"
    __scope__ = {"org": "actor_org_id"}

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=now, index=True)
    actor_membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"))
    actor_account_id = db.Column(db.Integer, db.ForeignKey("account.id"))
    actor_org_id = db.Column(db.Integer, db.ForeignKey("org.id"))
    action = db.Column(db.String(40), nullable=False)
    object_type = db.Column(db.String(40), nullable=False)
    object_id = db.Column(db.Integer)
    before = db.Column(db.Text)
    after = db.Column(db.Text)
    comment = db.Column(db.String(1000))

    actor_account = relationship("Account")
    actor_org = relationship("Org")

    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)
