"""Sign-in (with role type and image captcha), sign-out and password change."""

import secrets
import string
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from . import audit, security
from .extensions import db, limiter, login_manager
from .models import Account, Membership, Org, now
from .validators import IdNumber

bp = Blueprint("auth", __name__)

# Login role types as the seeds name them (用户类型): label, role, org kinds, needs org code.
LOGIN_TYPES = {
    "person": ("个人", "person", None, False),
    "unit": ("单位", "unit_admin", ("unit",), True),
    "institution": ("施教机构", "institution_admin", ("institution",), True),
    "industry": ("行业主管部门", "industry_admin", ("industry_dept",), True),
    "hrss": ("市、区（县）人社局", "hrss_admin", ("city_hrss", "county_hrss"), True),
    "province": ("省人力资源和社会保障厅", "hrss_admin", ("province_hrss",), False),
    "sysadmin": ("系统管理员", "sysadmin", None, False),
}

MSG_BAD_CREDENTIALS = "账户或密码错误"
MSG_BAD_CAPTCHA = "验证码错误"
MSG_PENDING = "此账号还未被审核"
MSG_NO_ACCOUNT = "您的帐号不存在"
MSG_WRONG_ROLE = "您选择的登录角色未注册，请选择正确的登录角色"
MSG_BAD_ORG_CODE = "组织机构代码与账号不匹配"
MSG_REJECTED = "此账号的注册申请未通过审核"
MSG_DISABLED = "此账号已被停用，请联系管理员"
MSG_ORG_CODE_REQUIRED = "请输入组织机构代码"
MSG_LOCKED = "密码错误次数过多，为保护账户安全，请于 {until} 后再试"

CAPTCHA_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")


@login_manager.user_loader
def load_user(membership_id):
    try:
        membership = db.session.get(Membership, int(membership_id))
    except (TypeError, ValueError):
        return None
    if membership is None or membership.status != "active":
        return None
    # A disabled organisation closes its members' sessions, as it refuses their sign-in.
    if membership.org is not None and membership.org.status == "disabled":
        return None
    # Password changed, roles disabled or removed since sign-in, or past the lifetime.
    if not security.session_is_current(membership.account):
        return None
    return membership


# --------------------------------------------------------------------------- captcha
# The answer lives only in the server-side session (the browser holds an opaque id),
# is consumed by the first check and expires after CAPTCHA_MAX_AGE seconds.
def new_captcha(text=None):
    """Store the answer of a new challenge (4 random characters unless given)."""
    text = text or "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(4))
    session["captcha"] = text
    session["captcha_at"] = time.time()
    return text


def check_captcha(answer):
    """Single use: the stored answer is consumed by every check, right or wrong."""
    if not current_app.config.get("CAPTCHA_ENABLED", True):
        return True
    expected = session.pop("captcha", None)
    issued = session.pop("captcha_at", None)
    if not expected or not isinstance(issued, (int, float)):
        return False
    if time.time() - issued > current_app.config.get("CAPTCHA_MAX_AGE", 300):
        return False
    return secrets.compare_digest((answer or "").strip().upper(), expected)


def _captcha_limit():
    return current_app.config.get("CAPTCHA_RATE_LIMIT", "60 per minute")


@bp.route("/captcha.png")
@limiter.limit(_captcha_limit)
def captcha_image():
    from captcha.image import ImageCaptcha

    text = new_captcha()
    data = ImageCaptcha(width=120, height=44, font_sizes=(30, 34, 36)).generate(text).getvalue()
    response = current_app.response_class(data, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/captcha/question")
@limiter.limit(_captcha_limit)
def captcha_question():
    """The image captcha's text alternative (GB/T 37668, WCAG 1.1.1): an arithmetic
    question for screen-reader users. Its answer replaces the image's in the same store
    and goes through the same single-use check_captcha()."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    if secrets.randbelow(2):
        a, b = max(a, b) + 10, min(a, b)
        question, answer = f"{a} 减 {b} 等于几？", a - b
    else:
        question, answer = f"{a} 加 {b} 等于几？", a + b
    new_captcha(str(answer))
    response = jsonify(question=question + "请在验证码框中输入阿拉伯数字。")
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- forms
class LoginForm(FlaskForm):
    role_type = SelectField(
        "用户类型", choices=[(k, v[0]) for k, v in LOGIN_TYPES.items()], default="person"
    )
    org_code = StringField("组织机构代码", validators=[Length(max=32)])
    id_number = StringField("账号（身份证号）", validators=[DataRequired("请输入身份证号"), IdNumber()])
    password = PasswordField("密码", validators=[DataRequired("请输入密码")])
    captcha = StringField("验证码")


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("原密码", validators=[DataRequired("请输入原密码")])
    new_password = PasswordField(
        "新密码", validators=[DataRequired("请输入新密码"), Length(min=8, max=64, message="新密码长度须为 8–64 位")]
    )
    confirm = PasswordField(
        "确认新密码", validators=[DataRequired("请再次输入新密码"), EqualTo("new_password", "两次输入的新密码不一致")]
    )

    def validate_new_password(self, field):
        value = field.data or ""
        if value.isdigit() or value.isalpha():
            raise ValidationError("新密码须同时包含字母和数字")


def authenticate(role_type, id_number, password, org_code):
    """Return (membership, None) or (None, (field, message)) per the seeds' messages."""
    label, role, org_kinds, needs_code = LOGIN_TYPES[role_type]
    account = db.session.execute(select(Account).where(Account.id_number == id_number)).scalar_one_or_none()
    if account is None:
        return None, ("id_number", MSG_NO_ACCOUNT)
    if not account.check_password(password):
        return None, ("password", MSG_BAD_CREDENTIALS)
    # A removed admin role (移除管理权限) no longer exists for the login.
    candidates = [m for m in account.memberships if m.role == role and m.status != "removed"]
    if org_kinds is not None:
        candidates = [m for m in candidates if m.org is not None and m.org.kind in org_kinds]
    if not candidates:
        return None, ("role_type", MSG_WRONG_ROLE)
    if needs_code:
        code = (org_code or "").strip().upper()
        if not code:
            return None, ("org_code", MSG_ORG_CODE_REQUIRED)
        candidates = [m for m in candidates if (m.org.code or "").upper() == code]
        if not candidates:
            return None, ("org_code", MSG_BAD_ORG_CODE)
    # Prefer an active membership when the account holds several of this role.
    candidates.sort(key=lambda m: {"active": 0, "pending": 1, "rejected": 2, "disabled": 3}.get(m.status, 9))
    membership = candidates[0]
    if membership.status == "pending":
        return None, ("id_number", MSG_PENDING)
    if membership.status == "rejected":
        reason = f"：{membership.reject_reason}" if membership.reject_reason else ""
        return None, ("id_number", MSG_REJECTED + reason)
    if membership.status == "disabled" or (
        membership.org is not None and membership.org.status == "disabled"
    ):
        return None, ("id_number", MSG_DISABLED)
    return membership, None


def _login_limit():
    return current_app.config.get("LOGIN_RATE_LIMIT", "20 per minute")


MSG_INITIAL_PASSWORD = "欢迎首次登录，请先将初始密码修改为您自己的密码"
MSG_PASSWORD_RESET = "您的密码已被重置，请先修改密码"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        locked_until = security.login_locked_until(form.id_number.data)
        if locked_until is not None:
            # Whatever captcha is sent: the account (or this address) waits.
            check_captcha(form.captcha.data)
            error = MSG_LOCKED.format(until=_local_time(locked_until))
            form.id_number.errors.append(error)
        elif not check_captcha(form.captcha.data):
            form.captcha.errors.append(MSG_BAD_CAPTCHA)
            error = MSG_BAD_CAPTCHA
        else:
            membership, problem = authenticate(
                form.role_type.data, form.id_number.data, form.password.data, form.org_code.data
            )
            if membership is None:
                field, error = problem
                if field == "password" or error == MSG_NO_ACCOUNT:
                    security.record_login_failure(form.id_number.data)
                getattr(form, field).errors.append(error)
            else:
                security.clear_login_failures(form.id_number.data)
                security.start_signed_in_session(membership.account)
                login_user(membership)
                session.pop("captcha", None)
                # A new account's first sign-in changes its initial password; nothing was reset.
                first_sign_in = membership.account.last_login_at is None
                membership.account.last_login_at = now()
                audit.record("login", "membership", membership.id, actor=membership)
                db.session.commit()
                if membership.account.must_change_password:
                    session["initial_password"] = first_sign_in
                    flash(MSG_INITIAL_PASSWORD if first_sign_in else MSG_PASSWORD_RESET, "warning")
                    return redirect(url_for("auth.change_password"))
                return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    elif request.method == "POST":
        # Wrong captcha is reported first, as the seeds' page does.
        if not check_captcha(form.captcha.data):
            form.captcha.errors.append(MSG_BAD_CAPTCHA)
        error = next((e for f in form for e in f.errors), None)
    return render_template(
        "auth/login.html",
        form=form,
        error=error,
        login_types=LOGIN_TYPES,
        captcha_enabled=current_app.config.get("CAPTCHA_ENABLED", True),
    )


def _local_time(moment):
    """A server-local timestamp shown in Beijing time, e.g. 2026年11月29日 21:05。"""
    from datetime import UTC

    from flask_babel import format_datetime

    return format_datetime(moment.astimezone(UTC).replace(tzinfo=None), "yyyy年M月d日 HH:mm")


safe_next = security.safe_next


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    security.end_session()  # the stored session is deleted: a copied cookie opens nothing
    flash("您已安全退出", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    account = current_user.account
    if form.validate_on_submit():
        if not account.check_password(form.old_password.data):
            form.old_password.errors.append("原密码错误")
        elif form.new_password.data == form.old_password.data:
            form.new_password.errors.append("新密码不能与原密码相同")
        else:
            account.set_password(form.new_password.data)
            account.must_change_password = False
            session.pop("initial_password", None)
            audit.record("change_password", "account", account.id)
            db.session.commit()
            security.remember_generation(account)  # other sessions of the account end
            flash("密码修改成功", "success")
            return redirect(url_for("admin.index"))
    return render_template("auth/change_password.html", form=form, forced=account.must_change_password,
                           initial=bool(session.get("initial_password")))


@bp.route("/switch/<int:membership_id>", methods=["POST"])
@login_required
def switch_role(membership_id):
    """An account holding several roles switches without signing in again."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.account_id != current_user.account_id or membership.status != "active":
        abort(404)
    login_user(membership)
    return redirect(url_for("admin.index"))


def org_by_code(code):
    return db.session.execute(select(Org).where(Org.code == code)).scalars().first()
