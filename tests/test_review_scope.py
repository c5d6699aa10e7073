"""Scope of every review page: an admin of another subtree gets 404 or nothing.

Pages: the grouped queue, the organisation's persons, the flat queue, the export, the
record detail, the record's actions, batch moves, approve-all / reject-all, the
attachment download, the unit's declaration page.
"""

import os

import pytest
from sqlalchemy import select

from backoffice import workflow
from backoffice.extensions import db
from backoffice.models import Declaration

from .conftest import membership_of, org, person_named, sign_in
from .test_workflow import new_decl

OUTSIDERS = ("unit2", "county2", "luoyang")  # another unit, another county, another city


@pytest.fixture
def record(app, ctx):
    """A record of 张伟 (金水区人民医院) pending at the 金水区 HRSS, with an attachment."""
    zhang = person_named("张伟")
    d = new_decl(zhang, "public", hours=12)
    d.fields = {"hours": 12, "content": "范围测试专用内容"}
    folder = app.config["UPLOAD_DIR"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "scope-test.pdf"), "wb") as fh:
        fh.write(b"%PDF scope")
    d.attachment, d.attachment_name = "scope-test.pdf", "证明.pdf"
    workflow.submit(d, zhang.membership)
    workflow.approve(d, membership_of("unit"))
    db.session.commit()
    return d


def state(d):
    db.session.expire_all()
    d = db.session.get(Declaration, d.id)
    return d.status, d.current_level, d.version


@pytest.mark.parametrize("key", OUTSIDERS)
def test_lists_and_export_of_another_subtree_do_not_show_the_record(record, signed_in, key):
    b = signed_in(key)
    hospital = org("郑州市金水区人民医院")
    for url in ("/admin/review/", "/admin/review/list", "/admin/review/list?year=all&exact=1",
                "/admin/review/export?year=all"):
        r = b.get(url)
        assert r.status_code == 200, url
        text = r.get_data(as_text=True)
        assert "张伟" not in text and person_named("张伟").id_number not in text, url
        assert f'data-id="{record.id}"' not in text
    assert b.get(f"/admin/review/org/{hospital.id}").status_code == 404
    # The grouped page filtered on the hospital shows nothing either.
    assert "张伟" not in b.get(f"/admin/review/list?declarer={hospital.id}&year=all").get_data(as_text=True)


@pytest.mark.parametrize("key", OUTSIDERS + ("institution",))
def test_details_actions_and_attachment_of_another_subtree_are_404(record, signed_in, key):
    b = signed_in(key)
    before = state(record)
    assert b.get(f"/admin/declaration/{record.id}").status_code == 404
    assert b.get(f"/admin/declaration/{record.id}/attachment").status_code == 404
    for op in ("approve", "reject", "send_back", "withdraw", "submit"):
        r = b.post(f"/admin/declaration/{record.id}/act", {"op": op, "comment": "x", "version": str(before[2])},
                   form_url="/admin/")
        assert r.status_code == 404, op
    assert state(record) == before


@pytest.mark.parametrize("key", ("unit2", "county2", "luoyang"))
def test_batch_and_all_actions_of_another_subtree_change_nothing(record, signed_in, key):
    b = signed_in(key)
    before = state(record)
    b.post("/admin/review/batch", {"op": "approve", "rowid": [str(record.id)]}, form_url="/admin/review/list")
    page = b.post("/admin/review/batch", {"op": "reject", "rowid": [str(record.id)]}, form_url="/admin/review/list")
    assert "<strong>0</strong>" in page.get_data(as_text=True)
    b.post("/admin/review/batch", {"op": "reject_confirmed", "rowid": [str(record.id)], "reason": "x"},
           form_url="/admin/review/list")
    b.post("/admin/review/all", {"op": "approve", "year": "all"}, form_url="/admin/review/list")
    b.post("/admin/review/all", {"op": "reject", "year": "all", "reason": "x"}, form_url="/admin/review/list")
    assert state(record) == before


def test_admins_above_see_the_record_and_its_trail(record, signed_in):
    for key in ("person", "unit", "county", "city", "province"):
        page = signed_in(key).get(f"/admin/declaration/{record.id}")
        assert page.status_code == 200, key
        text = page.get_data(as_text=True)
        assert "steps-table" in text and "audit-table" in text
        assert "金水区人民医院管理员" in text  # who approved at the unit
    # Only the county (the current step) gets the review buttons.
    assert "approve-button" in signed_in("county").get(f"/admin/declaration/{record.id}").get_data(as_text=True)
    for key in ("unit", "city", "province", "person"):
        assert "approve-button" not in signed_in(key).get(f"/admin/declaration/{record.id}").get_data(as_text=True)


def test_industry_dept_sees_only_records_of_units_naming_it(record, signed_in):
    b = signed_in("industry")
    # The record is public (no industry step) but in its units: visible, not reviewable.
    assert b.get(f"/admin/declaration/{record.id}").status_code == 200
    assert f'data-id="{record.id}"' not in b.get("/admin/review/list?year=all").get_data(as_text=True)
    # A record of a unit that does not name it: 404.
    other = db.session.scalar(select(Declaration).where(Declaration.person_id == person_named("刘洋").id))
    assert b.get(f"/admin/declaration/{other.id}").status_code == 404


def test_unit_declaration_page_offers_only_own_persons(record, signed_in):
    page = signed_in("unit2").get("/admin/unit-declare/?kind=public").get_data(as_text=True)
    assert "刘洋" in page and "张伟" not in page
    # Declaring for a person of another unit is refused and writes nothing.
    b = signed_in("unit2")
    count = db.session.scalar(select(db.func.count()).select_from(Declaration))
    text = b.post("/admin/unit-declare/", {"kind": "public", "form": "report", "content": "调研",
                                           "persons": [str(person_named("张伟").id)]},
                  form_url="/admin/unit-declare/").get_data(as_text=True)
    assert "请至少选择一名本单位人员" in text or "不属于本单位" in text
    assert db.session.scalar(select(db.func.count()).select_from(Declaration)) == count
    # Its recent declarations list shows none of the other unit's.
    assert "范围测试专用内容" not in page


def test_a_persons_draft_is_not_listed_for_any_admin(app, ctx):
    """继续教育记录: a draft is the person's own until submitted (list, count, details, export)."""
    draft = db.session.scalar(select(Declaration).where(Declaration.status == "draft", Declaration.source == "self")
                              .order_by(Declaration.id))
    assert draft is not None
    for key in ("unit", "county", "sysadmin"):
        browser = sign_in(app.test_client(), key)
        assert browser.get(f"/admin/records/details/?id={draft.id}").status_code == 404, key
        listing = browser.get("/admin/records/?flt0_status_equals=draft").get_data(as_text=True)
        assert "待提交</span>" not in listing, key
        export = browser.get("/admin/records/export/csv/").get_data(as_text=True)
        assert "待提交" not in export, key
    # Submitted, it is the unit's to see.
    draft.status = "pending"
    db.session.commit()
    browser = sign_in(app.test_client(), "unit")
    assert browser.get(f"/admin/records/details/?id={draft.id}").status_code == 200
