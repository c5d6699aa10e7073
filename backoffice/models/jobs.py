"""The background job table: the queue's record of every job (state, progress, result).

The queue library only carries a job's id; this row is the truth about the job, so
any app process shows its progress and a job whose worker died is found and run again
(see ``backoffice.jobs``).
"""

from sqlalchemy import Index

from ..extensions import db
from .core import now

__all__ = ["JOB_STATES", "Job"]

JOB_STATES = {"queued": "排队中", "running": "执行中", "done": "已完成", "failed": "失败"}


class Job(db.Model):
    """One background job. ``kind`` names the task; ``params`` holds ids and plain
    values only; ``owner_membership_id`` is whose scope the task acts in; ``org_id``
    is the organisation whose admins may see the job (``__scope__``)."""

    __tablename__ = "job"
    __scope__ = {"org": "org_id"}

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(40), nullable=False)
    state = db.Column(db.String(16), nullable=False, default="queued")
    params = db.Column(db.JSON, nullable=False, default=dict)
    owner_membership_id = db.Column(db.Integer, db.ForeignKey("membership.id"), index=True)
    org_id = db.Column(db.Integer, db.ForeignKey("org.id"), index=True)
    progress = db.Column(db.Integer, nullable=False, default=0)
    total = db.Column(db.Integer)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    max_attempts = db.Column(db.Integer, nullable=False, default=3)
    run_after = db.Column(db.DateTime)
    heartbeat_at = db.Column(db.DateTime)
    worker = db.Column(db.String(100))
    error = db.Column(db.String(1000))
    result = db.Column(db.JSON)
    result_key = db.Column(db.String(300))
    created_at = db.Column(db.DateTime, nullable=False, default=now)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)

    __table_args__ = (
        Index("ix_job_state_run_after", "state", "run_after"),
        Index("ix_job_finished", "finished_at"),
    )

    @property
    def state_label(self):
        return JOB_STATES.get(self.state, self.state)

    @property
    def percent(self):
        if self.state == "done":
            return 100
        return int(100 * self.progress / self.total) if self.total else 0

    def __repr__(self):
        return f"<Job {self.id} {self.kind} {self.state}>"
