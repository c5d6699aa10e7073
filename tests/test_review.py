"""Review over HTTP: the chain from the person to the county, rejects with reasons, batch and
all-matching moves, the year selector, filters, grouped review, the unit's declarations."""

import os
import re
from datetime import date

from sqlalchemy import func, select

from backoffice import workflow
from backoffice.extensions import db
from backoffice.mail import outbox
from backoffice.models import AuditLog, Declaration, LearningForm, ReviewStep

from .conftest import membership_of, org, person_named
from .test_workflow import new_decl

YEAR = date.today().year


def fresh(d):
    db.session.expire_all()
    return db.session.get(Declaration, d.id)


def act(browser, d, op, comment="", version=None, form_url=None):
    d = fresh(d)
    return browser.post(f"/admin/declaration/{d.id}/act",
                        {"op": op, "comment": comment, "version": str(version or d.version)},
                        form_url=form_url or f"/admin/declaration/{d.id}")


def approved_hours(person, year):
    return db.session.scalar(select(func.coalesce(func.sum(Declaration.claimed_hours), 0)).where(
        Declaration.person_id == person.id, Declaration.year == year, Declaration.status == "approved"))


def at_level(person_name, kind, levels, hours=10, year=None):
    """A submitted record of ``person_name`` approved by the given lower levels."""
    person = person_named(person_name)
    d = new_decl(person, kind, hours=hours, year=year)
    workflow.submit(d, person.membership)
    for key in levels:
        workflow.approve(d, membership_of(key))
    db.session.commit()
    return d


# --------------------------------------------------------------------------- the chain
def test_person_submits_and_three_levels_approve_and_it_counts(app, ctx, signed_in):
    zhang = person_named("张伟")
    d = new_decl(zhang, "professional", hours=16)
    db.session.commit()
    before = approved_hours(zhang, YEAR)
    outbox_before = len(outbox())

    person = signed_in("person")
    page = person.get(f"/admin/declaration/{d.id}").get_data(as_text=True)
    assert "提交审核" in page
    r = act(person, d, "submit")
    assert r.status_code == 302
    assert fresh(d).status == "pending" and fresh(d).current_level == "unit"

    unit = signed_in("unit")
    queue = unit.get("/admin/review/list").get_data(as_text=True)
    assert f'data-id="{d.id}"' in queue
    r = act(unit, d, "approve", "情况属实")
    assert r.status_code == 302 and fresh(d).current_level == "industry"

    industry = signed_in("industry")
    assert f'data-id="{d.id}"' in industry.get("/admin/review/list").get_data(as_text=True)
    # The unit no longer has it in its queue.
    assert f'data-id="{d.id}"' not in unit.get("/admin/review/list").get_data(as_text=True)
    act(industry, d, "approve")
    assert fresh(d).current_level == "hrss" and fresh(d).current_org.name == "金水区人力资源和社会保障局"

    county = signed_in("county")
    assert f'data-id="{d.id}"' in county.get("/admin/review/list").get_data(as_text=True)
    act(county, d, "approve")
    d = fresh(d)
    assert d.status == "approved"
    assert approved_hours(zhang, YEAR) == before + 16
    assert [s.status for s in d.steps] == ["approved", "approved", "approved"]
    # The trail: the person sees every level and every move.
    page = person.get(f"/admin/declaration/{d.id}").get_data(as_text=True)
    assert "审核通过" in page and "情况属实" in page
    for name in ("郑州市金水区人民医院", "金水区卫生健康委员会", "金水区人力资源和社会保障局"):
        assert name in page
    assert page.count("审核通过") >= 4
    # One e-mail, to the person, when approved at the last level.
    new = outbox()[outbox_before:]
    assert len(new) == 1 and new[0].recipients == [zhang.email] and "审核通过" in new[0].subject


def test_reject_needs_a_reason_and_the_person_sees_it(app, ctx, signed_in):
    zhang = person_named("张伟")
    d = at_level("张伟", "professional", ["unit"])
    industry = signed_in("industry")
    page = act(industry, d, "reject", "  ")
    assert page.status_code == 302
    follow = industry.get(page.headers["Location"]).get_data(as_text=True)
    assert "请填写不通过原因" in follow
    assert fresh(d).status == "pending"
    outbox_before = len(outbox())
    act(industry, d, "reject", "会议证明缺少盖章")
    assert fresh(d).status == "rejected" and fresh(d).reject_reason == "会议证明缺少盖章"
    page = signed_in("person").get(f"/admin/declaration/{d.id}").get_data(as_text=True)
    assert "会议证明缺少盖章" in page and "审核不通过" in page
    new = outbox()[outbox_before:]
    assert len(new) == 1 and new[0].recipients == [zhang.email] and "会议证明缺少盖章" in new[0].body


def test_reject_at_the_unit_and_at_the_county(app, ctx, signed_in):
    for levels, key in (([], "unit"), (["unit"], "county")):
        d = at_level("李娜", "public", levels)
        act(signed_in(key), d, "reject", f"{key} 不通过")
        assert fresh(d).status == "rejected"
        assert fresh(d).reject_reason == f"{key} 不通过"


def test_send_back_and_withdraw_over_http(app, ctx, signed_in):
    d = at_level("张伟", "professional", [])
    person = signed_in("person")
    assert "撤销申报" in person.get(f"/admin/declaration/{d.id}").get_data(as_text=True)
    act(person, d, "withdraw")
    assert fresh(d).status == "draft"
    act(person, d, "submit")
    act(signed_in("unit"), d, "approve")
    assert "撤销申报" not in person.get(f"/admin/declaration/{d.id}").get_data(as_text=True)
    industry = signed_in("industry")
    assert "send-back-button" in industry.get(f"/admin/declaration/{d.id}").get_data(as_text=True)
    act(industry, d, "send_back", "请更正会议天数")
    assert fresh(d).status == "draft" and fresh(d).reject_reason == "请更正会议天数"


def test_a_stale_page_is_refused(app, ctx, signed_in):
    d = at_level("张伟", "public", [])
    unit = signed_in("unit")
    old_version = fresh(d).version
    workflow.approve(fresh(d), membership_of("unit"))  # someone else, meanwhile
    db.session.commit()
    r = act(unit, d, "approve", version=old_version)
    assert "该记录已被他人处理，请刷新后重试" in unit.get(r.headers["Location"]).get_data(as_text=True)


# --------------------------------------------------------------------------- who may act
def test_a_reviewer_cannot_approve_a_record_not_at_their_step(app, ctx, signed_in):
    d = at_level("张伟", "professional", [])  # at the unit
    before = fresh(d).version
    # In scope but not at their step: the county, the industry dept, the city, the province.
    for key in ("county", "industry", "city", "province"):
        b = signed_in(key)
        r = act(b, d, "approve")
        assert r.status_code == 302
        assert "该记录不在您的审核环节" in b.get(r.headers["Location"]).get_data(as_text=True)
        page = b.get(f"/admin/declaration/{d.id}").get_data(as_text=True)
        assert "approve-button" not in page
        # Batch and approve-all skip it as well.
        b.post("/admin/review/batch", {"op": "approve", "rowid": [str(d.id)]}, form_url="/admin/review/list")
        b.post("/admin/review/all", {"op": "approve", "year": "all"}, form_url="/admin/review/list")
    # Out of scope: another unit, another county, another city → 404.
    for key in ("unit2", "county2", "luoyang"):
        assert act(signed_in(key), d, "approve", form_url="/admin/review/list").status_code == 404
    # The person cannot approve their own record.
    r = act(signed_in("person"), d, "approve")
    assert r.status_code == 302
    d = fresh(d)
    assert (d.status, d.current_level, d.version) == ("pending", "unit", before)


def test_persons_cannot_open_the_queues(app, ctx, signed_in):
    person = signed_in("person")
    for url in ("/admin/review/", "/admin/review/list", "/admin/review/export", "/admin/review/all?op=approve",
                "/admin/unit-declare/"):
        assert person.get(url).status_code == 403
    assert person.post("/admin/review/batch", {"op": "approve", "rowid": ["1"]},
                       form_url="/admin/declaration/1").status_code in (403, 404)


# --------------------------------------------------------------------------- bulk
def test_county_approve_all_touches_only_its_own_pending_records(app, ctx, signed_in):
    mine = [at_level("李娜", "public", ["unit"]) for _ in range(3)]
    mine_prof = at_level("张伟", "professional", ["unit", "industry"])
    at_unit = at_level("张伟", "public", [])  # same county, not yet at the county
    other = [at_level("刘洋", "public", ["unit2"]) for _ in range(2)]  # 中原区
    county = signed_in("county")
    expected = db.session.scalar(select(func.count()).select_from(Declaration).where(
        Declaration.current_org_id == org("410105").id, Declaration.status == "pending", Declaration.year == YEAR))
    confirm = county.get(f"/admin/review/all?op=approve&year={YEAR}").get_data(as_text=True)
    assert f"共 <strong>{expected}</strong> 条" in confirm
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    mails_before = len(outbox())
    r = county.post("/admin/review/all", {"op": "approve", "year": str(YEAR)}, form_url="/admin/review/list")
    assert r.status_code == 302
    assert f"已审核通过 {expected} 条记录" in county.get(r.headers["Location"]).get_data(as_text=True)
    assert {fresh(d).status for d in mine + [mine_prof]} == {"approved"}
    assert fresh(at_unit).status == "pending" and fresh(at_unit).current_level == "unit"
    assert {(fresh(d).status, fresh(d).current_org.name) for d in other} == {("pending", "中原区人力资源和社会保障局")}
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before + expected
    # Approved at the last level: every person gets an e-mail (after the commit).
    assert len(outbox()) == mails_before + expected
    assert all("审核通过" in m.subject for m in outbox()[mails_before:])


def test_batch_approve_selected_and_batch_reject_with_one_reason(app, ctx, signed_in):
    ds = [at_level("王强", "public", []) for _ in range(4)]
    unit = signed_in("unit")
    r = unit.post("/admin/review/batch", {"op": "approve", "rowid": [str(ds[0].id), str(ds[1].id)],
                                          "next": "/admin/review/list"}, form_url="/admin/review/list")
    assert r.status_code == 302
    assert [fresh(d).current_level for d in ds[:2]] == ["hrss", "hrss"]
    # Batch reject: a confirmation page, a reason required, then one reason for all.
    ids = [str(ds[2].id), str(ds[3].id)]
    page = unit.post("/admin/review/batch", {"op": "reject", "rowid": ids}, form_url="/admin/review/list")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<strong>2</strong> 条" in text and 'name="reason"' in text
    page = unit.post("/admin/review/batch", {"op": "reject_confirmed", "rowid": ids, "reason": ""},
                     form_url="/admin/review/list")
    assert "请填写不通过原因" in page.get_data(as_text=True)
    assert {fresh(d).status for d in ds[2:]} == {"pending"}
    unit.post("/admin/review/batch", {"op": "reject_confirmed", "rowid": ids, "reason": "培训证明不全"},
              form_url="/admin/review/list")
    assert {(fresh(d).status, fresh(d).reject_reason) for d in ds[2:]} == {("rejected", "培训证明不全")}
    steps = db.session.scalars(select(ReviewStep).where(ReviewStep.declaration_id == ds[2].id)).all()
    assert [(s.status, s.comment) for s in steps] == [("rejected", "培训证明不全")]


def test_reject_all_matching_a_filter(app, ctx, signed_in):
    ds = [at_level("王强", "public", [], hours=7) for _ in range(2)]
    keep = at_level("王强", "public", [], hours=40)
    unit = signed_in("unit")
    confirm = unit.get(f"/admin/review/all?op=reject&year={YEAR}&hours_max=8").get_data(as_text=True)
    assert "<strong>2</strong>" in confirm
    page = unit.post("/admin/review/all", {"op": "reject", "year": str(YEAR), "hours_max": "8", "reason": ""},
                     form_url="/admin/review/list")
    assert "请填写不通过原因" in page.get_data(as_text=True)
    unit.post("/admin/review/all", {"op": "reject", "year": str(YEAR), "hours_max": "8", "reason": "学时有误"},
              form_url="/admin/review/list")
    assert {fresh(d).status for d in ds} == {"rejected"}
    assert fresh(keep).status == "pending"


# --------------------------------------------------------------------------- queue pages
def test_queue_opens_on_the_current_year_with_a_year_selector(app, ctx, signed_in):
    old = at_level("张伟", "public", [], year=YEAR - 1)
    unit = signed_in("unit")
    page = unit.get("/admin/review/list").get_data(as_text=True)
    assert f'data-id="{old.id}"' not in page
    assert "往年还有" in page
    assert f'data-id="{old.id}"' in unit.get("/admin/review/list?year=all").get_data(as_text=True)
    assert f'data-id="{old.id}"' in unit.get(f"/admin/review/list?year={YEAR - 1}").get_data(as_text=True)


def test_filters_and_bad_filter_input(app, ctx, signed_in):
    a = at_level("张伟", "public", [], hours=5)
    b = at_level("李娜", "public", [], hours=50)
    unit = signed_in("unit")
    page = unit.get("/admin/review/list?q=李娜").get_data(as_text=True)
    assert f'data-id="{b.id}"' in page and f'data-id="{a.id}"' not in page
    zhang = person_named("张伟")
    page = unit.get(f"/admin/review/list?q={zhang.id_number}").get_data(as_text=True)
    assert f'data-id="{a.id}"' in page and f'data-id="{b.id}"' not in page
    page = unit.get("/admin/review/list?hours_min=40").get_data(as_text=True)
    assert f'data-id="{b.id}"' in page and f'data-id="{a.id}"' not in page
    tc = db.session.scalar(select(LearningForm.id).where(LearningForm.code == "training_class"))
    assert f'data-id="{a.id}"' in unit.get(f"/admin/review/list?form={tc}&subject_kind=public").get_data(as_text=True)
    county = signed_in("county")
    c = at_level("王强", "public", ["unit"])
    assert f'data-id="{c.id}"' in county.get("/admin/review/list?unit_name=人民医院").get_data(as_text=True)
    assert f'data-id="{c.id}"' in county.get("/admin/review/list?declarer_name=金水区").get_data(as_text=True)
    assert f'data-id="{c.id}"' not in county.get("/admin/review/list?unit_name=第七中学").get_data(as_text=True)
    r = unit.get("/admin/review/list?hours_min=abc&date_from=2026-13-45")
    text = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "最少学时应为 0–10000 之间的数字" in text and "开始日期格式应为" in text
    # Computed and claimed hours side by side, the difference marked.
    d = fresh(a)
    d.claimed_hours = 9
    db.session.commit()
    row = re.search(rf'<tr data-id="{a.id}">.*?</tr>', unit.get("/admin/review/list").get_data(as_text=True), re.S)
    assert row and "申报学时与折算学时不一致" in row.group(0)


def test_grouped_review_organisations_persons_record(app, ctx, signed_in):
    d = at_level("李娜", "public", ["unit"])
    county = signed_in("county")
    page = county.get("/admin/review/").get_data(as_text=True)
    hospital = org("郑州市金水区人民医院")
    assert "郑州市金水区人民医院" in page and f"/admin/review/org/{hospital.id}" in page
    persons = county.get(f"/admin/review/org/{hospital.id}").get_data(as_text=True)
    assert "李娜" in persons
    assert f"/admin/declaration/{d.id}" in persons or "查看" in persons
    record = county.get(f"/admin/declaration/{d.id}").get_data(as_text=True)
    assert "approve-button" in record


def test_attachment_is_one_click_away_and_served_through_the_scope(app, ctx, signed_in):
    d = at_level("张伟", "public", [])
    folder = app.config["UPLOAD_DIR"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "abc123.pdf"), "wb") as fh:
        fh.write(b"%PDF-1.4 test")
    d = fresh(d)
    d.attachment, d.attachment_name = "abc123.pdf", "会议证明.pdf"
    db.session.commit()
    unit = signed_in("unit")
    assert f"/admin/declaration/{d.id}/attachment" in unit.get("/admin/review/list").get_data(as_text=True)
    for key in ("unit", "person", "county", "city", "province"):
        r = signed_in(key).get(f"/admin/declaration/{d.id}/attachment")
        assert r.status_code == 200 and r.data == b"%PDF-1.4 test", key
    for key in ("unit2", "county2", "luoyang", "institution"):
        assert signed_in(key).get(f"/admin/declaration/{d.id}/attachment").status_code == 404, key


def test_export_of_the_queue(app, ctx, signed_in):
    d = at_level("李娜", "public", [])
    r = signed_in("unit").get("/admin/review/export?year=all")
    assert r.status_code == 200 and "text/csv" in r.content_type
    assert person_named("李娜").id_number in r.get_data(as_text=True)
    assert str(d.id) in r.get_data(as_text=True)


def test_home_page_counts_what_waits_at_my_step(app, ctx, signed_in):
    at_level("李娜", "public", [])
    page = signed_in("unit").get("/admin/").get_data(as_text=True)
    assert "待我审核的学时记录" in page and "/admin/review/" in page


# --------------------------------------------------------------------------- unit declarations
def _declare(browser, **overrides):
    form = db.session.scalar(select(LearningForm).where(LearningForm.code == "paper"))
    data = {"kind": "professional", "form": form.code, "content": "基层医院感染控制实践", "f_journal": "issn_cn",
            "f_rank": "1", "route": "industry",
            "persons": [str(person_named("张伟").id), str(person_named("李娜").id)]}
    data.update(overrides)
    return browser.post("/admin/unit-declare/", data, form_url="/admin/unit-declare/?kind=professional&form=paper")


def test_unit_declares_other_forms_for_several_persons_once(app, ctx, signed_in):
    unit = signed_in("unit")
    assert unit.get("/admin/unit-declare/?kind=professional&form=paper").status_code == 200
    r = _declare(unit)
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    rows = db.session.scalars(select(Declaration).where(Declaration.source == "unit",
                                                        Declaration.declarer_org_id == org("郑州市金水区人民医院").id)).all()
    assert len(rows) == 2
    for d in rows:
        assert (d.status, d.current_level, d.route) == ("pending", "industry", "industry")
        assert d.computed_hours == 36 and d.claimed_hours == 36
    # Each record is declared once.
    r = _declare(unit)
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "不能重复申报" in text and "张伟" in text
    assert db.session.scalar(select(func.count()).select_from(Declaration).where(Declaration.source == "unit")) == 2
    # Public ones go to the HRSS only; professional ones routed to the HRSS skip the industry dept.
    _declare(unit, kind="public", content="法治讲座", route="")
    _declare(unit, content="另一篇论文", route="hrss")
    levels = db.session.execute(select(Declaration.fields, Declaration.current_level).where(
        Declaration.source == "unit")).all()
    by_content = {}
    for fields, level in levels:
        by_content.setdefault(fields["content"], set()).add(level)
    assert by_content == {"基层医院感染控制实践": {"industry"}, "法治讲座": {"hrss"}, "另一篇论文": {"hrss"}}
    # The industry department sees them grouped under the declaring unit.
    page = signed_in("industry").get("/admin/review/").get_data(as_text=True)
    assert "郑州市金水区人民医院" in page


def test_unit_declaration_bad_input_writes_nothing(app, ctx, signed_in):
    unit = signed_in("unit")
    before = db.session.scalar(select(func.count()).select_from(Declaration))
    text = _declare(unit, content="", persons=[]).get_data(as_text=True)
    assert "请填写学习内容" in text and "请至少选择一名本单位人员" in text
    text = _declare(unit, f_rank="abc").get_data(as_text=True)
    assert "field-error" in text
    # A person of another unit cannot be slipped in.
    text = _declare(unit, persons=[str(person_named("刘洋").id)]).get_data(as_text=True)
    assert "请至少选择一名本单位人员" in text or "不属于本单位" in text
    assert db.session.scalar(select(func.count()).select_from(Declaration)) == before


def test_no_open_redirects_and_no_formulas_in_exports(app, ctx, signed_in):
    d = at_level("李娜", "public", [])
    dd = fresh(d)
    dd.fields = {"hours": 10, "content": "=HYPERLINK(\"http://evil\")"}
    db.session.commit()
    unit = signed_in("unit")
    r = unit.post("/admin/review/batch", {"op": "approve", "rowid": [], "next": "https://evil.example/"},
                  form_url="/admin/review/list")
    assert r.status_code == 302 and "evil" not in r.headers["Location"]
    page = unit.get(f"/admin/declaration/{d.id}?next=//evil.example/x").get_data(as_text=True)
    assert "evil.example" not in page
    csv_text = unit.get("/admin/review/export?year=all").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text


def test_a_failed_email_never_undoes_the_decision(app, ctx, signed_in, caplog, monkeypatch):
    """The SMTP server refuses: the rejection stands, the reviewer sees no error."""
    import importlib
    import smtplib

    mail_module = importlib.import_module("backoffice.mail")
    sent = []

    def refuse(message):
        sent.append(message)
        raise smtplib.SMTPServerDisconnected("connection refused")

    monkeypatch.setattr(mail_module.mail, "send", refuse)
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    d = at_level("张伟", "professional", ["unit"])
    industry = signed_in("industry")
    response = act(industry, d, "reject", "证明材料不全")
    assert response.status_code == 302
    assert fresh(d).status == "rejected" and fresh(d).reject_reason == "证明材料不全"
    assert len(sent) == 1  # the notice was really attempted
    assert any("failed" in r.getMessage() for r in caplog.records if r.name == "backoffice.mail")
