"""An institution sees only its own plans, classes and scores — on every path: list,
details, edit, delete, batch actions, export, import, roster, declaration — and
reviewers see and move only what was sent to them."""

import io

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Declaration, TraineeScore, TrainingClass, TrainingPlan

from .conftest import sign_in
from .training_helpers import create_plan, foreign_institution, xlsx


@pytest.fixture
def foreign(app, ctx):
    return foreign_institution(app)


def _visible(browser, url, text):
    return text in browser.get(url).get_data(as_text=True)


def test_institution_cannot_reach_another_institutions_rows(app, ctx, foreign):
    me = sign_in(app.test_client(), "institution")
    plan, draft, cls, score = foreign["plan"], foreign["draft"], foreign["cls"], foreign["score"]
    cases = [("training_plans", draft, "外机构草稿计划"), ("training_plans", plan, "外机构专业计划"),
             ("training_classes", cls, "外机构培训班"), ("trainee_scores", score, score.id_number)]
    for endpoint, row, marker in cases:
        base = f"/admin/{endpoint}"
        assert not _visible(me, f"{base}/?page_size=100", marker), endpoint
        assert not _visible(me, f"{base}/export/csv/", marker), endpoint
        assert me.get(f"{base}/details/?id={row.id}").status_code == 404, endpoint
        assert me.get(f"{base}/edit/?id={row.id}").status_code == 404, endpoint
        assert me.post(f"{base}/edit/?id={row.id}", {"name": "x", "score": "1"},
                       form_url=f"{base}/").status_code == 404, endpoint
        assert me.post(f"{base}/delete/", {"id": str(row.id)}, form_url=f"{base}/").status_code == 404, endpoint
        me.post(f"{base}/action/", {"action": "delete", "rowid": [str(row.id)]}, form_url=f"{base}/")
        db.session.expire_all()
        assert db.session.get(type(row), row.id) is not None, endpoint
    # Sending someone else's draft.
    me.post("/admin/training_plans/action/", {"action": "submit", "rowid": [str(draft.id)]},
            form_url="/admin/training_plans/")
    assert me.post("/admin/training_plans/submit/", {"id": str(draft.id)},
                   form_url="/admin/training_plans/").status_code == 404
    assert db.session.get(TrainingPlan, draft.id).status == "draft"
    # A class from someone else's plan; a score into someone else's class.
    page = me.post("/admin/training_classes/new/", {"plan_id": str(plan.id), "name": "偷用计划", "hours": "8",
                                                    "planned_trainees": "5", "start_date": "2026-01-01",
                                                    "end_date": "2026-01-02"}).get_data(as_text=True)
    assert "请选择审核通过的培训计划" in page
    assert db.session.scalar(select(TrainingClass).where(TrainingClass.name == "偷用计划")) is None
    assert "外机构专业计划" not in me.get(f"/admin/training_classes/new/?plan_id={plan.id}").get_data(as_text=True)
    person = foreign["people"][2]
    page = me.post("/admin/trainee_scores/new/", {"class_id": str(cls.id), "id_number": person.id_number,
                                                  "score": "90", "passed": "", "remark": ""}).get_data(as_text=True)
    assert "请选择培训班" in page
    assert cls.scores.count() == 2
    # Import into someone else's class; reading or confirming someone else's upload.
    response = me.post("/admin/trainee_scores/import/", {"class_id": str(cls.id),
                                                         "file": (io.BytesIO(xlsx([])), "a.xlsx")},
                       content_type="multipart/form-data")
    assert "请选择培训班" in response.get_data(as_text=True)
    token = foreign["token"]
    assert me.get(f"/admin/trainee_scores/import/preview/{token}").status_code == 404
    assert me.post(f"/admin/trainee_scores/import/confirm/{token}", {"confirm": "1"},
                   form_url="/admin/trainee_scores/").status_code == 404
    assert cls.scores.count() == 2
    # Roster and declaration of someone else's class.
    assert me.get(f"/admin/score_declaration/roster/{cls.id}").status_code == 404
    assert me.post(f"/admin/score_declaration/declare/{cls.id}", {"route": "hrss"},
                   form_url="/admin/score_declaration/").status_code == 404
    assert not _visible(me, "/admin/score_declaration/", "外机构培训班")
    db.session.expire_all()
    assert db.session.get(TrainingClass, cls.id).declared_at is None
    # The owner still reaches all of it.
    owner = foreign["browser"]
    assert owner.get(f"/admin/training_classes/details/?id={cls.id}").status_code == 200
    assert owner.get(f"/admin/trainee_scores/import/preview/{token}").status_code == 200
    for endpoint, _row, marker in cases:
        assert _visible(owner, f"/admin/{endpoint}/?page_size=100", marker), endpoint
        export = owner.get(f"/admin/{endpoint}/export/csv/")
        assert export.status_code == 200 and marker in export.get_data(as_text=True), endpoint


def test_plan_reviewers_see_and_move_only_what_was_sent_to_them(app, ctx, foreign):
    plan = create_plan(foreign["browser"], "外机构待审计划", route="hrss")
    assert plan.current_org.name == "郑州市人力资源和社会保障局"
    # Another city, a county below, an industry department: not theirs.
    for key in ("luoyang", "county2", "industry"):
        browser = sign_in(app.test_client(), key)
        assert not _visible(browser, "/admin/plan_review/?status=all", "外机构待审计划"), key
        assert browser.get(f"/admin/plan_review/view/{plan.id}").status_code == 404, key
        browser.post("/admin/plan_review/act", {"ids": str(plan.id), "decision": "approve", "scope": "selected"},
                     form_url="/admin/plan_review/")
        browser.post("/admin/plan_review/act", {"decision": "approve", "scope": "all", "status": "all"},
                     form_url="/admin/plan_review/")
        db.session.expire_all()
        assert db.session.get(TrainingPlan, plan.id).status == "pending", key
    # The province sees it (everything is under it) but it is not at its step.
    province = sign_in(app.test_client(), "province")
    assert _visible(province, "/admin/plan_review/?status=all", "外机构待审计划")
    page = province.post("/admin/plan_review/act", {"ids": str(plan.id), "decision": "approve", "scope": "selected"},
                         form_url="/admin/plan_review/", follow_redirects=True).get_data(as_text=True)
    assert "没有可审核的培训计划" in page
    assert db.session.get(TrainingPlan, plan.id).status == "pending"
    # Unit and institution admins cannot open the review pages at all.
    for key in ("unit", "institution"):
        assert sign_in(app.test_client(), key).get("/admin/plan_review/").status_code == 403


def test_class_declaration_review_is_scoped(app, ctx, foreign):
    other, cls = foreign["browser"], foreign["cls"]
    other.post(f"/admin/score_declaration/declare/{cls.id}", {"route": "hrss"},
               form_url=f"/admin/score_declaration/roster/{cls.id}")
    decls = db.session.scalars(select(Declaration).where(Declaration.source == "institution")).all()
    assert len(decls) == 2 and {d.current_org.name for d in decls} == {"金水区人力资源和社会保障局"}
    # 中原区 and 洛阳 HRSS: not in their subtree.
    for key in ("county2", "luoyang"):
        browser = sign_in(app.test_client(), key)
        assert not _visible(browser, "/admin/training_decl_review/?status=all", "外机构培训班"), key
        assert browser.get(f"/admin/training_decl_review/class/{cls.id}").status_code == 404, key
        assert browser.get(f"/admin/training_decl_review/record/{decls[0].id}").status_code == 404, key
        browser.post(f"/admin/training_decl_review/class/{cls.id}/act", {"decision": "approve", "scope": "all"},
                     form_url="/admin/training_decl_review/")
    # The city sees them (its subtree) but they are not at its step: nothing moves.
    city = sign_in(app.test_client(), "city")
    assert _visible(city, "/admin/training_decl_review/?status=all", "外机构培训班")
    page = city.post(f"/admin/training_decl_review/class/{cls.id}/act", {"decision": "approve", "scope": "all"},
                     form_url=f"/admin/training_decl_review/class/{cls.id}", follow_redirects=True)
    assert "没有可审核的记录" in page.get_data(as_text=True)
    db.session.expire_all()
    assert {d.status for d in db.session.scalars(select(Declaration).where(Declaration.source == "institution"))} \
        == {"pending"}
    # The declaring institution sees its declarations; the other institution does not.
    me = sign_in(app.test_client(), "institution")
    assert not _visible(me, "/admin/records/?page_size=100", foreign["people"][0].id_number)
    assert _visible(other, "/admin/records/?page_size=100", foreign["people"][0].id_number)
    # Rejecting needs a reason; with one, the selected record is rejected.
    county = sign_in(app.test_client(), "county")
    page = county.post(f"/admin/training_decl_review/class/{cls.id}/act",
                       {"decision": "reject", "ids": str(decls[0].id)},
                       form_url=f"/admin/training_decl_review/class/{cls.id}", follow_redirects=True)
    assert "请填写不通过原因" in page.get_data(as_text=True)
    county.post(f"/admin/training_decl_review/class/{cls.id}/act",
                {"decision": "reject", "ids": str(decls[0].id), "reason": "成绩单不清"},
                form_url=f"/admin/training_decl_review/class/{cls.id}")
    db.session.expire_all()
    assert db.session.get(Declaration, decls[0].id).status == "rejected"
    assert db.session.get(Declaration, decls[1].id).status == "pending"


def test_scores_have_a_unique_trainee_per_class(app, ctx, foreign):
    score = foreign["score"]
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(TraineeScore(class_id=score.class_id, institution_id=score.institution_id,
                                        person_id=score.person_id, id_number=score.id_number, name=score.name,
                                        score=1, passed=True))
            db.session.flush()
