"""Certificates outside the admin: the person's own certificate PDFs (证书打印, 合并打印)
and the public certificate query (证书查询) the QR code lands on."""

from datetime import date

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from .. import certificates
from ..extensions import db, limiter
from ..models import Person
from ..permissions import current_scope

bp = Blueprint("certificates", __name__, url_prefix="/certificates")

QUERY_RATE_LIMIT = "30/minute"


def _query_limit():
    return current_app.config.get("CERTIFICATE_QUERY_RATE_LIMIT", QUERY_RATE_LIMIT)


def verify_url_base():
    """The absolute URL of the public query page (what the QR code points at), under
    PUBLIC_BASE_URL: never the request's Host header."""
    from ..security import external_url

    return external_url("certificates.query")


def pdf_response(data, filename):
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"inline; filename={filename}"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def refused(message, status=404):
    back = url_for("person_completion.index") if "person_completion.index" in current_app.view_functions else None
    return render_template("certificates/refused.html", message=message, back=back), status


# --------------------------------------------------------------------------- the person's own
def _my_person():
    if not current_user.is_authenticated or current_user.role != "person" or current_user.status != "active":
        abort(403)
    scope = current_scope()
    person = scope.get(Person, scope.person_id) if scope.person_id else None
    if person is None:
        abort(404)
    return person


def _print_own(year_from, year_to):
    """POST issues (or re-uses) the certificate; GET only shows one already issued."""
    person = _my_person()
    if request.method == "GET":
        cert = certificates.existing(person, year_from, year_to)
        if cert is None:
            return refused("该年度证书尚未签发：请在“学时完成情况”页面点击“证书打印”", 404)
        return pdf_response(certificates.render_pdf([cert], verify_url_base()), f"{cert.number}.pdf")
    try:
        cert = certificates.issue(person, year_from, year_to, actor=current_user._get_current_object())
    except certificates.CertificateError as exc:
        db.session.commit()  # revocations of changed years stand
        return refused(exc.message)
    db.session.commit()
    data = certificates.render_pdf([cert], verify_url_base())
    return pdf_response(data, f"{cert.number}.pdf")


@bp.route("/my/<int:year>.pdf", methods=["GET", "POST"])
@login_required
def person_certificate(year):
    """证书打印: the signed-in person's certificate of a passed year (POST issues it)."""
    return _print_own(year, year)


@bp.route("/my/merged.pdf", methods=["GET", "POST"])
@login_required
def person_merged():
    """合并打印: one certificate over a range of years that all passed (POST issues it)."""
    start = request.values.get("start", type=int)
    end = request.values.get("end", type=int)
    if start is None or end is None:
        return refused("请选择合并打印的起始年度和截止年度", 400)
    if end < start:
        return refused("截止年度不能早于起始年度", 400)
    if end - start + 1 > certificates.MAX_MERGED_YEARS:
        return refused(f"合并打印最多 {certificates.MAX_MERGED_YEARS} 个年度", 400)
    return _print_own(start, end)


# --------------------------------------------------------------------------- public query
class PersonQueryForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=50, message="姓名过长")])
    id_number = StringField("身份证号", validators=[DataRequired("请输入身份证号"),
                                                Length(min=15, max=18, message="身份证号应为 15 或 18 位")])
    year = IntegerField("年度", validators=[DataRequired("请输入年度（如 2024）"),
                                           NumberRange(min=2000, max=2100, message="年度不正确")])


def _is_plain_page():
    """The empty query form is not counted by the rate limit; queries are."""
    return request.method == "GET" and not request.args.get("number")


def _result(cert, queried):
    if cert is None:
        return {"state": "not_found", "queried": queried}
    status = certificates.public_status(cert)  # reads only: a GET or a public query writes nothing
    return {
        "state": status,
        "queried": queried,
        "number": cert.number,
        "name": certificates.mask_name(cert.person_name),
        "unit": certificates.mask_unit(cert.unit_name),
        "years": cert.years_text,
        "public_hours": certificates.fmt_hours(cert.public_hours),
        "professional_hours": certificates.fmt_hours(cert.professional_hours),
        "total_hours": certificates.fmt_hours(cert.total_hours),
        "issued_at": cert.issued_at,
        "issuer": cert.issuer,
        "revoked_at": cert.revoked_at,
    }


@bp.route("/query", methods=["GET", "POST"])
@limiter.limit(_query_limit, exempt_when=_is_plain_page)
def query():
    """证书查询 (public): by number + verification code (the QR code's link), or by
    name + ID number + year. Shows 有效 / 已作废 / 未查到, name and unit masked."""
    form = PersonQueryForm()
    if request.method == "GET" and not form.year.data:
        form.year.data = date.today().year - 1
    result = None
    number = (request.values.get("number") or "").strip()
    code = (request.values.get("code") or "").strip()
    errors = {}
    if request.method == "GET" and number:
        if not code:
            errors["code"] = "请输入验证码"
        else:
            result = _result(certificates.find_by_number(number, code), "number")
    elif request.method == "POST" and request.form.get("mode") == "number":
        if not number:
            errors["number"] = "请输入证书编号"
        if not code:
            errors["code"] = "请输入验证码"
        if not errors:
            result = _result(certificates.find_by_number(number, code), "number")
    elif request.method == "POST":
        if form.validate_on_submit():
            result = _result(
                certificates.find_by_person(form.name.data, form.id_number.data, form.year.data), "person")
    return render_template("certificates/query.html", form=form, result=result, number=number, code=code,
                           errors=errors, mode=request.form.get("mode") or ("number" if number else "person"))
