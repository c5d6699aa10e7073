"""The endpoints of /api/v1. Each call: authenticate the key, build the permission
layer's ``Scope`` from the membership the key acts as, call the same domain functions
as the institution's pages (``backoffice.training``), then commit the change together
with one audit row of the call (key, endpoint, counts, result)."""

import functools
from datetime import timezone
from decimal import Decimal

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from .. import audit, training
from ..extensions import db, limiter
from ..models import (
    STEP_LEVELS,
    STEP_STATUSES,
    ApiScoreReceipt,
    Declaration,
    TraineeScore,
    TrainingClass,
    TrainingPlan,
    now,
)
from ..permissions import Scope
from ..validators import normalise_id_number
from ..workflow import WorkflowError
from . import schemas as s
from .errors import ApiError, error_response, validation_error
from .keys import find_key, ip_allowed, split_key

blp = Blueprint("api_v1", __name__, url_prefix="/api/v1", description="施教机构数据接口")

ERRORS = {
    400: "请求格式错误（如 JSON 不合法）",
    401: "缺少 API 密钥，或密钥无效、已吊销、已过期",
    403: "当前 IP 地址不在密钥的白名单内",
    404: "记录不存在或不属于本施教机构",
    409: "与当前状态冲突（如培训班已申报）",
    413: "请求体过大",
    422: "字段校验未通过",
    429: "调用过于频繁",
}


def _documented(codes):
    """Document the JSON error responses of an endpoint."""

    def wrap(fn):
        for code in codes:
            fn = blp.alt_response(code, schema=s.ApiErrorSchema, description=ERRORS[code])(fn)
        return fn

    return wrap


COMMON = (400, 401, 403, 413, 422, 429)


# --------------------------------------------------------------------------- limits
def _rate_key():
    header = request.headers.get("Authorization", "")
    prefix = split_key(header.partition(" ")[2].strip())
    return f"api-key:{prefix}" if prefix else f"api-ip:{request.remote_addr}"


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_rate_key)(blp)


# --------------------------------------------------------------------------- errors
@blp.errorhandler(ApiError)
def _api_error(e):
    return error_response(e.status, e.code, e.message, e.field, e.headers)


def _http_to_api(e):
    if e.code in (400, 422) and getattr(e, "data", None):
        return validation_error(e.data.get("messages"))
    messages = {
        404: ("not_found", "记录不存在或不属于本施教机构"),
        405: ("method_not_allowed", "该接口不支持此方法"),
        413: ("too_large", f"请求体不能超过 {current_app.config['API_MAX_BODY'] // 1024} KB"),
        429: ("rate_limited", "调用过于频繁，请稍后再试"),
    }
    code, message = messages.get(e.code, ("bad_request" if e.code < 500 else "server_error",
                                          "请求无效" if e.code < 500 else "系统繁忙，请稍后重试"))
    return ApiError(e.code, code, message, headers={"Retry-After": "60"} if e.code == 429 else None)


def _http_error(e):
    if not isinstance(e, HTTPException):
        db.session.rollback()
        current_app.logger.exception("API error")
        return error_response(500, "server_error", "系统繁忙，请稍后重试")
    if e.code >= 500:
        db.session.rollback()
    err = _http_to_api(e)
    return error_response(err.status, err.code, err.message, err.field, err.headers)


# Code-specific handlers: Flask prefers the application's per-code HTML pages to a
# blueprint's class handler, so each code the API can meet is registered here.
for _code in (400, 404, 405, 413, 422, 429, 500):
    blp.register_error_handler(_code, _http_error)


# --------------------------------------------------------------------------- each call
def _authenticate():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "缺少 API 密钥：请在 Authorization 头中以 Bearer 方式提供", headers=challenge)
    key = find_key(token.strip())
    if key is None:
        raise ApiError(401, "invalid_key", "API 密钥无效", headers=challenge)
    g.api_key = key
    state = key.state()
    if state == "revoked":
        raise ApiError(401, "key_revoked", "API 密钥已吊销", headers=challenge)
    if state == "expired":
        raise ApiError(401, "key_expired", "API 密钥已过期", headers=challenge)
    membership = key.membership
    if (membership is None or membership.status != "active" or membership.role != "institution_admin"
            or not membership.is_super or membership.org_id != key.institution_id
            or key.institution.status != "approved"):
        raise ApiError(401, "key_inactive", "创建该密钥的管理员账号或施教机构已停用，请重新创建密钥", headers=challenge)
    if not ip_allowed(key, request.remote_addr):
        raise ApiError(403, "ip_not_allowed", "当前 IP 地址不在该密钥的白名单内")
    g.api_membership = membership
    g.scope = Scope(membership)
    return key


def _domain_error(exc):
    message = getattr(exc, "message", None) or str(exc)
    field = getattr(exc, "field", None)
    return ApiError(422 if field else 409, "invalid" if field else "conflict", message, field)


def _record_call(status, result, key=None):
    key = key if key is not None else g.get("api_key")
    after = {"endpoint": f"{request.method} {request.url_rule.rule if request.url_rule else request.path}",
             "path": request.path, "status": status, "result": result, **g.get("api_counts", {})}
    if key is None:
        prefix = split_key(request.headers.get("Authorization", "").partition(" ")[2].strip())
        after["prefix"] = prefix
        after["ip"] = request.remote_addr
    audit.record("api_call", "api_key", key.id if key is not None else None, after=after,
                 actor=g.get("api_membership") or (key.membership if key is not None else None))


def api_call(view):
    """Authenticate, run, then commit the change with its call audit row; any refusal
    rolls back and is still recorded."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        for name in ("api_key", "api_membership", "scope", "api_counts"):
            g.pop(name, None)
        try:
            _authenticate()
            response = view(*args, **kwargs)
            status = response[1] if isinstance(response, tuple) else getattr(response, "status_code", 200)
            key = g.api_key
            key.last_used_at = now()
            _record_call(status, "ok")
            db.session.commit()
            return response
        except (ApiError, training.TrainingError, WorkflowError, HTTPException, IntegrityError, DataError) as exc:
            db.session.rollback()
            if isinstance(exc, ApiError):
                err = exc
            elif isinstance(exc, (training.TrainingError, WorkflowError)):
                err = _domain_error(exc)
            elif isinstance(exc, IntegrityError):
                err = ApiError(409, "conflict", "数据已被同时修改（可能是并发提交），请稍后重试")
            elif isinstance(exc, DataError):
                err = ApiError(422, "invalid", "字段取值超出允许范围")
            else:
                err = _http_to_api(exc)
            key = g.get("api_key")
            g.api_counts = {}
            _record_call(err.status, err.code, key)
            db.session.commit()
            return error_response(err.status, err.code, err.message, err.field, err.headers)

    return wrapper


# --------------------------------------------------------------------------- paging
def _cursor_after(args):
    """The keyset position a cursor names (an opaque string to callers: they pass the
    ``next_cursor`` they were given)."""
    raw = args.get("cursor")
    return int(raw) if raw else 0


def _page(stmt, model, args, dump):
    """Keyset page by id: ``{"items": [...], "next_cursor": ...}``."""
    limit = args.get("limit", 50)
    rows = db.session.scalars(stmt.where(model.id > _cursor_after(args)).order_by(model.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = str(rows[-1].id) if more else None
    g.api_counts = {"items": len(rows)}
    return {"items": [dump(r) for r in rows], "next_cursor": nxt}


def _get(model, id_, what):
    row = g.scope.get(model, id_)
    if row is None:
        raise ApiError(404, "not_found", f"{what}不存在或不属于本施教机构")
    return row


def _plan_out(p):
    return {"id": p.id, "name": p.name, "subject_kind": p.subject_kind,
            "subject": p.subject.name if p.subject else None, "training_year": p.training_year,
            "ce_year": p.ce_year, "form": p.form.name if p.form else None, "hours": float(p.hours),
            "planned_trainees": p.planned_trainees, "start_date": p.start_date, "end_date": p.end_date,
            "location": p.location, "status": p.status}


def _approved_plans():
    return g.scope.select(TrainingPlan).where(TrainingPlan.owner_kind == "institution",
                                              TrainingPlan.status == "approved")


def _class_out(c):
    counts = dict(db.session.execute(
        select(TraineeScore.passed, func.count()).where(TraineeScore.class_id == c.id).group_by(TraineeScore.passed)
    ).all())
    return {"id": c.id, "plan_id": c.plan_id, "name": c.name, "subject_kind": c.subject_kind, "ce_year": c.ce_year,
            "hours": float(c.hours), "start_date": c.start_date, "end_date": c.end_date,
            "planned_trainees": c.planned_trainees, "location": c.location, "teacher": c.teacher,
            "trainees": sum(counts.values()), "passed": counts.get(True, 0), "declared": c.declared_at is not None,
            "declared_at": c.declared_at, "declared_route": c.declared_route, "declared_count": c.declared_count}


def _declaration_out(d):
    return {"id": d.id, "class_id": (d.fields or {}).get("class_id"), "id_number": d.person.id_number,
            "name": d.person.name, "year": d.year, "hours": float(d.claimed_hours), "status": d.status,
            "status_label": d.status_label, "current_level": d.current_level,
            "current_org": d.current_org.name if d.current_org else None, "reject_reason": d.reject_reason,
            "submitted_at": d.submitted_at, "decided_at": d.decided_at}


# --------------------------------------------------------------------------- plans
@blp.route("/plans")
class Plans(MethodView):
    decorators = [api_call]

    @blp.doc(summary="本机构审核通过的培训计划", description="用于把平台的课程对应到培训计划；按 id 升序，游标分页。")
    @blp.arguments(s.PlanQuery, location="query", unknown=RAISE)
    @blp.response(200, s.PlanPage, description="一页培训计划")
    @_documented(COMMON)
    def get(self, args):
        stmt = _approved_plans()
        if args.get("ce_year"):
            stmt = stmt.where(TrainingPlan.ce_year == args["ce_year"])
        return _page(stmt, TrainingPlan, args, _plan_out)


@blp.route("/plans/<int:plan_id>")
class PlanOne(MethodView):
    decorators = [api_call]

    @blp.doc(summary="一个培训计划")
    @blp.response(200, s.PlanSchema, description="培训计划")
    @_documented((*COMMON, 404))
    def get(self, plan_id):
        return _plan_out(_get(TrainingPlan, plan_id, "培训计划"))


# --------------------------------------------------------------------------- classes
@blp.route("/classes")
class Classes(MethodView):
    decorators = [api_call]

    @blp.doc(summary="本机构的培训班", description="按 id 升序，游标分页。")
    @blp.arguments(s.PageQuery, location="query", unknown=RAISE)
    @blp.response(200, s.ClassPage, description="一页培训班")
    @_documented(COMMON)
    def get(self, args):
        return _page(g.scope.select(TrainingClass), TrainingClass, args, _class_out)

    @blp.doc(summary="在审核通过的培训计划下创建培训班",
             description="与页面“培训班管理”同样的规则：科目、年度和培训形式取自培训计划。")
    @blp.arguments(s.ClassCreateSchema)
    @blp.response(201, s.ClassSchema, description="已创建的培训班")
    @_documented((*COMMON, 404, 409))
    def post(self, data):
        plan = g.scope.get(TrainingPlan, data["plan_id"])
        if plan is None:
            raise ApiError(404, "not_found", "培训计划不存在或不属于本施教机构", "plan_id")
        cls = training.create_class(plan, training.ClassData(
            name=data["name"], hours=Decimal(str(data["hours"])).quantize(Decimal("0.1")), start_date=data["start_date"], end_date=data["end_date"],
            planned_trainees=data["planned_trainees"], location=data["location"], teacher=data["teacher"],
            remark=data["remark"]), g.api_membership)
        g.api_counts = {"class_id": cls.id}
        return _class_out(cls)


@blp.route("/classes/<int:class_id>")
class ClassOne(MethodView):
    decorators = [api_call]

    @blp.doc(summary="一个培训班（含已录入和合格人数、申报状态）")
    @blp.response(200, s.ClassSchema, description="培训班")
    @_documented((*COMMON, 404))
    def get(self, class_id):
        return _class_out(_get(TrainingClass, class_id, "培训班"))


# --------------------------------------------------------------------------- scores
@blp.route("/classes/<int:class_id>/scores")
class Scores(MethodView):
    decorators = [api_call]

    @blp.doc(summary="上报学员成绩（每次最多 1,000 条）", description=(
        "逐条返回结果：accepted（已接收）或 rejected 及中文原因（身份证号非法、未注册、姓名不符、重复、成绩须为 0–100 "
        "等），有问题的条目不影响同批其他条目。每条带调用方的 idempotency_key：同一键再次提交返回原结果"
        "（replayed=true），不会产生第二条记录。"))
    @blp.arguments(s.ScoresInput)
    @blp.response(200, s.ScoresResult, description="逐条结果")
    @_documented((*COMMON, 404, 409))
    def post(self, data, class_id):
        cls = _get(TrainingClass, class_id, "培训班")
        if cls.declared_at is not None:
            raise ApiError(409, "declared", training.MSG_CLASS_DECLARED)
        return record_results(cls, data["results"])


def _local(dt):
    """Naive local time for the database (aware times are converted to UTC+8)."""
    if dt is None or dt.tzinfo is None:
        return dt
    from datetime import timedelta

    return dt.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)


def record_results(cls, results):
    key, institution_id = g.api_key, cls.institution_id
    wanted = list({r["idempotency_key"] for r in results})
    receipts = {}
    for start in range(0, len(wanted), 500):
        for rec in db.session.scalars(select(ApiScoreReceipt).where(
                ApiScoreReceipt.institution_id == institution_id,
                ApiScoreReceipt.idempotency_key.in_(wanted[start:start + 500]))):
            receipts[rec.idempotency_key] = rec
    out = [{"index": i, "idempotency_key": r["idempotency_key"], "status": "rejected", "replayed": False,
            "score_id": None, "code": None, "message": None, "field": None} for i, r in enumerate(results)]
    fresh, seen = [], set()
    for i, r in enumerate(results):
        k = r["idempotency_key"]
        if k in seen:
            out[i].update(code="duplicate_key", message="同一批次中幂等键重复", field="idempotency_key")
            continue
        seen.add(k)
        rec = receipts.get(k)
        if rec is not None:
            if rec.class_id == cls.id and rec.id_number == normalise_id_number(r["id_number"]):
                out[i].update(status="accepted", replayed=True, score_id=rec.trainee_score_id)
            else:
                out[i].update(code="key_conflict", message="该幂等键已用于另一条成绩", field="idempotency_key")
            continue
        fresh.append(i)
    receipts_new = []
    if fresh:
        outcomes = training.add_scores_batch(cls, [
            training.ScoreInput(id_number=results[i]["id_number"], name=results[i]["name"],
                                score=results[i]["score"], passed=results[i]["passed"],
                                remark=results[i]["remark"]) for i in fresh], g.api_membership)
        for i, o in zip(fresh, outcomes, strict=True):
            if o.ok:
                out[i].update(status="accepted", score_id=o.score_id)
                receipts_new.append({"institution_id": institution_id, "api_key_id": key.id,
                                     "idempotency_key": results[i]["idempotency_key"], "class_id": cls.id,
                                     "trainee_score_id": o.score_id,
                                     "id_number": normalise_id_number(results[i]["id_number"]),
                                     "completed_at": _local(results[i]["completed_at"]), "created_at": now()})
            else:
                out[i].update(code=o.code, message=o.message, field=o.field)
    if receipts_new:
        db.session.execute(insert(ApiScoreReceipt.__table__), receipts_new)
    accepted = len(receipts_new)
    replayed = sum(1 for o in out if o["replayed"])
    rejected = len(out) - accepted - replayed
    g.api_counts = {"class_id": cls.id, "rows": len(out), "accepted": accepted, "replayed": replayed,
                    "rejected": rejected}
    return {"class_id": cls.id, "accepted": accepted, "replayed": replayed, "rejected": rejected, "results": out}


# --------------------------------------------------------------------------- declaring
@blp.route("/classes/<int:class_id>/declaration")
class Declare(MethodView):
    decorators = [api_call]

    @blp.doc(summary="申报培训班学时（每个培训班仅一次）", description=(
        "为每名合格学员生成一条学时申报记录，送入与页面“学员成绩申报”相同的审核流程："
        "公需科目送人社部门，专业科目送行业主管部门或人社部门。"))
    @blp.arguments(s.DeclareInput)
    @blp.response(201, s.DeclareResult, description="已申报")
    @_documented((*COMMON, 404, 409))
    def post(self, data, class_id):
        cls = _get(TrainingClass, class_id, "培训班")
        n = training.declare_class(cls, data.get("route"), g.api_membership)
        db.session.refresh(cls)
        g.api_counts = {"class_id": cls.id, "declarations": n}
        return {"class_id": cls.id, "declared_at": cls.declared_at, "route": cls.declared_route, "declarations": n}


@blp.route("/declarations")
class Declarations(MethodView):
    decorators = [api_call]

    @blp.doc(summary="学时申报记录的审核状态", description="本机构申报的记录；可按培训班筛选；按 id 升序，游标分页。")
    @blp.arguments(s.DeclarationQuery, location="query", unknown=RAISE)
    @blp.response(200, s.DeclarationPage, description="一页学时申报记录")
    @_documented((*COMMON, 404))
    def get(self, args):
        stmt = g.scope.select(Declaration).options(selectinload(Declaration.person),
                                                   selectinload(Declaration.current_org))
        if args.get("class_id"):
            cls = _get(TrainingClass, args["class_id"], "培训班")
            stmt = stmt.where(Declaration.id.in_(
                select(TraineeScore.declaration_id).where(TraineeScore.class_id == cls.id)))
        return _page(stmt, Declaration, args, _declaration_out)


@blp.route("/declarations/<int:declaration_id>")
class DeclarationOne(MethodView):
    decorators = [api_call]

    @blp.doc(summary="一条学时申报记录及其审核流程")
    @blp.response(200, s.DeclarationDetail, description="学时申报记录及审核流程")
    @_documented((*COMMON, 404))
    def get(self, declaration_id):
        d = _get(Declaration, declaration_id, "学时申报记录")
        out = _declaration_out(d)
        out["trail"] = [{"seq": st.seq, "level": st.level, "level_label": STEP_LEVELS.get(st.level, st.level),
                         "org": st.org.name if st.org else None, "status": st.status,
                         "status_label": STEP_STATUSES.get(st.status, st.status), "acted_at": st.acted_at,
                         "comment": st.comment} for st in d.steps]
        return out
