"""Registration of professionals and the review of pending registrations.

Domain functions, no request handling: each adds its changes and audit rows to the
session; the caller commits, then calls :func:`notify` (mail after the commit).
"""

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from . import audit
from .extensions import db
from .models import Account, Membership, Org, Person, now
from .tree import place_person

MSG_SUBMITTED = "注册信息已经提交审核，请耐心等待"
MSG_ACCOUNT_EXISTS = "该账号已存在"
MSG_BAD_EXISTING_PASSWORD = "已是本系统用户：登录密码不正确"
MSG_ALREADY_PERSON = "该账号已注册为专业技术人员，请直接登录或查询注册审核进度"
MSG_NAME_MISMATCH = "姓名与已注册账号的姓名不一致"


class RegistrationError(ValueError):
    """Refused input; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class PersonData:
    id_number: str
    password: str
    name: str
    phone: str
    email: str
    unit: Org
    department: Org | None = None
    gender: str | None = None
    birth_date: object = None
    ethnicity: str | None = None
    native_place: str | None = None
    school: str | None = None
    major_id: int | None = None
    title_series_id: int | None = None
    title_level: str | None = None
    existing_user: bool = False


def register_person(data: PersonData):
    """Create a pending person membership (and the account unless it exists).

    An existing ID number needs ``existing_user`` and the account's password
    (已是本系统用户); otherwise :data:`MSG_ACCOUNT_EXISTS`.
    """
    account = db.session.scalar(select(Account).where(Account.id_number == data.id_number))
    if account is not None:
        if not data.existing_user:
            raise RegistrationError(MSG_ACCOUNT_EXISTS, "id_number")
        if not account.check_password(data.password):
            raise RegistrationError(MSG_BAD_EXISTING_PASSWORD, "password")
        if account.name != data.name:
            raise RegistrationError(MSG_NAME_MISMATCH, "name")
        if any(m.role == "person" and m.status in ("pending", "active", "disabled") for m in account.memberships):
            raise RegistrationError(MSG_ALREADY_PERSON, "id_number")
    else:
        account = Account(id_number=data.id_number, name=data.name, email=data.email, phone=data.phone)
        account.set_password(data.password)
        db.session.add(account)
    if data.unit is None or data.unit.kind != "unit" or data.unit.status != "approved":
        raise RegistrationError("请选择已审核通过的用人单位", "unit_id")
    if data.department is not None and data.department.unit_id != data.unit.id:
        raise RegistrationError("所选部门不属于该单位", "department_id")
    membership = Membership(account=account, role="person", org_id=data.unit.id, status="pending", is_super=False)
    db.session.add(membership)
    person = Person(
        membership=membership, account=account, id_number=data.id_number, name=data.name,
        gender=data.gender, birth_date=data.birth_date, ethnicity=data.ethnicity,
        native_place=data.native_place, school=data.school, major_id=data.major_id,
        title_series_id=data.title_series_id, title_level=data.title_level,
        phone=data.phone, email=data.email,
    )
    place_person(person, data.unit, data.department)
    db.session.add(person)
    db.session.flush()
    audit.record("register", "membership", membership.id, after={
        "role": "person", "unit_id": data.unit.id, "id_number": data.id_number, "name": data.name,
    }, actor=membership)
    return membership


# --------------------------------------------------------------------------- review
def reviewer_of(membership):
    """The organisation that must review a pending membership (审核单位)."""
    org = membership.org
    if membership.role == "person":
        return org
    if org is None:
        return None
    if org.status == "pending" or membership.is_super:
        # A new organisation (and its first admin) is reviewed by its parent node.
        return org.parent
    return org  # a further admin of an approved organisation: its super-admin decides


def _decide(ids, actor, status, reason=None):
    ids = [int(i) for i in ids]
    if not ids:
        return []
    pending = select(Membership.id).where(Membership.id.in_(ids), Membership.status == "pending")
    chosen = list(db.session.scalars(pending))
    if not chosen:
        return []
    values = {"status": status, "reject_reason": reason}
    if status == "active":
        values["approved_at"] = now()
    audit.record_many(
        "approve_registration" if status == "active" else "reject_registration",
        "membership",
        select(Membership.id).where(Membership.id.in_(chosen)),
        before={"status": "pending"},
        after={"status": status},
        comment=reason,
        actor=actor,
    )
    db.session.execute(
        update(Membership).where(Membership.id.in_(chosen), Membership.status == "pending").values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return chosen


def approve(ids, actor):
    """Approve pending memberships (ids already scoped by the caller). Returns the ids."""
    return _decide(ids, actor, "active")


def reject(ids, actor, reason):
    if not (reason or "").strip():
        raise RegistrationError("请填写不通过的原因", "reason")
    return _decide(ids, actor, "rejected", reason.strip()[:500])


def notify(ids):
    """Tell the applicants the result (after the commit)."""
    from . import mail

    for membership in db.session.scalars(select(Membership).where(Membership.id.in_(list(ids) or [0]))):
        account = membership.account
        email = account.email
        if membership.person is not None:
            email = membership.person.email or email
        if membership.status == "active":
            mail.enqueue(email, "注册审核通过", f"{account.name}：您在继续教育管理系统的注册（{membership.role_label}）"
                      "已审核通过，请使用身份证号登录。")
        elif membership.status == "rejected":
            mail.enqueue(email, "注册审核未通过", f"{account.name}：您在继续教育管理系统的注册（{membership.role_label}）"
                      f"未通过审核。原因：{membership.reject_reason or '无'}。您可以修改信息后重新注册。")


# --------------------------------------------------------------------------- public query
def pending_of(name, id_number):
    """Every membership of the account with this name + ID number (the public query)."""
    account = db.session.scalar(select(Account).where(Account.id_number == id_number))
    if account is None or account.name != name:
        return None, []
    memberships = sorted(account.memberships, key=lambda m: m.created_at or now(), reverse=True)
    return account, memberships


def withdraw(membership, password):
    """Withdraw a pending registration so that the applicant can register again.

    The password of the account is required. The membership (and its person row)
    is removed; an account left without any membership is removed too; a pending
    organisation that only this registration created is removed as well.
    """
    account = membership.account
    if membership.status != "pending":
        raise RegistrationError("只能撤销待审核的注册申请")
    if not account.check_password(password):
        raise RegistrationError("登录密码不正确", "password")
    audit.record("withdraw_registration", "membership", membership.id, before={
        "role": membership.role, "org_id": membership.org_id, "status": "pending",
    }, after={"status": "withdrawn", "account_id": account.id})
    org = membership.org
    db.session.execute(delete(Person).where(Person.membership_id == membership.id))
    db.session.execute(
        update(audit.AuditLog).where(audit.AuditLog.actor_membership_id == membership.id)
        .values(actor_membership_id=None).execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.delete(membership)
    db.session.flush()
    if org is not None and membership.role != "person" and org.status == "pending":
        others = db.session.scalar(select(Membership.id).where(Membership.org_id == org.id).limit(1))
        children = db.session.scalar(select(Org.id).where(Org.parent_id == org.id).limit(1))
        if others is None and children is None:
            audit.record("withdraw_registration", "org", org.id, before={"status": "pending", "name": org.name},
                         after={"status": "withdrawn"})
            db.session.execute(
                update(audit.AuditLog).where(audit.AuditLog.actor_org_id == org.id)
                .values(actor_org_id=None).execution_options(synchronize_session=False)
            )
            try:
                with db.session.begin_nested():
                    db.session.delete(org)
            except IntegrityError:
                # Still referenced by rows of another area: keep it, closed as rejected.
                org = db.session.get(Org, org.id)
                org.status = "rejected"
    db.session.flush()
    if not db.session.scalar(select(Membership.id).where(Membership.account_id == account.id).limit(1)):
        db.session.execute(
            update(audit.AuditLog).where(audit.AuditLog.actor_account_id == account.id)
            .values(actor_account_id=None).execution_options(synchronize_session=False)
        )
        db.session.delete(account)
    db.session.flush()
