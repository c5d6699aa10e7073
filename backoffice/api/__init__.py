"""/api/v1: the REST API of training institutions and the learning platforms acting
for them (classes, trainee results, class declarations), documented by OpenAPI 3.

Built with flask-smorest: it plugs an ``Api`` object into the existing application
and documents only its own blueprints, so the Flask-Admin back office stays as it is.
Keys, not cookies: the API is CSRF-exempt and never authenticates by the session.
"""

import os

from flask import Blueprint, current_app, g, render_template, request
from flask_login import AnonymousUserMixin
from flask_smorest import Api
from werkzeug.exceptions import MethodNotAllowed, NotFound

from ..extensions import csrf
from .errors import error_response

PREFIX = "/api/v1"

DEFAULTS = {
    # Per key; Flask-Limiter's storage (RATELIMIT_STORAGE_URI) is shared when configured.
    "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
    # Largest request body: 1,000 results of ~200 bytes fit in a quarter of it.
    "API_MAX_BODY": int(os.environ.get("API_MAX_BODY", 1024 * 1024)),
    "API_V1_API_TITLE": "河南省专业技术人员继续教育 施教机构数据接口",
    "API_V1_API_VERSION": "v1",
    "API_V1_OPENAPI_VERSION": "3.0.3",
    "API_V1_OPENAPI_URL_PREFIX": PREFIX,
    "API_V1_OPENAPI_JSON_PATH": "openapi.json",
}

DESCRIPTION = """施教机构及其委托的在线学习平台通过本接口上报培训班、学员成绩并申报学时，
与施教机构在系统页面上的操作遵循同一套规则、权限和审核流程。

认证：每个请求在 `Authorization` 头中携带 `Bearer <API 密钥>`；密钥由施教机构超级管理员在
“API 密钥管理”页面创建，只显示一次。错误一律返回 JSON：`{"code", "message", "field"}`。
列表接口按游标分页：把响应中的 `next_cursor` 作为下一次请求的 `cursor` 参数。"""


class _Api(Api):
    """flask-smorest's Api without its application-wide error handlers: the back
    office keeps its HTML error pages, the API blueprint has its own JSON handlers."""

    # Every error an endpoint returns is documented with its own code and schema.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass


extra = Blueprint("api_v1_extra", __name__, url_prefix=PREFIX)


@extra.route("/docs")
def docs():
    """The readable reference, rendered on the server from the OpenAPI document."""
    return render_template("api/docs.html", spec=current_app.extensions["api_v1"].spec.to_dict())


def _is_api_request():
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def init_api(app):
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    api = _Api(app, config_prefix="API_V1_", spec_kwargs={"info": {"description": DESCRIPTION}})
    app.extensions["api_v1"] = api
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "API 密钥：jxjy_<前缀>_<密文>"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    from .routes import blp

    api.register_blueprint(blp)
    csrf.exempt(blp)
    csrf.exempt(extra)
    app.register_blueprint(extra)

    @app.before_request
    def _api_without_session():
        """The session cookie never authenticates an API call (keys only)."""
        if not _is_api_request():
            return None
        g._login_user = AnonymousUserMixin()
        request.max_content_length = min(app.config["API_MAX_BODY"], app.config.get("MAX_CONTENT_LENGTH")
                                         or app.config["API_MAX_BODY"])
        # Unknown paths and methods under /api/v1 answer in JSON (the back office's are HTML).
        failure = request.routing_exception
        if isinstance(failure, MethodNotAllowed):
            allowed = sorted(m for m in (failure.valid_methods or ()) if m not in ("HEAD", "OPTIONS"))
            return error_response(405, "method_not_allowed", f"该接口不支持 {request.method} 方法",
                                  headers={"Allow": ", ".join(allowed)})
        if isinstance(failure, NotFound):
            return error_response(404, "not_found", "接口不存在，请查阅 /api/v1/docs")
        return None
