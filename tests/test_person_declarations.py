"""The professional declares hours over HTTP: register → approved → sign in → declare a
provincial conference (16 h) with a scan → submit → withdraw → resubmit; bad input is
refused at the field; other people cannot reach the record."""

import io
import re
from datetime import date

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Account, Declaration, LearningForm, Membership, Subject, YearOpening

from .conftest import Browser, membership_of, org, person_named, sign_in
from .test_person_registration import NEW_ID, register

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n%test\n"


def conference_form(**over):
    conference = db.session.scalar(select(LearningForm).where(LearningForm.code == "conference"))
    year = date.today().year
    subject = db.session.scalar(select(Subject).where(Subject.kind == "professional", Subject.year == year))
    data = {
        "subject_kind": "professional",
        "form_id": str(conference.id),
        "year": str(year),
        "subject_id": str(subject.id),
        "fields-conference-level": "provincial",
        "fields-conference-days": "3",
        "fields-conference-paper": "1",
        "claimed_hours": "16",
        "remarks": "河南省医学会心血管病学分会年会",
        "content": "河南省医学会心血管病学分会年会",
        "organiser": "河南省医学会",
        "start_date": f"{year}-03-01",
        "end_date": f"{year}-03-03",
        "result": "合格",
        "action": "save",
    }
    data.update(over)
    return data


def post_declaration(browser, data, file=("scan.png", PNG), url="/admin/my/declare/"):
    data = dict(data)
    if file is not None:
        data["attachment"] = (io.BytesIO(file[1]), file[0])
    return browser.post(url, data, content_type="multipart/form-data")


def count_declarations(person):
    return db.session.scalar(select(func.count()).select_from(Declaration).where(Declaration.person_id == person.id))


def test_register_approve_declare_submit_withdraw_resubmit(app, client, ctx):
    # 1. register on the real page
    assert "注册信息已经提交审核" in register(client).get_data(as_text=True)
    membership = db.session.scalar(select(Membership).join(Account).where(Account.id_number == NEW_ID))
    # 2. the demo unit admin approves
    admin = sign_in(app.test_client(), "unit")
    admin.post("/admin/person-registrations/decide", {"single_approve": membership.id},
               form_url="/admin/person-registrations/")
    db.session.expire_all()
    assert membership.status == "active"
    # 3. sign in; the home shows the person's work
    me = sign_in(app.test_client(), membership, password="Newpass2026")
    home = me.get("/admin/").get_data(as_text=True)
    assert "待提交的学时申报" in home and "申报进度查询" in home and "学时（分）申报" in home
    # 4. the live computation
    conference = db.session.scalar(select(LearningForm).where(LearningForm.code == "conference"))
    computed = me.get(f"/admin/my/declare/compute?form_id={conference.id}&fields-conference-level=provincial"
                      "&fields-conference-days=3&fields-conference-paper=1").get_json()
    assert computed["ok"] and computed["hours"] == "16" and "16" in computed["reason"]
    # 5. declare and submit with a scan
    page = me.get("/admin/my/declare/").get_data(as_text=True)
    assert "fields-conference-days" in page and "保存暂不提交" in page
    response = post_declaration(me, conference_form(action="submit"))
    assert response.status_code == 302, response.get_data(as_text=True)
    person = membership.person
    record = db.session.scalar(select(Declaration).where(Declaration.person_id == person.id))
    assert record.status == "pending" and record.computed_hours == 16 and record.claimed_hours == 16
    assert record.attachment and record.attachment_name == "scan.png"
    assert record.current_org_id == person.unit_id
    # the scan can be downloaded by its owner
    got = me.get(f"/declarations/{record.id}/attachment")
    assert got.status_code == 200 and got.data == PNG
    # 6. withdraw → draft
    me.post(f"/admin/my/records/{record.id}/withdraw", form_url=f"/admin/my/records/{record.id}")
    db.session.expire_all()
    assert record.status == "draft"
    # 7. resubmit from the list
    me.post(f"/admin/my/records/{record.id}/submit", form_url="/admin/my/records/")
    db.session.expire_all()
    assert record.status == "pending"
    # 8. the record shows at 待审核 with its progress
    page = me.get("/admin/my/records/?status=pending").get_data(as_text=True)
    assert f'data-id="{record.id}"' in page and "待审核" in page
    detail = me.get(f"/admin/my/records/{record.id}").get_data(as_text=True)
    progress = detail[detail.index('id="review-progress"'):]
    assert "郑州市金水区人民医院" in progress and "待审核" in progress
    assert "已撤销" in progress  # the first round, withdrawn by the person
    assert "省级" in detail and "16" in detail


def test_bad_input_is_refused_at_the_field_and_nothing_saved(app, ctx):
    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    before = count_declarations(zhang)
    cases = [
        (conference_form(remarks="长" * 1001), None, "备注不能超过 1000 个字符"),
        (conference_form(year=str(date.today().year - 1)), None, "往年学时申报已截止"),
        (conference_form(), ("scan.exe", b"MZ" + b"\x00" * 10), "附件只能是图片"),
        (conference_form(), ("scan.png", b"%PDF-1.4 not a png"), "文件内容与扩展名不符"),
        (conference_form(), ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024)), "附件不能超过 10 MB"),
        (conference_form(**{"fields-conference-days": "abc"}), None, "须为整数"),
        (conference_form(claimed_hours="-3"), None, "申报学时须大于 0"),
        (conference_form(subject_kind="public"), None, "所选科目不属于该计入科目和年度"),
    ]
    for data, file, message in cases:
        response = post_declaration(me, data, file=file or ("scan.pdf", PDF))
        page = response.get_data(as_text=True)
        assert response.status_code == 200, message
        assert message in page, message
        assert "invalid-feedback" in page
    assert count_declarations(zhang) == before


def test_an_opened_past_year_can_be_declared(app, ctx):
    zhang = person_named("张伟")
    last = date.today().year - 1
    db.session.add(YearOpening(unit_id=zhang.unit_id, year=last))
    db.session.flush()
    me = sign_in(app.test_client(), "person")
    subject = db.session.scalar(select(Subject).where(Subject.kind == "professional", Subject.year == last))
    response = post_declaration(me, conference_form(year=str(last), subject_id=str(subject.id)))
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Declaration).where(
        Declaration.person_id == zhang.id, Declaration.year == last, Declaration.status == "draft")) == 1


def test_drafts_can_be_edited_and_deleted(app, ctx):
    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    response = post_declaration(me, conference_form())
    record_id = int(re.search(r"/records/(\d+)", response.headers["Location"]).group(1))
    page = me.get(f"/admin/my/declare/{record_id}/edit").get_data(as_text=True)
    assert 'value="3"' in page
    response = post_declaration(me, conference_form(**{"fields-conference-days": "2"}, claimed_hours="12"),
                                file=None, url=f"/admin/my/declare/{record_id}/edit")
    assert response.status_code == 302
    record = db.session.get(Declaration, record_id)
    db.session.refresh(record)
    assert record.computed_hours == 12 and record.attachment  # the earlier scan stays
    me.post(f"/admin/my/records/{record_id}/delete", form_url=f"/admin/my/records/{record_id}")
    assert db.session.get(Declaration, record_id) is None
    assert zhang is not None


def test_another_person_cannot_reach_my_record(app, ctx):
    me = sign_in(app.test_client(), "person")
    response = post_declaration(me, conference_form(action="submit"))
    record_id = int(re.search(r"/records/(\d+)", response.headers["Location"]).group(1))
    li = person_named("李娜").membership
    other = sign_in(app.test_client(), li)
    assert other.get(f"/admin/my/records/{record_id}").status_code == 404
    assert other.get(f"/admin/my/declare/{record_id}/edit").status_code == 404
    assert other.get(f"/declarations/{record_id}/attachment").status_code == 404
    assert other.post(f"/admin/my/records/{record_id}/withdraw", form_url="/admin/my/records/").status_code == 404
    assert other.post(f"/admin/my/records/{record_id}/delete", form_url="/admin/my/records/").status_code == 404
    assert db.session.get(Declaration, record_id).status == "pending"
    # an admin of another unit cannot download it either; the own unit admin can
    assert sign_in(app.test_client(), "unit2").get(f"/declarations/{record_id}/attachment").status_code == 404
    assert sign_in(app.test_client(), "unit").get(f"/declarations/{record_id}/attachment").status_code == 200


def test_records_list_filters_and_institution_records_cannot_be_withdrawn(app, ctx):
    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    page = me.get("/admin/my/records/?status=rejected").get_data(as_text=True)
    assert "审核不通过" in page
    rows = re.findall(r'data-id="(\d+)"', page)
    assert rows and all(db.session.get(Declaration, int(i)).status == "rejected" for i in rows)
    pending = db.session.scalar(select(Declaration).where(Declaration.person_id == zhang.id,
                                                          Declaration.status == "pending"))
    pending.source = "institution"
    pending.declarer_org_id = org("河南省专业技术人员继续教育基地").id
    db.session.flush()
    page = me.get(f"/admin/my/records/{pending.id}").get_data(as_text=True)
    assert "施教机构申报的记录不能由个人撤销" in page
    page = me.post(f"/admin/my/records/{pending.id}/withdraw", form_url=f"/admin/my/records/{pending.id}",
                   follow_redirects=True).get_data(as_text=True)
    assert "不能由个人撤销" in page
    db.session.expire_all()
    assert pending.status == "pending"
    assert membership_of("person")
    assert isinstance(Browser, type)


def test_course_study_of_six_months_earns_the_years_professional_hours(app, ctx):
    me = sign_in(app.test_client(), "person")
    form = db.session.scalar(select(LearningForm).where(LearningForm.code == "course_study"))
    data = me.get(f"/admin/my/declare/compute?form_id={form.id}&year={date.today().year}"
                  "&fields-course_study-months=6").get_json()
    assert data["ok"] and data["hours"] == "60"
    data = me.get(f"/admin/my/declare/compute?form_id={form.id}&fields-course_study-months=x").get_json()
    assert not data["ok"] and "整数" in data["error"]


def test_a_rejected_record_is_copied_into_a_new_draft_and_stays_in_the_history(app, ctx):
    """修改后重新提交: the e-mail's promise; the rejected record and its reason stay."""
    from backoffice import workflow
    from backoffice.models import AuditLog

    from .test_workflow import new_decl

    zhang = person_named("张伟")
    old = new_decl(zhang, "public", hours=6)
    old.fields = {"hours": "6", "content": "继续教育公需课"}
    from backoffice import declarations, storage

    old.attachment, old.attachment_name = declarations.store_attachment("png", PNG), "证明.png"
    workflow.submit(old, zhang.membership)
    workflow.reject(old, membership_of("unit"), "证明材料不清晰")
    db.session.commit()
    person = sign_in(app.test_client(), "person")
    page = person.get(f"/admin/my/records/{old.id}").get_data(as_text=True)
    assert "修改后重新提交" in page and 'id="copy-button"' in page
    assert "修改后重新提交" in person.get("/admin/my/records/?status=rejected").get_data(as_text=True)
    # Someone else cannot copy it.
    other = sign_in(app.test_client(), "unit")
    assert other.post(f"/admin/my/records/{old.id}/copy", form_url="/admin/").status_code in (403, 404)
    response = person.post(f"/admin/my/records/{old.id}/copy", form_url=f"/admin/my/records/{old.id}")
    assert response.status_code == 302 and "/admin/my/declare/" in response.headers["Location"]
    db.session.expire_all()
    copy = db.session.scalar(select(Declaration).where(Declaration.person_id == zhang.id, Declaration.id != old.id)
                             .order_by(Declaration.id.desc()))
    assert (copy.status, copy.source, copy.subject_kind, copy.fields["content"]) == ("draft", "self", "public",
                                                                                      "继续教育公需课")
    old = db.session.get(Declaration, old.id)
    assert (old.status, old.reject_reason) == ("rejected", "证明材料不清晰")
    # The attachment is a copy of its own: deleting the draft later keeps the rejected record's file.
    assert copy.attachment and copy.attachment != old.attachment and copy.attachment_name == "证明.png"
    assert storage.read(declarations.attachment_key(copy.attachment)) == PNG
    trail = db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "declaration",
                                                              AuditLog.object_id.in_([old.id, copy.id]))).all()
    assert trail.count("copy_rejected") == 2
    # The copy opens in the form, then is submitted like any draft; the history shows both.
    assert person.get(f"/admin/my/declare/{copy.id}/edit").status_code == 200
    page = person.get(f"/admin/my/records/{copy.id}").get_data(as_text=True)
    assert "复制为新申报（修改后重新提交）" in page
    listing = person.get("/admin/my/records/").get_data(as_text=True)
    assert f'data-id="{old.id}"' in listing and f'data-id="{copy.id}"' in listing
    # Only a rejected record can be copied.
    again = person.post(f"/admin/my/records/{copy.id}/copy", form_url=f"/admin/my/records/{copy.id}",
                        follow_redirects=True).get_data(as_text=True)
    assert "只有审核不通过的记录可以复制后重新提交" in again


def test_the_declaration_records_what_the_faq_lists_and_warns_about_extra_hours(app, ctx):
    """FAQ 学时申报需登记哪些内容: 学时、内容、形式、起止时间、考核结果 and the organiser."""
    zhang = person_named("张伟")
    me = sign_in(app.test_client(), "person")
    page = me.get("/admin/my/declare/").get_data(as_text=True)
    for label in ("学习内容", "主办单位", "开始日期", "结束日期", "考核结果"):
        assert f">{label}<" in page or f">{label}<span" in page, label
    assert re.search(r'for="subject_id">科目<span class="text-danger">\*</span>', page)
    assert 'for="content">学习内容<span class="text-danger">*</span>' in page
    before = count_declarations(zhang)
    page = post_declaration(me, conference_form(content="")).get_data(as_text=True)
    assert "请填写学习内容" in page
    page = post_declaration(me, conference_form(end_date="2000-01-01")).get_data(as_text=True)
    assert "结束日期不能早于开始日期" in page
    assert count_declarations(zhang) == before
    # 16 computed, 30 claimed: saved, with a warning the person sees.
    response = post_declaration(me, conference_form(claimed_hours="30"))
    assert response.status_code == 302
    page = me.get(response.headers["Location"]).get_data(as_text=True)
    assert "申报学时 30 高于按标准折算的 16 学时" in page
    record = db.session.scalar(select(Declaration).where(Declaration.person_id == zhang.id)
                               .order_by(Declaration.id.desc()))
    assert record.fields["content"] == "河南省医学会心血管病学分会年会" and record.fields["organiser"] == "河南省医学会"
    assert record.fields["result"] == "合格" and record.fields["start_date"].endswith("-03-01")
    for text in ("河南省医学会", "合格", "主办单位"):
        assert text in page
    # The edit form brings them back.
    edit = me.get(f"/admin/my/declare/{record.id}/edit").get_data(as_text=True)
    assert 'value="河南省医学会"' in edit and 'value="合格"' in edit
