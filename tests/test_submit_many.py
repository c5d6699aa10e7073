"""workflow.submit_many (the set-based submission behind class declarations) leaves
exactly what inserting a draft and calling workflow.submit leaves: status, level,
organisation, version, route, review steps and the audit entry."""

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import workflow
from backoffice.extensions import db
from backoffice.models import AuditLog, Declaration, LearningForm
from backoffice.tree import stamp_declaration

from .conftest import membership_of, org
from .training_helpers import YEAR, make_person, subject


def _row(person, kind, institution):
    form = db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))
    return {"year": YEAR, "subject_kind": kind, "subject_id": subject(kind).id, "form_id": form.id,
            "fields": {"hours": "8", "class_id": 0}, "computed_hours": Decimal("8"), "computed_reason": "测试",
            "claimed_hours": Decimal("8"), "remarks": "测试", "source": "institution",
            "declarer_org_id": institution.id, "person_id": person.id, "unit_id": person.unit_id,
            "county_id": person.county_id, "city_id": person.city_id, "competent_dept_id": person.competent_dept_id}


def _picture(d):
    steps = [(s.seq, s.level, s.org_id, s.status) for s in d.steps]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.object_type == "declaration",
                                                     AuditLog.object_id == d.id))
    return (d.status, d.current_level, d.current_org_id, d.version, d.route, steps, entry.action,
            json.loads(entry.before)["status"], json.loads(entry.after), entry.actor_membership_id)


@pytest.mark.parametrize("kind,route", [("professional", "industry"), ("professional", "hrss"), ("public", "hrss")])
def test_submit_many_equals_submit(app, ctx, kind, route):
    actor = membership_of("institution")
    institution = actor.org
    hospital = org("郑州市金水区人民医院")
    a, b = make_person("甲", hospital, 901), make_person("乙", hospital, 902)

    one = Declaration(**{k: v for k, v in _row(a, kind, institution).items()}, status="draft")
    stamp_declaration(one, a)
    db.session.add(one)
    db.session.flush()
    workflow.submit(one, actor, route=route)
    [other_id] = workflow.submit_many([_row(b, kind, institution)], actor, route=route)
    db.session.commit()
    db.session.expire_all()
    assert _picture(db.session.get(Declaration, one.id)) == _picture(db.session.get(Declaration, other_id))


def test_submit_many_refuses_another_organisations_records(app, ctx):
    hospital = org("郑州市金水区人民医院")
    a = make_person("丙", hospital, 903)
    with pytest.raises(workflow.WorkflowError):
        workflow.submit_many([_row(a, "public", hospital)], membership_of("institution"), route="hrss")
