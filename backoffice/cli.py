"""Commands for the operators of an installation (``flask --app backoffice …``)."""

import os

import click
from flask import Flask
from flask.cli import with_appcontext

PASSWORD_ENV = "BACKOFFICE_SYSADMIN_PASSWORD"


def password_problem(password):
    """The Chinese reason a first sysadmin password is refused, or None."""
    if len(password or "") < 10:
        return "密码至少 10 位"
    if password.isdigit() or password.isalpha():
        return "密码须同时包含字母和数字"
    return None


@click.command("create-sysadmin")
@click.option("--id-number", prompt="身份证号", help="the sysadmin's ID number (18 characters)")
@click.option("--name", prompt="姓名", help="the sysadmin's name")
@click.option("--email", default="", help="e-mail address (optional)")
@click.option("--phone", default="", help="phone number (optional)")
@click.option("--password-from-env", is_flag=True,
              help=f"read the password from ${PASSWORD_ENV} instead of prompting (scripts)")
@with_appcontext
def create_sysadmin(id_number, name, email, phone, password_from_env):
    """Create a system administrator (the first one of a production installation).

    The password is asked twice without echo; scripts pass --password-from-env and set
    BACKOFFICE_SYSADMIN_PASSWORD.
    """
    from . import accounts, audit
    from .extensions import db
    from .validators import is_valid_id_number, normalise_id_number

    id_number = normalise_id_number(id_number)
    if not is_valid_id_number(id_number):
        raise click.ClickException("身份证号非法")
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise click.ClickException("请输入姓名（最多 50 个字）")
    if password_from_env:
        password = os.environ.get(PASSWORD_ENV) or ""
        if not password:
            raise click.ClickException(f"未设置环境变量 {PASSWORD_ENV}")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    try:
        membership = accounts.add_sysadmin(
            {"id_number": id_number, "name": name, "email": email.strip() or None, "phone": phone.strip() or None})
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    account = membership.account
    account.set_password(password)
    account.must_change_password = False
    audit.record("change_password", "account", account.id, comment="create-sysadmin")
    db.session.commit()
    click.echo(f"已创建系统管理员 {name}（{id_number}）：登录时用户类型选择“系统管理员”。")


def init_app(app: Flask):
    app.cli.add_command(create_sysadmin)
