"""账户管理: review of registrations (审核账户), managing accounts (管理账户),
organisation admins (管理人员管理 / 角色管理), system users and system admins.

Every page is a ScopedBaseView / ScopedModelView; every row is fetched through the
permission layer (``current_scope()``), and every change goes through
``backoffice.accounts`` (one transaction with its audit entry, mail after commit).
"""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from .. import accounts
from ..extensions import db
from ..models import ACCOUNT_STATUSES, ORG_KINDS, ORG_STATUSES, ROLES, Membership, Org
from ..permissions import ScopedBaseView, ScopedModelView, current_scope
from ..security import safe_next
from ..validators import IdNumber
from . import _common as c
from ._export import ListExportMixin
from .home import waiting_item


def _referrer_path():
    """The path of the referring page when it is this site's (never another site)."""
    from urllib.parse import urlsplit

    ref = urlsplit(request.referrer or "")
    if ref.netloc and ref.netloc != request.host:
        return None
    return ref.path + (f"?{ref.query}" if ref.query else "")

ORDER = 15
CATEGORY = "账户管理"
PAGE_SIZE = 50

EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="电子邮箱格式不正确")

REVIEW_KINDS = {
    "hrss": "人社部门",
    "industry_dept": "行业主管部门",
    "unit": "法人单位",
    "institution": "施教机构",
}


def _posted_ids():
    ids = []
    for raw in request.form.getlist("ids"):
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            continue
    return ids


def _page():
    try:
        return max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return 1


def _apply_review_kind(query, kind):
    if kind == "hrss":
        return query.filter(Membership.role == "hrss_admin")
    if kind in ("industry_dept", "unit", "institution"):
        return query.filter(Org.kind == kind)
    return query


# --------------------------------------------------------------------------- 审核账户
def _review_kind_label(m):
    return "人社管理员" if m.role == "hrss_admin" else ORG_KINDS.get(m.org.kind, "")


def _reviewer_name(m):
    reviewer = accounts.reviewer_of_membership(m)
    return reviewer.name if reviewer else ""


# The account columns of the admin lists (export cells of a Membership row).
ADMIN_COLUMNS = (
    ("姓名", lambda m: m.account.name),
    ("身份证号", lambda m: m.account.id_number),
    ("手机号码", lambda m: m.account.phone),
    ("电子邮箱", lambda m: m.account.email),
)
ADMIN_LOADS = (selectinload(Membership.account),)


def _status_label(m):
    return ACCOUNT_STATUSES.get(m.status, m.status)


class AccountReviewView(ListExportMixin, ScopedBaseView):
    """审核账户: pending registrations of subordinate HRSS admins, industry depts, units, institutions."""

    roles = ("hrss_admin",)
    export_loads = (selectinload(Membership.org), selectinload(Membership.account))

    def list_query(self, args):
        query = _apply_review_kind(accounts.pending_registrations(current_scope()), args.get("kind", ""))
        return query.order_by(Membership.created_at, Membership.id)

    def export_columns(self):
        return (
            ("注册类型", _review_kind_label),
            ("组织名称", lambda m: m.org.name),
            ("组织机构代码", lambda m: m.org.code),
            ("申请人", lambda m: m.account.name),
            ("身份证号", lambda m: m.account.id_number),
            ("审核部门", _reviewer_name),
            ("注册时间", lambda m: m.created_at),
        )

    @expose("/")
    def index(self):
        kind = request.args.get("kind", "")
        query = self.list_query(request.args)
        total = query.order_by(None).count()
        page = _page()
        rows = query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).all()
        return self.render(
            "accounts/review_list.html", rows=rows, total=total, page=page, page_size=PAGE_SIZE, kind=kind,
            kinds=REVIEW_KINDS, reviewer_of=accounts.reviewer_of_membership, org_kinds=ORG_KINDS,
        )

    @expose("/detail/<int:membership_id>")
    def detail(self, membership_id):
        m = current_scope().get_or_404(Membership, membership_id)
        if m.role not in accounts.ORG_ADMIN_ROLES:
            abort(404)
        return self.render("accounts/review_detail.html", m=m, org=m.org, reviewer=accounts.reviewer_of_membership(m),
                           org_kinds=ORG_KINDS, statuses=ACCOUNT_STATUSES,
                           pending=m.status == "pending" and m.org_id != current_user.org_id)

    @expose("/decide", methods=["POST"])
    def decide(self):
        decision = request.form.get("decision")
        if decision not in ("approve", "reject"):
            abort(400)
        everything = request.form.get("all") == "1"
        ids = None if everything else _posted_ids()
        if ids is not None and not ids:
            flash("请先勾选要审核的注册信息", "warning")
            return redirect(url_for(".index", kind=request.form.get("kind", "")))
        if everything and request.form.get("kind"):
            scope = current_scope()
            ids = [r.id for r in _apply_review_kind(accounts.pending_registrations(scope), request.form["kind"])
                   .with_entities(Membership.id)]
        try:
            n = accounts.decide_registrations(current_scope(), ids, decision == "approve",
                                              request.form.get("reason"), actor=current_user)
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(safe_next(_referrer_path(), url_for(".index")))
        if n:
            flash(f"已{'审核通过' if decision == 'approve' else '审核不通过'} {n} 条注册信息", "success")
        else:
            flash("没有可审核的注册信息", "warning")
        return redirect(url_for(".index", kind=request.form.get("kind", "")))


# --------------------------------------------------------------------------- 管理账户
class OrgAccountsView(ScopedModelView):
    """管理账户: the organisations of the HRSS admin's subtree and their admins (启用/禁用)."""

    roles = ("hrss_admin", "sysadmin")
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("name", "kind", "code", "parent", "unit_type", "unit_level", "affiliation", "status", "admins")
    column_details_list = (
        "name", "kind", "code", "parent", "competent_dept", "unit_type", "affiliation", "unit_level", "industry",
        "address", "contact_name", "contact_phone", "email", "status", "created_at",
    )
    column_labels = {
        "name": "名称", "kind": "类别", "code": "组织机构代码", "parent": "上级", "unit_type": "单位性质",
        "unit_level": "单位级别", "affiliation": "隶属关系", "status": "状态", "admins": "管理员信息",
        "competent_dept": "主管部门", "industry": "所属行业", "address": "地址", "contact_name": "联系人",
        "contact_phone": "联系电话", "email": "电子邮箱", "created_at": "注册时间",
        "unit_type.name": "单位性质", "unit_level.name": "单位级别", "affiliation.name": "隶属关系",
        "industry.name": "所属行业",
    }
    column_searchable_list = ("name", "code")
    column_filters = ("name", "kind", "unit_type.name", "unit_level.name", "affiliation.name", "industry.name",
                      "status")
    column_choices = {"kind": [(k, v) for k, v in ORG_KINDS.items() if k != "department"],
                      "status": c.choices(ORG_STATUSES)}
    column_default_sort = ("parent_path", False)
    count_cap = 10000

    def _admins_link(view, context, model, name):
        return Markup('<a class="btn btn-sm btn-outline-primary" href="{}">管理员信息</a>').format(
            url_for(".admins", org_id=model.id))

    column_formatters = {"kind": c.org_kind, "status": c.org_status, "admins": _admins_link}
    column_export_exclude_list = ("admins",)  # a link on the page, the same word in every exported row

    def _mine(self, query):
        own = current_user.org_id
        query = query.filter(Org.kind != "department")
        return query.filter(Org.id != own) if own is not None else query

    def get_query(self):
        return self._mine(super().get_query())

    def get_count_query(self):
        return self._mine(super().get_count_query())

    def _managed_org(self, org_id):
        org = current_scope().get_or_404(Org, org_id)
        if org.kind == "department" or org.id == current_user.org_id:
            abort(404)
        return org

    @expose("/admins/<int:org_id>")
    def admins(self, org_id):
        org = self._managed_org(org_id)
        rows = accounts.org_admins(current_scope(), org).all()
        return self.render("accounts/org_admins_of.html", org=org, rows=rows, statuses=ACCOUNT_STATUSES,
                           org_kinds=ORG_KINDS)

    @expose("/admins/<int:org_id>/status", methods=["POST"])
    def admin_status(self, org_id):
        org = self._managed_org(org_id)
        status = request.form.get("status")
        if status not in ("active", "disabled"):
            abort(400)
        wanted = _posted_ids()
        ids = [m.id for m in accounts.org_admins(current_scope(), org).filter(Membership.id.in_(wanted))]
        if not ids:
            flash("请先选择管理员", "warning")
            return redirect(url_for(".admins", org_id=org.id))
        n, refused = accounts.set_membership_status(current_scope(), ids, status, actor=current_user)
        for message in refused:
            flash(message, "error")
        flash(f"已{'启用' if status == 'active' else '禁用'} {n} 个管理员", "success")
        return redirect(url_for(".admins", org_id=org.id))


# --------------------------------------------------------------------------- 管理人员管理 (organisation admins)
class AdminForm(FlaskForm):
    existing_user = BooleanField("已是本系统用户")
    id_number = StringField("身份证号", validators=[DataRequired("请输入身份证号"), IdNumber()])
    name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=50)])
    phone = StringField("手机号码", validators=[Optional(), Length(max=30)])
    email = StringField("电子邮箱", validators=[Optional(), EMAIL, Length(max=120)])
    password = PasswordField("初始密码", validators=[Optional(), Length(min=6, max=64, message="初始密码长度须为 6–64 位")])

    def data_dict(self):
        return {"id_number": self.id_number.data, "name": (self.name.data or "").strip(),
                "phone": (self.phone.data or "").strip() or None, "email": (self.email.data or "").strip() or None,
                "password": self.password.data if getattr(self, "password", None) is not None else None}


def role_menus(admin, membership):
    """The admin endpoints a role's ordinary admins may be given (角色管理)."""
    menus = []
    for view in admin._views:
        roles = getattr(view, "roles", None)
        if not roles or membership.role not in roles or view.endpoint in ("admin", "org_admins", "org_profile"):
            continue
        kinds = getattr(view, "hrss_kinds", None)
        if membership.role == "hrss_admin" and kinds is not None and membership.org.kind not in kinds:
            continue
        menus.append((view.endpoint, f"{view.category + ' / ' if view.category else ''}{view.name}"))
    return menus


class OrgAdminsView(ListExportMixin, ScopedBaseView):
    """管理人员管理: the super-admin's own organisation's admins."""

    roles = ("unit_admin", "institution_admin", "industry_admin", "hrss_admin")
    export_loads = ADMIN_LOADS

    def is_accessible(self):
        return super().is_accessible() and current_user.is_super and current_user.org is not None

    def list_query(self, args):
        return accounts.org_admins(current_scope(), current_user.org)

    def export_columns(self):
        names = dict(role_menus(self.admin, current_user))

        def menus(m):
            if m.is_super or m.menus is None:
                return "全部"
            return "、".join(names.get(e, e) for e in m.menus) or "无"

        return ADMIN_COLUMNS + (
            ("超级管理员", lambda m: "是" if m.is_super else ""),
            ("状态", _status_label),
            ("菜单权限", menus),
        )

    def _own(self, membership_id):
        m = accounts.org_admins(current_scope(), current_user.org).filter(Membership.id == membership_id).one_or_none()
        if m is None:
            abort(404)
        return m

    @expose("/")
    def index(self):
        rows = self.list_query(request.args).all()
        return self.render("accounts/org_admins.html", rows=rows, statuses=ACCOUNT_STATUSES,
                           menu_names=dict(role_menus(self.admin, current_user)))

    @expose("/add", methods=["GET", "POST"])
    def add(self):
        form = AdminForm()
        if form.validate_on_submit():
            if not form.existing_user.data and not form.password.data:
                form.password.errors.append("新账号请设置初始密码（首次登录须修改）")
            else:
                try:
                    accounts.add_org_admin(current_user.org, form.data_dict(), existing_user=form.existing_user.data,
                                           actor=current_user)
                    flash("已新增管理员", "success")
                    return redirect(url_for(".index"))
                except accounts.AccountError as exc:
                    db.session.rollback()
                    getattr(form, exc.field or "id_number", form.id_number).errors.append(exc.message)
        return self.render("accounts/admin_form.html", form=form, title="新增管理员", back=url_for(".index"))

    @expose("/<int:membership_id>/menus", methods=["GET", "POST"])
    def menus(self, membership_id):
        m = self._own(membership_id)
        options = role_menus(self.admin, m)
        if request.method == "POST":
            try:
                accounts.set_menus(m, request.form.getlist("menus"), {e for e, _ in options}, current_user)
                flash("已保存该管理员的菜单权限", "success")
                return redirect(url_for(".index"))
            except accounts.AccountError as exc:
                db.session.rollback()
                flash(exc.message, "error")
        chosen = set(m.menus) if m.menus is not None else {e for e, _ in options}
        return self.render("accounts/menus.html", m=m, options=options, chosen=chosen)

    @expose("/remove", methods=["POST"])
    def remove(self):
        for membership_id in _posted_ids():
            m = self._own(membership_id)
            try:
                accounts.remove_org_admin(m, current_user)
                flash(f"已移除 {m.account.name} 的管理权限", "success")
            except accounts.AccountError as exc:
                db.session.rollback()
                flash(exc.message, "error")
        return redirect(url_for(".index"))

    @expose("/reset", methods=["POST"])
    def reset(self):
        ids = [self._own(i).id for i in _posted_ids()]
        ids = [i for i in ids if i != current_user.id]
        if not ids:
            flash("请选择要重置密码的其他管理员", "warning")
            return redirect(url_for(".index"))
        n, refused = accounts.reset_passwords(current_scope(), ids, "zeros", actor=current_user)
        _flash_reset(n, refused, "000000")
        return redirect(url_for(".index"))

    @expose("/hand-over", methods=["POST"])
    def hand_over(self):
        ids = _posted_ids()
        if len(ids) != 1:
            flash("请选择一名管理员作为新的超级管理员", "warning")
            return redirect(url_for(".index"))
        target = self._own(ids[0])
        try:
            accounts.hand_over_super(current_user._get_current_object(), target, current_user)
            name = target.account.name
            logout_user()
            flash(f"已将超级管理员移交给 {name}，原超级管理员账号的管理角色已注销", "success")
            return redirect(url_for("auth.login"))
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"))


def _flash_reset(n, refused, password_text):
    if n:
        flash(f"已重置 {n} 个账号的密码为{password_text}，登录后须修改密码", "success")
    if refused:
        flash(f"{refused} 个账号同时拥有您管理范围以外的角色，未重置（请联系系统管理员）", "error")
    if not n and not refused:
        flash("没有可重置的账号", "warning")


# --------------------------------------------------------------------------- 系统用户信息管理
class SystemUserView(ScopedModelView):
    """系统用户信息管理: every registered role of every account (sysadmin)."""

    roles = ("sysadmin",)
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    column_list = ("account.id_number", "account.name", "role", "org", "is_super", "status", "account.last_login_at",
                   "created_at")
    column_labels = {
        "account.id_number": "身份证号", "account.name": "姓名", "role": "角色", "org": "所属组织",
        "is_super": "超级管理员", "status": "状态", "account.last_login_at": "最后登录", "created_at": "注册时间",
        "org.name": "所属组织",
    }
    column_searchable_list = ("account.id_number", "account.name")
    column_filters = ("account.id_number", "account.name", "role", "org.name", "status")
    column_choices = {"role": c.choices(ROLES), "status": c.choices(ACCOUNT_STATUSES)}
    column_formatters = {
        "role": c.role_label,
        "status": c.account_status,
        # created_at / last_login_at: the base view's date-time format (exports read them as SQL rows)
    }
    column_default_sort = ("id", True)
    count_cap = 10000

    @action("disable", "禁用", "确定禁用所选账号吗？禁用后将无法登录。")
    def action_disable(self, ids):
        n, refused = accounts.set_membership_status(self.scope, ids, "disabled", actor=current_user)
        for message in refused:
            flash(message, "error")
        flash(f"已禁用 {n} 个账号", "success")

    @action("enable", "启用", "确定启用所选账号吗？")
    def action_enable(self, ids):
        n, _ = accounts.set_membership_status(self.scope, ids, "active", actor=current_user)
        flash(f"已启用 {n} 个账号", "success")

    @action("reset_password", "初始化密码", "确定将所选账号的密码初始化为 000000 吗？")
    def action_reset(self, ids):
        n, refused = accounts.reset_passwords(self.scope, ids, "zeros", actor=current_user)
        _flash_reset(n, refused, "000000")


# --------------------------------------------------------------------------- 管理人员管理 (system admins)
class SysadminsView(ListExportMixin, ScopedBaseView):
    roles = ("sysadmin",)
    export_loads = ADMIN_LOADS

    def _rows(self):
        return current_scope().query(Membership).filter(Membership.role == "sysadmin").order_by(Membership.id)

    def list_query(self, args):
        return self._rows()

    def export_columns(self):
        return ADMIN_COLUMNS + (("状态", _status_label),)

    @expose("/")
    def index(self):
        return self.render("accounts/sysadmins.html", rows=self._rows().all(), statuses=ACCOUNT_STATUSES)

    @expose("/add", methods=["GET", "POST"])
    def add(self):
        form = AdminForm()
        del form.password
        if form.validate_on_submit():
            try:
                accounts.add_sysadmin(form.data_dict() | {"password": None}, existing_user=form.existing_user.data,
                                      actor=current_user)
                flash("已新增系统管理员（新账号初始密码为 000000，首次登录须修改）", "success")
                return redirect(url_for(".index"))
            except accounts.AccountError as exc:
                db.session.rollback()
                getattr(form, exc.field or "id_number", form.id_number).errors.append(exc.message)
        return self.render("accounts/admin_form.html", form=form, title="新增系统管理员", back=url_for(".index"))

    @expose("/status", methods=["POST"])
    def status(self):
        status = request.form.get("status")
        if status not in ("active", "disabled"):
            abort(400)
        ids = [m.id for m in self._rows().filter(Membership.id.in_(_posted_ids()))]
        n, refused = accounts.set_membership_status(current_scope(), ids, status, actor=current_user)
        for message in refused:
            flash(message, "error")
        flash(f"已{'启用' if status == 'active' else '停用'} {n} 个系统管理员", "success")
        return redirect(url_for(".index"))

    @expose("/reset", methods=["POST"])
    def reset(self):
        ids = [m.id for m in self._rows().filter(Membership.id.in_(_posted_ids()), Membership.id != current_user.id)]
        n, refused = accounts.reset_passwords(current_scope(), ids, "zeros", actor=current_user)
        _flash_reset(n, refused, "000000")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- home page
@waiting_item
def _pending_registrations(membership, scope):
    if membership.role != "hrss_admin":
        return []
    n = db.session.scalar(
        select(func.count()).select_from(accounts.pending_registrations(scope).with_entities(Membership.id).subquery())
    )
    return [{"key": "account_review", "label": "待审核注册账户", "count": n, "url": url_for("account_review.index")}]


def register(admin):
    admin.add_view(AccountReviewView(name="审核账户", endpoint="account_review", category=CATEGORY))
    admin.add_view(OrgAccountsView(Org, name="管理账户", endpoint="org_accounts", category=CATEGORY))
    admin.add_view(OrgAdminsView(name="管理人员管理", endpoint="org_admins", category=CATEGORY))
    admin.add_view(SystemUserView(Membership, name="系统用户信息管理", endpoint="system_users", category=CATEGORY))
    admin.add_view(SysadminsView(name="系统管理员管理", endpoint="sysadmins", category=CATEGORY))
