"""The permission layer: a row of another subtree can't be listed, counted, opened,
edited, deleted, exported, acted on or chosen in a form — for every role and view."""

import pytest
from flask_login import login_user
from sqlalchemy import func, select
from wtforms.validators import ValidationError

from backoffice.extensions import db
from backoffice.models import AuditLog, Declaration, Membership, Org, Person
from backoffice.permissions import OUT_OF_SCOPE, Scope, ScopedModelView, ScopeError
from backoffice.tree import place_person

from .conftest import membership_of, org, person_named, sign_in

OTHER_UNIT = "郑州市第七中学"  # in 中原区 (county2), competent dept 郑州市教育局
LUOYANG_UNIT = "洛阳市西工区中心医院"

# (role key, a unit outside that role's subtree)
OUTSIDERS = [
    ("county", OTHER_UNIT),
    ("city", LUOYANG_UNIT),
    ("industry", OTHER_UNIT),
    ("unit", OTHER_UNIT),
    ("unit2", "郑州市金水区人民医院"),
]


def _foreign_rows(unit_name):
    unit = org(unit_name)
    person = db.session.scalar(select(Person).where(Person.unit_id == unit.id).order_by(Person.id))
    decl = db.session.scalar(select(Declaration).where(Declaration.unit_id == unit.id).order_by(Declaration.id))
    dept = db.session.scalar(select(Org).where(Org.unit_id == unit.id, Org.kind == "department"))
    admin = db.session.scalar(select(Membership).where(Membership.org_id == unit.id, Membership.role == "unit_admin"))
    if admin is None:  # no unit admin there: the admin of the unit's city HRSS
        admin = db.session.scalar(select(Membership).where(Membership.org_id == unit.city_id))
    return {"orgs": dept, "persons": person, "records": decl, "memberships": admin, "unit": unit}


def _views_for(key):
    m = membership_of(key)
    from backoffice.views.orgs import OrgView
    from backoffice.views.people import MembershipView, PersonView
    from backoffice.views.records import DeclarationView

    out = []
    for endpoint, cls in (("orgs", OrgView), ("persons", PersonView), ("memberships", MembershipView),
                          ("records", DeclarationView)):
        if m.role in cls.roles:
            out.append(endpoint)
    return out


def _marker(row):
    """Text that identifies the row in a list or an export."""
    return getattr(row, "id_number", None) or getattr(getattr(row, "person", None), "id_number", None) \
        or getattr(getattr(row, "account", None), "id_number", None) or row.name


@pytest.mark.parametrize("key,unit_name", OUTSIDERS)
def test_out_of_scope_rows_are_unreachable_by_every_path(app, ctx, key, unit_name):
    rows = _foreign_rows(unit_name)
    views = {v.endpoint: v for v in app.extensions["backoffice_admin"]._views if isinstance(v, ScopedModelView)}
    browser = sign_in(app.test_client(), key)
    checked = 0
    for endpoint in _views_for(key):
        row, view = rows[endpoint], views[endpoint]
        base = f"/admin/{endpoint}"
        assert browser.get(f"{base}/details/?id={row.id}").status_code == 404, (key, endpoint)
        # Views that allow editing/deleting answer 404; the others refuse the verb itself.
        assert browser.get(f"{base}/edit/?id={row.id}").status_code == (404 if view.can_edit else 302)
        response = browser.post(f"{base}/delete/", {"id": str(row.id)}, form_url=f"{base}/")
        assert response.status_code == (404 if view.can_delete else 302), (key, endpoint)
        assert db.session.get(type(row), row.id) is not None
        listing = browser.get(f"{base}/?page_size=100")
        assert listing.status_code == 200
        assert _marker(row) not in listing.get_data(as_text=True), (key, endpoint)
        if view.can_export:
            export = browser.get(f"{base}/export/csv/")
            assert export.status_code == 200
            assert _marker(row) not in export.get_data(as_text=True), (key, endpoint)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("key,unit_name", OUTSIDERS)
def test_list_and_count_only_inside_scope(app, key, unit_name):
    with app.test_request_context():
        m = membership_of(key)
        login_user(m)
        scope = Scope(m)
        admin = app.extensions["backoffice_admin"]
        views = {v.endpoint: v for v in admin._views if isinstance(v, ScopedModelView)}
        foreign = _foreign_rows(unit_name)["unit"]
        for endpoint in _views_for(key):
            view = views[endpoint]
            count = view.get_count_query().scalar()
            rows = view.get_query().all()
            assert count == len(rows)
            for row in rows:
                assert scope.contains(row)
                unit_id = getattr(row, "unit_id", None)
                assert unit_id != foreign.id, (key, endpoint)
        # Independent count: persons of the role's subtree, by ancestor id
        persons = views["persons"].get_count_query().scalar()
        column = {"county": Person.county_id, "city": Person.city_id, "industry": Person.competent_dept_id,
                  "unit": Person.unit_id, "unit2": Person.unit_id}[key]
        expected = db.session.scalar(select(func.count()).select_from(Person).where(column == m.org_id))
        assert persons == expected > 0


def test_province_and_sysadmin_see_every_city(app):
    with app.test_request_context():
        for key in ("province", "sysadmin"):
            m = membership_of(key)
            login_user(m)
            admin = app.extensions["backoffice_admin"]
            view = next(v for v in admin._views if getattr(v, "endpoint", None) == "persons")
            total = db.session.scalar(select(func.count()).select_from(Person))
            assert view.get_count_query().scalar() == total


def test_batch_action_ignores_foreign_ids(app, ctx):
    """A crafted action POST with another county's admin id changes nothing there."""
    browser = sign_in(app.test_client(), "county")
    own = membership_of("unit")  # 金水区人民医院's admin: inside 金水区
    foreign = membership_of("unit2")  # 第七中学's admin: 中原区
    response = browser.post("/admin/memberships/action/",
                            {"action": "disable", "rowid": [str(own.id), str(foreign.id)]},
                            form_url="/admin/memberships/")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Membership, foreign.id).status == "active"
    assert db.session.get(Membership, own.id).status == "disabled"
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "disable")).all()
    assert [e.object_id for e in entries] == [own.id]


def test_ajax_lookup_offers_only_own_departments(app, ctx):
    browser = sign_in(app.test_client(), "unit")
    own = browser.get("/admin/persons/ajax/lookup/?name=department&query=内科").get_json()
    assert own and all(org_name in ("内科", "心血管内科") for _, org_name in own)
    other = browser.get("/admin/persons/ajax/lookup/?name=department&query=教研组").get_json()
    assert other == []


def test_foreign_department_cannot_be_chosen_in_a_form(app, ctx):
    browser = sign_in(app.test_client(), "unit")
    person = person_named("李娜")
    before = person.department_id
    foreign_dept = db.session.scalar(select(Org).where(Org.name == "数学教研组"))
    response = browser.post(f"/admin/persons/edit/?id={person.id}",
                            {"department": str(foreign_dept.id), "phone": "13911112222", "email": "l@example.com"})
    assert response.status_code == 200  # the form comes back with an error
    db.session.expire_all()
    assert db.session.get(Person, person.id).department_id == before
    own_dept = db.session.scalar(select(Org).where(Org.name == "外科"))
    response = browser.post(f"/admin/persons/edit/?id={person.id}",
                            {"department": str(own_dept.id), "phone": "13911112222", "email": "l@example.com"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, person.id).department_id == own_dept.id


def test_hrss_cannot_put_a_department_of_another_unit_of_its_county(app, ctx):
    """Both units are inside the city's scope, but a department must stay in its unit."""
    browser = sign_in(app.test_client(), "city")
    person = person_named("李娜")
    other_dept = db.session.scalar(select(Org).where(Org.name == "数学教研组"))
    response = browser.post(f"/admin/persons/edit/?id={person.id}",
                            {"department": str(other_dept.id), "phone": "1", "email": "l@example.com"})
    assert "所选部门不属于该人员所在单位" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).department_id != other_dept.id


def test_write_that_moves_a_row_out_of_scope_is_refused(app):
    with app.test_request_context():
        m = membership_of("unit")
        login_user(m)
        view = next(v for v in app.extensions["backoffice_admin"]._views if getattr(v, "endpoint", None) == "persons")
        person = person_named("李娜")
        place_person(person, org(OTHER_UNIT))
        with pytest.raises(ValidationError, match=OUT_OF_SCOPE):
            view.on_model_change(None, person, False)
        db.session.rollback()


def test_views_refuse_roles_not_listed(app, ctx):
    for key in ("person", "institution"):
        browser = sign_in(app.test_client(), key)
        for endpoint in ("orgs", "persons", "memberships", "audit"):
            assert browser.get(f"/admin/{endpoint}/").status_code == 403, (key, endpoint)
    browser = sign_in(app.test_client(), "unit")
    assert browser.get("/admin/memberships/").status_code == 403
    assert browser.get("/admin/audit/").status_code == 403


def test_menus_show_only_the_roles_views(app, ctx):
    unit_page = sign_in(app.test_client(), "unit").get("/admin/").get_data(as_text=True)
    assert "/admin/persons/" in unit_page and "/admin/memberships/" not in unit_page
    sys_page = sign_in(app.test_client(), "sysadmin").get("/admin/").get_data(as_text=True)
    assert "/admin/memberships/" in sys_page and "/admin/audit/" in sys_page


def test_institution_sees_only_its_own_declarations(app):
    with app.test_request_context():
        m = membership_of("institution")
        assert Scope(m).query(Declaration).count() == 0
        assert Scope(m).query(Person).count() == 0


def test_person_scope_is_own_rows(app):
    with app.test_request_context():
        m = membership_of("person")
        scope = Scope(m)
        own = scope.query(Declaration).all()
        assert own and all(d.person_id == m.person.id for d in own)
        assert scope.query(Person).one().id == m.person.id
        assert scope.query(Org).count() == 0


def test_a_model_without_scope_cannot_be_exposed(app):
    class Loose(db.Model):
        __tablename__ = "loose_test_table"
        id = db.Column(db.Integer, primary_key=True)

    with pytest.raises(ScopeError):
        ScopedModelView(Loose)
    with app.test_request_context():
        with pytest.raises(ScopeError):
            Scope(membership_of("unit")).clause(Loose)
    db.metadata.remove(Loose.__table__)


def test_accounts_and_review_steps_follow_their_owners(app):
    from backoffice.models import Account, ReviewStep

    with app.test_request_context():
        county = Scope(membership_of("county"))
        unit2_admin = membership_of("unit2").account
        own_admin = membership_of("unit").account
        ids = {a.id for a in county.query(Account)}
        assert own_admin.id in ids and unit2_admin.id not in ids
        person = Scope(membership_of("person"))
        assert [a.id for a in person.query(Account)] == [membership_of("person").account_id]
        steps = county.query(ReviewStep).all()
        assert steps and all(s.declaration.county_id == membership_of("county").org_id for s in steps)
        other = db.session.scalar(select(ReviewStep).join(Declaration).where(
            Declaration.unit_id == org(OTHER_UNIT).id))
        assert county.get(ReviewStep, other.id) is None
