"""The sysadmin's daily flow: edit a yearly standard; a historical one cannot be deleted."""

from sqlalchemy import select

from tests.browser.flow_helpers import body_text, db_value


def test_sysadmin_edits_a_standard(page, login, live_server):
    from backoffice.extensions import db
    from backoffice.models import HourStandard

    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "sysadmin")
    page.goto(live_server.url + "/admin/hour_standards/")
    text = body_text(page)
    assert "年度学时标准" in text and "郑州以外地区" in text and "至今" in text
    open_id = db_value(live_server, lambda: db.session.scalar(
        select(HourStandard.id).where(HourStandard.year_to.is_(None)).order_by(HourStandard.id)))
    page.goto(live_server.url + f"/admin/hour_standards/edit/?id={open_id}")
    page.fill("#note", "按省人社厅通知执行")
    page.fill("#total", "100")  # public + professional do not add up: refused at the field
    page.click("input[type=submit][value='保存'], button[type=submit]:has-text('保存')")
    page.wait_for_load_state()
    assert "须等于总学时 100" in body_text(page)
    original_total = db_value(live_server, lambda: db.session.get(HourStandard, open_id).total)
    page.fill("#total", str(original_total))
    page.click("input[type=submit][value='保存'], button[type=submit]:has-text('保存')")
    page.wait_for_load_state()
    assert "/admin/hour_standards/" in page.url and "按省人社厅通知执行" in body_text(page)
    assert db_value(live_server, lambda: db.session.get(HourStandard, open_id).note) == "按省人社厅通知执行"
    # The 2016–2017 standard judged past years: deleting it is refused with the way to supersede it.
    old_id = db_value(live_server, lambda: db.session.scalar(
        select(HourStandard.id).where(HourStandard.year_from == 2016).order_by(HourStandard.id)))
    row = page.locator(f"tr:has(input[name=rowid][value='{old_id}'])")
    row.locator("form button, form input[type=submit]").last.click()
    page.wait_for_load_state()
    assert "不能删除" in body_text(page)
    assert db_value(live_server, lambda: db.session.get(HourStandard, old_id)) is not None
