"""Public registration of organisations (单位 / 施教机构 / 行业主管部门 / 市、区（县）人社局)
and the scoped downloads of their certificate scans."""

import mimetypes

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from .. import accounts, storage
from ..extensions import db
from ..models import Affiliation, Industry, Org, OrgChangeRequest, UnitLevel, UnitType
from ..permissions import current_scope
from ..validators import CreditCode, IdNumber

bp = Blueprint("org_portal", __name__)

EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="电子邮箱格式不正确")

KINDS = {
    "unit": ("单位注册", "法人单位（用人单位）"),
    "institution": ("施教机构注册", "继续教育施教机构（继续教育基地）"),
    "industry": ("行业主管部门注册", "行业主管部门"),
    "hrss": ("市、区（县）人社局注册", "市、区（县）人社局管理员"),
}
ORG_KIND_OF = {"unit": "unit", "institution": "institution", "industry": "industry_dept"}


def _password_rule(form, field):
    if form.existing_user.data:
        return
    value = field.data or ""
    if len(value) < 8 or len(value) > 64:
        raise ValidationError("密码长度须为 8–64 位")
    if value.isdigit() or value.isalpha():
        raise ValidationError("密码须同时包含字母和数字")


def _confirm_rule(form, field):
    if not form.existing_user.data and field.data != form.password.data:
        raise ValidationError("两次输入的密码不一致")


class ApplicantForm(FlaskForm):
    """申请人账户信息"""

    existing_user = BooleanField("已是本系统用户")
    id_number = StringField("身份证号", validators=[DataRequired("请输入身份证号"), IdNumber()])
    name = StringField("真实姓名", validators=[DataRequired("请输入真实姓名"), Length(max=50, message="姓名过长")])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), _password_rule])
    confirm = PasswordField("确认密码", validators=[_confirm_rule])
    phone = StringField("手机号码", validators=[DataRequired("请输入手机号码"), Length(max=30, message="手机号码过长")])
    email = StringField("电子邮箱", validators=[DataRequired("请输入电子邮箱"), EMAIL,
                                            Length(max=120, message="电子邮箱过长")])
    city = SelectField("所属市", choices=[], validate_choice=False)
    county = SelectField("所属区（县）", choices=[], validate_choice=False)

    def applicant(self):
        return {"id_number": self.id_number.data, "name": (self.name.data or "").strip(),
                "password": self.password.data, "phone": (self.phone.data or "").strip(),
                "email": (self.email.data or "").strip()}


class OrgRegistrationForm(ApplicantForm):
    code = StringField("统一社会信用代码", validators=[DataRequired("请输入统一社会信用代码"), CreditCode()])
    scan = FileField("统一社会信用代码证扫描件")
    org_name = StringField("单位名称", validators=[DataRequired("请输入单位名称"), Length(max=200, message="名称过长")])
    competent = SelectField("行业主管部门", choices=[], validate_choice=False)
    unit_type = SelectField("单位性质", choices=[], validate_choice=False)
    affiliation = SelectField("隶属关系", choices=[], validate_choice=False)
    unit_level = SelectField("单位级别", choices=[], validate_choice=False)
    industry = SelectField("所属行业", choices=[], validate_choice=False)
    address = StringField("单位地址", validators=[DataRequired("请输入单位地址"), Length(max=200, message="地址过长")])
    contact_name = StringField("联系人", validators=[DataRequired("请输入联系人"), Length(max=50)])
    contact_phone = StringField("联系电话", validators=[DataRequired("请输入联系电话"), Length(max=30)])
    org_email = StringField("单位电子邮箱", validators=[Optional(), EMAIL, Length(max=120)])


def _base_choices(model):
    rows = db.session.scalars(select(model).where(model.enabled.is_(True)).order_by(model.sort_order, model.id))
    return [("", "请选择")] + [(str(r.id), r.name) for r in rows]


def _pick(model, raw, field, required, label):
    """A chosen base-data row (enabled only), or a field error."""
    if not raw:
        if required:
            field.errors.append(f"请选择{label}")
        return None
    try:
        row = db.session.get(model, int(raw))
    except (TypeError, ValueError):
        row = None
    if row is None or (hasattr(row, "enabled") and not row.enabled):
        field.errors.append(f"请选择有效的{label}")
        return None
    return row


def _hrss_parent(form, allow_province):
    """The HRSS node chosen with the city / county selects, or None with a field error."""
    province, cities, counties = accounts.hrss_choices()
    raw_city, raw_county = form.city.data, form.county.data
    city = None
    if raw_city and province is not None and allow_province and raw_city == str(province.id):
        city = province
    else:
        city = next((c for c in cities if str(c.id) == raw_city), None)
    if city is None:
        form.city.errors.append("请选择所属市" + ("（省直单位请选择“河南省（省直）”）" if allow_province else ""))
        return None
    if raw_county:
        county = next((c for c in counties.get(city.id, []) if str(c.id) == raw_county), None)
        if county is None:
            form.county.errors.append("所选区（县）不属于所选的市")
            return None
        return county
    return city


def _fill_choices(form, kind):
    province, cities, counties = accounts.hrss_choices()
    city_choices = [("", "请选择")]
    if kind != "hrss" and province is not None:
        city_choices.append((str(province.id), "河南省（省直）"))
    city_choices += [(str(c.id), c.name) for c in cities]
    form.city.choices = city_choices
    form.county.choices = [("", "（市本级）")] + [(str(c.id), c.name) for items in counties.values() for c in items]
    if isinstance(form, OrgRegistrationForm):
        form.competent.choices = [("", "无")] + [(str(d.id), d.name) for d in accounts.approved_industry_depts()]
        form.unit_type.choices = _base_choices(UnitType)
        form.affiliation.choices = _base_choices(Affiliation)
        form.unit_level.choices = _base_choices(UnitLevel)
        form.industry.choices = _base_choices(Industry)
    return province, cities, counties


@bp.route("/register/org", methods=["GET"], defaults={"kind": None})
@bp.route("/register/org/<kind>", methods=["GET", "POST"])
def register_org(kind):
    if kind is None:
        return render_template("accounts/register_choose.html", kinds=KINDS)
    if kind not in KINDS:
        abort(404)
    form = ApplicantForm() if kind == "hrss" else OrgRegistrationForm()
    if kind == "institution":
        form.unit_level.label.text = "施教机构级别"
        form.org_name.label.text = "施教机构名称"
    elif kind == "industry":
        form.org_name.label.text = "行业主管部门名称"
    province, cities, counties = _fill_choices(form, kind)
    error = None
    if request.method == "POST":
        valid = form.validate()
        if kind == "hrss":
            node = _hrss_parent(form, allow_province=False)
            if valid and node is not None:
                try:
                    accounts.register_hrss_admin(node, form.applicant(), existing_user=form.existing_user.data)
                    return _done("hrss", node.parent)
                except accounts.AccountError as exc:
                    db.session.rollback()
                    error = _field_error(form, exc)
        else:
            parent = _hrss_parent(form, allow_province=True)
            extra = _org_extras(form, kind)
            scan = request.files.get("scan")
            if scan is None or not scan.filename:
                form.scan.errors = ["请上传统一社会信用代码证扫描件"]
                valid = False
            if valid and parent is not None and extra is not None:
                stored = None
                try:
                    stored = accounts.save_upload(request.files.get("scan"))
                    membership = accounts.register_org(
                        ORG_KIND_OF[kind], extra["fields"], parent, form.applicant(),
                        existing_user=form.existing_user.data, competent=extra["competent"], license_file=stored,
                    )
                    return _done(ORG_KIND_OF[kind], accounts.reviewer_of_org(membership.org))
                except accounts.AccountError as exc:
                    db.session.rollback()
                    _discard(stored)
                    error = _field_error(form, exc)
        if error is None:
            error = "请检查并修改标出的内容"
    return render_template(
        "accounts/register_org.html", form=form, kind=kind, title=KINDS[kind][0], subtitle=KINDS[kind][1],
        counties=counties, error=error, province=province,
    )


def _org_extras(form, kind):
    fields = {
        "name": (form.org_name.data or "").strip(),
        "code": form.code.data or "",
        "address": (form.address.data or "").strip(),
        "contact_name": (form.contact_name.data or "").strip(),
        "contact_phone": (form.contact_phone.data or "").strip(),
        "email": (form.org_email.data or "").strip() or (form.email.data or "").strip(),
    }
    ok = True
    industry = _pick(Industry, form.industry.data, form.industry, kind in ("industry", "institution"), "所属行业")
    ok &= not form.industry.errors
    if industry is not None:
        fields["industry_id"] = industry.id
    competent = None
    if kind == "unit":
        for model, field, label in ((UnitType, form.unit_type, "单位性质"), (Affiliation, form.affiliation, "隶属关系"),
                                    (UnitLevel, form.unit_level, "单位级别")):
            row = _pick(model, field.data, field, True, label)
            if row is None:
                ok = False
            else:
                fields[f"{field.name}_id"] = row.id
    elif kind == "institution":
        level = _pick(UnitLevel, form.unit_level.data, form.unit_level, False, "施教机构级别")
        ok &= not form.unit_level.errors
        if level is not None:
            fields["unit_level_id"] = level.id
    if kind in ("unit", "institution") and form.competent.data:
        # 行业主管部门 (seed: the unit's and the institution's registration both ask for it).
        competent = next((d for d in accounts.approved_industry_depts() if str(d.id) == form.competent.data), None)
        if competent is None:
            form.competent.errors.append("请选择有效的行业主管部门")
            ok = False
    return {"fields": fields, "competent": competent} if ok else None


def _field_error(form, exc):
    target = {"parent": "city", "hrss": "city", "scan": "scan", "code": "code", "competent": "competent",
              "id_number": "id_number", "password": "password", "name": "name"}.get(exc.field)
    field = getattr(form, target, None) if target else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    return exc.message


def _discard(stored):
    accounts.discard_upload(stored)


def _done(kind, reviewer):
    return render_template(
        "accounts/register_done.html", message=accounts.SUCCESS_MESSAGES[kind],
        reviewer=reviewer.name if reviewer is not None else None, login_url=url_for("auth.login"),
    )


# --------------------------------------------------------------------------- scoped downloads
def _send(stored, download_name):
    if not stored:
        abort(404)
    suffix = "." + stored.rsplit(".", 1)[-1] if "." in stored.rsplit("/", 1)[-1] else ""
    return storage.send(stored, mimetype=mimetypes.guess_type("x" + suffix)[0], download_name=download_name + suffix,
                        as_attachment=False)


@bp.route("/org-files/<int:org_id>/license")
@login_required
def org_license(org_id):
    """The code certificate scan of an organisation in the signed-in admin's scope."""
    if current_user.role == "person":
        abort(404)
    org = current_scope().get_or_404(Org, org_id)
    return _send(org.license_file, f"license-{org.id}")


@bp.route("/org-files/change/<int:request_id>/scan")
@login_required
def change_scan(request_id):
    if current_user.role == "person":
        abort(404)
    req = current_scope().get_or_404(OrgChangeRequest, request_id)
    return _send(req.scan_file, f"change-{req.id}")
