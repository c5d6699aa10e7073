"""Exports of the admin lists: every list exports .xlsx and CSV of exactly what it shows.

Each registered model view is exported by an admin who may open it; the .xlsx is opened
with openpyxl and its rows counted against the list's own exact count. The four exports
that used to stop after the header row (records, organisations, admin accounts, system
users) keep their regression tests; an admin of another subtree never receives foreign
rows; above the threshold the export becomes a job whose file only its owner downloads.
"""

import csv
import io
import re
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from backoffice.exports import neutralise
from backoffice.extensions import db
from backoffice.models import Declaration, Person
from backoffice.permissions import ScopedModelView

from .conftest import membership_of

ROLE_KEY = {
    "sysadmin": "sysadmin",
    "hrss_admin": "province",
    "industry_admin": "industry",
    "unit_admin": "unit",
    "institution_admin": "institution",
}


def _model_views(app):
    admin = app.extensions["backoffice_admin"]
    return [v for v in admin._views if isinstance(v, ScopedModelView)]


def _view_cases():
    from backoffice import create_app
    from backoffice.config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    cases = []
    for view in _model_views(app):
        for role in view.roles:
            if role in ROLE_KEY:
                cases.append(pytest.param(view.endpoint, ROLE_KEY[role], id=f"{view.endpoint}-{role}"))
    return cases


def list_count(browser, endpoint, query=""):
    """The list's own exact count (the "列表 (N)" tab of the list page)."""
    sep = "&" if query else ""
    response = browser.get(f"/admin/{endpoint}/?{query}{sep}exact=1")
    assert response.status_code == 200, response.status_code
    match = re.search(r"列表\s*\((\d+)\)", response.get_data(as_text=True))
    return int(match.group(1)) if match else 0


def xlsx_rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = [r for ws in wb.worksheets for r in ws.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def csv_rows(response):
    assert response.status_code == 200
    raw = response.data
    assert raw.startswith("\ufeff".encode()), "CSV must start with a BOM for Excel"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    return rows[0], rows[1:]


@pytest.mark.parametrize(("endpoint", "key"), _view_cases())
def test_every_list_exports_exactly_its_rows(signed_in, endpoint, key):
    browser = signed_in(key)
    count = list_count(browser, endpoint)
    header, rows = xlsx_rows(browser.get(f"/admin/{endpoint}/export/xlsx/"))
    assert len(rows) == count
    assert all(re.search(r"[\u4e00-\u9fff]", str(h)) for h in header), header  # Chinese headers
    c_header, c_rows = csv_rows(browser.get(f"/admin/{endpoint}/export/csv/"))
    assert len(c_rows) == count
    assert c_header == [str(h) for h in header]


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [("records", "province"), ("orgs", "province"), ("memberships", "province"), ("system_users", "sysadmin")],
)
def test_formerly_broken_exports_contain_their_rows(signed_in, endpoint, key):
    """These CSV exports used to stop after the header (a lazy load after the session
    closed): they hold every row of the list, in .xlsx and CSV."""
    browser = signed_in(key)
    count = list_count(browser, endpoint)
    assert count > 0
    _, rows = csv_rows(browser.get(f"/admin/{endpoint}/export/csv/"))
    assert len(rows) == count
    assert all(any(cell for cell in row) for row in rows)
    _, rows = xlsx_rows(browser.get(f"/admin/{endpoint}/export/xlsx/"))
    assert len(rows) == count


def test_export_follows_the_list_filters_and_search(app, signed_in):
    browser = signed_in("province")
    all_count = list_count(browser, "persons")
    query = urlencode({"search": "张伟"})
    count = list_count(browser, "persons", query)
    assert 0 < count < all_count
    _, rows = xlsx_rows(browser.get(f"/admin/persons/export/xlsx/?{query}"))
    assert len(rows) == count
    assert all(r[0] == "张伟" for r in rows)
    # a filter of the records list (状态 = 审核通过)
    q = urlencode({filter_arg(app, "records", "状态"): "approved"})
    n = list_count(browser, "records", q)
    assert 0 < n < list_count(browser, "records")
    _, rows = xlsx_rows(browser.get(f"/admin/records/export/xlsx/?{q}"))
    assert len(rows) == n
    assert {r[9] for r in rows} == {"审核通过"}


def filter_arg(app, endpoint, label, op="FilterEqual"):
    """The URL argument of a list filter (``flt0_<key>``), as the list page builds it."""
    view = next(v for v in _model_views(app) if v.endpoint == endpoint)
    for key, (_idx, flt) in view._filter_args.items():
        if str(flt.name) == label and type(flt).__name__.endswith(op):
            return f"flt0_{key}"
    raise AssertionError(f"{endpoint} has no {op} filter {label}")


@pytest.mark.parametrize(
    ("key", "endpoint", "column", "allowed"),
    [
        ("unit2", "records", 2, {"郑州市第七中学"}),
        ("unit2", "persons", 2, {"郑州市第七中学"}),
        ("county2", "persons", 2, {"郑州市第七中学"}),
        ("luoyang", "persons", 2, {"洛阳市西工区中心医院"}),
        ("luoyang", "records", 2, {"洛阳市西工区中心医院"}),
    ],
)
def test_another_subtree_never_gets_foreign_rows(signed_in, key, endpoint, column, allowed):
    browser = signed_in(key)
    _, rows = xlsx_rows(browser.get(f"/admin/{endpoint}/export/xlsx/"))
    assert rows and {r[column] for r in rows} <= allowed
    _, rows = csv_rows(browser.get(f"/admin/{endpoint}/export/csv/"))
    assert {r[column] for r in rows} <= allowed


def test_a_role_without_the_list_cannot_export_it(signed_in):
    browser = signed_in("unit")
    assert browser.get("/admin/system_users/export/xlsx/").status_code == 403
    assert browser.get("/admin/records/export/pdf/").status_code == 404


def test_formula_cells_are_neutralised(signed_in, ctx):
    person = db.session.scalar(select(Person).where(Person.name == "张伟"))
    db.session.execute(update(Person).where(Person.id == person.id).values(phone="=HYPERLINK(\"x\")"))
    db.session.commit()
    browser = signed_in("unit")
    header, rows = xlsx_rows(browser.get("/admin/persons/export/xlsx/?" + urlencode({"search": person.id_number})))
    phone = header.index("手机号码")
    assert rows[0][phone] == "'=HYPERLINK(\"x\")"
    _, rows = csv_rows(browser.get("/admin/persons/export/csv/?" + urlencode({"search": person.id_number})))
    assert rows[0][phone] == "'=HYPERLINK(\"x\")"


def test_neutralise():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    assert neutralise(-1) == -1
    assert neutralise("张三") == "张三"
    assert neutralise(None) == ""


# --------------------------------------------------------------------------- large exports
@pytest.fixture
def small_threshold(app, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 1)
    return 1


def test_above_the_threshold_the_export_is_a_job_without_a_cap(signed_in, small_threshold, client):
    browser = signed_in("province")
    count = list_count(browser, "records")
    assert count > small_threshold
    response = browser.get("/admin/records/export/xlsx/")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    page = browser.get(job_url).get_data(as_text=True)
    assert "已完成" in page and "不会截断" in page
    download = re.search(r'id="export-download" href="([^"]+)"', page).group(1)
    _, rows = xlsx_rows(browser.get(download))
    assert len(rows) == count
    # CSV the same way
    response = browser.get("/admin/records/export/csv/")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    _, rows = csv_rows(browser.get(re.search(r'id="export-download" href="([^"]+)"', page).group(1)))
    assert len(rows) == count
    # the owner's list of jobs shows both
    assert browser.get("/admin/export_jobs/").get_data(as_text=True).count("下载") >= 2
    # another admin (even of a wider scope) gets 404 for the job and its file
    for key in ("county", "sysadmin", "city"):
        other = signed_in(key)
        assert other.get(job_url).status_code == 404
        assert other.get(download).status_code == 404
    assert signed_in("province").get("/admin/export_jobs/999999999").status_code == 404
    assert browser.get("/admin/export_jobs/not-a-job").status_code == 404


def test_a_job_applies_the_scope_of_who_asked(signed_in, small_threshold, ctx):
    browser = signed_in("unit")
    unit = membership_of("unit").org
    # A person's unsubmitted draft is the person's own: the unit neither lists nor exports it.
    mine = db.session.scalar(select(db.func.count()).select_from(Declaration).where(
        Declaration.unit_id == unit.id, ~((Declaration.status == "draft") & (Declaration.source == "self"))))
    response = browser.get("/admin/records/export/xlsx/")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    _, rows = xlsx_rows(browser.get(re.search(r'id="export-download" href="([^"]+)"', page).group(1)))
    assert len(rows) == mine
    assert {r[2] for r in rows} == {unit.name}


# --------------------------------------------------------------------------- the review queue export
def _queue_count(browser, query):
    page = browser.get(f"/admin/review/list?{query}&exact=1").get_data(as_text=True)
    return int(re.search(r'id="queue-count">\s*共 ([\d,]+) 条', page).group(1).replace(",", ""))


@pytest.mark.parametrize("key", ["unit", "industry", "county", "city", "province"])
def test_review_queue_export_holds_the_whole_queue(signed_in, key):
    browser = signed_in(key)
    count = _queue_count(browser, "year=all")
    _, rows = xlsx_rows(browser.get("/admin/review/export?year=all&type=xlsx"))
    assert len(rows) == count
    _, rows = csv_rows(browser.get("/admin/review/export?year=all&type=csv"))
    assert len(rows) == count


@pytest.mark.parametrize("key", ["unit", "industry", "county"])
def test_grouped_review_pages_export_the_pending_records_they_group(signed_in, key):
    """学时审核's first page (declaring organisations) and an organisation's persons page
    link the queue's export under their own filter: every pending record of the queue,
    then only that organisation's."""
    from html import unescape

    browser = signed_in(key)
    page = browser.get("/admin/review/?year=all").get_data(as_text=True)
    href = unescape(re.search(r'id="group-export-xlsx" href="([^"]+)"', page).group(1))
    groups = re.findall(r'<td class="text-right">([\d,]+)</td>', page)
    assert groups, "the queue has declaring organisations"
    _, rows = xlsx_rows(browser.get(href))
    assert len(rows) == _queue_count(browser, "year=all") == sum(int(n.replace(",", "")) for n in groups)
    org_link = unescape(re.search(r'href="(/admin/review/org/\d+[^"]*)"', page).group(1))
    org_page = browser.get(org_link).get_data(as_text=True)
    org_id = re.search(r"/admin/review/org/(\d+)", org_link).group(1)
    href = unescape(re.search(r'id="persons-export-csv" href="([^"]+)"', org_page).group(1))
    assert f"declarer={org_id}" in href
    _, rows = csv_rows(browser.get(href))
    assert len(rows) == _queue_count(browser, f"year=all&declarer={org_id}") > 0


def test_review_queue_export_is_a_job_above_the_threshold_not_a_cap(signed_in, small_threshold, ctx):
    browser = signed_in("unit")
    count = _queue_count(browser, "year=all")
    assert count > small_threshold
    response = browser.get("/admin/review/export?year=all&type=xlsx")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    download = re.search(r'id="export-download" href="([^"]+)"', page).group(1)
    _, rows = xlsx_rows(browser.get(download))
    assert len(rows) == count
    assert signed_in("unit2").get(download).status_code == 404
    assert signed_in("county2").get("/admin/review/export?year=all&type=pdf").status_code == 404


def test_a_job_of_a_disabled_owner_fails_without_a_file(ctx):
    """The worker re-checks the owner: a membership disabled after submitting gets nothing."""
    from backoffice import export_jobs, jobs
    from backoffice.models import Job

    owner = membership_of("unit")
    job = Job(kind=export_jobs.KIND, params={"endpoint": "records", "title": "继续教育记录", "export_type": "xlsx",
                                             "path": "/admin/records/export/xlsx/", "query": "",
                                             "filename": "records.xlsx"},
              owner_membership_id=owner.id, org_id=owner.org_id, state="queued")
    db.session.add(job)
    owner.status = "disabled"
    db.session.commit()
    from flask import current_app

    jobs.execute(current_app._get_current_object(), job.id)
    db.session.refresh(job)
    assert job.state == "failed" and job.result_key is None


# --------------------------------------------------------------------------- the SQL fast path
def _rows_both_ways(app, endpoint, key, query=""):
    from flask_login import login_user

    view = next(v for v in _model_views(app) if v.endpoint == endpoint)
    with app.test_request_context(f"/admin/{endpoint}/export/xlsx/?{query}"):
        login_user(membership_of(key))
        plan = view._export_plan()
        orm = [list(r) for r in view._export_rows_orm()]
        sql = [list(r) for r in view._export_rows_sql(*plan)] if plan is not None else None
    return orm, sql


@pytest.mark.parametrize(("endpoint", "key"), _view_cases())
def test_sql_rows_equal_the_orm_rows(app, ctx, endpoint, key):
    """Lists read as SQL rows export exactly what the ORM path (the list's own
    formatters on model objects) gives, row for row and in the same order."""
    orm, sql = _rows_both_ways(app, endpoint, key)
    if sql is None:
        pytest.skip("this list is exported through the ORM")
    norm = lambda rows: [[neutralise(v) for v in r] for r in rows]  # noqa: E731
    assert norm(sql) == norm(orm)


def test_the_big_lists_take_the_sql_path(app, ctx):
    for endpoint in ("records", "persons", "memberships"):
        view = next(v for v in _model_views(app) if v.endpoint == endpoint)
        with app.test_request_context(f"/admin/{endpoint}/"):
            assert view._export_plan() is not None, endpoint


def test_sql_labels_match_the_models_own_text(ctx):
    from backoffice.views._export import SQL_LABELS

    for name, label in SQL_LABELS.items():
        model = db.Model.registry._class_registry[name]
        rows = db.session.execute(select(model, label(model)).limit(50)).all()
        for obj, text in rows:
            assert str(obj) == text, name


def test_the_xlsx_writer_continues_on_further_sheets_and_keeps_types(monkeypatch):
    from decimal import Decimal

    from backoffice import exports

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 4)  # header + 3 rows per sheet
    rows = [[i, f"名{i}", Decimal("1.5"), "=cmd", "a<b&c\x01", None] for i in range(8)]
    out = io.BytesIO()
    assert exports.write_xlsx(out, ["编号", "姓名", "学时", "公式", "文本", "空"], rows) == 8
    wb = load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    assert len(wb.worksheets) == 3
    got = []
    for ws in wb.worksheets:
        sheet = list(ws.iter_rows(values_only=True))
        assert sheet[0] == ("编号", "姓名", "学时", "公式", "文本", "空")
        got += sheet[1:]
    assert [r[0] for r in got] == list(range(8))
    assert got[0][1:5] == ("名0", 1.5, "'=cmd", "a<b&c")
    assert got[0][5] is None
    empty = io.BytesIO()
    exports.write_xlsx(empty, ["编号"], [])
    assert list(load_workbook(io.BytesIO(empty.getvalue()), read_only=True).active.iter_rows(values_only=True)) == [
        ("编号",)]
