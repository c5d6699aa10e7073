"""API 密钥管理 over HTTP: the institution's super-admin creates a key (shown once,
stored hashed), the key works, revoking it stops it; other roles and other
institutions' admins cannot see or revoke it."""

import re

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import ApiKey

from .api_helpers import Api
from .conftest import sign_in
from .training_helpers import make_institution


def _create(browser, **data):
    form = {"name": "某学习平台", "allowed_ips": "", "expires_on": ""}
    form.update(data)
    return browser.post("/admin/api_keys/", form)


def test_super_admin_creates_sees_once_and_revokes(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    page = inst.get("/admin/api_keys/")
    assert page.status_code == 200 and "创建密钥" in page.get_data(as_text=True)
    response = _create(inst, allowed_ips="203.0.113.0/24\n127.0.0.1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = re.search(r"<code>(jxjy_[0-9a-f]{12}_[^<]+)</code>", html).group(1)
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "某学习平台"))
    assert secret not in key.secret_hash and key.ip_list == ["203.0.113.0/24", "127.0.0.1/32"]
    # Shown once: the list page afterwards shows only the prefix.
    again = inst.get("/admin/api_keys/").get_data(as_text=True)
    assert secret not in again and key.prefix in again
    assert Api(app.test_client(), secret).get("/api/v1/plans").status_code == 200

    response = inst.post(f"/admin/api_keys/revoke/{key.id}", {}, form_url="/admin/api_keys/")
    assert response.status_code == 302
    assert Api(app.test_client(), secret).get("/api/v1/plans").json["code"] == "key_revoked"
    assert "已吊销" in inst.get("/admin/api_keys/").get_data(as_text=True)


def test_bad_input_is_refused_in_chinese(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    html = _create(inst, allowed_ips="not-an-ip").get_data(as_text=True)
    assert "IP 地址或网段格式不正确" in html
    html = _create(inst, name="").get_data(as_text=True)
    assert "请输入密钥名称" in html
    html = _create(inst, expires_on="2000-01-01").get_data(as_text=True)
    assert "有效期须晚于当前时间" in html
    assert db.session.scalar(select(ApiKey).where(ApiKey.name == "某学习平台")) is None


def test_other_roles_and_institutions_cannot_reach_keys(app, ctx):
    inst = sign_in(app.test_client(), "institution")
    _create(inst)
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "某学习平台"))
    for role in ("unit", "county", "person"):
        browser = sign_in(app.test_client(), role)
        assert browser.get("/admin/api_keys/").status_code in (302, 403)
    _, admin = make_institution()
    other = sign_in(app.test_client(), admin)
    listing = other.get("/admin/api_keys/").get_data(as_text=True)
    assert key.prefix not in listing
    response = other.post(f"/admin/api_keys/revoke/{key.id}", {}, form_url="/admin/api_keys/")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).revoked_at is None
