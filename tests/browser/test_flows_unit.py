"""The unit admin's daily flow: approve a batch of records, reset a person's password."""

from sqlalchemy import select

from tests.browser.flow_helpers import body_text, count, db_value


def test_unit_admin_approves_a_batch_and_resets_a_password(page, login, live_server):
    from backoffice.extensions import db
    from backoffice.models import Account, Declaration, Org, Person

    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "unit")
    unit_id = db_value(live_server, lambda: db.session.scalar(select(Org.id).where(Org.name == "郑州市金水区人民医院")))

    def waiting():
        return select(Declaration.id).where(Declaration.current_org_id == unit_id, Declaration.status == "pending",
                                            Declaration.current_level == "unit")

    before = count(live_server, waiting)
    assert before >= 2
    page.goto(live_server.url + "/admin/review/list?year=all")
    boxes = page.locator("#queue-table input[name=rowid]")
    assert boxes.count() == min(before, 20)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#batch-approve")
    page.wait_for_load_state()
    assert "已审核通过 2 条记录" in body_text(page)
    assert count(live_server, waiting) == before - 2
    # The home page counts what is left.
    page.goto(live_server.url + "/admin/")
    assert "待我审核的学时记录" in body_text(page)

    # 重置密码 on 张伟's row: back to the last six digits of the ID number.
    zhang = db_value(live_server, lambda: db.session.scalar(select(Person.id).where(Person.name == "张伟")))
    page.goto(live_server.url + "/admin/persons/?search=张伟")
    assert "批量操作" in body_text(page) and "选中的" not in body_text(page)
    row = page.locator("tr", has=page.locator(f"input[name=rowid][value='{zhang}']"))
    row.locator("button:has-text('重置密码')").click()
    page.wait_for_load_state()
    assert "已重置 1 人的密码为身份证号后六位" in body_text(page)

    def password_is_tail():
        person = db.session.get(Person, zhang)
        account = db.session.get(Account, person.account_id)
        return account.check_password(person.id_number[-6:]) and account.must_change_password

    assert db_value(live_server, password_is_tail)
