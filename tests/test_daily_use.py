"""Daily use: what a clerk reads on the pages (numbers, Chinese words, no Flask-Admin leftovers)."""

import re

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.formatting import hours_text
from backoffice.models import Declaration

from .conftest import person_named, sign_in

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
