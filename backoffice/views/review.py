"""学时审核: review queues (grouped and flat), batch and all-matching moves, record trail.

Every row is fetched through ``current_scope()``; every move goes through
``backoffice.workflow`` (which re-checks that the record is at the reviewer's step).
One commit per request; e-mails after it.
"""

import logging
from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import declarations, exports, jobs, workflow
from ..extensions import db
from ..formatting import hours_text
from ..hours import FORM_FIELDS
from ..models import (
    DECLARATION_SOURCES,
    DECLARATION_STATUSES,
    STEP_LEVELS,
    STEP_STATUSES,
    SUBJECT_KINDS,
    Declaration,
    Org,
)
from ..permissions import ScopedBaseView, current_scope
from . import _queue as Q
from ._export import serve as export_serve
from .home import waiting_item
from .records import declaration_trail

log = logging.getLogger(__name__)

ORDER = 35
CATEGORY = "学时审核"
REVIEWER_ROLES = ("unit_admin", "industry_admin", "hrss_admin")


def _page():
    try:
        return max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        return 1


def _local(url, default):
    """Only same-site paths are followed (no open redirects)."""
    from ..security import safe_next

    return safe_next(url, default)


def _ids_from_form():
    ids = []
    for value in request.form.getlist("rowid"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return ids


INLINE_MAILS = 20


def _commit_and_mail(notices):
    """Commit, then queue the e-mails: directly for a few; for many, one
    ``review_notices`` job reads the addresses and queues them (an approve-all of
    thousands must not wait for thousands of rows in the request)."""
    db.session.commit()
    if workflow.notice_count(notices) <= INLINE_MAILS:
        workflow.deliver(notices)
        return
    try:
        jobs.submit("review_notices", workflow.notices_to_params(notices), total=workflow.notice_count(notices))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the decisions stand; the loss of notices is logged
        db.session.rollback()
        log.exception("could not queue the notices of a bulk review")


class ReviewQueueView(ScopedBaseView):
    """审核学时申报: the records whose current step is my organisation."""

    roles = REVIEWER_ROLES

    # -- helpers
    def _filter(self, args=None):
        flt = Q.QueueFilter.from_args(args if args is not None else request.args)
        for key, message in flt.errors.items():
            if key not in ("date_from", "date_to", "hours_min", "hours_max"):  # those show at their field
                flash(f"{message}（已忽略该条件）", "warning")
        return flt

    def _ctx(self, flt, **kw):
        return dict(
            flt=flt,
            years=Q.year_choices(),
            forms=Q.forms(),
            subject_kinds=SUBJECT_KINDS,
            sources=DECLARATION_SOURCES,
            level=Q.queue_level(current_user),
            level_label=STEP_LEVELS.get(Q.queue_level(current_user), ""),
            **kw,
        )

    # -- grouped review: organisations → persons → record
    @expose("/")
    def index_view(self):
        scope, flt = current_scope(), self._filter()
        groups = Q.queue_groups(scope, current_user, flt)
        other = Q.other_years_pending(scope, current_user, flt.year)
        return self.render("review/groups.html", groups=groups, other_years=other, **self._ctx(flt))

    @expose("/org/<int:org_id>")
    def org_view(self, org_id):
        scope = current_scope()
        org = scope.get(Org, org_id)
        if org is None:
            # A declaring institution is outside an HRSS admin's org subtree; it is still
            # shown when it has records in this queue.
            org = db.session.get(Org, org_id)
            if org is None or not db.session.scalar(
                select(Declaration.id).where(Q.queue_clause(scope, current_user), Q.declarer_key == org_id).limit(1)
            ):
                abort(404)
        args = request.args.to_dict()
        args["declarer"] = str(org_id)
        flt = self._filter(args)
        persons = Q.queue_persons(scope, current_user, flt)
        return self.render("review/persons.html", org=org, persons=persons, **self._ctx(flt))

    # -- the flat queue
    @expose("/list")
    def list_view(self):
        scope, flt = current_scope(), self._filter()
        page = _page()
        rows = Q.queue_page(scope, current_user, flt, page)
        where = Q.queue_ids(scope, current_user, flt)
        if request.args.get("exact") == "1":
            count, over = Q.exact_count(where), False
        else:
            count, over = Q.capped_count(where)
        other = Q.other_years_pending(scope, current_user, flt.year)
        declarer = db.session.get(Org, flt.declarer_id) if flt.declarer_id else None
        return self.render(
            "review/queue.html", rows=rows, count=count, over=over, page=page, page_size=Q.PAGE_SIZE,
            cap=Q.COUNT_CAP, other_years=other, declarer=declarer, form_fields=FORM_FIELDS, **self._ctx(flt),
        )

    # -- export of the flat queue: the list's filters, every row (above the threshold a job)
    can_export = True
    export_headers_zh = ["编号", "姓名", "身份证号", "单位", "申报机构", "计入年度", "科目类型", "学习形式", "学习内容",
                         "折算学时", "申报学时", "提交时间"]

    @expose("/export")
    def export_view(self):
        export_type = request.args.get("type", "csv")
        if export_type not in exports.EXPORT_TYPES:
            abort(404)
        return export_serve(self, export_type)

    def _export_where(self):
        return Q.queue_ids(current_scope(), current_user, self._filter())

    def export_count(self, limit=None):
        where = self._export_where()
        if limit is not None:
            where = where.limit(limit + 1)
        return db.session.scalar(select(db.func.count()).select_from(where.subquery())) or 0

    def export_headers(self):
        return self.export_headers_zh

    def export_filename(self, export_type):
        return f"review-{date.today().isoformat()}.{export_type}"

    def export_rows(self):
        stmt = (
            select(Declaration)
            .where(Declaration.id.in_(self._export_where()))
            .options(selectinload(Declaration.person), selectinload(Declaration.unit), selectinload(Declaration.form),
                     selectinload(Declaration.declarer_org))
            .order_by(Declaration.created_at.desc(), Declaration.id.desc())
            .execution_options(yield_per=2000)
        )
        for d in db.session.scalars(stmt):
            yield (
                d.id, d.person.name, d.person.id_number, d.unit.name,
                d.declarer_org.name if d.declarer_org else d.unit.name, d.year,
                SUBJECT_KINDS.get(d.subject_kind, ""), d.form.name, (d.fields or {}).get("content", ""),
                hours_text(d.computed_hours), hours_text(d.claimed_hours),
                d.submitted_at.strftime("%Y-%m-%d %H:%M") if d.submitted_at else "",
            )

    # -- batch moves on selected rows
    @expose("/batch", methods=["POST"])
    def batch_view(self):
        op = request.form.get("op")
        ids = _ids_from_form() or self._ids_of_persons()
        back = _local(request.form.get("next"), url_for(".list_view"))
        if not ids:
            flash("请先勾选要审核的记录", "warning")
            return redirect(back)
        scope = current_scope()
        # Only ids inside the scope reach the workflow (which also keeps only my step).
        in_scope = select(Declaration.id).where(Declaration.id.in_(ids), Q.queue_clause(scope, current_user))
        if op == "approve":
            notices = []
            try:
                n = workflow.approve_many(in_scope, current_user, request.form.get("comment"), notices=notices)
            except workflow.WorkflowError as exc:
                db.session.rollback()
                flash(str(exc), "error")
                return redirect(back)
            _commit_and_mail(notices)
            flash(f"已审核通过 {n} 条记录" + (f"（{len(ids) - n} 条已不在您的审核环节，未处理）" if n < len(ids) else ""),
                  "success")
            return redirect(back)
        if op in ("reject", "reject_confirmed"):
            count = db.session.scalar(select(db.func.count()).select_from(in_scope.subquery()))
            if op == "reject":
                return self.render("review/confirm.html", mode="selected", op="reject", ids=ids, count=count,
                                   back=back, reason="", error=None, flt=None)
            reason = (request.form.get("reason") or "").strip()
            notices = []
            try:
                n = workflow.reject_many(in_scope, current_user, reason, notices=notices)
            except workflow.WorkflowError as exc:
                db.session.rollback()
                return self.render("review/confirm.html", mode="selected", op="reject", ids=ids, count=count,
                                   back=back, reason=reason, error=str(exc), flt=None)
            _commit_and_mail(notices)
            flash(f"已将 {n} 条记录审核不通过", "success")
            return redirect(back)
        abort(400)

    def _ids_of_persons(self):
        """The grouped review's persons page: every record in my queue (under its filter) of the ticked persons."""
        person_ids = []
        for value in request.form.getlist("persons"):
            try:
                person_ids.append(int(value))
            except ValueError:
                continue
        if not person_ids:
            return []
        flt = Q.QueueFilter.from_args(request.form)
        stmt = Q.queue_ids(current_scope(), current_user, flt).where(Declaration.person_id.in_(person_ids))
        return list(db.session.scalars(stmt.limit(10000)))

    # -- every record matching the filter
    @expose("/all", methods=["GET", "POST"])
    def all_view(self):
        source = request.form if request.method == "POST" else request.args
        op = source.get("op")
        if op not in ("approve", "reject"):
            abort(400)
        flt = Q.QueueFilter.from_args(source)
        scope = current_scope()
        where = Q.queue_ids(scope, current_user, flt)
        back = url_for(".list_view", **flt.as_args())
        if request.method == "GET":
            return self.render("review/confirm.html", mode="all", op=op, count=Q.exact_count(where), flt=flt,
                               back=back, reason="", error=None, ids=None)
        reason = (request.form.get("reason") or "").strip()
        notices = []
        try:
            if op == "approve":
                n = workflow.approve_many(where, current_user, request.form.get("comment"), notices=notices)
            else:
                n = workflow.reject_many(where, current_user, reason, notices=notices)
        except workflow.WorkflowError as exc:
            db.session.rollback()
            return self.render("review/confirm.html", mode="all", op=op, count=Q.exact_count(where), flt=flt,
                               back=back, reason=reason, error=str(exc), ids=None)
        _commit_and_mail(notices)
        flash(f"已{'审核通过' if op == 'approve' else '审核不通过'} {n} 条记录", "success")
        return redirect(back)


class DeclarationTrailView(ScopedBaseView):
    """One record: its fields, both hour figures, the attachment, the steps and the audit trail.

    Open to the person and to every admin whose scope holds the record; the review
    buttons appear (and work) only for the level the record is at.
    """

    roles = ("person", "unit_admin", "industry_admin", "hrss_admin", "institution_admin", "sysadmin")

    def is_visible(self):
        return False

    @expose("/")
    def index_view(self):
        return redirect(url_for("admin.index"))

    @expose("/<int:id>")
    def details_view(self, id):
        d = current_scope().get_or_404(Declaration, id)
        # The trail is reached through the record (already scope-checked above).
        steps, audit_rows = declaration_trail(d)
        reviewer = workflow.is_reviewer_of(current_user, d.current_level, d.current_org_id) and d.status == "pending"
        round_steps = workflow.steps_of_round(d)
        can_send_back = self._can_send_back(d, round_steps)
        can_withdraw = (
            d.status == "pending"
            and current_user.role == "person"
            and d.source != "institution"
            and not any(s.status == "approved" for s in round_steps)
        )
        can_submit = (
            d.status in ("draft", "rejected")
            and current_user.role == "person"
            and d.source == "self"
            and current_scope().person_id == d.person_id
        )
        spec = FORM_FIELDS.get(d.form.code, []) if d.form else []
        return self.render(
            "review/record.html", d=d, steps=steps, audit_rows=audit_rows, reviewer=reviewer,
            can_send_back=can_send_back, can_withdraw=can_withdraw, can_submit=can_submit, spec=spec, statuses=DECLARATION_STATUSES,
            step_statuses=STEP_STATUSES, step_levels=STEP_LEVELS, subject_kinds=SUBJECT_KINDS,
            sources=DECLARATION_SOURCES, action_labels=workflow.ACTION_LABELS,
            back=_local(request.args.get("next"), ""),
        )

    @staticmethod
    def _can_send_back(d, round_steps):
        if d.status == "pending":
            step = next((s for s in round_steps if s.status == "pending"), None)
            return (
                step is not None
                and workflow.is_reviewer_of(current_user, step.level, step.org_id)
                and any(s.status == "approved" and s.seq < step.seq for s in round_steps)
            )
        if d.status == "approved" and round_steps:
            last = round_steps[-1]
            return last.status == "approved" and workflow.is_reviewer_of(current_user, last.level, last.org_id)
        return False

    @expose("/<int:id>/act", methods=["POST"])
    def act_view(self, id):
        d = current_scope().get_or_404(Declaration, id)
        op = request.form.get("op")
        version = request.form.get("version")
        comment = request.form.get("comment")
        moves = {
            "approve": lambda: workflow.approve(d, current_user, comment, version=version),
            "reject": lambda: workflow.reject(d, current_user, comment, version=version),
            "send_back": lambda: workflow.send_back(d, current_user, comment, version=version),
            "withdraw": lambda: workflow.withdraw(d, current_user, version=version),
            "submit": lambda: workflow.submit(d, current_user, version=version),
        }
        if op not in moves:
            abort(400)
        try:
            notices = moves[op]()
        except (workflow.WorkflowError, ValueError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".details_view", id=id, next=_local(request.form.get("next"), None)))
        _commit_and_mail(notices)
        flash(f"已{workflow.ACTION_LABELS[op]}", "success")
        return redirect(_local(request.form.get("next"), url_for(".details_view", id=id)))

    @expose("/<int:id>/attachment")
    def attachment_view(self, id):
        d = current_scope().get_or_404(Declaration, id)
        if not d.attachment:
            abort(404)
        return declarations.send_attachment(d)


@waiting_item
def _review_items(membership, scope):
    """Home page: records waiting at my step (all years; the queue opens on this year)."""
    level = Q.queue_level(membership)
    if level is None or membership.org_id is None:
        return []
    n, over = Q.capped_count(select(Declaration.id).where(Q.queue_clause(scope, membership)))
    from flask import current_app as app

    url = url_for("review.index_view") if "review.index_view" in app.view_functions else None
    return [{"key": "review_queue", "label": "待我审核的学时记录", "count": f"{n:,}+" if over else n, "url": url}]


def register(admin):
    admin.add_view(ReviewQueueView(name="审核学时申报", endpoint="review", url="/admin/review", category=CATEGORY))
    admin.add_view(DeclarationTrailView(name="申报记录详情", endpoint="declaration", url="/admin/declaration"))
