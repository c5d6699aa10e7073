"""Accounts and organisations: registration, review, admins, resets, departments, changes.

Domain functions, no request handling. Each state change is one transaction together
with its audit entries; e-mail goes out only after the commit (``mail.enqueue`` never
raises). Callers pass rows they fetched through the permission layer; functions that
take ids re-check them against the ``scope`` they are given.
"""

import secrets
from pathlib import Path

from sqlalchemy import and_, exists, func, or_, select, update

from . import audit, tree
from . import storage as file_storage
from .extensions import db
from .mail import enqueue as send_mail
from .models import HRSS_KINDS, Account, Membership, Org, OrgChangeRequest, now

# Roles of organisation admins and the org kinds they belong to.
ADMIN_ROLE_OF_KIND = {
    "unit": "unit_admin",
    "institution": "institution_admin",
    "industry_dept": "industry_admin",
    "province_hrss": "hrss_admin",
    "city_hrss": "hrss_admin",
    "county_hrss": "hrss_admin",
}
ORG_ADMIN_ROLES = ("unit_admin", "institution_admin", "industry_admin", "hrss_admin")
REGISTRABLE_KINDS = ("unit", "institution", "industry_dept")
LIVE_MEMBERSHIP_STATUSES = ("pending", "active", "disabled")

ADMIN_RESET_PASSWORD = "000000"  # seeds: 初始化密码为“000000”

SUCCESS_MESSAGES = {
    "unit": "您已完成单位注册，请耐心等待所属人社部门审批",
    "institution": "您已完成施教机构注册，请耐心等待所属人社部门审批",
    "industry_dept": "您已完成行业主管注册，请耐心等待所属人社部门审批",
    "hrss": "您已完成人社管理员注册，请耐心等待所属人社部门审批",
}

MSG_ACCOUNT_EXISTS = "该账号已存在"
MSG_CODE_TAKEN = "该统一社会信用代码已注册"
MSG_CHANGE_PENDING = "已有修改单位信息在审核流程中"

UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_TYPES = {".pdf": b"%PDF", ".png": b"\x89PNG", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff"}


class AccountError(ValueError):
    """A refused request, with the Chinese message for the user (and the form field)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


# --------------------------------------------------------------------------- uploads
def save_upload(storage, folder="licenses"):
    """Store an uploaded scan (image or PDF, size-limited) under a random name.

    Returns its key in the file storage; raises AccountError otherwise.
    """
    if storage is None or not getattr(storage, "filename", ""):
        raise AccountError("请上传扫描件", "scan")
    ext = Path(storage.filename).suffix.lower()
    if ext not in UPLOAD_TYPES:
        raise AccountError("扫描件只能是 JPG、PNG 图片或 PDF 文件", "scan")
    data = storage.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        raise AccountError("扫描件不能超过 5MB", "scan")
    if not data.startswith(UPLOAD_TYPES[ext]):
        raise AccountError("扫描件内容与文件类型不符，请上传 JPG、PNG 图片或 PDF 文件", "scan")
    name = f"{folder}/{secrets.token_hex(16)}{'.jpg' if ext == '.jpeg' else ext}"
    file_storage.put(name, data)
    return name


def discard_upload(name):
    """Remove a stored scan whose request did not go through (no error when missing)."""
    if name:
        try:
            file_storage.delete(name)
        except ValueError:
            pass


# --------------------------------------------------------------------------- look-ups
def account_by_id_number(id_number):
    return db.session.scalar(select(Account).where(Account.id_number == (id_number or "").strip().upper()))


def code_taken(code, exclude_org_id=None):
    """Is this organisation code used by a live org?

    Approved and disabled orgs keep their code; a pending one only while its
    registration is still pending (a withdrawn or rejected registration frees it).
    """
    pending_alive = exists().where(Membership.org_id == Org.id, Membership.status == "pending")
    stmt = select(Org.id).where(
        func.upper(Org.code) == (code or "").strip().upper(),
        or_(Org.status.in_(("approved", "disabled")), and_(Org.status == "pending", pending_alive)),
    )
    if exclude_org_id is not None:
        stmt = stmt.where(Org.id != exclude_org_id)
    return db.session.scalar(stmt.limit(1)) is not None


def reviewer_of_org(org):
    """The HRSS node that reviews a registration or change of ``org``: its parent HRSS."""
    if org.kind in HRSS_KINDS:
        return org.parent
    return tree.hrss_of(org.parent) if org.parent is not None else None


def reviewer_of_membership(membership):
    """Who reviews a pending admin registration (HRSS admins: the parent HRSS)."""
    if membership.org is None:
        return None
    if membership.role == "person":
        return membership.org
    return reviewer_of_org(membership.org)


def hrss_choices():
    """Approved HRSS nodes: (province, cities, counties by city id)."""
    rows = db.session.scalars(
        select(Org).where(Org.kind.in_(HRSS_KINDS), Org.status == "approved").order_by(Org.parent_path)
    ).all()
    province = next((o for o in rows if o.kind == "province_hrss"), None)
    cities = sorted((o for o in rows if o.kind == "city_hrss"), key=lambda o: o.code or "")
    counties = {}
    for o in rows:
        if o.kind == "county_hrss":
            counties.setdefault(o.parent_id, []).append(o)
    for items in counties.values():
        items.sort(key=lambda o: o.code or "")
    return province, cities, counties


def approved_industry_depts():
    return db.session.scalars(
        select(Org).where(Org.kind == "industry_dept", Org.status == "approved").order_by(Org.parent_path)
    ).all()


def competent_fits(dept, parent):
    """A competent department must belong to the HRSS line of the unit (same or higher level)."""
    return dept.parent is not None and parent.parent_path.startswith(dept.parent.parent_path)


# --------------------------------------------------------------------------- registration
def resolve_applicant(data, existing_user=False):
    """The account for an applicant: a new one, or an existing one proven by its password.

    ``data``: id_number, name, password, phone, email. An ID number whose account holds
    no live role (all rejected or withdrawn) may register again with new details.
    """
    account = account_by_id_number(data["id_number"])
    if account is None:
        if existing_user:
            raise AccountError("该账号不存在，请取消勾选“已是本系统用户”", "id_number")
        account = Account(
            id_number=data["id_number"], name=data["name"], phone=data.get("phone"), email=data.get("email")
        )
        account.set_password(data["password"])
        db.session.add(account)
        db.session.flush()
        return account
    live = [m for m in account.memberships if m.status in LIVE_MEMBERSHIP_STATUSES]
    if existing_user or live:
        if not account.check_password(data["password"]):
            raise AccountError(MSG_ACCOUNT_EXISTS if not existing_user else "密码错误", "id_number" if not existing_user else "password")
        if account.name != data["name"]:
            raise AccountError("姓名与已注册账号不一致", "name")
        return account
    # Nothing live: a rejected or withdrawn applicant registers again.
    account.name = data["name"]
    account.phone = data.get("phone") or account.phone
    account.email = data.get("email") or account.email
    account.set_password(data["password"])
    account.must_change_password = False
    return account


def register_org(kind, fields, parent, applicant, existing_user=False, competent=None, license_file=None):
    """Register a unit / institution / industry department with its applicant (pending).

    ``fields``: name, code and optional unit_type_id, affiliation_id, unit_level_id,
    industry_id, address, contact_name, contact_phone, email. Returns the membership.
    """
    if kind not in REGISTRABLE_KINDS:
        raise AccountError("不支持的注册类型")
    if parent is None or parent.kind not in HRSS_KINDS or parent.status != "approved":
        raise AccountError("请选择所属人社部门", "parent")
    code = fields["code"].strip().upper()
    if code_taken(code):
        raise AccountError(MSG_CODE_TAKEN, "code")
    if competent is not None:
        if kind not in ("unit", "institution") or competent.kind != "industry_dept" or competent.status != "approved":
            raise AccountError("请选择有效的主管部门", "competent")
        if not competent_fits(competent, parent):
            raise AccountError("所选主管部门不属于该单位所在地区或上级地区", "competent")
    account = resolve_applicant(applicant, existing_user)
    org = Org(kind=kind, status="pending", license_file=license_file, **{**fields, "code": code})
    if competent is not None:
        org.competent_dept_id = competent.id
    tree.attach(org, parent)
    membership = Membership(account=account, role=ADMIN_ROLE_OF_KIND[kind], org=org, is_super=True, status="pending")
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "register", "org", org.id, after={"kind": kind, "name": org.name, "code": code, "parent": parent.name},
        actor=None,
    )
    audit.record("register", "membership", membership.id, after={"role": membership.role, "status": "pending"},
                 actor=None)
    db.session.commit()
    return membership


def register_hrss_admin(hrss_org, applicant, existing_user=False):
    """Register an admin of an existing city/county HRSS node; pending at its parent HRSS."""
    if hrss_org is None or hrss_org.kind not in ("city_hrss", "county_hrss") or hrss_org.status != "approved":
        raise AccountError("请选择所属的市、区（县）人社局", "hrss")
    account = resolve_applicant(applicant, existing_user)
    duplicate = db.session.scalar(
        select(Membership.id).where(
            Membership.account_id == account.id, Membership.org_id == hrss_org.id,
            Membership.role == "hrss_admin", Membership.status.in_(LIVE_MEMBERSHIP_STATUSES),
        )
    )
    if duplicate:
        raise AccountError("您已注册为该人社局的管理员", "id_number")
    membership = Membership(account=account, role="hrss_admin", org=hrss_org, is_super=False, status="pending")
    db.session.add(membership)
    db.session.flush()
    audit.record("register", "membership", membership.id, after={"role": "hrss_admin", "org": hrss_org.name},
                 actor=None)
    db.session.commit()
    return membership


# --------------------------------------------------------------------------- review
def pending_registrations(scope):
    """Pending admin registrations an HRSS admin may decide: in scope, not of its own org."""
    me = scope.membership
    return (
        scope.query(Membership)
        .join(Org, Membership.org_id == Org.id)
        .filter(
            Membership.status == "pending",
            Membership.role.in_(ORG_ADMIN_ROLES),
            Membership.org_id != me.org_id,
        )
    )


def decide_registrations(scope, ids, approve, reason=None, actor=None):
    """Approve or reject pending registrations (the org and its applicant together).

    Set-based: one UPDATE for the memberships, one for their pending orgs, one audit
    INSERT … SELECT each; then one commit, then the e-mails. Returns the count.
    """
    if not approve and not (reason or "").strip():
        raise AccountError("请填写不通过的原因", "reason")
    reason = (reason or "").strip()[:500] or None
    query = pending_registrations(scope)
    if ids is not None:
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        query = query.filter(Membership.id.in_(ids))
    rows = query.with_entities(Membership.id, Membership.org_id, Membership.role).all()
    if not rows:
        return 0
    m_ids = [r.id for r in rows]
    org_ids = sorted({r.org_id for r in rows})
    stamp = now()
    status = "active" if approve else "rejected"
    org_status = "approved" if approve else "rejected"
    values = {"status": status, "reject_reason": None if approve else reason}
    if approve:
        values["approved_at"] = stamp
    db.session.execute(
        update(Membership).where(Membership.id.in_(m_ids), Membership.status == "pending").values(**values)
        .execution_options(synchronize_session=False)
    )
    pending_orgs = select(Org.id).where(Org.id.in_(org_ids), Org.status == "pending")
    org_changed = db.session.scalars(pending_orgs).all()
    if org_changed:
        audit.record_many(
            "approve" if approve else "reject", "org", select(Org.id).where(Org.id.in_(org_changed)),
            before={"status": "pending"}, after={"status": org_status}, comment=reason, actor=actor,
        )
        db.session.execute(
            update(Org).where(Org.id.in_(org_changed)).values(status=org_status)
            .execution_options(synchronize_session=False)
        )
    if approve:
        # An HRSS node's first approved admin becomes its super-admin.
        hrss_rows = [r for r in rows if r.role == "hrss_admin"]
        for r in hrss_rows:
            has_super = db.session.scalar(
                select(Membership.id).where(
                    Membership.org_id == r.org_id, Membership.is_super.is_(True), Membership.id != r.id,
                    Membership.status.in_(("active", "disabled")),
                ).limit(1)
            )
            if not has_super:
                db.session.execute(
                    update(Membership).where(Membership.id == r.id).values(is_super=True)
                    .execution_options(synchronize_session=False)
                )
    audit.record_many(
        "approve" if approve else "reject", "membership", select(Membership.id).where(Membership.id.in_(m_ids)),
        before={"status": "pending"}, after={"status": status}, comment=reason, actor=actor,
    )
    db.session.commit()
    db.session.expire_all()
    _mail_decisions(m_ids, approve, reason)
    return len(m_ids)


def _mail_decisions(membership_ids, approve, reason):
    rows = db.session.execute(
        select(Account.email, Account.name, Org.name, Membership.role)
        .join(Membership, Membership.account_id == Account.id)
        .join(Org, Org.id == Membership.org_id)
        .where(Membership.id.in_(membership_ids))
    ).all()
    for email, name, org_name, _role in rows:
        if approve:
            body = f"{name}：您好！您提交的“{org_name}”管理员注册申请已审核通过，现在可以登录系统。"
            send_mail(email, "注册审核通过", body)
        else:
            body = (f"{name}：您好！您提交的“{org_name}”管理员注册申请未通过审核。原因：{reason}\n"
                    "您可以修改信息后重新注册。")
            send_mail(email, "注册审核未通过", body)


def withdraw_registration(membership, actor=None):
    """The applicant withdraws a pending registration (注册审核进度查询 → 撤回申请).

    The membership becomes ``withdrawn``; an organisation registered with it becomes
    ``rejected`` so that its code and the ID number can be used again.
    """
    if membership.status != "pending":
        raise AccountError("只能撤回待审核的注册申请")
    membership.status = "withdrawn"
    audit.record("withdraw", "membership", membership.id, before={"status": "pending"},
                 after={"status": "withdrawn"}, actor=actor)
    org = membership.org
    if org is not None and org.status == "pending" and org.kind in REGISTRABLE_KINDS:
        org.status = "rejected"
        audit.record("withdraw", "org", org.id, before={"status": "pending"}, after={"status": "rejected"},
                     actor=actor)
    db.session.commit()


# --------------------------------------------------------------------------- enable / disable
def set_membership_status(scope, ids, status, actor=None):
    """Enable or disable admin accounts inside ``scope``. Returns (changed, refused messages)."""
    if status not in ("active", "disabled"):
        raise AccountError("无效的状态")
    ids = [int(i) for i in ids]
    me = scope.membership
    rows = scope.query(Membership).filter(Membership.id.in_(ids)).with_entities(
        Membership.id, Membership.status, Membership.role, Membership.org_id
    ).all()
    refused = []
    changed = []
    for r in rows:
        if r.status == status or r.status not in ("active", "disabled"):
            continue
        if status == "disabled" and me is not None and r.id == me.id:
            refused.append("不能停用自己的账号")
            continue
        if me is not None and me.role != "sysadmin" and r.org_id == me.org_id:
            refused.append("本单位的管理员请由本单位超级管理员在“管理人员管理”中维护")
            continue
        changed.append(r)
    if status == "disabled":
        leaving = {r.id for r in changed if r.role == "sysadmin"}
        if leaving:
            active_sys = db.session.scalar(
                select(func.count()).select_from(Membership).where(
                    Membership.role == "sysadmin", Membership.status == "active"
                )
            )
            if active_sys - len(leaving) < 1:
                refused.append("不能停用最后一个有效的系统管理员")
                changed = [r for r in changed if r.id not in leaving]
    if changed:
        c_ids = [r.id for r in changed]
        before = "active" if status == "disabled" else "disabled"
        audit.record_many(
            "disable" if status == "disabled" else "enable", "membership",
            select(Membership.id).where(Membership.id.in_(c_ids)),
            before={"status": before}, after={"status": status}, actor=actor,
        )
        db.session.execute(
            update(Membership).where(Membership.id.in_(c_ids)).values(status=status)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    db.session.expire_all()
    return len(changed), refused


# --------------------------------------------------------------------------- password resets
def reset_passwords(scope, membership_ids, mode, actor=None):
    """Reset the passwords of the accounts behind ``membership_ids`` (in ``scope``).

    ``mode``: ``"id_tail"`` (persons: the last six characters of the ID number) or
    ``"zeros"`` (admins: "000000"). Every reset forces a change at the next sign-in and
    is audited. An account that also holds a role outside the actor's scope is left
    alone (only the system administrator may reset it). Returns (count, refused).
    """
    ids = [int(i) for i in membership_ids]
    if not ids:
        return 0, 0
    in_scope = scope.query(Membership).filter(Membership.id.in_(ids)).with_entities(Membership.account_id)
    account_ids = sorted({r.account_id for r in in_scope.all()})
    if not account_ids:
        return 0, 0
    refused = 0
    if scope.role != "sysadmin":
        # Roles of these accounts that lie outside the scope (or have no org, e.g. sysadmin).
        outside = db.session.scalars(
            select(Membership.account_id).where(
                Membership.account_id.in_(account_ids),
                Membership.status.in_(LIVE_MEMBERSHIP_STATUSES),
                or_(Membership.org_id.is_(None), ~Membership.org_id.in_(select(Org.id).where(scope.org_clause()))),
            )
        ).all()
        blocked = set(outside)
        refused = len(blocked)
        account_ids = [a for a in account_ids if a not in blocked]
    if not account_ids:
        return 0, refused
    stamp = now()
    if mode == "zeros":
        probe = Account()
        probe.set_password(ADMIN_RESET_PASSWORD)
        db.session.execute(
            update(Account).where(Account.id.in_(account_ids))
            .values(password_hash=probe.password_hash, must_change_password=True, password_changed_at=stamp)
            .execution_options(synchronize_session=False)
        )
    elif mode == "id_tail":
        pairs = db.session.execute(select(Account.id, Account.id_number).where(Account.id.in_(account_ids))).all()
        probe = Account()
        params = []
        for account_id, id_number in pairs:
            probe.set_password(id_number[-6:])
            params.append({"id": account_id, "password_hash": probe.password_hash,
                           "must_change_password": True, "password_changed_at": stamp})
        db.session.execute(update(Account), params)
    else:
        raise AccountError("无效的重置方式")
    audit.record_many(
        "reset_password", "account", select(Account.id).where(Account.id.in_(account_ids)),
        after={"mode": mode, "must_change_password": True}, actor=actor,
    )
    db.session.commit()
    db.session.expire_all()
    return len(account_ids), refused


# --------------------------------------------------------------------------- organisation admins
def org_admins(scope, org):
    """Admin memberships of ``org`` (not persons, not removed), through the scope."""
    return (
        scope.query(Membership)
        .filter(Membership.org_id == org.id, Membership.role == ADMIN_ROLE_OF_KIND.get(org.kind, "-"),
                Membership.status != "removed")
        .order_by(Membership.is_super.desc(), Membership.id)
    )


def add_org_admin(org, data, existing_user=False, actor=None):
    """A super-admin adds an admin to its own organisation (active at once)."""
    role = ADMIN_ROLE_OF_KIND.get(org.kind)
    if role is None:
        raise AccountError("该组织不能设置管理员")
    account = account_by_id_number(data["id_number"])
    if account is None:
        if existing_user:
            raise AccountError("该账号不存在", "id_number")
        if not data.get("password"):
            raise AccountError("请设置初始密码", "password")
        account = Account(id_number=data["id_number"], name=data["name"], phone=data.get("phone"),
                          email=data.get("email"))
        account.set_password(data["password"])
        account.must_change_password = True
        db.session.add(account)
        db.session.flush()
    else:
        if account.name != data["name"]:
            raise AccountError("姓名与已注册账号不一致", "name")
    existing = db.session.scalar(
        select(Membership).where(Membership.account_id == account.id, Membership.org_id == org.id,
                                 Membership.role == role)
    )
    if existing is not None and existing.status in LIVE_MEMBERSHIP_STATUSES:
        raise AccountError("该账号已是本单位管理员", "id_number")
    if existing is not None:
        existing.status = "active"
        existing.is_super = False
        existing.menus = None
        existing.approved_at = now()
        membership = existing
    else:
        membership = Membership(account=account, role=role, org=org, is_super=False, status="active",
                                approved_at=now())
        db.session.add(membership)
    db.session.flush()
    audit.record("add_admin", "membership", membership.id, after={"org": org.name, "account": account.id_number},
                 actor=actor)
    db.session.commit()
    return membership


def remove_org_admin(membership, actor):
    if membership.id == actor.id:
        raise AccountError("不能移除自己的管理权限")
    if membership.is_super:
        raise AccountError("不能移除超级管理员，请先移交超级管理员")
    before = membership.status
    membership.status = "removed"
    audit.record("remove_admin", "membership", membership.id, before={"status": before}, after={"status": "removed"},
                 actor=actor)
    db.session.commit()


def set_menus(membership, endpoints, allowed, actor):
    """角色管理: which menus (admin endpoints) an ordinary admin may use."""
    if membership.is_super:
        raise AccountError("超级管理员拥有全部菜单")
    chosen = sorted(e for e in endpoints if e in allowed)
    before = membership.menus
    membership.menus = chosen
    audit.record("set_menus", "membership", membership.id, before={"menus": before}, after={"menus": chosen},
                 actor=actor)
    db.session.commit()


def hand_over_super(current, target, actor):
    """The super-admin hands its role on; the old admin role is not kept (更换超管后不保留原超管账号).

    Only the old admin membership is removed: the account and its other roles (a person's
    membership, admin roles elsewhere) stay.
    """
    if not current.is_super:
        raise AccountError("只有超级管理员可以移交")
    if target.id == current.id or target.org_id != current.org_id or target.role != current.role:
        raise AccountError("只能移交给本单位的其他管理员")
    if target.status != "active":
        raise AccountError("只能移交给状态正常的管理员")
    current.is_super = False
    current.menus = None
    current.status = "removed"
    target.is_super = True
    target.menus = None
    audit.record("hand_over_super", "membership", target.id,
                 before={"super": current.account.name}, after={"super": target.account.name}, actor=actor)
    audit.record("remove_admin", "membership", current.id, before={"status": "active"}, after={"status": "removed"},
                 actor=actor)
    db.session.commit()


# --------------------------------------------------------------------------- sysadmins
def add_sysadmin(data, existing_user=False, actor=None):
    account = account_by_id_number(data["id_number"])
    if account is None:
        if existing_user:
            raise AccountError("该账号不存在", "id_number")
        account = Account(id_number=data["id_number"], name=data["name"], phone=data.get("phone"),
                          email=data.get("email"))
        account.set_password(ADMIN_RESET_PASSWORD)
        account.must_change_password = True
        db.session.add(account)
        db.session.flush()
    elif account.name != data["name"]:
        raise AccountError("姓名与已注册账号不一致", "name")
    existing = db.session.scalar(
        select(Membership).where(Membership.account_id == account.id, Membership.role == "sysadmin")
    )
    if existing is not None and existing.status in LIVE_MEMBERSHIP_STATUSES:
        raise AccountError("该账号已是系统管理员", "id_number")
    if existing is not None:
        existing.status = "active"
        membership = existing
    else:
        membership = Membership(account=account, role="sysadmin", org=None, is_super=True, status="active",
                                approved_at=now())
        db.session.add(membership)
    db.session.flush()
    audit.record("add_sysadmin", "membership", membership.id, after={"account": account.id_number}, actor=actor)
    db.session.commit()
    return membership


# --------------------------------------------------------------------------- departments
def _check_department_parent(unit_id, parent):
    if parent is None or parent.kind not in ("unit", "department") or parent.unit_id != unit_id:
        raise AccountError("上级部门必须是本单位或本单位的部门", "parent")
    if parent.status == "disabled":
        raise AccountError("不能放在已停用的部门之下", "parent")


def add_department(unit, parent, name, actor):
    name = (name or "").strip()
    if not name:
        raise AccountError("请输入部门名称", "name")
    _check_department_parent(unit.id, parent)
    _check_department_name(parent, name)
    dept = Org(kind="department", name=name, status="approved")
    tree.attach(dept, parent)
    audit.record("add_department", "org", dept.id, after={"name": name, "parent": parent.name}, actor=actor)
    db.session.commit()
    return dept


def _check_department_name(parent, name, exclude_id=None):
    stmt = select(Org.id).where(Org.parent_id == parent.id, Org.kind == "department", Org.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Org.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise AccountError("同一上级下已有同名部门", "name")


def update_department(dept, name, parent, actor):
    """Rename and/or move a department (its subtree follows via tree.move)."""
    name = (name or "").strip()
    if not name:
        raise AccountError("请输入部门名称", "name")
    _check_department_parent(dept.unit_id, parent)
    if parent.parent_path.startswith(dept.parent_path):
        raise AccountError("不能移动到本部门或其下级部门之下", "parent")
    _check_department_name(parent, name, exclude_id=dept.id)
    before = {"name": dept.name, "parent_id": dept.parent_id}
    dept.name = name
    moved = parent.id != dept.parent_id
    dept_id = dept.id
    if moved:
        tree.move(dept, parent)
    audit.record("edit_department", "org", dept_id, before=before, after={"name": name, "parent_id": parent.id},
                 actor=actor)
    db.session.commit()


def set_department_status(scope, ids, status, actor):
    """Disable or enable departments (set-based); disabling one disables its subtree."""
    ids = [int(i) for i in ids]
    depts = scope.query(Org).filter(Org.id.in_(ids), Org.kind == "department").all()
    if not depts:
        return 0
    clauses = [tree.subtree_clause(d.parent_path) for d in depts] if status == "disabled" else [
        Org.id.in_([d.id for d in depts])]
    target = and_(Org.kind == "department", or_(*clauses), scope.org_clause(),
                  Org.status != status)
    audit.record_many("disable" if status == "disabled" else "enable", "org", select(Org.id).where(target),
                      after={"status": status}, actor=actor)
    result = db.session.execute(
        update(Org).where(target).values(status=status).execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.expire_all()
    return result.rowcount


# --------------------------------------------------------------------------- organisation changes
def pending_change_of(org):
    return db.session.scalar(
        select(OrgChangeRequest).where(OrgChangeRequest.org_id == org.id, OrgChangeRequest.status == "pending")
    )


def request_org_change(org, actor, change_type, name=None, code=None, parent=None, competent=None,
                       change_competent=False, scan_file=None, reason=None):
    """A super-admin asks to change its org's name/code or superior; its parent HRSS reviews."""
    if org.kind not in REGISTRABLE_KINDS or org.status != "approved":
        raise AccountError("该组织不能申请变更")
    if pending_change_of(org) is not None:
        raise AccountError(MSG_CHANGE_PENDING)
    req = OrgChangeRequest(org_id=org.id, change_type=change_type, status="pending",
                           reviewer_org_id=getattr(reviewer_of_org(org), "id", None),
                           old_name=org.name, old_code=org.code, old_parent_id=org.parent_id,
                           old_competent_id=org.competent_dept_id, requested_by_id=actor.id,
                           scan_file=scan_file, reason=(reason or "").strip()[:500] or None)
    if change_type == "info":
        name = (name or "").strip()
        code = (code or "").strip().upper()
        if not name or not code:
            raise AccountError("请填写单位名称和统一社会信用代码", "name")
        if name == org.name and code == (org.code or "").upper():
            raise AccountError("单位名称和统一社会信用代码均未修改", "name")
        if code != (org.code or "").upper() and code_taken(code, exclude_org_id=org.id):
            raise AccountError(MSG_CODE_TAKEN, "code")
        if not scan_file:
            raise AccountError("请上传证件扫描件", "scan")
        req.new_name, req.new_code = name, code
    elif change_type == "superior":
        if parent is None or parent.kind not in HRSS_KINDS or parent.status != "approved":
            raise AccountError("请选择同级人社部门", "parent")
        if change_competent and org.kind != "unit":
            raise AccountError("只有用人单位可以更换主管部门", "competent")
        if change_competent and competent is not None:
            if competent.kind != "industry_dept" or competent.status != "approved":
                raise AccountError("请选择有效的主管部门", "competent")
            if not competent_fits(competent, parent):
                raise AccountError("所选主管部门不属于该单位所在地区或上级地区", "competent")
        new_competent_id = competent.id if (change_competent and competent is not None) else None
        if parent.id == org.parent_id and (not change_competent or new_competent_id == org.competent_dept_id):
            raise AccountError("上级部门未发生变化", "parent")
        req.new_parent_id = parent.id
        req.change_competent = bool(change_competent)
        req.new_competent_id = new_competent_id
        # Another HRSS: the current superior releases, then the new one accepts (FAQ).
        req.stage = "old" if parent.id != org.parent_id else None
    else:
        raise AccountError("无效的变更类型")
    db.session.add(req)
    db.session.flush()
    audit.record("request_change", "org_change_request", req.id, after={
        "type": change_type, "name": req.new_name, "code": req.new_code, "parent": req.new_parent_id,
        "competent": req.new_competent_id}, actor=actor)
    db.session.commit()
    return req


def withdraw_org_change(req, actor):
    if req.status != "pending":
        raise AccountError("只能撤销待审核的申请")
    req.status = "withdrawn"
    req.decided_at = now()
    audit.record("withdraw", "org_change_request", req.id, before={"status": "pending"},
                 after={"status": "withdrawn"}, actor=actor)
    db.session.commit()


def change_decider_org(req):
    """The organisation whose admins (or admins above it) decide the request now."""
    return req.new_parent if req.stage == "new" else req.org


def may_decide_change(req, actor):
    """The current superior decides stage 'old' (and one-step requests), the new one 'new'."""
    from .permissions import Scope

    target = change_decider_org(req)
    return (
        actor.role == "hrss_admin" and req.org_id != actor.org_id and target is not None
        and Scope(actor).get(Org, target.id) is not None
    )


def decide_org_change(req, approve, comment, actor):
    """Approve (the change takes effect: tree.move / set_competent_dept) or reject.

    A change of superior to another HRSS takes two approvals: the current superior's
    (stage 'old' → 'new', nothing moves yet), then the new superior's."""
    if req.status != "pending":
        raise AccountError("该申请已处理")
    if not may_decide_change(req, actor):
        raise AccountError("该申请当前应由" + ("新的上级部门" if req.stage == "new" else "原上级部门") + "审核")
    comment = (comment or "").strip()[:500] or None
    if not approve and not comment:
        raise AccountError("请填写不通过的原因", "reason")
    org = req.org
    req_id = req.id
    if approve and req.stage == "old":
        req.stage = "new"
        req.reviewer_org_id = req.new_parent_id
        req.released_by_id, req.released_at = actor.id, now()
        audit.record("release", "org_change_request", req_id, before={"stage": "old"}, after={"stage": "new"},
                     comment=comment, actor=actor)
        db.session.commit()
        requester = req.requested_by
        if requester is not None:
            send_mail(requester.account.email, "单位信息变更审核进度",
                      f"{requester.account.name}：您好！您提交的“{req.org.name}”更换上级部门申请已获原上级部门同意，"
                      f"正等待新的上级部门（{req.new_parent.name}）审核。")
        return req
    if approve:
        if req.change_type == "info":
            if req.new_code != (org.code or "").upper() and code_taken(req.new_code, exclude_org_id=org.id):
                raise AccountError(MSG_CODE_TAKEN)
            org.name = req.new_name
            org.code = req.new_code
            if req.scan_file:
                org.license_file = req.scan_file
        else:
            new_parent = req.new_parent
            if req.change_competent:
                tree.set_competent_dept(org, req.new_competent)
                org = db.session.get(Org, req.org_id)
            if new_parent.id != org.parent_id:
                tree.move(org, new_parent)
        req = db.session.get(OrgChangeRequest, req_id)
    req.status = "approved" if approve else "rejected"
    req.decided_by_id = actor.id
    req.decided_at = now()
    req.decision_comment = comment
    audit.record("approve" if approve else "reject", "org_change_request", req_id, before={"status": "pending"},
                 after={"status": req.status}, comment=comment, actor=actor)
    db.session.commit()
    requester = req.requested_by
    if requester is not None:
        verdict = "已审核通过，已生效" if approve else f"未通过审核。原因：{comment}"
        send_mail(requester.account.email, "单位信息变更审核结果",
                  f"{requester.account.name}：您好！您提交的“{req.org.name}”{req.type_label}申请{verdict}")
    return req


def pending_changes(scope):
    """Change requests an HRSS admin may decide now: of another org, at the stage whose
    deciding organisation (the org itself, or its new superior at stage 'new') is in scope."""
    me = scope.membership
    mine = select(Org.id).where(scope.org_clause())
    at_old_side = and_(or_(OrgChangeRequest.stage.is_(None), OrgChangeRequest.stage == "old"),
                       OrgChangeRequest.org_id.in_(mine))
    at_new_side = and_(OrgChangeRequest.stage == "new", OrgChangeRequest.new_parent_id.in_(mine))
    return scope.query(OrgChangeRequest).filter(
        OrgChangeRequest.status == "pending", OrgChangeRequest.org_id != me.org_id, or_(at_old_side, at_new_side)
    )


def account_has_other_roles(account_id, scope):
    """Does the account hold a live role outside ``scope``?"""
    return db.session.scalar(
        select(exists().where(
            Membership.account_id == account_id,
            Membership.status.in_(LIVE_MEMBERSHIP_STATUSES),
            or_(Membership.org_id.is_(None), ~Membership.org_id.in_(select(Org.id).where(scope.org_clause()))),
        ))
    )
