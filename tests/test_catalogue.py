"""科目目录: the province keeps public subjects, each industry department its own professional ones."""

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import AuditLog, Declaration, LearningForm, Major, Subject
from backoffice.tree import stamp_declaration

from .conftest import org, person_named, sign_in
from .test_basedata import field_errors, flashes

YEAR = date.today().year
PUBLIC = "/admin/public_subjects"
PROFESSIONAL = "/admin/professional_subjects"


@pytest.fixture
def province(app, ctx):
    return sign_in(app.test_client(), "province")


@pytest.fixture
def industry(app, ctx):
    return sign_in(app.test_client(), "industry")


def subject(name, kind="public"):
    return db.session.scalar(select(Subject).where(Subject.name == name, Subject.kind == kind,
                                                   Subject.year == YEAR))


@pytest.fixture
def foreign_subject(ctx):
    """A professional subject of another industry department (郑州市教育局)."""
    other = org("郑州市教育局")
    row = Subject(kind="professional", name="中小学教学能力提升", year=YEAR, owner_org_id=other.id)
    db.session.add(row)
    db.session.flush()
    return row


def new_subject(name="新公需科目", year=YEAR, **extra):
    return {"name": name, "year": str(year), "enabled": "y", **extra}


# --------------------------------------------------------------------------- public
def test_province_lists_only_public_subjects(province):
    page = province.get(f"{PUBLIC}/").get_data(as_text=True)
    assert "法治政府建设与依法行政" in page
    assert "临床诊疗指南更新" not in page
    # Search by name, filter by year and by state.
    page = province.get(f"{PUBLIC}/?search=法治").get_data(as_text=True)
    assert "法治政府建设与依法行政" in page and "数字经济与创新驱动发展" not in page
    assert province.get(f"{PUBLIC}/").get_data(as_text=True).count("法治政府建设与依法行政") == 4
    page = province.get(f"{PUBLIC}/?flt0_0={YEAR - 3}").get_data(as_text=True)
    assert page.count("法治政府建设与依法行政") == 1 and str(YEAR - 3) in page


def test_province_adds_edits_disables_a_public_subject(province):
    assert province.post(f"{PUBLIC}/new/", new_subject()).status_code == 302
    row = subject("新公需科目")
    assert row.kind == "public" and row.owner_org_id == org("410000").id and row.enabled
    created = db.session.scalars(select(AuditLog).where(AuditLog.object_type == "subject",
                                                        AuditLog.object_id == row.id)).all()
    assert [a.action for a in created] == ["create"]
    assert province.post(f"{PUBLIC}/edit/?id={row.id}", new_subject("新公需科目（修订）")).status_code == 302
    db.session.refresh(row)
    assert row.name == "新公需科目（修订）"
    province.post(f"{PUBLIC}/action/", {"action": "disable", "rowid": [str(row.id)]}, form_url=f"{PUBLIC}/")
    db.session.refresh(row)
    assert row.enabled is False
    page = province.get(f"{PUBLIC}/?flt0_14=0").get_data(as_text=True)
    assert "新公需科目（修订）" in page and "法治政府建设与依法行政" not in page


def test_bad_subject_input_saves_nothing(province):
    before = db.session.scalar(select(func.count()).select_from(Subject))
    page = province.post(f"{PUBLIC}/new/", new_subject("法治政府建设与依法行政")).get_data(as_text=True)
    assert f"{YEAR} 年度已有同名科目「法治政府建设与依法行政」" in " ".join(field_errors(page))
    page = province.post(f"{PUBLIC}/new/", new_subject("某科目", year=1900)).get_data(as_text=True)
    assert "培训年度须在 2000 到 2100 之间" in " ".join(field_errors(page))
    page = province.post(f"{PUBLIC}/new/", new_subject("", year=YEAR)).get_data(as_text=True)
    assert "请填写科目名称" in " ".join(field_errors(page))
    page = province.post(f"{PUBLIC}/new/", new_subject("某科目", year="明年")).get_data(as_text=True)
    assert "整数" in " ".join(field_errors(page))
    assert db.session.scalar(select(func.count()).select_from(Subject)) == before
    # The same name in another year is a different catalogue entry.
    assert province.post(f"{PUBLIC}/new/", new_subject("法治政府建设与依法行政", year=YEAR + 1)).status_code == 302


def test_province_cannot_reach_professional_subjects(province, foreign_subject):
    own = subject("临床诊疗指南更新", "professional")
    for row in (own, foreign_subject):
        assert province.get(f"{PUBLIC}/edit/?id={row.id}").status_code == 404
        assert province.get(f"{PUBLIC}/details/?id={row.id}").status_code == 404
    assert province.get(f"{PROFESSIONAL}/").status_code == 403


# --------------------------------------------------------------------------- professional
def test_industry_dept_sees_and_keeps_only_its_own(industry, foreign_subject):
    page = industry.get(f"{PROFESSIONAL}/").get_data(as_text=True)
    assert "临床诊疗指南更新" in page and "医院感染预防与控制" in page
    assert "中小学教学能力提升" not in page and "法治政府建设与依法行政" not in page
    major = db.session.scalar(select(Major).where(Major.name == "护理学"))
    assert industry.post(f"{PROFESSIONAL}/new/", new_subject("护理质量管理", major=str(major.id))).status_code == 302
    row = subject("护理质量管理", "professional")
    assert row.owner_org_id == org("金水区卫生健康委员会").id and row.major_id == major.id
    assert industry.post(f"{PROFESSIONAL}/edit/?id={row.id}",
                         new_subject("护理质量管理与持续改进", major=str(major.id))).status_code == 302
    db.session.refresh(row)
    assert row.name == "护理质量管理与持续改进"
    # Filter by major.
    page = industry.get(f"{PROFESSIONAL}/?flt0_9=护理学").get_data(as_text=True)
    assert "护理质量管理与持续改进" in page and "临床诊疗指南更新" not in page
    # A name of another department's catalogue is not a duplicate here.
    assert industry.post(f"{PROFESSIONAL}/new/", new_subject("中小学教学能力提升")).status_code == 302


def test_industry_dept_cannot_open_or_change_another_departments_subject(industry, foreign_subject):
    sid = foreign_subject.id
    public = subject("法治政府建设与依法行政")
    for row_id in (sid, public.id):
        assert industry.get(f"{PROFESSIONAL}/edit/?id={row_id}").status_code == 404
        assert industry.get(f"{PROFESSIONAL}/details/?id={row_id}").status_code == 404
        assert industry.post(f"{PROFESSIONAL}/edit/?id={row_id}", new_subject("被篡改"),
                             form_url=f"{PROFESSIONAL}/").status_code == 404
    industry.post(f"{PROFESSIONAL}/action/", {"action": "disable", "rowid": [str(sid), str(public.id)]},
                  form_url=f"{PROFESSIONAL}/")
    industry.post(f"{PROFESSIONAL}/delete/", {"id": str(sid), "url": f"{PROFESSIONAL}/"}, form_url=f"{PROFESSIONAL}/")
    db.session.expire_all()
    row = db.session.get(Subject, sid)
    assert row is not None and row.enabled and row.name == "中小学教学能力提升"
    assert db.session.get(Subject, public.id).enabled
    assert industry.get(f"{PUBLIC}/").status_code == 403


def test_used_subject_is_never_deleted(industry):
    used = subject("临床诊疗指南更新", "professional")
    zhang = person_named("张伟")
    form = db.session.scalar(select(LearningForm).where(LearningForm.code == "training_class"))
    d = Declaration(year=YEAR, subject_kind="professional", subject=used, form=form, fields={"hours": 8},
                    claimed_hours=Decimal(8), status="draft", source="self")
    stamp_declaration(d, zhang)
    db.session.add(d)
    db.session.flush()
    page = industry.post(f"{PROFESSIONAL}/delete/", {"id": str(used.id), "url": f"{PROFESSIONAL}/"},
                         form_url=f"{PROFESSIONAL}/", follow_redirects=True).get_data(as_text=True)
    assert "该专业科目已被 1 条学时申报记录使用，不能删除，可停用" in " ".join(flashes(page))
    assert db.session.get(Subject, used.id) is not None
    # An unused one may go, with an audit entry.
    industry.post(f"{PROFESSIONAL}/new/", new_subject("临时科目"))
    temp = subject("临时科目", "professional")
    tid = temp.id
    industry.post(f"{PROFESSIONAL}/delete/", {"id": str(tid), "url": f"{PROFESSIONAL}/"}, form_url=f"{PROFESSIONAL}/")
    db.session.expire_all()
    assert db.session.get(Subject, tid) is None
    entry = db.session.scalar(select(AuditLog).where(AuditLog.object_type == "subject", AuditLog.object_id == tid,
                                                     AuditLog.action == "delete"))
    assert json.loads(entry.before)["name"] == "临时科目"


@pytest.mark.parametrize("role", ["sysadmin", "city", "county", "unit", "institution", "person"])
def test_other_roles_have_no_catalogue_views(app, ctx, role):
    browser = sign_in(app.test_client(), role)
    sid = subject("法治政府建设与依法行政").id
    for base in (PUBLIC, PROFESSIONAL):
        for url in (f"{base}/", f"{base}/new/", f"{base}/edit/?id={sid}", f"{base}/details/?id={sid}"):
            assert browser.get(url).status_code in (403, 404), (role, url)
