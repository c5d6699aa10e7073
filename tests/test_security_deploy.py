"""Security of a deployment: the production start (no demo data, PUBLIC_BASE_URL, the
first sysadmin, HSTS and Secure cookies) and the Redis store of sessions and limits."""

import os
import re
import uuid

import pytest
from sqlalchemy import func, select

from backoffice import create_app
from backoffice.config import TestConfig
from backoffice.extensions import db
from backoffice.models import Account, Membership
from backoffice.validators import make_id_number

from .conftest import Browser, _postgres_database, login_form, membership_of

pytestmark = pytest.mark.real_commits

SECRET = "a-production-secret-key-for-tests"


@pytest.fixture
def empty_database(tmp_path):
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgres"):
        test_url, drop = _postgres_database(url)
        yield test_url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'prod.sqlite3'}"


def production_app(url, **overrides):
    settings = dict(SQLALCHEMY_DATABASE_URI=url, PRODUCTION=True, SECRET_KEY=SECRET,
                    PUBLIC_BASE_URL="https://jxjy.example.gov.cn", CAPTCHA_ENABLED=False)
    settings.update(overrides)
    return create_app(TestConfig, **settings)


def test_a_production_start_needs_public_base_url(tmp_path):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        production_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", PUBLIC_BASE_URL="")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", SECRET_KEY=TestConfig.SECRET_KEY)


def test_run_py_refuses_to_start_production_without_public_base_url(monkeypatch, capsys, tmp_path):
    import run

    monkeypatch.setenv("BACKOFFICE_PRODUCTION", "1")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setattr("backoffice.config.Config.PRODUCTION", True)
    monkeypatch.setattr("backoffice.config.Config.SECRET_KEY", SECRET)
    monkeypatch.setattr("backoffice.config.Config.PUBLIC_BASE_URL", None)
    monkeypatch.setattr("backoffice.config.Config.SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'r.sqlite3'}")
    assert run.main(["--port", "0"]) == 2
    assert "PUBLIC_BASE_URL" in capsys.readouterr().err


def test_production_start_loads_no_demo_account_and_creates_the_first_sysadmin(empty_database, capsys):
    import run

    app = production_app(empty_database)
    try:
        run.prepare_database(app, demo=True)
        out = capsys.readouterr().out
        assert "不载入演示数据" in out and "create-sysadmin" in out
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Account)) == 0

        id_number = make_id_number("410105", __import__("datetime").date(1985, 5, 5), 11)
        runner = app.test_cli_runner()
        # interactive: the password is asked twice
        result = runner.invoke(args=["create-sysadmin", "--id-number", id_number, "--name", "省级管理员"],
                               input="Short1\nShort1\n")
        assert result.exit_code != 0 and "至少 10 位" in result.output
        result = runner.invoke(args=["create-sysadmin", "--id-number", id_number, "--name", "省级管理员"],
                               input="Admin2026secure\nAdmin2026secure\n")
        assert result.exit_code == 0, result.output
        assert "Admin2026secure" not in result.output
        # non-interactive, for scripts: a second one from the environment
        second = make_id_number("410105", __import__("datetime").date(1986, 6, 6), 21)
        result = runner.invoke(args=["create-sysadmin", "--id-number", second, "--name", "运维管理员",
                                     "--password-from-env"], env={"BACKOFFICE_SYSADMIN_PASSWORD": "Script2026secure"})
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["create-sysadmin", "--id-number", "123", "--name", "x", "--password-from-env"],
                               env={"BACKOFFICE_SYSADMIN_PASSWORD": "Script2026secure"})
        assert result.exit_code != 0 and "身份证号非法" in result.output

        with app.app_context():
            admin = db.session.scalar(select(Membership).join(Account).where(Account.id_number == id_number))
            assert admin.role == "sysadmin" and admin.status == "active"
            assert not admin.account.must_change_password

            # the sysadmin signs in over https: Secure cookie, HSTS, the headers
            client = app.test_client()
            page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                                   data={**login_form(admin, password="Admin2026secure"), "csrf_token": token})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            cookie = response.headers.get("Set-Cookie", "")
            assert "Secure" in cookie and "HttpOnly" in cookie
            page = client.get("/admin/", base_url="https://localhost")
            assert page.status_code == 200
            assert page.headers["Strict-Transport-Security"].startswith("max-age=")
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --------------------------------------------------------------------------- Redis
def _redis():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


def test_sessions_and_failed_sign_ins_in_redis(app):
    r = _redis()
    prefix = f"bo-test-{uuid.uuid4().hex[:10]}"
    variant = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         UPLOAD_DIR=app.config["UPLOAD_DIR"], REDIS_URL="redis://127.0.0.1:6379/0",
                         RATELIMIT_STORAGE_URI=None, RATELIMIT_KEY_PREFIX=prefix,
                         SESSION_KEY_PREFIX=f"{prefix}:session:")
    try:
        assert variant.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
        with variant.app_context():
            unit = membership_of("unit")
            client = variant.test_client()
            browser = Browser(client)
            response = browser.post("/login", login_form(unit))
            assert response.status_code == 302
            sid = client.get_cookie(variant.config["SESSION_COOKIE_NAME"]).value
            assert r.exists(f"{prefix}:session:{sid}")
            assert 0 < r.ttl(f"{prefix}:session:{sid}") <= 30 * 60
            thief = variant.test_client()
            thief.set_cookie(variant.config["SESSION_COOKIE_NAME"], sid)
            assert thief.get("/admin/").status_code == 200
            browser.post("/logout", form_url="/admin/")
            assert not r.exists(f"{prefix}:session:{sid}")
            assert thief.get("/admin/").status_code == 302

            # the failed sign-ins are counted in Redis: shared by every process
            wrong = login_form(membership_of("county"), password="wrong-Password1")
            for _ in range(5):
                Browser(variant.test_client()).post("/login", wrong)
            assert any(prefix in k.decode() for k in r.scan_iter(match=f"*{prefix}*"))
            other_process = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                                       UPLOAD_DIR=app.config["UPLOAD_DIR"], REDIS_URL="redis://127.0.0.1:6379/0",
                                       RATELIMIT_STORAGE_URI=None, RATELIMIT_KEY_PREFIX=prefix,
                                       SESSION_KEY_PREFIX=f"{prefix}:session:")
            with other_process.app_context():
                page = Browser(other_process.test_client()).post("/login", login_form(membership_of("county")))
                assert "密码错误次数过多" in page.get_data(as_text=True)
    finally:
        for key in list(r.scan_iter(match=f"*{prefix}*")):
            r.delete(key)
        with app.app_context():
            db.session.remove()


def test_no_demo_password_is_printed_for_a_production_database(empty_database, capsys):
    import run

    app = production_app(empty_database)
    try:
        run.prepare_database(app, demo=True)
        run.print_accounts(app, "https://jxjy.example.gov.cn")
        assert "Demo@2026" not in capsys.readouterr().out
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_session_table_comes_from_the_migration(empty_database):
    from flask_migrate import upgrade
    from sqlalchemy import inspect

    app = production_app(empty_database)
    with app.app_context():
        assert "http_session" not in inspect(db.engine).get_table_names()  # create_app created nothing
        upgrade()
        columns = {c["name"] for c in inspect(db.engine).get_columns("http_session")}
        assert {"session_id", "data", "expiry"} <= columns
        assert re.search("session_generation", str([c["name"] for c in inspect(db.engine).get_columns("account")]))
        db.session.remove()
        db.engine.dispose()
