"""Certificates: the person prints a passed year, the QR code verifies it, a changed
year revokes it, merged printing, admin printing of a filtered list, and scope."""

import io
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, insert, select

from backoffice import certificates, pdf
from backoffice.extensions import db
from backoffice.models import (
    Account,
    Certificate,
    CertificateJob,
    Declaration,
    Job,
    LearningForm,
    Membership,
    Person,
    YearResult,
)
from tests.conftest import Browser, membership_of, org, person_named, sign_in

YEAR = date.today().year
PASSED = YEAR - 1  # 张伟 has 30 + 60 approved hours in each of the two previous years


@pytest.fixture(autouse=True)
def _generous_query_limit(app):
    saved = app.config.get("CERTIFICATE_QUERY_RATE_LIMIT")
    app.config["CERTIFICATE_QUERY_RATE_LIMIT"] = "10000/minute"
    yield
    if saved is None:
        app.config.pop("CERTIFICATE_QUERY_RATE_LIMIT", None)
    else:
        app.config["CERTIFICATE_QUERY_RATE_LIMIT"] = saved


def read_pdf(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def text_of(reader):
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text):
    """The text without spaces and line breaks (a figure may wrap: 共计10 / 0学时)."""
    return "".join(text.split())


def fonts_of(page):
    return [f.get_object() for f in page["/Resources"]["/Font"].values()]


def numbers_in(text):
    return sorted(set(re.findall(r"JXJY-\d{4}-\d{6}", text)))


def qr_urls(page):
    zxingcpp = pytest.importorskip("zxingcpp")
    squares = [im.image for im in page.images if im.image.width == im.image.height and im.image.mode != "RGBA"]
    found = []
    for img in squares:
        img = img.convert("L")
        padded = Image.new("L", (img.width + 40, img.height + 40), 255)
        padded.paste(img, (20, 20))
        found += [r.text for r in zxingcpp.read_barcodes(padded)]
    return found


def local(url):
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


# --------------------------------------------------------------------------- the person
def test_person_prints_a_passed_year(app, ctx, tmp_path):
    browser = sign_in(app.test_client(), "person")
    reader = read_pdf(browser.get(f"/certificates/my/{PASSED}.pdf"))
    assert len(reader.pages) == 1
    text = text_of(reader)
    assert "张伟" in text
    assert "公需科目30学时" in flat(text) and "专业科目60学时" in flat(text) and "共计90学时" in flat(text)
    assert str(PASSED) in text
    assert "410105" in text and "*" in text  # ID number partly masked
    [number] = numbers_in(text)
    assert number.startswith(f"JXJY-{PASSED}-")
    for font in fonts_of(reader.pages[0]):
        assert "/FontFile2" in font["/FontDescriptor"].get_object()  # embedded TrueType
        assert font["/BaseFont"].endswith("NotoSerifSC-Subset")

    # the certificate is fixed: printing again shows the same one
    again = text_of(read_pdf(browser.get(f"/certificates/my/{PASSED}.pdf")))
    assert numbers_in(again) == [number]
    zhang = person_named("张伟")
    certs = db.session.scalars(select(Certificate).where(Certificate.person_id == zhang.id)).all()
    assert [c.number for c in certs] == [number]
    assert certs[0].status == "valid" and certs[0].total_hours == Decimal("90")
    frozen = db.session.scalar(select(YearResult).where(YearResult.id == certs[0].year_result_ids[0]))
    assert frozen.year == PASSED and frozen.status == "valid"

    # pdftoppm renders it (the PNG is looked at by hand, see the report)
    if shutil.which("pdftoppm"):
        target = tmp_path / "page"
        (tmp_path / "c.pdf").write_bytes(browser.get(f"/certificates/my/{PASSED}.pdf").data)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "c.pdf"), str(target)],
                       check=True)
        png = next(tmp_path.glob("page*.png"))
        assert Image.open(png).size[0] > Image.open(png).size[1]  # landscape


def test_rare_characters_of_a_name_print(app, ctx):
    zhang = person_named("张伟")
    zhang.name = "朱镕喆堃玥"
    db.session.commit()
    assert pdf.missing_glyphs(zhang.name) == set()
    browser = sign_in(app.test_client(), "person")
    text = text_of(read_pdf(browser.get(f"/certificates/my/{PASSED}.pdf")))
    assert "朱镕喆堃玥" in text


def test_qr_code_leads_to_the_query_page_that_confirms(app, ctx):
    browser = sign_in(app.test_client(), "person")
    reader = read_pdf(browser.get(f"/certificates/my/{PASSED}.pdf"))
    cert = db.session.scalar(select(Certificate).where(Certificate.person_id == person_named("张伟").id))
    [url] = qr_urls(reader.pages[0])
    assert url.endswith(f"/certificates/query?number={cert.number}&code={cert.verify_code}")
    assert cert.verify_code in text_of(reader)

    page = app.test_client().get(local(url)).get_data(as_text=True)  # anonymous visitor
    assert "有效" in page and "已作废" not in page
    assert "张*" in page and "张伟" not in page
    assert "郑州市金水区人民医院" not in page
    assert "郑州市金水区****" in page


def test_query_by_number_and_by_person(app, ctx):
    zhang = person_named("张伟")
    cert = certificates.issue(zhang, PASSED)
    db.session.commit()
    anonymous = Browser(app.test_client())
    page = anonymous.post("/certificates/query", {"mode": "number", "number": cert.number,
                                                  "code": cert.verify_code.lower()}).get_data(as_text=True)
    assert 'id="result-state">有效' in page
    page = anonymous.post("/certificates/query", {"mode": "number", "number": cert.number,
                                                  "code": "AAAA-BBBB"}).get_data(as_text=True)
    assert 'id="result-state">未查到' in page and "张*" not in page
    page = anonymous.post("/certificates/query", {"mode": "person", "name": "张伟", "id_number": zhang.id_number,
                                                  "year": str(PASSED)}).get_data(as_text=True)
    assert 'id="result-state">有效' in page and cert.number in page
    page = anonymous.post("/certificates/query", {"mode": "person", "name": "张伟", "id_number": zhang.id_number,
                                                  "year": str(YEAR)}).get_data(as_text=True)
    assert 'id="result-state">未查到' in page
    page = anonymous.post("/certificates/query", {"mode": "person", "name": "", "id_number": "12",
                                                  "year": "abc"}).get_data(as_text=True)
    assert "请输入姓名" in page and "身份证号应为 15 或 18 位" in page and "result-state" not in page


def test_a_changed_year_revokes_the_certificate(app, ctx):
    browser = sign_in(app.test_client(), "person")
    read_pdf(browser.get(f"/certificates/my/{PASSED}.pdf"))
    zhang = person_named("张伟")
    old = db.session.scalar(select(Certificate).where(Certificate.person_id == zhang.id))
    old_url = f"/certificates/query?number={old.number}&code={old.verify_code}"

    # a reviewer sends back the 60 professional hours … and 70 are approved instead
    record = db.session.scalar(select(Declaration).where(
        Declaration.person_id == zhang.id, Declaration.year == PASSED, Declaration.subject_kind == "professional"))
    record.claimed_hours = Decimal("70")
    db.session.commit()

    page = app.test_client().get(old_url).get_data(as_text=True)
    assert "已作废" in page and 'id="result-state">有效' not in page
    db.session.expire_all()
    assert db.session.get(Certificate, old.id).status == "revoked"

    text = text_of(read_pdf(browser.get(f"/certificates/my/{PASSED}.pdf")))
    [number] = numbers_in(text)
    assert number != old.number, text
    assert "专业科目70学时" in flat(text) and "共计100学时" in flat(text)
    new = db.session.scalar(select(Certificate).where(Certificate.number == number))
    assert "有效" in app.test_client().get(
        f"/certificates/query?number={new.number}&code={new.verify_code}").get_data(as_text=True)
    assert "已作废" in app.test_client().get(old_url).get_data(as_text=True)


def test_hours_falling_below_the_standard_revoke_without_reissue(app, ctx):
    zhang = person_named("张伟")
    cert = certificates.issue(zhang, PASSED)
    db.session.commit()
    record = db.session.scalar(select(Declaration).where(
        Declaration.person_id == zhang.id, Declaration.year == PASSED, Declaration.subject_kind == "public"))
    record.status = "draft"  # sent back
    db.session.commit()
    browser = sign_in(app.test_client(), "person")
    response = browser.get(f"/certificates/my/{PASSED}.pdf")
    assert response.status_code == 404
    assert "未认定通过" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Certificate, cert.id).status == "revoked"
    assert "已作废" in app.test_client().get(
        f"/certificates/query?number={cert.number}&code={cert.verify_code}").get_data(as_text=True)


def test_a_later_standards_edit_never_changes_an_issued_certificate(app, ctx):
    from backoffice.models import HourStandard

    zhang = person_named("张伟")
    cert = certificates.issue(zhang, PASSED)
    db.session.commit()
    for row in db.session.scalars(select(HourStandard)):
        row.public, row.professional, row.total = 50, 100, 150
    db.session.commit()
    again = certificates.issue(zhang, PASSED)
    assert again.id == cert.id and certificates.current_status(again) == "valid"


def test_year_not_passed_is_refused(app, ctx):
    browser = sign_in(app.test_client(), "person")
    response = browser.get(f"/certificates/my/{YEAR}.pdf")
    assert response.status_code == 404
    assert f"{YEAR} 年度未认定通过，不能打印证书" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_merged_printing(app, ctx):
    browser = sign_in(app.test_client(), "person")
    reader = read_pdf(browser.get(f"/certificates/my/merged.pdf?start={YEAR - 2}&end={YEAR - 1}"))
    assert len(reader.pages) == 1
    text = text_of(reader)
    assert f"{YEAR - 2}" in text and f"{YEAR - 1}" in text and "共计180学时" in flat(text)

    # the current year has not passed: the server refuses the range
    response = browser.get(f"/certificates/my/merged.pdf?start={YEAR - 2}&end={YEAR}")
    assert response.status_code == 404
    assert f"{YEAR} 年度未认定通过" in response.get_data(as_text=True)
    response = browser.get(f"/certificates/my/merged.pdf?start={YEAR}&end={YEAR - 2}")
    assert response.status_code == 400 and "截止年度不能早于起始年度" in response.get_data(as_text=True)
    ranges = db.session.execute(select(Certificate.year_from, Certificate.year_to)).all()
    assert ranges == [(YEAR - 2, YEAR - 1)]


def test_completion_page_links_to_printing(app, ctx):
    browser = sign_in(app.test_client(), "person")
    page = browser.get("/admin/my/completion/").get_data(as_text=True)
    assert f"/certificates/my/{PASSED}.pdf" in page
    assert "/certificates/my/merged.pdf" in page


def test_admins_cannot_use_the_person_endpoints(app, ctx):
    browser = sign_in(app.test_client(), "unit")
    assert browser.get(f"/certificates/my/{PASSED}.pdf").status_code == 403


def test_query_is_rate_limited(app, ctx):
    app.config["CERTIFICATE_QUERY_RATE_LIMIT"] = "2/minute"
    client = app.test_client()
    codes = [client.get("/certificates/query?number=JXJY-2024-000001&code=AAAA-BBBB").status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/certificates/query").status_code == 200  # the empty form is not counted


def test_numbers_are_sequential_and_unique(app, ctx):
    values = [certificates.next_sequence(1999) for _ in range(3)]
    assert values == [values[0], values[0] + 1, values[0] + 2]
    assert certificates.format_number(2024, 7) == "JXJY-2024-000007"


# --------------------------------------------------------------------------- admins
def make_passed_persons(n, unit, year, prefix="测试"):
    """``n`` persons of ``unit`` with 30 + 60 approved hours in ``year`` (bulk inserts)."""
    base = 9000000 + db.session.scalar(select(func.count()).select_from(Account))
    accounts = [{"id_number": f"4101051980{base + i:08d}", "name": f"{prefix}{i:03d}", "password_hash": "x",
                 "must_change_password": False} for i in range(n)]
    db.session.execute(insert(Account), accounts)
    account_ids = dict(db.session.execute(
        select(Account.id_number, Account.id).where(Account.id_number.in_([a["id_number"] for a in accounts]))).all())
    memberships = [{"account_id": account_ids[a["id_number"]], "role": "person", "org_id": unit.id,
                    "status": "active", "is_super": False} for a in accounts]
    db.session.execute(insert(Membership), memberships)
    membership_ids = dict(db.session.execute(
        select(Membership.account_id, Membership.id).where(Membership.account_id.in_(account_ids.values()))).all())
    persons = [{"membership_id": membership_ids[account_ids[a["id_number"]]], "account_id": account_ids[a["id_number"]],
                "id_number": a["id_number"], "name": a["name"], "unit_id": unit.id, "county_id": unit.county_id,
                "city_id": unit.city_id, "competent_dept_id": unit.competent_dept_id, "title_level": "intermediate"}
               for a in accounts]
    db.session.execute(insert(Person), persons)
    person_ids = db.session.scalars(select(Person.id).where(Person.account_id.in_(account_ids.values()))).all()
    form_id = db.session.scalar(select(LearningForm.id).order_by(LearningForm.id))
    records = []
    for pid in person_ids:
        for kind, h in (("public", 30), ("professional", 60)):
            records.append({"person_id": pid, "unit_id": unit.id, "county_id": unit.county_id,
                            "city_id": unit.city_id, "competent_dept_id": unit.competent_dept_id, "year": year,
                            "subject_kind": kind, "form_id": form_id, "fields": {}, "claimed_hours": Decimal(h),
                            "status": "approved", "source": "unit", "version": 1})
    db.session.execute(insert(Declaration), records)
    db.session.commit()
    return person_ids


def test_unit_admin_prints_a_filtered_list_of_100_as_one_pdf(app, ctx):
    hospital = org("郑州市金水区人民医院")
    ids = make_passed_persons(100, hospital, PASSED)
    browser = sign_in(app.test_client(), "unit")
    page = browser.get(f"/admin/certificates/?year={PASSED}&name=测试").get_data(as_text=True)
    assert 'id="total-count">100<' in page
    assert "张伟" not in page
    page = browser.get(f"/admin/certificates/?year={PASSED}").get_data(as_text=True)
    assert 'id="total-count">101<' in page  # and 张伟

    reader = read_pdf(browser.post("/admin/certificates/print", {"year": str(PASSED), "name": "测试", "all": "1"},
                                   form_url="/admin/certificates/"))
    assert len(reader.pages) == 100
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    assert "测试000" in first and "测试099" in last
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.person_id.in_(ids), Certificate.status == "valid")) == 100


def test_unit_admin_prints_selected_and_one(app, ctx):
    zhang = person_named("张伟")
    browser = sign_in(app.test_client(), "unit")
    reader = read_pdf(browser.post("/admin/certificates/print",
                                   {"year": str(PASSED), "ids": [str(zhang.id)], "all": "0"},
                                   form_url="/admin/certificates/"))
    assert len(reader.pages) == 1 and "张伟" in reader.pages[0].extract_text()
    reader = read_pdf(browser.get(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf"))
    assert "张伟" in reader.pages[0].extract_text()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1  # the same certificate
    # a year that did not pass: refused with a message, no PDF
    response = browser.get(f"/admin/certificates/print/{zhang.id}/{YEAR}.pdf", follow_redirects=True)
    assert response.mimetype == "text/html" and "未认定通过" in response.get_data(as_text=True)


@pytest.mark.parametrize("key", ["unit2", "county2", "luoyang"])
def test_admins_of_another_subtree_cannot_print(app, ctx, key):
    zhang = person_named("张伟")
    browser = sign_in(app.test_client(), key)
    page = browser.get(f"/admin/certificates/?year={PASSED}").get_data(as_text=True)
    assert "张伟" not in page
    assert browser.get(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf").status_code == 404
    response = browser.post("/admin/certificates/print", {"year": str(PASSED), "ids": [str(zhang.id)], "all": "0"},
                            form_url="/admin/certificates/")
    assert response.status_code == 302 and response.mimetype != "application/pdf"
    response = browser.post("/admin/certificates/print", {"year": str(PASSED), "name": "张伟", "all": "1"},
                            form_url="/admin/certificates/")
    assert response.mimetype != "application/pdf"
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_the_persons_own_unit_and_county_admins_may_print(app, ctx):
    zhang = person_named("张伟")
    for key in ("county", "city"):
        browser = sign_in(app.test_client(), key)
        assert "张伟" in read_pdf(browser.get(f"/admin/certificates/print/{zhang.id}/{PASSED}.pdf")).pages[0] \
            .extract_text()


def test_a_large_order_becomes_a_job_with_a_scoped_download(app, ctx):
    hospital = org("郑州市金水区人民医院")
    make_passed_persons(5, hospital, PASSED)
    app.config["CERTIFICATE_JOB_THRESHOLD"] = 3
    try:
        browser = sign_in(app.test_client(), "unit")
        response = browser.post("/admin/certificates/print", {"year": str(PASSED), "name": "测试", "all": "1"},
                                form_url="/admin/certificates/")
    finally:
        app.config.pop("CERTIFICATE_JOB_THRESHOLD")
    assert response.status_code == 302
    job = db.session.scalar(select(CertificateJob).order_by(CertificateJob.id.desc()))
    assert response.headers["Location"].endswith(f"/admin/certificates/jobs/{job.id}")
    assert job.status == "done" and job.total == 5 and job.pages == 5
    page = browser.get(f"/admin/certificates/jobs/{job.id}").get_data(as_text=True)
    assert "已完成" in page and "下载 PDF（5 页）" in page
    assert str(job.id) in browser.get("/admin/certificates/jobs/").get_data(as_text=True)
    reader = read_pdf(browser.get(f"/admin/certificates/jobs/{job.id}/download"))
    assert len(reader.pages) == 5

    for key in ("unit2", "county2"):
        other = sign_in(app.test_client(), key)
        assert other.get(f"/admin/certificates/jobs/{job.id}/download").status_code == 404
        assert other.get(f"/admin/certificates/jobs/{job.id}").status_code == 404
        assert f"jobs/{job.id}" not in other.get("/admin/certificates/jobs/").get_data(as_text=True)


def test_a_job_rechecks_scope_itself(app, ctx):
    """A job queued with ids outside the creator's scope prints none of them."""
    from backoffice import certificate_jobs

    zhang = person_named("张伟")
    other_admin = membership_of("unit2")
    job = CertificateJob(membership_id=other_admin.id, org_id=other_admin.org_id, year=PASSED,
                         params={"person_ids": [zhang.id], "verify_url_base": "http://localhost/certificates/query"},
                         status="queued", total=1)
    certificate_jobs.submit(job, other_admin)
    db.session.commit()  # runs the job (in-process in tests)
    db.session.expire_all()
    job = db.session.get(CertificateJob, job.id)
    assert job.status == "failed" and job.file_name is None
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_persons_and_people_without_the_role_cannot_open_admin_printing(app, ctx):
    browser = sign_in(app.test_client(), "person")
    assert browser.get("/admin/certificates/").status_code == 403
    browser = sign_in(app.test_client(), "institution")
    assert browser.get("/admin/certificates/").status_code == 403


def test_bad_year_in_the_admin_list_is_a_message(app, ctx):
    browser = sign_in(app.test_client(), "unit")
    page = browser.get("/admin/certificates/?year=abc").get_data(as_text=True)
    assert "年度须为" in page


# --------------------------------------------------------------------------- real commits
def _cleanup(person_id, years=(PASSED,)):
    from backoffice.models import AuditLog, CertificateSequence

    cert_ids = db.session.scalars(select(Certificate.id).where(Certificate.person_id == person_id)).all()
    result_ids = db.session.scalars(select(YearResult.id).where(YearResult.person_id == person_id)).all()
    db.session.execute(AuditLog.__table__.delete().where(
        ((AuditLog.object_type == "certificate") & AuditLog.object_id.in_(cert_ids or [0]))
        | ((AuditLog.object_type == "year_result") & AuditLog.object_id.in_(result_ids or [0]))))
    db.session.execute(Certificate.__table__.delete().where(Certificate.person_id == person_id))
    db.session.execute(YearResult.__table__.delete().where(YearResult.person_id == person_id))
    db.session.execute(CertificateJob.__table__.delete())
    db.session.execute(Job.__table__.delete().where(Job.kind == "certificate_print"))
    db.session.execute(CertificateSequence.__table__.delete().where(CertificateSequence.year.in_(list(years) + [3000])))
    db.session.commit()


@pytest.mark.real_commits
def test_concurrent_issuers_get_distinct_numbers_and_one_certificate(app):
    """Two sessions at once: numbers never collide, the same certificate is issued once."""
    import threading

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrency is checked on PostgreSQL")
        zhang_id = person_named("张伟").id
    numbers, issued, errors = [], [], []
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                for _ in range(20):
                    numbers.append(certificates.next_sequence(3000))
                    db.session.commit()
                person = db.session.get(Person, zhang_id)
                cert = certificates.issue(person, PASSED)
                db.session.commit()
                issued.append(cert.number)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert sorted(numbers) == list(range(1, 41))
        assert len(issued) == 2 and issued[0] == issued[1]
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Certificate).where(
                Certificate.person_id == zhang_id)) == 1
    finally:
        with app.app_context():
            _cleanup(zhang_id)


@pytest.mark.real_commits
def test_a_job_runs_in_a_worker_and_the_admin_comes_back(app):
    """Jobs run on the queue's worker threads, not in the request; the page polls."""
    import time

    from backoffice.jobs import queue_of

    with app.app_context():
        zhang_id = person_named("张伟").id
    saved = {k: app.config.get(k) for k in ("CERTIFICATE_JOB_THRESHOLD",)}
    app.config.update(CERTIFICATE_JOB_THRESHOLD=0)
    queue = queue_of(app)
    queue.huey.immediate = False  # an in-memory queue served by real consumer threads
    consumer, stop = queue.start_embedded(workers=1)
    try:
        with app.app_context():
            browser = sign_in(app.test_client(), "unit")
            response = browser.post("/admin/certificates/print",
                                    {"year": str(PASSED), "ids": [str(zhang_id)], "all": "0"},
                                    form_url="/admin/certificates/")
            assert response.status_code == 302
            job_url = urlsplit(response.headers["Location"]).path
            for _ in range(120):
                db.session.remove()  # a real server starts each request with a fresh session
                page = browser.get(job_url).get_data(as_text=True)
                if 'data-status="done"' in page or 'data-status="failed"' in page:
                    break
                time.sleep(0.5)
            assert 'data-status="done"' in page, page[-1500:]
            reader = read_pdf(browser.get(job_url + "/download"))
            assert len(reader.pages) == 1 and "张伟" in reader.pages[0].extract_text()
    finally:
        stop.set()
        consumer.stop(graceful=True)
        queue.huey.immediate = True
        for k, v in saved.items():
            if v is None:
                app.config.pop(k, None)
            else:
                app.config[k] = v
        with app.app_context():
            _cleanup(zhang_id)


def test_admin_list_shows_the_issued_number_and_an_interrupted_job_says_so(app, ctx):
    from datetime import timedelta

    from backoffice.models import now

    zhang = person_named("张伟")
    cert = certificates.issue(zhang, PASSED)
    unit_admin = membership_of("unit")
    job = CertificateJob(membership_id=unit_admin.id, org_id=unit_admin.org_id, year=PASSED, params={},
                         status="running", total=500, done=100, updated_at=now() - timedelta(hours=1))
    db.session.add(job)
    db.session.commit()
    browser = sign_in(app.test_client(), "unit")
    assert "生成中的证书打印任务" in browser.get("/admin/").get_data(as_text=True)
    page = browser.get(f"/admin/certificates/?year={PASSED}").get_data(as_text=True)
    assert cert.number in page
    page = browser.get(f"/admin/certificates/jobs/{job.id}").get_data(as_text=True)
    assert "任务已中断" in page and 'data-status="failed"' in page
    assert "生成中的证书打印任务" not in browser.get("/admin/").get_data(as_text=True)


def test_figures_are_not_split_across_lines():
    """The CJK line breaker keeps 120 or 410105****0258 on one line."""
    base = dict(pdf.SAMPLE_CERT, public_hours=60, professional_hours=120, total_hours=180, years="2024—2025")
    certs = [dict(base, name=name, unit_name="郑州市金水区人民医院" + "附" * k)
             for name in ("张伟", "朱镕喆堃玥") for k in range(12)]  # the old breaker split 2 of these
    reader = PdfReader(io.BytesIO(pdf.render_certificates(certs, verify_url_base="https://example.org/q")))
    for page in reader.pages:
        text = page.extract_text()
        assert not re.search(r"[0-9*]\n\s*[0-9*]", text), text
        assert "120学时" in flat(text) and "共计180学时" in flat(text)


def test_markup_in_a_unit_name_prints_as_text(app, ctx):
    hospital = org("郑州市金水区人民医院")
    hospital.name = '<img src="file:///etc/passwd">'
    db.session.commit()
    browser = sign_in(app.test_client(), "person")
    reader = read_pdf(browser.get(f"/certificates/my/{PASSED}.pdf"))
    assert "file:///etc/passwd" in flat(reader.pages[0].extract_text())
    assert "root:" not in reader.pages[0].extract_text()
    page = app.test_client().get(
        "/certificates/query?number={0.number}&code={0.verify_code}".format(
            db.session.scalar(select(Certificate)))).get_data(as_text=True)
    assert "<img src" not in page and "有效" in page


def test_province_and_city_lists_ask_for_a_unit_or_name_first(app, ctx):
    """A province or city holds too many persons to sum their hours for one page."""
    last = YEAR - 1
    for key in ("province", "city"):
        browser = sign_in(app.test_client(), key)
        page = browser.get(f"/admin/certificates/?year={last}").get_data(as_text=True)
        assert 'id="narrow-first"' in page and "张伟" not in page
        refused = browser.post("/admin/certificates/print", {"year": str(last), "all": "1"},
                               form_url=f"/admin/certificates/?year={last}", follow_redirects=True)
        assert "请先按单位或姓名筛选" in refused.get_data(as_text=True)
        assert refused.mimetype == "text/html"
        page = browser.get(f"/admin/certificates/?year={last}&unit=金水区人民医院").get_data(as_text=True)
        assert "张伟" in page and 'id="narrow-first"' not in page
    # A county (and a unit) lists straight away.
    page = sign_in(app.test_client(), "county").get(f"/admin/certificates/?year={last}").get_data(as_text=True)
    assert "张伟" in page
