"""Public pages of the professional (个人注册, 注册审核进度查询, 忘记登录密码), the
unit picker's small JSON look-ups, and the scoped download of declaration attachments.

The look-ups are public (registration happens before sign-in): they return only the id
and name of approved units and of their departments, paginated and rate-limited.
"""

import re
import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from .. import audit, mail, registration
from ..auth import ChangePasswordForm
from ..declarations import send_attachment
from ..extensions import db, limiter
from ..models import (
    GENDERS,
    HRSS_KINDS,
    TITLE_LEVELS,
    Account,
    Declaration,
    Major,
    Org,
    PasswordResetUse,
    Person,
    TitleSeries,
)
from ..permissions import current_scope
from ..tree import subtree_clause
from ..validators import IdNumber, id_birth_date, id_gender

bp = Blueprint("person_portal", __name__)

ETHNICITIES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 "
    "黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 "
    "撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 "
    "京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族 其他"
).split()

PHONE_RE = r"^(1\d{10}|0\d{2,3}-?\d{7,8})$"
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
PAGE_SIZE = 20

RESET_SALT = "backoffice.password-reset"
RESET_MAX_AGE = 3600  # seconds
MSG_RESET_SENT = "如果填写的信息与注册信息一致，重置密码的链接已发送到您的注册电子邮箱，请在 1 小时内使用。"
MSG_RESET_INVALID = "重置链接无效或已过期，请重新申请"
MSG_RESET_USED = "该重置链接已使用过，请重新申请"


# --------------------------------------------------------------------------- choices
def region_choices():
    """HRSS nodes in tree order: the region (所属区域) of a unit."""
    rows = db.session.scalars(
        select(Org).where(Org.kind.in_(HRSS_KINDS), Org.status == "approved").order_by(Org.division_code, Org.name)
    )
    choices = [("", "请选择所属区域")]
    for org in rows:
        indent = {"province_hrss": "", "city_hrss": "　", "county_hrss": "　　"}[org.kind]
        label = org.name.replace("人力资源和社会保障局", "").replace("人力资源和社会保障厅", "（省直）")
        choices.append((str(org.id), indent + label))
    return choices


def base_choices(model, blank):
    rows = db.session.scalars(select(model).where(model.enabled.is_(True)).order_by(model.sort_order, model.id))
    return [("", blank)] + [(str(r.id), r.name) for r in rows]


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def approved_unit(unit_id):
    unit = db.session.get(Org, _int_or_none(unit_id)) if _int_or_none(unit_id) else None
    if unit is None or unit.kind != "unit" or unit.status != "approved":
        return None
    return unit


def department_choices(unit):
    if unit is None:
        return [("", "请先选择单位")]
    rows = db.session.scalars(
        select(Org).where(Org.kind == "department", Org.unit_id == unit.id).order_by(Org.parent_path)
    )
    return [("", "（不选择部门）")] + [(str(r.id), r.name) for r in rows]


# --------------------------------------------------------------------------- forms
def check_birth_and_gender(form):
    """Birth date and gender must agree with the ID number."""
    ok = True
    number = form.id_number.data or ""
    birth = id_birth_date(number)
    if form.birth_date.data and birth and form.birth_date.data != birth:
        form.birth_date.errors.append(f"出生日期与身份证号不一致（身份证号中的出生日期为 {birth:%Y-%m-%d}）")
        ok = False
    if form.gender.data and len(number) == 18 and form.gender.data != id_gender(number):
        form.gender.errors.append("性别与身份证号不一致")
        ok = False
    return ok


class RegisterForm(FlaskForm):
    existing_user = BooleanField("已是本系统用户（已有单位管理员等账号，用原密码注册个人角色）")
    id_number = StringField("身份证号", validators=[DataRequired("请输入身份证号"), IdNumber()])
    password = PasswordField("登录密码", validators=[DataRequired("请输入密码"), Length(max=64)])
    confirm = PasswordField("确认密码")
    phone = StringField("手机号码", validators=[DataRequired("请输入手机号码"),
                                            Regexp(PHONE_RE, message="手机号码格式不正确")])
    email = StringField("电子邮箱", validators=[DataRequired("请输入电子邮箱"), Length(max=120),
                                            Regexp(EMAIL_RE, message="电子邮箱格式不正确")])
    region = SelectField("单位所属区域", validate_choice=False)
    unit_id = HiddenField("所在单位")
    department_id = SelectField("所属工作部门", validate_choice=False)
    name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=50, message="姓名过长")])
    gender = SelectField("性别", choices=[("", "请选择")] + list(GENDERS.items()),
                         validators=[DataRequired("请选择性别")])
    birth_date = DateField("出生日期", validators=[DataRequired("请输入出生日期（格式 2000-01-31）")])
    ethnicity = SelectField("民族", choices=[("", "请选择")] + [(e, e) for e in ETHNICITIES],
                            validators=[DataRequired("请选择民族")])
    native_place = StringField("籍贯", validators=[Optional(), Length(max=100)])
    school = StringField("毕业院校", validators=[Optional(), Length(max=100)])
    major_id = SelectField("所学专业", validators=[DataRequired("请选择所学专业")])
    title_series_id = SelectField("专业技术职务系列", validators=[DataRequired("请选择专业技术职务系列")])
    title_level = SelectField("职称级别", choices=[("", "请选择")] + list(TITLE_LEVELS.items()),
                              validators=[DataRequired("请选择职称级别")])

    def fill_choices(self):
        self.region.choices = region_choices()
        self.major_id.choices = base_choices(Major, "请选择所学专业")
        self.title_series_id.choices = base_choices(TitleSeries, "请选择职务系列")
        self.department_id.choices = department_choices(approved_unit(self.unit_id.data))

    def validate_password(self, field):
        if self.existing_user.data:
            return
        value = field.data or ""
        if len(value) < 8:
            raise ValidationError("密码长度须为 8–64 位")
        if value.isdigit() or value.isalpha():
            raise ValidationError("密码须同时包含字母和数字")

    def validate_confirm(self, field):
        if not self.existing_user.data and field.data != self.password.data:
            raise ValidationError("两次输入的密码不一致")

    def validate_unit_id(self, field):
        if approved_unit(field.data) is None:
            raise ValidationError("请选择所在单位（先选择区域，再搜索单位并点击“选定”）")


def _department_of(unit, value):
    if not value:
        return None, True
    dept = db.session.get(Org, _int_or_none(value)) if _int_or_none(value) else None
    if dept is None or dept.kind != "department" or dept.unit_id != unit.id:
        return None, False
    return dept, True


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("30/minute", methods=["POST"])
def register():
    """个人注册"""
    form = RegisterForm()
    form.fill_choices()
    valid = False
    if request.method == "POST":
        valid = form.validate_on_submit()
        valid = check_birth_and_gender(form) and valid
    if valid:
        unit = approved_unit(form.unit_id.data)
        department, ok = _department_of(unit, form.department_id.data)
        if not ok:
            form.department_id.errors.append("所选部门不属于该单位")
        else:
            data = registration.PersonData(
                id_number=form.id_number.data, password=form.password.data, name=form.name.data.strip(),
                phone=form.phone.data.strip(), email=form.email.data.strip(), unit=unit, department=department,
                gender=form.gender.data, birth_date=form.birth_date.data, ethnicity=form.ethnicity.data,
                native_place=(form.native_place.data or "").strip() or None,
                school=(form.school.data or "").strip() or None,
                major_id=_int_or_none(form.major_id.data), title_series_id=_int_or_none(form.title_series_id.data),
                title_level=form.title_level.data, existing_user=form.existing_user.data,
            )
            try:
                registration.register_person(data)
            except registration.RegistrationError as exc:
                db.session.rollback()
                getattr(form, exc.field or "id_number").errors.append(exc.message)
            else:
                db.session.commit()
                return render_template("person/registered.html", unit=unit, message=registration.MSG_SUBMITTED)
    selected_unit = approved_unit(form.unit_id.data)
    return render_template("person/register.html", form=form, selected_unit=selected_unit)


@bp.route("/register/units")
@limiter.limit("120/minute")
def unit_search():
    """Approved units of a region whose name contains the keyword: id and name only."""
    region = db.session.get(Org, _int_or_none(request.args.get("region")) or 0)
    if region is None or region.kind not in HRSS_KINDS:
        return jsonify({"items": [], "page": 1, "has_more": False, "error": "请先选择所属区域"})
    page = max(1, _int_or_none(request.args.get("page")) or 1)
    q = (request.args.get("q") or "").strip()[:50]
    stmt = select(Org.id, Org.name).where(
        Org.kind == "unit", Org.status == "approved", subtree_clause(region.parent_path)
    )
    if q:
        stmt = stmt.where(Org.name.contains(q, autoescape=True))
    rows = db.session.execute(stmt.order_by(Org.name, Org.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    rows = rows.all()
    return jsonify({
        "items": [{"id": r.id, "name": r.name} for r in rows[:PAGE_SIZE]],
        "page": page,
        "has_more": len(rows) > PAGE_SIZE,
    })


@bp.route("/register/departments")
@limiter.limit("120/minute")
def department_list():
    unit = approved_unit(request.args.get("unit"))
    if unit is None:
        return jsonify({"items": []})
    return jsonify({"items": [{"id": int(v), "name": n} for v, n in department_choices(unit) if v]})


# --------------------------------------------------------------------------- progress query
class StatusQueryForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=50)])
    id_number = StringField("身份证号", validators=[DataRequired("请输入身份证号"), IdNumber()])


@bp.route("/register/status", methods=["GET", "POST"])
@limiter.limit("30/minute", methods=["POST"])
def registration_status():
    """注册审核进度查询: by name + ID number; a pending registration can be withdrawn."""
    form = StatusQueryForm()
    rows = None
    if form.validate_on_submit():
        account, memberships = registration.pending_of(form.name.data.strip(), form.id_number.data)
        rows = [
            {"m": m, "reviewer": registration.reviewer_of(m)} for m in memberships
        ]
    return render_template("person/registration_status.html", form=form, rows=rows)


@bp.route("/register/status/withdraw", methods=["POST"])
@limiter.limit("20/minute")
def withdraw_registration():
    form = StatusQueryForm()
    if not form.validate_on_submit():
        flash("请重新查询后再撤销", "error")
        return redirect(url_for(".registration_status"))
    account, memberships = registration.pending_of(form.name.data.strip(), form.id_number.data)
    wanted = _int_or_none(request.form.get("membership_id"))
    membership = next((m for m in memberships if m.id == wanted), None)
    if membership is None:
        abort(404)
    try:
        registration.withdraw(membership, request.form.get("password") or "")
    except registration.RegistrationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        rows = [{"m": m, "reviewer": registration.reviewer_of(m)} for m in memberships]
        return render_template("person/registration_status.html", form=form, rows=rows,
                               withdraw_error=(wanted, exc.message))
    db.session.commit()
    # Say what is left: the page after the redirect has no query to show.
    _account, left = registration.pending_of(form.name.data.strip(), form.id_number.data)
    still = sum(1 for m in left if m.status == "pending")
    flash("注册申请已撤销，您可以重新注册。" + (f"您还有 {still} 个注册申请待审核" if still
                                      else "目前没有待审核的注册申请"), "success")
    return redirect(url_for(".registration_status"))


# --------------------------------------------------------------------------- forgot password
class ForgotForm(FlaskForm):
    id_number = StringField("身份证号", validators=[DataRequired("请输入身份证号"), IdNumber()])
    contact = StringField("注册时的电子邮箱或手机号码",
                          validators=[DataRequired("请输入注册时的电子邮箱或手机号码"), Length(max=120)])


class ResetForm(FlaskForm):
    new_password = ChangePasswordForm.new_password
    confirm = PasswordField(
        "确认新密码", validators=[DataRequired("请再次输入新密码"), EqualTo("new_password", "两次输入的新密码不一致")]
    )
    validate_new_password = ChangePasswordForm.validate_new_password


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _contacts_of(account):
    values = {account.email, account.phone}
    for person in db.session.scalars(select(Person).where(Person.account_id == account.id)):
        values.update({person.email, person.phone})
    return {v.strip().lower() for v in values if v}


def _email_of(account):
    if account.email:
        return account.email
    return db.session.scalar(select(Person.email).where(Person.account_id == account.id, Person.email.is_not(None)))


def make_reset_token(account):
    return _serializer().dumps({"a": account.id, "j": secrets.token_hex(16)})


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def forgot_password():
    """忘记登录密码: a signed, time-limited, single-use link is e-mailed."""
    form = ForgotForm()
    if form.validate_on_submit():
        account = db.session.scalar(select(Account).where(Account.id_number == form.id_number.data))
        contact = re.sub(r"\s+", "", form.contact.data).lower()
        if account is not None and contact in _contacts_of(account):
            email = _email_of(account)
            link = url_for(".reset_password", token=make_reset_token(account), _external=True)
            mail.enqueue(email, "重置登录密码", f"{account.name}：\n\n请在 1 小时内打开下面的链接设置新密码（仅可使用一次）：\n"
                      f"{link}\n\n如果不是您本人操作，请忽略本邮件。")
        flash(MSG_RESET_SENT, "info")
        return redirect(url_for(".forgot_password"))
    return render_template("person/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20/minute", methods=["POST"])
def reset_password(token):
    try:
        payload = _serializer().loads(token, max_age=RESET_MAX_AGE)
        account = db.session.get(Account, int(payload["a"]))
        token_id = str(payload["j"])
    except (SignatureExpired, BadSignature, KeyError, TypeError, ValueError):
        account = None
        token_id = None
    if account is None:
        return render_template("person/reset_password.html", form=None, error=MSG_RESET_INVALID)
    if db.session.scalar(select(PasswordResetUse.id).where(PasswordResetUse.token_id == token_id)):
        return render_template("person/reset_password.html", form=None, error=MSG_RESET_USED)
    form = ResetForm()
    if form.validate_on_submit():
        account.set_password(form.new_password.data)
        account.must_change_password = False
        db.session.add(PasswordResetUse(token_id=token_id, account_id=account.id))
        audit.record("reset_password_by_link", "account", account.id)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return render_template("person/reset_password.html", form=None, error=MSG_RESET_USED)
        flash("密码已重置，请使用新密码登录", "success")
        return redirect(url_for("auth.login"))
    return render_template("person/reset_password.html", form=form, error=None, account=account)


# --------------------------------------------------------------------------- attachments
@bp.route("/declarations/<int:declaration_id>/attachment")
@login_required
def declaration_attachment(declaration_id):
    """A declaration's attachment, for whoever may see the declaration (scoped)."""
    declaration = current_scope().get_or_404(Declaration, declaration_id)
    return send_attachment(declaration)

