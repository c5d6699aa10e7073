"""The professional's daily flow: register, be approved by the unit, declare with an
attachment, follow the trail; and print a certificate of a passed year."""

from datetime import date

from sqlalchemy import select

from tests.browser.flow_helpers import body_text, db_value, demo_page, user_page

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def test_person_registers_is_approved_declares_follows_the_trail_and_prints(
        page, login, live_server, browser, browser_context_args, tmp_path):
    from backoffice.extensions import db
    from backoffice.models import Declaration, Org, Person
    from backoffice.validators import make_id_number

    id_number = make_id_number("410105", date(1991, 5, 17), 731)
    county = db_value(live_server, lambda: db.session.scalar(
        select(Org.id).where(Org.division_code == "410105", Org.kind == "county_hrss")))

    # 1. Registration on the public page.
    page.goto(live_server.url + "/register")
    page.fill("#id_number", id_number)
    page.fill("#password", "Flow2026ok")
    page.fill("#confirm", "Flow2026ok")
    page.fill("#phone", "13912345678")
    page.fill("#email", "flow.person@example.com")
    page.select_option("#region", str(county))
    page.click("#unit-pick")
    page.fill("#unit-q", "人民医院")
    page.click("#unit-search")
    page.locator("#unit-results li", has_text="郑州市金水区人民医院").locator("button").click()
    page.fill("#name", "路新")
    page.select_option("#gender", "male")
    page.fill("#birth_date", "1991-05-17")
    page.select_option("#ethnicity", "汉族")
    page.fill("#school", "郑州大学")
    page.select_option("#major_id", index=1)
    page.select_option("#title_series_id", index=1)
    page.select_option("#title_level", "intermediate")
    page.click("#register-form button[type=submit]")
    page.wait_for_load_state()
    assert "注册信息已经提交审核" in body_text(page), body_text(page)[:800]

    # 2. The unit admin opens 详细 and approves.
    with demo_page(browser, browser_context_args, live_server, "unit") as admin:
        admin.goto(live_server.url + "/admin/person-registrations/")
        admin.locator("tr", has_text=id_number).locator("a.registration-detail").click()
        admin.wait_for_load_state()
        detail = body_text(admin)
        assert "郑州大学" in detail and "汉族" in detail and "路新" in detail
        admin.click("#decide-one button[name=single_approve]")
        admin.wait_for_load_state()
        assert "已审核通过 1 个注册申请" in body_text(admin)

    # 3. The person declares with an attachment and submits.
    attachment = tmp_path / "培训证明.png"
    attachment.write_bytes(PNG)
    year = date.today().year
    with user_page(browser, browser_context_args, live_server, id_number, "person", password="Flow2026ok") as me:
        me.goto(live_server.url + "/admin/my/declare/")
        me.select_option("#subject_kind", "public")
        me.select_option("#form_id", label="培训班")
        me.select_option("#year", str(year))
        first_subject = me.locator("#subject_id option:not([disabled]):not([value=''])").first
        me.select_option("#subject_id", first_subject.get_attribute("value"))
        me.fill("#fields-training_class-hours", "12")
        me.fill("#content", "专业技术人员公需科目培训班")
        me.fill("#organiser", "金水区人力资源和社会保障局")
        me.fill("#start_date", f"{year}-03-02")
        me.fill("#end_date", f"{year}-03-03")
        me.fill("#result", "合格")
        me.locator("#computed-hours").filter(has_text="12").wait_for()
        me.click("#use-computed")
        assert me.input_value("#claimed_hours") == "12"
        me.set_input_files("#attachment", str(attachment))
        me.click("button[name=action][value=submit]")
        me.wait_for_load_state()
        text = body_text(me)
        assert "已提交审核" in text and "待审核" in text
        assert "培训证明.png" in text and "专业技术人员公需科目培训班" in text
        # The trail, in Chinese, with the unit that reviews now.
        progress = me.locator("#review-progress").inner_text()
        assert "郑州市金水区人民医院" in progress and "待审核" in progress
        trail = me.locator("#trail").inner_text()
        assert "保存草稿" in trail and "提交审核" in trail and "submit" not in trail
        record_id = db_value(live_server, lambda: db.session.scalar(
            select(Declaration.id).join(Person, Person.id == Declaration.person_id)
            .where(Person.id_number == id_number)))
        assert record_id is not None
        # Hours print as integers on the progress list.
        me.goto(live_server.url + "/admin/my/records/")
        assert "12.0" not in me.locator("#records-table").inner_text()

    # 4. A person with a passed year prints the certificate (a PDF).
    with demo_page(browser, browser_context_args, live_server, "person") as zhang:
        zhang.goto(live_server.url + "/admin/my/completion/")
        # Printing issues a certificate: a POST of the row's form (CSRF token and all).
        form = zhang.locator("form:has(button:has-text('证书打印'))").first
        assert form.count() == 1, body_text(zhang)[:800]
        action = form.get_attribute("action")
        token = form.locator("input[name=csrf_token]").get_attribute("value")
        response = zhang.request.post(live_server.url + action, form={"csrf_token": token})
        assert response.status == 200 and response.headers["content-type"].startswith("application/pdf")
        assert response.body()[:4] == b"%PDF"
