"""The DB layer of the hour rules: standards per person, approved hours, frozen results."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import hours, standards
from backoffice.extensions import db
from backoffice.models import AuditLog, Declaration, HourStandard, YearResult
from backoffice.tree import stamp_declaration

from .conftest import org, person_named

THIS_YEAR = date.today().year


def _approved(person, year, kind, hours_):
    from backoffice.models import LearningForm

    form = db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))
    d = Declaration(year=year, subject_kind=kind, form=form, fields={"hours": hours_},
                    claimed_hours=Decimal(hours_), status="approved", source="self")
    stamp_declaration(d, person)
    db.session.add(d)
    db.session.flush()
    return d


def test_standards_rows_come_from_the_table(ctx):
    rows = standards.standards_rows()
    assert len(rows) == len(hours.DEFAULT_STANDARDS)
    assert {(r["year_from"], r["total"], r["public"]) for r in rows} >= {(2018, 90, 30), (2013, 74, 22)}
    assert all("id" in r for r in rows)


def test_standard_for_person_by_title_and_region(ctx):
    zhang = person_named("张伟")  # 金水区, Zhengzhou, intermediate
    li = person_named("李娜")  # junior
    zhao = person_named("赵敏")  # 洛阳
    sun = person_named("孙丽")  # province-level unit
    assert standards.standard_for_person(zhang, 2014)["total"] == 86
    assert standards.standard_for_person(li, 2014)["total"] == 74
    assert standards.standard_for_person(zhang, 2016)["public"] == 30
    assert standards.standard_for_person(zhao, 2016)["public"] == 24
    assert standards.standard_for_person(zhao, 2017)["professional"] == 66
    assert standards.standard_for_person(sun, 2017)["public"] == 30
    assert standards.standard_for_person(zhao, 2030)["public"] == 30
    with pytest.raises(hours.HoursError, match="无适用的年度学时标准"):
        standards.standard_for_person(zhang, 2010)


def test_approved_hours_sum_only_approved(ctx):
    zhang = person_named("张伟")
    # Demo: this year 12 public approved, 16+16 professional pending, 8 draft, 6 rejected.
    assert standards.approved_hours(zhang.id, THIS_YEAR) == (Decimal(12), Decimal(0))
    assert standards.approved_hours(zhang.id, THIS_YEAR - 1) == (Decimal(30), Decimal(60))


def test_year_completion(ctx):
    zhang = person_named("张伟")
    last = standards.year_completion(zhang, THIS_YEAR - 1)
    assert last.passed and last.result_label == "通过"
    assert last.standard["total"] == 90
    now_ = standards.year_completion(zhang, THIS_YEAR)
    assert not now_.passed
    assert "公需科目差 18 学时" in now_.note
    half = standards.year_completion(zhang, THIS_YEAR, prorate_months=6)
    assert half.required_public == 15 and half.prorated


def test_certify_freezes_and_is_idempotent(ctx):
    zhang = person_named("张伟")
    year = THIS_YEAR - 1
    first = standards.certify_year(zhang, year)
    assert first.status == "valid" and first.passed
    assert (first.public_hours, first.professional_hours, first.total_hours) == (30, 60, 90)
    assert (first.required_public, first.required_professional, first.required_total) == (30, 60, 90)
    assert first.city_id == org("410100").id and first.county_id == org("410105").id
    again = standards.certify_year(zhang, year)
    assert again.id == first.id
    n = db.session.scalar(select(func.count()).select_from(YearResult).where(YearResult.person_id == zhang.id))
    assert n == 1
    assert standards.frozen_result(zhang, year).id == first.id
    audits = db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.object_type == "year_result", AuditLog.object_id == first.id))
    assert audits == 1


def test_certify_refuses_a_year_not_passed(ctx):
    zhang = person_named("张伟")
    with pytest.raises(hours.HoursError, match="不能认定"):
        standards.certify_year(zhang, THIS_YEAR)
    assert standards.frozen_result(zhang, THIS_YEAR) is None


def test_standard_change_never_rewrites_a_certified_year(ctx):
    """Changing the 2018+ standard for a new year leaves the earlier certified year alone."""
    zhang = person_named("张伟")
    year = THIS_YEAR - 1
    frozen = standards.certify_year(zhang, year)
    frozen_id = frozen.id
    # The sysadmin closes the open 2018+ row at last year and adds a stricter one from this year.
    open_row = db.session.scalar(select(HourStandard).where(HourStandard.year_from == 2018))
    open_row.year_to = year
    db.session.add(HourStandard(year_from=THIS_YEAR, year_to=None, title_group="all", region_group="all",
                                total=100, public=40, professional=60))
    hours.validate_standards(standards.standards_rows())
    db.session.flush()
    # Even an edit of the row the year was certified under does not change the frozen figures.
    open_row.public, open_row.professional, open_row.total = 35, 65, 100
    db.session.flush()
    db.session.expire_all()
    result = standards.frozen_result(zhang, year)
    assert result.id == frozen_id
    assert (result.required_public, result.required_professional, result.required_total) == (30, 60, 90)
    assert (result.public_hours, result.professional_hours, result.total_hours) == (30, 60, 90)
    assert standards.certify_year(zhang, year).id == frozen_id
    # The certified year keeps its standard; the new year uses the new one.
    assert standards.year_completion(zhang, year).passed
    assert standards.year_completion(zhang, year).required_total == 90
    new = standards.year_completion(zhang, THIS_YEAR)
    assert (new.required_public, new.required_professional, new.required_total) == (40, 60, 100)
    # Without the frozen result the edited row would now fail the year.
    assert not standards.year_completion(zhang, year, use_frozen=False).passed


def test_revoke_and_recertify_when_hours_change(ctx):
    zhang = person_named("张伟")
    year = THIS_YEAR - 1
    first = standards.certify_year(zhang, year)
    _approved(zhang, year, "public", 10)
    second = standards.certify_year(zhang, year)
    assert second.id != first.id
    assert second.public_hours == 40 and second.total_hours == 100
    db.session.refresh(first)
    assert first.status == "revoked" and "变更" in first.revoke_reason
    revoked = standards.revoke_year(zhang, year, "上级驳回了一条学时记录")
    assert revoked.id == second.id and revoked.status == "revoked"
    assert standards.frozen_result(zhang, year) is None
    rows = db.session.scalars(select(YearResult).where(YearResult.person_id == zhang.id)).all()
    assert len(rows) == 2
    assert standards.revoke_year(zhang, year, "again") is None


def test_city_completion_counts_in_sql(ctx):
    zz = org("410100")
    year = THIS_YEAR - 1
    result = standards.city_completion(zz.id, year)
    # Active persons of Zhengzhou: 张伟, 李娜, 王强, 周杰, the unit admin (金水区人民医院), 刘洋, 陈静 (七中), 杨帆.
    assert result.persons == 8
    # Only 张伟 has 30 + 60 approved for last year.
    assert result.passed == 1 and result.not_passed == 7
    wang = person_named("王强")
    _approved(wang, year, "professional", 60)
    assert standards.city_completion(zz.id, year).passed == 2
    assert standards.city_completion(zz.id, year, active_only=False).persons == 9
    ly = standards.city_completion(org("410300").id, year)
    assert (ly.persons, ly.passed) == (1, 0)


def test_city_completion_by_title_group_for_2014(ctx):
    zz = org("410100")
    li, zhang = person_named("李娜"), person_named("张伟")
    _approved(li, 2014, "public", 22)
    _approved(li, 2014, "professional", 52)  # junior: 74 passes
    _approved(zhang, 2014, "public", 22)
    _approved(zhang, 2014, "professional", 52)  # intermediate needs 26 + 60
    assert standards.city_completion(zz.id, 2014).passed == 1
    assert standards.year_completion(li, 2014).passed
    assert not standards.year_completion(zhang, 2014).passed


def test_certify_at_the_same_moment_returns_the_first_result(ctx, monkeypatch):
    """Two requests certifying the same year: the unique index keeps one valid result."""
    zhang = person_named("张伟")
    year = THIS_YEAR - 1
    first = standards.certify_year(zhang, year)
    real = standards.frozen_result
    calls = []

    def not_seen_yet(person, y):
        calls.append(y)
        return None if len(calls) == 1 else real(person, y)

    monkeypatch.setattr(standards, "frozen_result", not_seen_yet)
    again = standards.certify_year(zhang, year)
    assert again.id == first.id
    n = db.session.scalar(select(func.count()).select_from(YearResult).where(
        YearResult.person_id == zhang.id, YearResult.status == "valid"))
    assert n == 1


def test_city_completion_counts_the_hours_the_city_can_see(ctx):
    """Hours declared while the person belonged to another city are that city's records."""
    zz = org("410100")
    year = THIS_YEAR - 1
    wang = person_named("王强")  # 30 public approved last year, in 金水区 (Zhengzhou)
    d = _approved(wang, year, "professional", 60)
    assert standards.city_completion(zz.id, year).passed == 2
    d.city_id = org("410300").id  # declared while in 洛阳
    db.session.flush()
    assert standards.city_completion(zz.id, year).passed == 1
    # The person's own completion counts every approved hour.
    assert standards.year_completion(wang, year).passed
