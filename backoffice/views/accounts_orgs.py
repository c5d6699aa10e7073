"""组织机构管理 (a unit's departments), 单位资料管理 (change requests with 变更记录) and
their review by the HRSS (审核单位信息变更)."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup, escape
from sqlalchemy import func, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import accounts
from ..extensions import db
from ..models import ORG_KINDS, Org, OrgChangeRequest
from ..permissions import ScopedBaseView, ScopedModelView, current_scope
from ..validators import CreditCode
from . import _common as c
from ._export import ListExportMixin
from .home import waiting_item

ORDER = 16
CATEGORY = "账户管理"


# --------------------------------------------------------------------------- 组织机构管理
class DepartmentView(ScopedModelView):
    """A unit's departments: add, rename, nest, move (the subtree follows), disable."""

    roles = ("unit_admin",)
    can_delete = False
    can_view_details = False
    column_list = ("name", "parent", "status", "created_at")
    column_labels = {"name": "部门名称", "parent": "上级", "status": "状态", "created_at": "创建时间"}
    column_searchable_list = ("name",)
    column_default_sort = ("parent_path", False)
    column_sortable_list = ("name", "created_at")
    form_columns = ("name", "parent")
    form_args = {
        "name": {"label": "部门名称", "validators": [DataRequired("请输入部门名称"), Length(max=200)]},
        "parent": {"label": "上级（本单位或部门）", "validators": [DataRequired("请选择上级")]},
    }

    def _indented(view, context, model, name):
        unit = current_user.org
        depth = max(model.depth - (unit.depth if unit is not None else 0) - 1, 0)
        return Markup("{}{}").format(Markup("&nbsp;" * 4 * depth + ("└ " if depth else "")), escape(model.name))

    column_formatters = {
        "name": _indented,
        "status": c.badge_formatter({"approved": "正常", "disabled": "已停用"}, c.STATUS_COLOURS),
        "created_at": lambda v, ctx, m, n: m.created_at.strftime("%Y-%m-%d") if m.created_at else "",
    }

    def get_query(self):
        return super().get_query().filter(Org.kind == "department")

    def get_count_query(self):
        return super().get_count_query().filter(Org.kind == "department")

    def field_choice_query(self, name, query):
        if name == "parent":
            return query.filter(Org.kind.in_(("unit", "department")), Org.status != "disabled").order_by(
                Org.parent_path)
        return query

    def create_model(self, form):
        try:
            return accounts.add_department(current_user.org, form.parent.data, form.name.data, current_user)
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return False

    def update_model(self, form, model):
        try:
            accounts.update_department(model, form.name.data, form.parent.data, current_user)
            return True
        except (accounts.AccountError, ValueError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", str(exc)), "error")
            return False

    @action("disable", "停用", "停用部门会同时停用其下级部门，确定吗？")
    def action_disable(self, ids):
        n = accounts.set_department_status(self.scope, ids, "disabled", current_user)
        flash(f"已停用 {n} 个部门", "success")

    @action("enable", "启用", "确定启用所选部门吗？")
    def action_enable(self, ids):
        n = accounts.set_department_status(self.scope, ids, "approved", current_user)
        flash(f"已启用 {n} 个部门", "success")


# --------------------------------------------------------------------------- 单位资料管理
class InfoChangeForm(FlaskForm):
    name = StringField("新单位名称", validators=[DataRequired("请输入单位名称"), Length(max=200)])
    code = StringField("新统一社会信用代码", validators=[DataRequired("请输入统一社会信用代码"), CreditCode()])
    scan = FileField("证件扫描件")
    reason = TextAreaField("变更说明", validators=[Optional(), Length(max=500)])


class SuperiorChangeForm(FlaskForm):
    city = SelectField("市", choices=[], validate_choice=False)
    county = SelectField("区（县）", choices=[], validate_choice=False)
    change_competent = BooleanField("同时更换主管部门")
    competent = SelectField("新主管部门", choices=[], validate_choice=False)
    reason = TextAreaField("变更说明", validators=[Optional(), Length(max=500)])


def _fill_superior(form):
    province, cities, counties = accounts.hrss_choices()
    form.city.choices = [("", "请选择"), (str(province.id), "河南省（省直）")] + [(str(x.id), x.name) for x in cities]
    form.county.choices = [("", "（市本级）")] + [(str(x.id), x.name) for items in counties.values() for x in items]
    form.competent.choices = [("", "无")] + [(str(d.id), d.name) for d in accounts.approved_industry_depts()]
    return province, cities, counties


def _chosen_hrss(form, province, cities, counties):
    city = province if province is not None and form.city.data == str(province.id) else next(
        (x for x in cities if str(x.id) == form.city.data), None)
    if city is None:
        form.city.errors.append("请选择同级人社部门所在的市")
        return None
    if form.county.data:
        county = next((x for x in counties.get(city.id, []) if str(x.id) == form.county.data), None)
        if county is None:
            form.county.errors.append("所选区（县）不属于所选的市")
        return county
    return city


class OrgProfileView(ScopedBaseView):
    """单位资料管理: change the name / credit code or the superior, with 变更记录."""

    roles = ("unit_admin", "institution_admin", "industry_admin")

    def is_accessible(self):
        return super().is_accessible() and current_user.is_super

    def _history(self):
        return (current_scope().query(OrgChangeRequest).filter(OrgChangeRequest.org_id == current_user.org_id)
                .order_by(OrgChangeRequest.id.desc()).all())

    def _render(self, info_form=None, superior_form=None):
        org = current_user.org
        info_form = info_form or InfoChangeForm(prefix="info", formdata=None, data={"name": org.name, "code": org.code})
        superior_form = superior_form or SuperiorChangeForm(prefix="sup", formdata=None)
        province, cities, counties = _fill_superior(superior_form)
        return self.render("accounts/org_profile.html", org=current_user.org, history=self._history(),
                           info_form=info_form, superior_form=superior_form, counties=counties,
                           pending=accounts.pending_change_of(current_user.org), org_kinds=ORG_KINDS)

    @expose("/")
    def index(self):
        return self._render()

    @expose("/info", methods=["POST"])
    def change_info(self):
        form = InfoChangeForm(prefix="info")
        if form.validate_on_submit():
            stored = None
            try:
                if accounts.pending_change_of(current_user.org) is not None:
                    raise accounts.AccountError(accounts.MSG_CHANGE_PENDING)
                stored = accounts.save_upload(request.files.get("info-scan"), folder="changes")
                accounts.request_org_change(current_user.org, current_user, "info", name=form.name.data,
                                            code=form.code.data, scan_file=stored, reason=form.reason.data)
                flash("变更申请已提交，请等待上级人社部门审核", "success")
                return redirect(url_for(".index"))
            except accounts.AccountError as exc:
                db.session.rollback()
                accounts.discard_upload(stored)
                field = getattr(form, exc.field or "", None)
                (field.errors.append(exc.message) if field is not None else flash(exc.message, "error"))
        return self._render(info_form=form)

    @expose("/superior", methods=["POST"])
    def change_superior(self):
        form = SuperiorChangeForm(prefix="sup")
        province, cities, counties = _fill_superior(form)
        if form.validate_on_submit():
            parent = _chosen_hrss(form, province, cities, counties)
            competent = None
            if form.change_competent.data and form.competent.data:
                competent = next((d for d in accounts.approved_industry_depts() if str(d.id) == form.competent.data),
                                 None)
                if competent is None:
                    form.competent.errors.append("请选择有效的主管部门")
                    parent = None
            if parent is not None:
                try:
                    req = accounts.request_org_change(current_user.org, current_user, "superior", parent=parent,
                                                      competent=competent, change_competent=form.change_competent.data,
                                                      reason=form.reason.data)
                    flash("更换上级部门申请已提交：原上级部门同意后，再由新的上级部门审核" if req.stage == "old"
                          else "更换上级部门申请已提交，请等待上级人社部门审核", "success")
                    return redirect(url_for(".index"))
                except accounts.AccountError as exc:
                    db.session.rollback()
                    target = {"parent": form.city, "competent": form.competent}.get(exc.field)
                    (target.errors.append(exc.message) if target is not None else flash(exc.message, "error"))
        return self._render(superior_form=form)

    @expose("/withdraw/<int:request_id>", methods=["POST"])
    def withdraw(self, request_id):
        req = current_scope().get_or_404(OrgChangeRequest, request_id)
        if req.org_id != current_user.org_id:
            abort(404)
        try:
            accounts.withdraw_org_change(req, current_user)
            flash("已撤销变更申请", "success")
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- 审核单位信息变更
def _name(org):
    return org.name if org is not None else ""


def _change_side(r, side):
    """变更前 / 变更后 of a change request, as the list shows them."""
    if r.change_type == "info":
        name, code = getattr(r, f"{side}_name"), getattr(r, f"{side}_code")
        return f"{name or ''}（{code}）" if code else (name or "")
    text = _name(getattr(r, f"{side}_parent"))
    if r.change_competent:
        text += f"；主管部门：{_name(getattr(r, f'{side}_competent')) or '无'}"
    return text


class OrgChangeReviewView(ListExportMixin, ScopedBaseView):
    roles = ("hrss_admin",)

    def list_query(self, args):
        scope = current_scope()
        if args.get("show", "pending") == "all":
            query = scope.query(OrgChangeRequest).filter(OrgChangeRequest.org_id != current_user.org_id)
        else:
            query = accounts.pending_changes(scope)
        return query.order_by(OrgChangeRequest.id.desc())

    def export_columns(self):
        return (
            ("单位", lambda r: r.org.name),
            ("申请时间", lambda r: r.created_at),
            ("类型", lambda r: r.type_label),
            ("变更前", lambda r: _change_side(r, "old")),
            ("变更后", lambda r: _change_side(r, "new")),
            ("审核部门", lambda r: _name(r.reviewer_org)),
            ("状态", lambda r: r.status_label),
            ("审核意见", lambda r: r.decision_comment),
        )

    @expose("/")
    def index(self):
        show = request.args.get("show", "pending")
        rows = self.list_query(request.args).limit(200).all()
        return self.render("accounts/change_review_list.html", rows=rows, show=show)

    @expose("/<int:request_id>", methods=["GET", "POST"])
    def detail(self, request_id):
        req = current_scope().get_or_404(OrgChangeRequest, request_id)
        if req.org_id == current_user.org_id:
            abort(404)
        if request.method == "POST":
            decision = request.form.get("decision")
            if decision not in ("approve", "reject"):
                abort(400)
            try:
                req = accounts.decide_org_change(req, decision == "approve", request.form.get("comment"),
                                                 current_user)
                if req.status == "pending":
                    flash(f"已同意，等待新的上级部门（{req.new_parent.name}）审核", "success")
                else:
                    flash("已审核通过，变更已生效" if decision == "approve" else "已审核不通过", "success")
                return redirect(url_for(".index"))
            except (accounts.AccountError, ValueError) as exc:
                db.session.rollback()
                flash(getattr(exc, "message", str(exc)), "error")
                req = current_scope().get_or_404(OrgChangeRequest, request_id)
        return self.render("accounts/change_review_detail.html", req=req, org=req.org, org_kinds=ORG_KINDS,
                           can_decide=accounts.may_decide_change(req, current_user))


@waiting_item
def _pending_changes(membership, scope):
    if membership.role != "hrss_admin":
        return []
    n = db.session.scalar(
        select(func.count()).select_from(accounts.pending_changes(scope).with_entities(OrgChangeRequest.id).subquery())
    )
    return [{"key": "org_change_review", "label": "待审核单位信息变更", "count": n,
             "url": url_for("org_change_review.index")}]


def register(admin):
    admin.add_view(DepartmentView(Org, name="组织机构管理", endpoint="departments", category=CATEGORY))
    admin.add_view(OrgProfileView(name="单位资料管理", endpoint="org_profile", category=CATEGORY))
    admin.add_view(OrgChangeReviewView(name="审核单位信息变更", endpoint="org_change_review", category=CATEGORY))
