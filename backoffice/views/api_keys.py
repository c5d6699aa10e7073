"""API 密钥管理: an institution's super-admin creates keys for the learning platforms
that post to /api/v1 (name, optional IP allow-list, expiry), sees each secret once,
and revokes keys. Keys are read through the permission layer (``current_scope``)."""

from datetime import datetime, time

from flask import flash, make_response, redirect, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..api import keys
from ..extensions import db
from ..models import ApiKey, AuditLog
from ..permissions import ScopedBaseView, current_scope
from ._export import ListExportMixin

ORDER = 61


class KeyForm(FlaskForm):
    name = StringField("密钥名称", validators=[DataRequired("请输入密钥名称"), Length(max=100, message="不超过 100 字")],
                       description="如：某某在线学习平台")
    allowed_ips = TextAreaField("IP 白名单（可选）", validators=[Optional(), Length(max=2000, message="内容过长")],
                                description="每行一个 IP 地址或网段（如 203.0.113.7 或 203.0.113.0/24）；留空表示不限")
    expires_on = DateField("有效期至（可选）", validators=[Optional()], description="到期当天 24 时失效；留空表示长期有效")


class ApiKeyView(ListExportMixin, ScopedBaseView):
    """Only the institution's super-admin manages keys (a key acts as the institution)."""

    roles = ("institution_admin",)

    def is_accessible(self):
        return super().is_accessible() and current_user.is_super

    def list_query(self, args):
        """(key, its audited calls) of the institution's keys, newest first."""
        calls = (
            select(func.count(AuditLog.id))
            .where(AuditLog.action == "api_call", AuditLog.object_type == "api_key", AuditLog.object_id == ApiKey.id)
            .correlate(ApiKey).scalar_subquery()
        )
        return current_scope().select(ApiKey).add_columns(calls).order_by(ApiKey.id.desc())

    def export_columns(self):
        return (
            ("名称", lambda r: r[0].name),
            ("前缀", lambda r: r[0].prefix),
            ("IP 白名单", lambda r: "、".join(r[0].ip_list) or "不限"),
            ("有效期至", lambda r: r[0].expires_at.date() if r[0].expires_at else "长期"),
            ("状态", lambda r: r[0].state_label),
            ("最近使用", lambda r: r[0].last_used_at),
            ("调用次数", lambda r: r[1]),
        )

    def _page(self, form, new_secret=None, new_key=None):
        rows = db.session.execute(self.list_query(None)).all()
        response = make_response(self.render("api/keys.html", form=form, rows=rows,
                                             new_secret=new_secret, new_key=new_key, revoke_form=FlaskForm()))
        response.headers["Cache-Control"] = "no-store"  # the page may carry a secret
        return response

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = KeyForm()
        if form.validate_on_submit():
            expires = datetime.combine(form.expires_on.data, time.max) if form.expires_on.data else None
            try:
                key, secret = keys.create_key(current_user._get_current_object(), form.name.data,
                                              form.allowed_ips.data, expires)
                db.session.commit()
            except keys.ApiKeyError as exc:
                db.session.rollback()
                field = getattr(form, exc.field, None) if exc.field else None
                if field is None and exc.field == "expires_at":
                    field = form.expires_on
                if field is not None:
                    field.errors = list(field.errors or []) + [exc.message]
                else:
                    flash(exc.message, "error")
                return self._page(form)
            # Shown once, in this response only (never in the session or a flash message).
            return self._page(KeyForm(formdata=None), new_secret=secret, new_key=key)
        return self._page(form)

    @expose("/revoke/<int:key_id>", methods=("POST",))
    def revoke(self, key_id):
        key = current_scope().get_or_404(ApiKey, key_id)
        if not FlaskForm().validate_on_submit():
            flash("页面已过期，请刷新后重试", "error")
            return redirect(url_for(".index"))
        try:
            keys.revoke_key(key, current_user._get_current_object())
            db.session.commit()
            flash(f"已吊销密钥“{key.name}”，使用该密钥的调用将被拒绝", "success")
        except keys.ApiKeyError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        return redirect(url_for(".index"))


def register(admin):
    admin.add_view(ApiKeyView(name="API 密钥管理", endpoint="api_keys", category="培训信息管理"))
