"""The county HRSS's daily flow: approve everything matching a filter, then look at the figures."""

from sqlalchemy import select

from tests.browser.flow_helpers import body_text, count, db_value


def test_county_hrss_approves_all_matching_a_filter_and_opens_the_figures(page, login, live_server):
    from backoffice.extensions import db
    from backoffice.models import Declaration, Membership, Org, Person

    login(page, "county")
    county_id = db_value(live_server, lambda: db.session.scalar(select(Org.id).where(Org.division_code == "410105",
                                                                                      Org.kind == "county_hrss")))

    def waiting(kind=None):
        def stmt():
            s = select(Declaration.id).where(Declaration.current_org_id == county_id,
                                             Declaration.status == "pending", Declaration.current_level == "hrss")
            return s.where(Declaration.subject_kind == kind) if kind else s
        return stmt

    public, professional = count(live_server, waiting("public")), count(live_server, waiting("professional"))
    assert public >= 1
    page.goto(live_server.url + "/admin/review/list")
    page.select_option("#f-year", "all")
    page.select_option("#f-kind", "public")
    page.click("#filter-submit")
    page.wait_for_load_state()
    assert f"共 {public} 条" in page.locator("#queue-count").inner_text().replace(",", "")
    page.click("#all-approve")
    page.wait_for_load_state()
    assert "公需科目" in body_text(page)  # the confirmation repeats the filter
    page.click("#confirm-button")
    page.wait_for_load_state()
    assert f"已审核通过 {public} 条记录" in body_text(page)
    assert count(live_server, waiting("public")) == 0
    assert count(live_server, waiting("professional")) == professional  # outside the filter: untouched
    # The figures: the home page's counts and the certificate page of the county.
    page.goto(live_server.url + "/admin/")
    assert "待我审核的学时记录" in body_text(page) or professional == 0
    page.goto(live_server.url + "/admin/certificates/")
    assert page.url.startswith(live_server.url + "/admin/certificates")
    assert "证书" in body_text(page)
    # 查询统计: the county's completion figures, its persons counted independently.
    persons = count(live_server, lambda: select(Person.id).join(Membership, Membership.id == Person.membership_id)
                    .where(Person.county_id == county_id, Membership.status == "active"))
    page.click("text=查询统计")
    page.click("text=学时达标统计")
    page.wait_for_load_state()
    assert page.url.startswith(live_server.url + "/admin/stats")
    assert page.locator("#sum-persons").inner_text().replace(",", "") == str(persons)
    assert "达标率" in body_text(page) and "金水区人民医院" in page.locator("#stats-table").inner_text()
    page.click("#stats-table a:has-text('金水区人民医院')")  # drill down to the unit
    page.wait_for_load_state()
    assert "金水区人民医院" in page.locator("#stats-trail").inner_text()
