"""The person-year summary: kept right by every move, equal to a recount from scratch.

The reference (:func:`expected_rows`) recomputes each person-year with
``standards.year_completion`` — the per-person, Python path the person's own page uses
— and the roll-up cells from those rows, so it shares no SQL with ``summary``.
"""

import itertools
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, literal_column, select, update

from backoffice import accounts, hours, registration, standards, summary, workflow
from backoffice.extensions import db
from backoffice.models import (
    HEADCOUNT_YEAR,
    Account,
    Declaration,
    Membership,
    Org,
    Person,
    PersonYear,
    ReviewStep,
    StatArea,
    StatCell,
)
from backoffice.permissions import Scope
from backoffice.tree import move_person

from .conftest import membership_of, org, person_named
from .test_workflow import new_decl

THIS_YEAR = date.today().year
_serial = itertools.count(1)


# --------------------------------------------------------------------------- reference
def expected_rows():
    """{(person_id, year): dict} recounted per person with ``year_completion``."""
    pairs = db.session.execute(
        select(Declaration.person_id, Declaration.year).where(Declaration.status == "approved").distinct()
    ).all()
    out = {}
    for person_id, year in pairs:
        person = db.session.get(Person, person_id)
        try:
            comp = standards.year_completion(person, year)
            req = (comp.required_public, comp.required_professional, comp.required_total)
            passed, pub, prof = comp.passed, comp.public, comp.professional
        except hours.HoursError:
            pub, prof = standards.approved_hours(person_id, year)
            req, passed = (None, None, None), False
        out[(person_id, year)] = {
            "unit_id": person.unit_id, "county_id": person.county_id, "city_id": person.city_id,
            "competent_dept_id": person.competent_dept_id, "title_level": person.title_level or "",
            "department_id": person.department_id,
            "active": person.membership.status == "active", "public": Decimal(pub), "professional": Decimal(prof),
            "required": tuple(None if r is None else Decimal(r) for r in req), "passed": bool(passed),
        }
    return out


def stored_rows():
    out = {}
    for r in db.session.scalars(select(PersonYear)):
        out[(r.person_id, r.year)] = {
            "unit_id": r.unit_id, "county_id": r.county_id, "city_id": r.city_id,
            "competent_dept_id": r.competent_dept_id, "title_level": r.title_level, "active": bool(r.active),
            "department_id": r.department_id,
            "public": Decimal(r.public_hours), "professional": Decimal(r.professional_hours),
            "required": tuple(None if v is None else Decimal(v)
                              for v in (r.required_public, r.required_professional, r.required_total)),
            "passed": bool(r.passed),
        }
        assert Decimal(r.total_hours) == Decimal(r.public_hours) + Decimal(r.professional_hours)
    return out


def expected_cells(rows):
    cells = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    heads = db.session.execute(
        select(Person.unit_id, Person.department_id, func.coalesce(Person.title_level, literal_column("''")), func.count())
        .join(Membership, Membership.id == Person.membership_id).where(Membership.status == "active")
        .group_by(Person.unit_id, Person.department_id, func.coalesce(Person.title_level, literal_column("''")))
    ).all()
    for unit_id, dept_id, level, n in heads:
        cells[(HEADCOUNT_YEAR, unit_id, dept_id, level)][0] = n
    for (_, year), r in rows.items():
        if r["active"]:
            c = cells[(year, r["unit_id"], r["department_id"], r["title_level"])]
            c[1] += int(r["passed"])
            c[2] += r["public"]
            c[3] += r["professional"]
    return {k: tuple(v) for k, v in cells.items()}


def stored_cells():
    return {
        (c.year, c.unit_id, c.department_id, c.title_level): (c.persons, c.passed, Decimal(c.public_hours),
                                             Decimal(c.professional_hours))
        for c in db.session.scalars(select(StatCell))
    }


def assert_summary_right():
    db.session.flush()
    db.session.expire_all()
    rows = expected_rows()
    assert stored_rows() == rows
    assert stored_cells() == expected_cells(rows)
    assert stored_areas() == areas_of_cells()


def areas_of_cells():
    """The per-area roll-up expected from the (already checked) cells."""
    out = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for c in db.session.scalars(select(StatCell)):
        a = out[(c.year, c.city_id or 0, c.county_id or 0, c.title_level)]
        a[0] += c.persons
        a[1] += c.passed
        a[2] += Decimal(c.public_hours)
        a[3] += Decimal(c.professional_hours)
    return {k: tuple(v) for k, v in out.items()}


def stored_areas():
    return {(a.year, a.city_id, a.county_id, a.title_level): (a.persons, a.passed, Decimal(a.public_hours),
                                                               Decimal(a.professional_hours))
            for a in db.session.scalars(select(StatArea))}


# --------------------------------------------------------------------------- helpers
def reviewer(level, org_id):
    """An active admin of ``org_id`` for ``level`` (created when the demo has none)."""
    role = workflow.LEVEL_ROLES[level]
    m = db.session.scalar(select(Membership).where(Membership.org_id == org_id, Membership.role == role,
                                                   Membership.status == "active"))
    if m is None:
        n = next(_serial)
        account = Account(id_number=f"41010519900101{n:04d}", name=f"审核员{n}", password_hash="x")
        m = Membership(account=account, role=role, org_id=org_id, status="active", is_super=True)
        db.session.add_all([account, m])
        db.session.flush()
    return m


def approve_fully(d, many=False):
    while d.status == "pending":
        actor = reviewer(d.current_level, d.current_org_id)
        if many:
            workflow.approve_many([d.id], actor)
        else:
            workflow.approve(d, actor)
        db.session.refresh(d)


def declare_and_approve(person, year, kind="professional", hrs=10, many=False):
    d = new_decl(person, kind, year=year, hours=hrs)
    workflow.submit(d, person.membership)
    approve_fully(d, many)
    return d


def send_back(d):
    last = db.session.scalars(select(ReviewStep).where(ReviewStep.declaration_id == d.id)
                              .order_by(ReviewStep.seq.desc())).first()
    workflow.send_back(d, reviewer(last.level, last.org_id), "学时有误，退回修改")


# --------------------------------------------------------------------------- stories
def test_demo_data_summary_equals_a_recount(ctx):
    assert stored_rows()  # the demo has approved records
    assert_summary_right()


def test_rebuild_gives_the_same_rows(ctx):
    before = stored_rows(), stored_cells()
    summary.rebuild()
    assert (stored_rows(), stored_cells()) == before


def test_final_approval_and_send_back_move_the_person_year(ctx):
    li = person_named("李娜")
    year = THIS_YEAR - 3
    assert (li.id, year) not in stored_rows()
    d = declare_and_approve(li, year, "public", 30)
    row = stored_rows()[(li.id, year)]
    assert row["public"] == Decimal(30) and not row["passed"]
    declare_and_approve(li, year, "professional", 60, many=True)
    assert stored_rows()[(li.id, year)]["passed"]
    assert_summary_right()
    send_back(d)
    row = stored_rows()[(li.id, year)]
    assert row["public"] == 0 and not row["passed"]
    assert_summary_right()


def test_approve_all_of_many_records_per_person_year_adds_them_once(ctx, monkeypatch):
    """Approve-all adds the records' hours as deltas. Several records of one person-year
    (some with a summary row already, some without) approved together — and, on SQLite,
    cut into chunks of 2 so that one person-year spans chunks — give the recount."""
    monkeypatch.setattr(summary, "CHUNK", 2)
    people = [person_named(n) for n in ("张伟", "李娜", "王强")]
    year = THIS_YEAR - 2
    declare_and_approve(people[0], year, "public", 30)  # a row before the batch
    before = stored_rows()
    assert (people[0].id, year) in before and (people[1].id, year) not in before
    zhang = before[(people[0].id, year)]
    pending = []
    for person in people:
        for kind, hrs in (("public", 30), ("professional", 52), ("professional", 16)):
            d = new_decl(person, kind, year=year, hours=hrs)
            workflow.submit(d, person.membership)
            pending.append(d)
    # Take each record to its last level, then approve them all at once there.
    last = {}
    for d in pending:
        while True:
            db.session.refresh(d)
            following = db.session.scalar(select(func.count()).select_from(ReviewStep).where(
                ReviewStep.declaration_id == d.id, ReviewStep.status == "waiting"))
            if not following:
                break
            workflow.approve(d, reviewer(d.current_level, d.current_org_id))
        last.setdefault((d.current_level, d.current_org_id), []).append(d.id)
    for (level, org_id), ids in last.items():
        assert workflow.approve_many(ids, reviewer(level, org_id)) == len(ids)
    assert_summary_right()
    rows = stored_rows()
    assert rows[(people[0].id, year)]["public"] == zhang["public"] + 30
    assert rows[(people[0].id, year)]["professional"] == zhang["professional"] + 68
    li = rows[(people[1].id, year)]  # no row before; passes only with all three records (30 + 68)
    assert (li["public"], li["professional"], li["passed"]) == (Decimal(30), Decimal(68), True)


def test_a_middle_approval_changes_nothing(ctx):
    zhang = person_named("张伟")
    before = stored_rows()
    d = new_decl(zhang, "professional", year=THIS_YEAR, hours=8)
    workflow.submit(d, zhang.membership)
    workflow.approve(d, reviewer(d.current_level, d.current_org_id))
    assert db.session.get(Declaration, d.id).status == "pending"
    assert stored_rows() == before


def test_transfer_moves_rows_and_both_units_cells(ctx):
    zhang = person_named("张伟")
    hospital, luoyang_unit = org("郑州市金水区人民医院"), org("洛阳市西工区中心医院")
    declare_and_approve(zhang, 2016, "public", 24)
    declare_and_approve(zhang, 2016, "professional", 66)
    # 2016 in Zhengzhou needs 30 public hours: not passed; outside Zhengzhou 24 suffice.
    assert not stored_rows()[(zhang.id, 2016)]["passed"]
    move_person(zhang, luoyang_unit)
    rows = stored_rows()
    assert rows[(zhang.id, 2016)]["passed"]
    assert {r["unit_id"] for (pid, _), r in rows.items() if pid == zhang.id} == {luoyang_unit.id}
    heads = {k: v for k, v in stored_cells().items() if k[0] == HEADCOUNT_YEAR}
    assert heads[(0, luoyang_unit.id, None, "intermediate")][0] >= 1
    assert_summary_right()
    assert hospital.id  # the old unit's cells were recomputed (checked by the recount above)


def test_certify_freezes_the_requirement_and_revoke_releases_it(ctx):
    li = person_named("李娜")
    declare_and_approve(li, 2014, "public", 22)
    declare_and_approve(li, 2014, "professional", 52)
    assert stored_rows()[(li.id, 2014)]["passed"]
    standards.certify_year(li, 2014, prorate_months=6)
    py = db.session.scalar(select(PersonYear).where(PersonYear.person_id == li.id, PersonYear.year == 2014))
    assert py.frozen and py.prorate_months == 6 and py.required_public == 11
    assert_summary_right()
    standards.revoke_year(li, 2014, "测试撤销")
    py = db.session.scalar(select(PersonYear).where(PersonYear.person_id == li.id, PersonYear.year == 2014))
    assert not py.frozen and py.required_public == 22
    assert_summary_right()


def test_title_change_registration_and_disable_follow(ctx):
    li, wu = person_named("李娜"), person_named("吴芳")
    declare_and_approve(li, 2014, "public", 24)
    declare_and_approve(li, 2014, "professional", 56)
    assert stored_rows()[(li.id, 2014)]["passed"]  # 初级 2014: 22 + 52
    db.session.execute(update(Person).where(Person.id == li.id).values(title_level="senior"))
    summary.refresh([li.id])
    assert not stored_rows()[(li.id, 2014)]["passed"]  # 中高级 2014: 26 + 60
    assert_summary_right()
    registration.approve([wu.membership_id], membership_of("unit"))
    assert_summary_right()
    accounts.set_membership_status(Scope(membership_of("sysadmin")), [li.membership_id], "disabled")
    assert stored_rows()[(li.id, 2014)]["active"] is False
    assert_summary_right()


def test_standard_change_is_recomputed_by_the_job(ctx):
    from backoffice import summary_jobs
    from backoffice.models import HourStandard, Job

    std = db.session.scalar(select(HourStandard).where(HourStandard.year_from == 2018))
    std.public, std.professional, std.total = 10, 10, 20
    db.session.commit()
    assert not stored_rows() == expected_rows()  # the stored figures are stale now
    job = summary_jobs.schedule_recompute("hour_standard", owner=membership_of("sysadmin"))
    db.session.expire_all()
    assert db.session.get(Job, job.id).state == "done"
    assert_summary_right()


# --------------------------------------------------------------------------- property
UNITS = ("郑州市金水区人民医院", "郑州市第七中学", "郑州市建筑设计院", "洛阳市西工区中心医院", "河南省人民医院")
PERSONS = ("张伟", "李娜", "王强", "刘洋", "杨帆", "赵敏", "孙丽", "吴芳")
YEARS = (2014, 2016, 2020, THIS_YEAR)

moves = st.one_of(
    st.tuples(st.just("approve"), st.sampled_from(PERSONS), st.sampled_from(YEARS),
              st.sampled_from(("public", "professional")), st.sampled_from((10, 24, 30, 52, 66)), st.booleans()),
    st.tuples(st.just("send_back"), st.integers(0, 50)),
    st.tuples(st.just("transfer"), st.sampled_from(PERSONS), st.sampled_from(UNITS)),
    st.tuples(st.just("title"), st.sampled_from(PERSONS), st.sampled_from(("", "junior", "intermediate", "senior"))),
    st.tuples(st.just("status"), st.sampled_from(PERSONS), st.sampled_from(("active", "disabled"))),
    st.tuples(st.just("certify"), st.sampled_from(PERSONS), st.sampled_from(YEARS)),
    st.tuples(st.just("revoke"), st.sampled_from(PERSONS), st.sampled_from(YEARS)),
)


def _apply(move):
    kind = move[0]
    if kind == "approve":
        _, name, year, subject, hrs, many = move
        person = person_named(name)
        if person.membership.status != "active":
            return
        declare_and_approve(person, year, subject, hrs, many)
    elif kind == "send_back":
        approved = db.session.scalars(select(Declaration).where(Declaration.status == "approved")
                                      .order_by(Declaration.id)).all()
        if approved:
            send_back(approved[move[1] % len(approved)])
    elif kind == "transfer":
        move_person(person_named(move[1]), org(move[2]))
    elif kind == "title":
        person = person_named(move[1])
        db.session.execute(update(Person).where(Person.id == person.id).values(title_level=move[2] or None))
        summary.refresh([person.id])
    elif kind == "status":
        person = person_named(move[1])
        if person.membership.status == "pending":
            registration.approve([person.membership_id], membership_of("unit"))
        else:
            accounts.set_membership_status(Scope(membership_of("sysadmin")), [person.membership_id], move[2])
    elif kind == "certify":
        try:
            standards.certify_year(person_named(move[1]), move[2])
        except hours.HoursError:
            pass
    elif kind == "revoke":
        standards.revoke_year(person_named(move[1]), move[2], "随机撤销")
    db.session.expire_all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(moves, min_size=1, max_size=8))
def test_random_moves_keep_the_summary_equal_to_a_recount(ctx, sequence):
    for move in sequence:
        _apply(move)
    assert_summary_right()


def test_counts_are_plausible(ctx):
    # Sanity of the reference itself: the demo's persons all appear in the head count.
    heads = Counter()
    for (year, unit_id, _, _), cell in stored_cells().items():
        if year == HEADCOUNT_YEAR:
            heads[unit_id] += cell[0]
    active = db.session.scalar(select(func.count()).select_from(Person).join(Membership).where(
        Membership.status == "active"))
    assert sum(heads.values()) == active
    assert all(db.session.get(Org, u).kind == "unit" for u in heads)
