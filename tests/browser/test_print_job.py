"""A print job through the browser: the unit admin prints the selected person as a
background job; the job page (refreshing itself) shows it queued, then done, and the
PDF downloads. The live server's queue is served by real worker threads here."""

import pytest

from backoffice.jobs import queue_of


@pytest.fixture
def worker(live_server):
    app = live_server.app
    app.config["CERTIFICATE_JOB_THRESHOLD"] = 0  # every order becomes a job
    queue = queue_of(app)
    queue.huey.immediate = False  # an in-memory queue, served by consumer threads
    consumer, stop = queue.start_embedded(workers=1)
    yield
    stop.set()
    consumer.stop(graceful=True)
    queue.huey.immediate = True


def test_a_print_job_is_done_by_the_worker_and_downloads(page, login, live_server, worker):
    login(page, "unit")
    page.goto(live_server.url + "/admin/certificates/")
    page.locator("input[name=ids]").first.check()
    with page.context.expect_page() as opened:
        page.click("#print-selected")
    job_page = opened.value
    job_page.wait_for_load_state()
    assert "/admin/certificates/jobs/" in job_page.url
    assert "已转为后台生成任务" in job_page.locator("body").inner_text()
    job_page.wait_for_selector('#job-status[data-status="done"]', timeout=120_000)
    assert "已完成" in job_page.locator("#job-status").inner_text()
    with job_page.expect_download() as download:
        job_page.click("#job-download")
    assert download.value.suggested_filename.endswith(".pdf")
    with open(download.value.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"
