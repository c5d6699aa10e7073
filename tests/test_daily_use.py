"""Daily use: what a clerk reads on the pages (numbers, Chinese words, no Flask-Admin leftovers)."""

import re

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.formatting import hours_text
from backoffice.models import Declaration

from .conftest import PASSWORD, person_named, sign_in

DECIMAL_HOURS = re.compile(r"(?<![\d.])\d+\.0(?![\d])")


def _text(response):
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_hours_text():
    assert [hours_text(v) for v in (30, 30.0, "12.0", None, "17.50")] == ["30", "30", "12", "", "17.5"]


def test_whole_hours_print_as_integers_on_pages_and_exports(app, ctx):
    person = sign_in(app.test_client(), "person")
    for url in ("/admin/my/completion/", "/admin/my/records/"):
        page = _text(person.get(url))
        assert "学时" in page or "申报" in page
        assert not DECIMAL_HOURS.findall(page), (url, DECIMAL_HOURS.findall(page)[:5])
    zhang = person_named("张伟")
    record = db.session.scalar(select(Declaration).where(Declaration.person_id == zhang.id,
                                                         Declaration.status == "approved"))
    detail = _text(person.get(f"/admin/my/records/{record.id}"))
    assert hours_text(record.claimed_hours) in detail and not DECIMAL_HOURS.findall(detail)
    unit = sign_in(app.test_client(), "unit")
    listing = _text(unit.get("/admin/records/"))
    assert not DECIMAL_HOURS.findall(listing), DECIMAL_HOURS.findall(listing)[:5]
    export = unit.get("/admin/records/export/csv/").get_data(as_text=True)
    assert not DECIMAL_HOURS.findall(export), DECIMAL_HOURS.findall(export)[:5]
    county = sign_in(app.test_client(), "county")
    queue = _text(county.get("/admin/review/"))
    assert not DECIMAL_HOURS.findall(queue)


def _filter_ops(app, endpoint, column_label):
    """The operations the list page offers for one filter column (as its filter JSON lists them)."""
    import json

    browser = sign_in(app.test_client(), "unit")
    page = browser.get(f"/admin/{endpoint}/").get_data(as_text=True)
    data = re.search(r'id="filter-groups-data"[^>]*>(.*?)</', page, re.S)
    groups = json.loads(data.group(1))
    return [f["operation"] for f in groups[column_label]]


def test_list_pages_speak_a_clerks_words(app, ctx):
    from backoffice.models import Person

    unit = sign_in(app.test_client(), "unit")
    page = unit.get("/admin/persons/").get_data(as_text=True)
    for leftover in ("选中的", "项目", "20 items", "With selected"):
        assert leftover not in page, leftover
    assert "批量操作" in page and "20 条/页" in _text(unit.get("/admin/persons/")) and "每页 50 条" in page
    # A choice column (职称级别) is filtered by 等于/不等于, not by text operators.
    ops = _filter_ops(app, "persons", "职称级别")
    assert set(ops) <= {"等于", "不等于"} and "等于" in ops, ops
    assert "包含" in _filter_ops(app, "persons", "姓名")  # a text column keeps them
    # 重置密码 is a button on each person's row (the FAQ's place), posting the scoped action.
    zhang = person_named("张伟")
    row_form = re.search(r'<form class="icon d-inline row-reset-password".*?</form>', page, re.S)
    assert row_form and "重置密码" in row_form.group(0) and 'name="action" value="reset_password"' in row_form.group(0)
    form_page_url = "/admin/persons/"
    response = unit.post("/admin/persons/action/", {"action": "reset_password", "rowid": str(zhang.id),
                                                    "url": form_page_url}, form_url=form_page_url)
    assert response.status_code == 302
    db.session.expire_all()
    account = db.session.get(Person, zhang.id).account
    assert account.check_password(zhang.id_number[-6:]) and account.must_change_password
    # Another unit's admin gets nothing from the same post.
    account.set_password(PASSWORD)
    db.session.commit()
    other = sign_in(app.test_client(), "unit2")
    other.post("/admin/persons/action/", {"action": "reset_password", "rowid": str(zhang.id)},
               form_url="/admin/persons/")
    db.session.expire_all()
    assert db.session.get(Person, zhang.id).account.check_password(PASSWORD)
    # The county HRSS sees the list but no row button (resets are the unit's).
    county = sign_in(app.test_client(), "county").get("/admin/persons/").get_data(as_text=True)
    assert "row-reset-password" not in county


ENGLISH_CODES = re.compile(r"\b(create|create_draft|submit|approve|reject|withdraw|membership|declaration)\b")


def test_trail_and_audit_log_speak_chinese_with_names(app, ctx):
    from backoffice import workflow

    from .conftest import membership_of
    from .test_workflow import new_decl

    zhang = person_named("张伟")
    record = new_decl(zhang, "public", hours=12)
    from backoffice import audit

    audit.record("create_draft", "declaration", record.id, after={"fields": record.fields, "status": "draft"},
                 actor=zhang.membership)
    workflow.submit(record, zhang.membership)
    workflow.approve(record, membership_of("unit"), "属实")
    db.session.commit()
    county = sign_in(app.test_client(), "county")
    # The review trail of the record page.
    page = county.get(f"/admin/declaration/{record.id}").get_data(as_text=True)
    trail = re.search(r'<table[^>]*id="audit-table".*?</table>', page, re.S).group(0)
    text = re.sub(r"<[^>]+>", " ", trail)
    assert "审核通过" in text and not ENGLISH_CODES.search(text), text[:800]
    assert '{"' not in text
    # 继续教育记录 → 查看: 学习内容 in words and the trail below.
    details = county.get(f"/admin/records/details/?id={record.id}").get_data(as_text=True)
    assert 'id="audit-table"' in details and 'id="steps-table"' in details
    row = re.search(r"<b>学习内容</b>\s*</td>\s*<td>(.*?)</td>", details, re.S)
    assert row and "{" not in row.group(1) and "：" in row.group(1), row.group(1) if row else details[-2000:]
    # The audit log: Chinese events and objects, names instead of ids.
    sys = sign_in(app.test_client(), "sysadmin")
    log = sys.get("/admin/audit/?page_size=100").get_data(as_text=True)
    body = re.sub(r"<[^>]+>", " ", re.search(r'<table class="table[^"]*model-list">.*?</table>', log, re.S).group(0))
    assert "审核通过" in body or "登录" in body
    assert not ENGLISH_CODES.search(body), ENGLISH_CODES.findall(body)[:5]
    assert '"org_id"' not in body and '{"' not in body
    assert "郑州市金水区人民医院" in body  # the 审核部门 by name


def test_registration_review_has_a_detail_view_before_approving(app, ctx):
    pending = person_named("吴芳")
    assert pending.membership.status == "pending"
    unit = sign_in(app.test_client(), "unit")
    listing = unit.get("/admin/person-registrations/").get_data(as_text=True)
    assert f"/admin/person-registrations/{pending.membership_id}" in listing and "详细" in listing
    page = _text(unit.get(f"/admin/person-registrations/{pending.membership_id}"))
    for label in ("民族", "毕业院校", "所学专业", "籍贯", "职称级别", "审核通过", "审核不通过"):
        assert label in page, label
    if pending.school:
        assert pending.school in page
    # Another unit's admin: 404.
    assert sign_in(app.test_client(), "unit2").get(
        f"/admin/person-registrations/{pending.membership_id}").status_code == 404
    # Approved from the detail page.
    response = unit.post("/admin/person-registrations/decide", {"single_approve": pending.membership_id},
                         form_url=f"/admin/person-registrations/{pending.membership_id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert pending.membership.status == "active"
    assert unit.get(f"/admin/person-registrations/{pending.membership_id}").status_code == 404  # decided


def test_grouped_review_persons_page_has_checkboxes_for_a_batch(app, ctx):
    from .conftest import membership_of

    unit_m = membership_of("unit")
    unit = sign_in(app.test_client(), "unit")
    page = unit.get(f"/admin/review/org/{unit_m.org_id}?year=all").get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="persons" value="(\d+)"', page)
    assert boxes and 'data-check-all="persons"' in page
    person_id = int(boxes[0])
    waiting = select(Declaration.id).where(Declaration.person_id == person_id, Declaration.status == "pending",
                                           Declaration.current_org_id == unit_m.org_id,
                                           Declaration.current_level == "unit")
    before = db.session.scalars(waiting).all()
    assert before
    others = db.session.scalars(select(Declaration.id).where(Declaration.person_id != person_id,
                                                             Declaration.status == "pending",
                                                             Declaration.current_org_id == unit_m.org_id)).all()
    # Another unit's admin posting the same person approves nothing.
    sign_in(app.test_client(), "unit2").post("/admin/review/batch", {"op": "approve", "persons": str(person_id),
                                                                      "year": "all"}, form_url="/admin/")
    db.session.expire_all()
    assert db.session.scalars(waiting).all() == before
    response = unit.post("/admin/review/batch", {"op": "approve", "persons": str(person_id), "year": "all",
                                                 "next": f"/admin/review/org/{unit_m.org_id}"},
                         form_url=f"/admin/review/org/{unit_m.org_id}?year=all")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalars(waiting).all() == []
    still = db.session.scalars(select(Declaration.id).where(Declaration.id.in_(others),
                                                            Declaration.status == "pending",
                                                            Declaration.current_org_id == unit_m.org_id)).all()
    assert sorted(still) == sorted(others)  # only the ticked person's records moved
