"""/api/v1 over HTTP: a learning platform with an institution's key lists plans,
creates a class, posts trainee results (idempotent, per-row reasons), declares the
class and polls the review; keys of other institutions, revoked, expired or used
from a wrong address are refused; nothing answers to the session cookie."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import ApiKey, ApiScoreReceipt, AuditLog, Declaration, TraineeScore, now
from backoffice.validators import make_id_number

from .api_helpers import Api, approved_plan, new_key, result
from .conftest import membership_of, org, sign_in
from .training_helpers import YEAR, make_institution, make_person


@pytest.fixture
def plan(app, ctx):
    return approved_plan(app)


@pytest.fixture
def api(app, ctx):
    _, token = new_key()
    return Api(app.test_client(), token)


def trainees(n, start=0):
    hospital = org("郑州市金水区人民医院")
    return [make_person(f"平台学员{i:03d}", hospital, 300 + i) for i in range(start, start + n)]


def class_body(plan, name="线上公开课第一期", **extra):
    body = {"plan_id": plan.id, "name": name, "hours": 12,
            # A class lies inside its plan's dates.
            "start_date": plan.start_date.isoformat(), "end_date": plan.end_date.isoformat(), "planned_trainees": 500, "location": "线上", "teacher": "李老师"}
    body.update(extra)
    return body


def new_class(api, plan, **extra):
    response = api.post("/api/v1/classes", class_body(plan, **extra))
    assert response.status_code == 201, response.json
    return response.json


def calls(key_id):
    return db.session.scalars(select(AuditLog).where(AuditLog.action == "api_call", AuditLog.object_id == key_id)
                              .order_by(AuditLog.id)).all()


# --------------------------------------------------------------------------- the walkthrough
def test_plans_class_scores_declaration_and_status(app, ctx, plan, api):
    people = trainees(4)
    # Plans: the approved ones of this institution, with a cursor.
    page = api.get("/api/v1/plans?limit=1").json
    ids = [p["id"] for p in page["items"]]
    while page["next_cursor"]:
        page = api.get(f"/api/v1/plans?limit=1&cursor={page['next_cursor']}").json
        ids += [p["id"] for p in page["items"]]
    assert plan.id in ids and len(ids) == len(set(ids))
    assert api.get(f"/api/v1/plans/{plan.id}").json["name"] == plan.name

    # A class under the plan; subject and year come from the plan, as on the page.
    cls = new_class(api, plan)
    assert (cls["subject_kind"], cls["ce_year"], cls["trainees"], cls["declared"]) == ("professional", YEAR, 0, False)
    assert api.get(f"/api/v1/classes/{cls['id']}").json["name"] == "线上公开课第一期"

    # Results: three good rows, one failed (score 50), and every kind of bad row.
    rows = [result(0, people[0], 95), result(1, people[1], 80, passed=True), result(2, people[2], 50),
            result(3, people[3], 61, name="别人"),
            {**result(4, people[0], 90), "idempotency_key": "x-dup-person"},
            {"idempotency_key": "bad-id", "id_number": "410105199001011234", "name": "某", "score": 80,
             "completed_at": "2026-05-01T10:00:00"},
            {"idempotency_key": "unknown", "id_number": make_id_number("410105", YEAR and __import__("datetime").date(
                1991, 2, 3), 999), "name": "某", "score": 80, "completed_at": "2026-05-01T10:00:00"},
            {**result(7, people[3], 101), "idempotency_key": "too-high"}]
    response = api.post(f"/api/v1/classes/{cls['id']}/scores", {"results": rows})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["accepted"], body["replayed"], body["rejected"]) == (3, 0, 5)
    reasons = {r["idempotency_key"]: (r["status"], r["code"], r["message"]) for r in body["results"]}
    assert reasons[f"rec-{people[0].id_number}"][0] == "accepted"
    assert reasons[f"rec-{people[3].id_number}"] == ("rejected", "name_mismatch", "姓名与注册信息不符")
    assert reasons["x-dup-person"][1] == "duplicate" and "重复" in reasons["x-dup-person"][2]
    assert reasons["bad-id"] == ("rejected", "invalid_id_number", "身份证号非法")
    assert reasons["unknown"][1] == "not_registered" and "未在本系统注册" in reasons["unknown"][2]
    assert reasons["too-high"] == ("rejected", "invalid_score", "成绩须为 0–100 之间的数字")
    assert db.session.scalar(select(func.count()).select_from(TraineeScore)
                             .where(TraineeScore.class_id == cls["id"])) == 3

    # Replaying the same batch creates nothing new: the accepted rows come back as replayed.
    again = api.post(f"/api/v1/classes/{cls['id']}/scores", {"results": rows}).json
    assert (again["accepted"], again["replayed"], again["rejected"]) == (0, 3, 5)
    assert [r["score_id"] for r in again["results"][:3]] == [r["score_id"] for r in body["results"][:3]]
    assert db.session.scalar(select(func.count()).select_from(TraineeScore)
                             .where(TraineeScore.class_id == cls["id"])) == 3
    # The same key for another person is a conflict, not a new row.
    other = api.post(f"/api/v1/classes/{cls['id']}/scores",
                     {"results": [{**result(0, people[3], 70), "idempotency_key": f"rec-{people[0].id_number}"}]})
    assert other.json["results"][0]["code"] == "key_conflict"
    # A key twice in one batch.
    twice = api.post(f"/api/v1/classes/{cls['id']}/scores",
                     {"results": [result(0, people[3], 70, key="k3"), result(1, people[3], 70, key="k3")]}).json
    assert [r["status"] for r in twice["results"]] == ["accepted", "rejected"]
    assert twice["results"][1]["code"] == "duplicate_key"

    # Declare once: one declaration per passed trainee, through the review chain.
    response = api.post(f"/api/v1/classes/{cls['id']}/declaration", {"route": "industry"})
    assert response.status_code == 201, response.json
    assert response.json["declarations"] == 3  # people 0, 1 and 3 passed; 2 scored 50
    again = api.post(f"/api/v1/classes/{cls['id']}/declaration", {"route": "industry"})
    assert again.status_code == 409 and again.json["code"] == "conflict"
    assert "仅允许申报一次" in again.json["message"]
    late = api.post(f"/api/v1/classes/{cls['id']}/scores", {"results": [result(0, people[2], 70, key="late")]})
    assert late.status_code == 409 and late.json["code"] == "declared"

    # Status and review trail.
    listed = api.get(f"/api/v1/declarations?class_id={cls['id']}").json
    assert len(listed["items"]) == 3 and listed["next_cursor"] is None
    assert {d["status"] for d in listed["items"]} == {"pending"}
    one = api.get(f"/api/v1/declarations/{listed['items'][0]['id']}").json
    assert one["trail"][0]["status"] == "pending" and one["trail"][0]["org"] == "金水区卫生健康委员会"
    assert one["class_id"] == cls["id"]


def test_public_class_goes_to_hrss_and_professional_needs_a_route(app, ctx, api):
    plan = approved_plan(app, "公需科目网络课程", kind="public")
    people = trainees(1)
    cls = new_class(api, plan, name="公需课一期")
    api.post(f"/api/v1/classes/{cls['id']}/scores", {"results": [result(0, people[0], 90)]})
    response = api.post(f"/api/v1/classes/{cls['id']}/declaration")
    assert response.status_code == 201, response.json
    assert response.json["route"] == "hrss"

    prof = approved_plan(app, "专业科目课程")
    cls2 = new_class(api, prof, name="专业课一期")
    api.post(f"/api/v1/classes/{cls2['id']}/scores", {"results": [result(0, people[0], 90, key="p2")]})
    response = api.post(f"/api/v1/classes/{cls2['id']}/declaration", {})
    assert response.status_code == 422 and response.json == {"code": "invalid", "message": "请选择送审部门",
                                                             "field": "route"}


def test_class_rules_are_the_pages_rules(app, ctx, plan, api):
    bad = api.post("/api/v1/classes", class_body(plan, start_date=plan.end_date.isoformat(), end_date=plan.start_date.isoformat()))
    assert bad.status_code == 422 and bad.json["field"] == "end_date" and bad.json["message"] == "结束日期不能早于开始日期"
    missing = api.post("/api/v1/classes", {"plan_id": plan.id})
    assert missing.status_code == 422 and missing.json["code"] == "invalid" and "缺少必填字段" in missing.json["message"]
    unknown = api.post("/api/v1/classes", {**class_body(plan), "extra": 1})
    assert unknown.status_code == 422 and unknown.json["field"] == "extra"
    not_json = api.call("post", "/api/v1/classes", data="{oops", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json["code"] == "invalid_json"
    # An unapproved plan of the same institution: refused with the page's message.
    inst = sign_in(app.test_client(), "institution")
    from .training_helpers import create_plan

    draft = create_plan(inst, "未送审计划", submit=False)
    refused = api.post("/api/v1/classes", class_body(draft))
    assert refused.status_code == 422 and refused.json["message"] == "只能从审核通过的培训计划创建培训班"
    assert api.get("/api/v1/plans").json["items"] and draft.id not in [p["id"] for p in api.get("/api/v1/plans").json["items"]]


# --------------------------------------------------------------------------- scope
def test_a_key_of_another_institution_gets_404_for_everything(app, ctx, plan, api):
    people = trainees(1)
    cls = new_class(api, plan)
    api.post(f"/api/v1/classes/{cls['id']}/scores", {"results": [result(0, people[0], 90)]})
    api.post(f"/api/v1/classes/{cls['id']}/declaration", {"route": "industry"})
    decl = api.get(f"/api/v1/declarations?class_id={cls['id']}").json["items"][0]

    _, other_admin = make_institution()
    _, token = new_key(other_admin)
    other = Api(app.test_client(), token)
    assert other.get("/api/v1/plans").json["items"] == []
    assert other.get("/api/v1/classes").json["items"] == []
    assert other.get("/api/v1/declarations").json["items"] == []
    for url in (f"/api/v1/plans/{plan.id}", f"/api/v1/classes/{cls['id']}", f"/api/v1/declarations/{decl['id']}",
                f"/api/v1/declarations?class_id={cls['id']}"):
        response = other.get(url)
        assert response.status_code == 404, url
        assert response.json["code"] == "not_found" and "不属于本施教机构" in response.json["message"]
    assert other.post("/api/v1/classes", class_body(plan)).status_code == 404
    assert other.post(f"/api/v1/classes/{cls['id']}/scores", {"results": [result(0, people[0], 1)]}).status_code == 404
    assert other.post(f"/api/v1/classes/{cls['id']}/declaration", {"route": "hrss"}).status_code == 404
    # Nothing changed for the first institution.
    assert api.get(f"/api/v1/classes/{cls['id']}").json["trainees"] == 1


def test_keys_revoked_expired_wrong_ip_and_cookies(app, ctx, plan):
    client = app.test_client()
    assert Api(client, None).get("/api/v1/plans").status_code == 401
    assert Api(client, "jxjy_000000000000_nope").get("/api/v1/plans").json["code"] == "invalid_key"
    key, token = new_key()
    assert Api(client, token + "x").get("/api/v1/plans").status_code == 401

    from backoffice.api import keys

    keys.revoke_key(key, membership_of("institution"))
    db.session.commit()
    response = Api(client, token).get("/api/v1/plans")
    assert response.status_code == 401 and response.json == {"code": "key_revoked", "message": "API 密钥已吊销",
                                                             "field": None}

    key, token = new_key(expires_at=now() + timedelta(days=1))
    assert Api(client, token).get("/api/v1/plans").status_code == 200
    key.expires_at = now() - timedelta(seconds=1)
    db.session.commit()
    assert Api(client, token).get("/api/v1/plans").json["code"] == "key_expired"

    _, token = new_key(allowed_ips="10.0.0.0/8\n192.168.1.5")
    response = Api(client, token).get("/api/v1/plans")
    assert response.status_code == 403 and response.json["code"] == "ip_not_allowed"
    ok = Api(client, token).call("get", "/api/v1/plans", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 200

    # A key stops when the super-admin it acts as is no longer one.
    _, token = new_key()
    admin = membership_of("institution")
    admin.is_super = False
    db.session.commit()
    assert Api(client, token).get("/api/v1/plans").json["code"] == "key_inactive"
    admin.is_super = True
    db.session.commit()

    # The session cookie of a signed-in admin authenticates nothing, and needs no CSRF token.
    browser = sign_in(client, "institution")
    assert browser.get("/api/v1/plans").status_code == 401
    assert browser.client.post("/api/v1/classes", json=class_body(plan)).status_code == 401


def test_every_call_is_audited_and_the_secret_is_stored_hashed(app, ctx, plan):
    key, token = new_key()
    row = db.session.get(ApiKey, key.id)
    assert token not in (row.secret_hash or "") and len(row.secret_hash) == 64 and token.split("_")[1] == row.prefix
    api = Api(app.test_client(), token)
    people = trainees(2)
    cls = new_class(api, plan)
    api.post(f"/api/v1/classes/{cls['id']}/scores",
             {"results": [result(0, people[0], 90), result(1, people[1], 90, name="不对")]})
    api.get("/api/v1/classes/999999999")
    entries = calls(key.id)
    assert [e.after for e in entries][0].startswith('{"class_id"')
    import json

    parsed = [json.loads(e.after) for e in entries]
    assert [(p["endpoint"], p["status"], p["result"]) for p in parsed] == [
        ("POST /api/v1/classes", 201, "ok"),
        ("POST /api/v1/classes/<int:class_id>/scores", 200, "ok"),
        ("GET /api/v1/classes/<int:class_id>", 404, "not_found"),
    ]
    assert (parsed[1]["accepted"], parsed[1]["rejected"]) == (1, 1)
    assert all(e.actor_org_id == key.institution_id for e in entries)
    assert db.session.get(ApiKey, key.id).last_used_at is not None
    # The accepted result carries its receipt.
    assert db.session.scalar(select(func.count()).select_from(ApiScoreReceipt)
                             .where(ApiScoreReceipt.api_key_id == key.id)) == 1


# --------------------------------------------------------------------------- limits
def test_batch_size_body_size_and_cursor_limits(app, ctx, plan, api):
    cls = new_class(api, plan)
    people = trainees(1)
    too_many = [result(i, people[0], 90, key=f"k{i}") for i in range(1001)]
    response = api.post(f"/api/v1/classes/{cls['id']}/scores", {"results": too_many})
    assert response.status_code == 422 and response.json["field"] == "results"
    big = api.post(f"/api/v1/classes/{cls['id']}/scores",
                   {"results": [result(0, people[0], 90, remark="长" * 400, key="x" * 100)] * 900})
    assert big.status_code == 413 and big.json["code"] == "too_large"
    bad = api.get("/api/v1/classes?cursor=!!notacursor")
    assert bad.status_code == 422 and bad.json["field"] == "cursor"
    assert api.get("/api/v1/classes?limit=0").status_code == 422
    assert api.get("/api/v1/nothing-here").json["code"] == "not_found"
    wrong = api.call("delete", "/api/v1/plans")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET"


def test_rate_limit_per_key(app, ctx, plan):
    old = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        _, token_a = new_key(name="A")
        _, token_b = new_key(name="B")
        a, b = Api(app.test_client(), token_a), Api(app.test_client(), token_b)
        assert [a.get("/api/v1/plans").status_code for _ in range(4)] == [200, 200, 200, 429]
        limited = a.get("/api/v1/plans")
        assert limited.json["code"] == "rate_limited" and limited.headers.get("Retry-After")
        assert b.get("/api/v1/plans").status_code == 200  # another key has its own budget
    finally:
        app.config["API_RATE_LIMIT"] = old


def test_declarations_page_by_cursor(app, ctx, plan, api):
    people = trainees(5, start=50)
    cls = new_class(api, plan)
    api.post(f"/api/v1/classes/{cls['id']}/scores", {"results": [result(i, p, 90) for i, p in enumerate(people)]})
    api.post(f"/api/v1/classes/{cls['id']}/declaration", {"route": "hrss"})
    seen, cursor = [], ""
    while True:
        page = api.get(f"/api/v1/declarations?class_id={cls['id']}&limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [d["id"] for d in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert len(seen) == 5 == len(set(seen)) and seen == sorted(seen)
    assert db.session.scalar(select(func.count()).select_from(Declaration).where(Declaration.id.in_(seen))) == 5


def test_openapi_document_and_docs_page(app, ctx):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and "/api/v1/classes/{class_id}/scores" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "上报学员成绩" in page and "/api/v1/classes/{class_id}/declaration" in page
