"""我的导出任务: the large exports an admin asked for — progress and download, owner only."""

from flask import abort
from flask_admin import expose
from flask_login import current_user

from .. import export_jobs
from ..permissions import ScopedBaseView

ORDER = 95
ADMIN_ROLES = ("sysadmin", "hrss_admin", "industry_admin", "unit_admin", "institution_admin")


class ExportJobView(ScopedBaseView):
    roles = ADMIN_ROLES

    def menu_allowed(self):
        # A job belongs to whoever asked for it; the list it exports checked the menus.
        return True

    def _owned(self, job_id):
        job = export_jobs.owned(job_id, current_user.id)
        if job is None:
            abort(404)
        return job

    @expose("/")
    def index(self):
        return self.render("exports/jobs.html", jobs=export_jobs.jobs_of(current_user.id))

    @expose("/<int:job_id>")
    def job_view(self, job_id):
        return self.render("exports/job.html", job=self._owned(job_id), threshold=export_jobs.threshold())

    @expose("/<int:job_id>/download")
    def download(self, job_id):
        return export_jobs.send(self._owned(job_id))


def register(admin):
    admin.add_view(ExportJobView(name="我的导出任务", endpoint="export_jobs", url="/admin/export_jobs",
                                 category="查询统计"))
