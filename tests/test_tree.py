"""The organisation tree: materialised path and ancestor ids follow inserts and moves."""

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Declaration, Org, Person
from backoffice.tree import attach, hrss_of, move, set_competent_dept, subtree_clause

from .conftest import org, person_named


def test_demo_tree_is_the_real_henan_geography(ctx):
    cities = db.session.scalars(select(Org).where(Org.kind == "city_hrss")).all()
    counties = db.session.scalars(select(Org).where(Org.kind == "county_hrss")).all()
    assert len(cities) == 18  # 17 prefecture-level cities + 济源
    # every county-level division and functional zone of the reference file
    import csv
    from pathlib import Path

    rows = list(csv.DictReader((Path(__file__).parent.parent / "seed" / "henan-divisions.csv").open(encoding="utf-8")))
    assert len(counties) == sum(1 for r in rows if r["kind"] not in ("city", "sub_prefecture_city")) == 180
    assert org("410105").name == "金水区人力资源和社会保障局"
    assert org("410105").parent.code == "410100"
    assert org("419001").parent.kind == "province_hrss"


def test_paths_and_ancestor_ids_on_insert(ctx):
    jinshui = org("410105")
    unit = attach(Org(kind="unit", name="测试单位"), jinshui)
    dept = attach(Org(kind="department", name="测试部门"), unit)
    sub = attach(Org(kind="department", name="测试科室"), dept)
    assert sub.parent_path == f"{jinshui.parent_path}{unit.id}/{dept.id}/{sub.id}/"
    assert (sub.unit_id, sub.county_id, sub.city_id) == (unit.id, jinshui.id, jinshui.city_id)
    in_county = db.session.scalars(select(Org.id).where(subtree_clause(jinshui.parent_path))).all()
    assert {unit.id, dept.id, sub.id} <= set(in_county)
    assert org("410102").id not in in_county


def test_move_of_a_unit_rewrites_subtree_persons_and_records(ctx):
    hospital = org("郑州市金水区人民医院")
    zhongyuan = org("410102")
    zhang = person_named("张伟")
    old_path = hospital.parent_path
    dept_ids = [d.id for d in db.session.scalars(select(Org).where(Org.unit_id == hospital.id, Org.kind == "department"))]
    move(hospital, zhongyuan)
    db.session.commit()
    hospital = db.session.get(Org, hospital.id)
    assert hospital.parent_id == zhongyuan.id
    assert hospital.parent_path == f"{zhongyuan.parent_path}{hospital.id}/"
    for d in db.session.scalars(select(Org).where(Org.id.in_(dept_ids))):
        assert d.parent_path.startswith(hospital.parent_path)
        assert not d.parent_path.startswith(old_path)
        assert d.county_id == zhongyuan.id
    zhang = db.session.get(Person, zhang.id)
    assert zhang.county_id == zhongyuan.id and zhang.city_id == zhongyuan.city_id
    records = db.session.scalars(select(Declaration).where(Declaration.person_id == zhang.id)).all()
    assert records and all(r.county_id == zhongyuan.id for r in records)
    # The competent department line is untouched by a geographic move.
    assert all(r.competent_dept_id == hospital.competent_dept_id for r in records)


def test_move_of_a_unit_to_the_city_level_clears_its_county(ctx):
    design = org("郑州市建筑设计院")  # a city-level unit
    zhongyuan = org("410102")
    move(design, zhongyuan)
    db.session.commit()
    yang = person_named("杨帆")
    assert yang.county_id == zhongyuan.id
    move(db.session.get(Org, design.id), org("410100"))
    db.session.commit()
    assert db.session.get(Person, yang.id).county_id is None


def test_move_into_own_subtree_refused(ctx):
    hospital = org("郑州市金水区人民医院")
    dept = db.session.scalar(select(Org).where(Org.unit_id == hospital.id, Org.kind == "department"))
    with pytest.raises(ValueError):
        move(hospital, dept)


def test_competent_dept_change_follows_to_persons_and_records(ctx):
    hospital = org("郑州市金水区人民医院")
    new_dept = org("郑州市教育局")
    set_competent_dept(hospital, new_dept)
    db.session.commit()
    zhang = person_named("张伟")
    assert zhang.competent_dept_id == new_dept.id
    assert {r.competent_dept_id for r in zhang.declarations} == {new_dept.id}


def test_hrss_of_unit(ctx):
    assert hrss_of(org("郑州市金水区人民医院")).code == "410105"
    assert hrss_of(org("河南省人民医院")).kind == "province_hrss"


def test_person_birth_dates_agree_with_ids(ctx):
    from backoffice.validators import id_birth_date

    for p in db.session.scalars(select(Person)):
        assert id_birth_date(p.id_number) == p.birth_date, p.name


def test_every_person_owned_table_follows_a_move_and_a_transfer(ctx):
    """Year results and certificates carry ancestor ids too: they must follow."""
    from datetime import date as _date

    from backoffice import certificates
    from backoffice.models import Certificate, YearResult
    from backoffice.tree import move_person, person_row_models

    assert {m.__name__ for m in person_row_models()} >= {"Declaration", "YearResult", "Certificate",
                                                         "TitleChangeRequest"}
    zhang = person_named("张伟")
    last_year = _date.today().year - 1
    certificates.issue(zhang, last_year, last_year)
    db.session.commit()
    zhongyuan = org("410102")
    move(org("郑州市金水区人民医院"), zhongyuan)
    db.session.commit()
    for model in (YearResult, Certificate):
        rows = db.session.scalars(select(model).where(model.person_id == zhang.id)).all()
        assert rows and all(r.county_id == zhongyuan.id for r in rows), model.__name__
    school = org("郑州市第七中学")
    move_person(db.session.get(Person, zhang.id), school)
    db.session.commit()
    for model in person_row_models():
        rows = db.session.scalars(select(model).where(model.person_id == zhang.id)).all()
        assert all(r.unit_id == school.id and r.competent_dept_id == school.competent_dept_id for r in rows)
