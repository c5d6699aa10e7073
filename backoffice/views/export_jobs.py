"""导出任务: the large exports an admin asked for — progress and download, owner only."""

from flask import abort, send_file
from flask_admin import expose
from flask_login import current_user

from .. import export_jobs
from ..permissions import ScopedBaseView

ORDER = 95
ADMIN_ROLES = ("sysadmin", "hrss_admin", "industry_admin", "unit_admin", "institution_admin")


def _view_model(job):
    job = dict(job)
    total, done = job.get("total"), job.get("done") or 0
    job["percent"] = 100 if job.get("status") == "done" else (int(done * 100 / total) if total else 0)
    job["status_label"] = export_jobs.label(job)
    job["created"] = export_jobs.when(job.get("created_at"))
    return job


class ExportJobView(ScopedBaseView):
    roles = ADMIN_ROLES

    def menu_allowed(self):
        # A job belongs to whoever asked for it; the list it exports checked the menus.
        return True

    def _owned(self, job_id):
        job = export_jobs.load_owned(job_id, current_user.id)
        if job is None:
            abort(404)
        return job

    @expose("/")
    def index(self):
        jobs = [_view_model(j) for j in export_jobs.jobs_of(current_user.id)]
        return self.render("exports/jobs.html", jobs=jobs)

    @expose("/<job_id>")
    def job_view(self, job_id):
        return self.render("exports/job.html", job=_view_model(self._owned(job_id)), threshold=export_jobs.threshold())

    @expose("/<job_id>/download")
    def download(self, job_id):
        job = self._owned(job_id)
        path = export_jobs.file_path(job)
        if job.get("status") != "done" or not path.exists():
            abort(404)
        return send_file(path, as_attachment=True, download_name=job["filename"], max_age=0)


def register(admin):
    admin.add_view(ExportJobView(name="我的导出任务", endpoint="export_jobs", url="/admin/export_jobs",
                                 category="查询统计"))
