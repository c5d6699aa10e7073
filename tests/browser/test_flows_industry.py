"""The industry department's daily flow: approve everything one unit sent."""

from sqlalchemy import select

from tests.browser.flow_helpers import body_text, count, db_value


def test_industry_department_approves_all_of_one_unit(page, login, live_server):
    from backoffice.extensions import db
    from backoffice.models import Declaration, Org

    login(page, "industry")
    dept_id = db_value(live_server, lambda: db.session.scalar(select(Org.id).where(Org.name == "金水区卫生健康委员会")))

    def waiting():
        return select(Declaration.id).where(Declaration.current_org_id == dept_id, Declaration.status == "pending",
                                            Declaration.current_level == "industry")

    before = count(live_server, waiting)
    assert before >= 1
    page.goto(live_server.url + "/admin/review/?year=all")
    rows = page.locator("#group-table tbody tr")
    first = rows.first
    unit_name = first.locator("td").first.inner_text().strip()
    n = int(first.locator("td").nth(2).inner_text().replace(",", ""))
    assert n >= 1 and unit_name
    first.locator("a:has-text('全部通过')").click()
    page.wait_for_load_state()
    assert f"共 {n} 条" in body_text(page).replace(",", "")
    page.click("#confirm-button")
    page.wait_for_load_state()
    assert f"已审核通过 {n} 条记录" in body_text(page)
    assert count(live_server, waiting) == before - n
    # The unit is gone from the groups (or has nothing left).
    page.goto(live_server.url + "/admin/review/?year=all")
    assert unit_name not in page.locator("#group-table").inner_text()
