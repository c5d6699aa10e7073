"""Shared steps of the API tests: an approved plan built the way the pages build it,
keys created through the domain, and a JSON client that sends the key."""

from backoffice.api import keys
from backoffice.extensions import db

from .conftest import _forget_request_user, membership_of, sign_in
from .training_helpers import approve_plan, create_plan, industry_js


def approved_plan(app, name="平台课程计划", kind="professional"):
    inst = sign_in(app.test_client(), "institution")
    if kind == "public":
        return _approve_at_current(app, create_plan(inst, name, kind="public", route="hrss", dept=None))
    plan = create_plan(inst, name, kind="professional", route="industry", dept=industry_js())
    return approve_plan(sign_in(app.test_client(), "industry"), plan)


def _approve_at_current(app, plan):
    from backoffice import training
    from backoffice.models import Membership

    reviewer = db.session.query(Membership).filter(Membership.org_id == plan.current_org_id,
                                                   Membership.status == "active").first()
    training.approve_plan(plan, reviewer)
    db.session.commit()
    return plan


def new_key(membership=None, name="学习平台", **kw):
    key, full = keys.create_key(membership or membership_of("institution"), name, **kw)
    db.session.commit()
    return key, full


class Api:
    """A JSON client with a key (``token=None`` sends none)."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def call(self, method, url, json=None, headers=None, **kw):
        h = dict(headers or {})
        if self.token is not None:
            h.setdefault("Authorization", f"Bearer {self.token}")
        _forget_request_user()
        try:
            return getattr(self.client, method)(url, json=json, headers=h, **kw)
        finally:
            _forget_request_user()

    def get(self, url, **kw):
        return self.call("get", url, **kw)

    def post(self, url, json=None, **kw):
        return self.call("post", url, json=json, **kw)


def result(i, person, score=88, key=None, **extra):
    row = {"idempotency_key": key or f"rec-{person.id_number}", "id_number": person.id_number, "name": person.name,
           "score": score, "completed_at": "2026-05-01T09:30:00+08:00"}
    row.update(extra)
    return row
