"""The unit admin's side of the professional's portal: review of person registrations
(审核注册账号), of title changes (职务变更审核), transfers out and in (调出/调入), and
the HRSS page that opens a past year for declaration (往年申报开放)."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from wtforms.validators import ValidationError

from .. import audit, registration, transfers
from ..extensions import db
from ..models import (
    GENDERS,
    REQUEST_STATUSES,
    TITLE_LEVELS,
    TRANSFER_STATUSES,
    Membership,
    Org,
    Person,
    TitleChangeRequest,
    TransferIntake,
    TransferRequest,
    YearOpening,
    now,
)
from ..permissions import ScopedBaseView, ScopedModelView, current_scope
from ..web.person import approved_unit, region_choices
from ._export import ListExportMixin
from .home import waiting_item

ORDER = 21
CATEGORY = "人员管理"


def _ids():
    """Ids chosen in a batch form, or the one id of a row's own button."""
    values = request.form.getlist("ids")
    for key in ("single_approve", "single_reject"):
        if request.form.get(key):
            values = [request.form.get(key)]
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


def _decision():
    if request.form.get("single_approve"):
        return "approve"
    if request.form.get("single_reject"):
        return "reject"
    return request.form.get("decision")


def _actor():
    return current_user._get_current_object()


class UnitPage(ListExportMixin, ScopedBaseView):
    roles = ("unit_admin",)


def _title(series, level):
    """职务 as the lists show it: series and level."""
    return " ".join(t for t in ((series.name if series else ""), TITLE_LEVELS.get(level or "", "")) if t)


def _with_reason(status_label, reason):
    return f"{status_label}：{reason}" if reason else status_label


# The person columns that open the request lists (export cells of a row with ``person``).
PERSON_COLUMNS = (
    ("姓名", lambda r: r.person.name),
    ("身份证号", lambda r: r.person.id_number),
)


# --------------------------------------------------------------------------- registrations
class RegistrationReviewView(UnitPage):
    """审核注册账号: pending person registrations of my unit; single or batch."""

    export_loads = (selectinload(Membership.account),
                    selectinload(Membership.person).selectinload(Person.department),
                    selectinload(Membership.person).selectinload(Person.title_series))

    def _pending(self):
        return current_scope().query(Membership).filter(Membership.role == "person", Membership.status == "pending")

    def list_query(self, args):
        return self._pending().order_by(Membership.created_at, Membership.id)

    def export_columns(self):
        def of_person(get):
            return lambda m: get(m.person) if m.person is not None else None

        return (
            ("姓名", lambda m: m.person.name if m.person is not None else m.account.name),
            ("身份证号", lambda m: m.account.id_number),
            ("性别", of_person(lambda p: GENDERS.get(p.gender))),
            ("出生日期", of_person(lambda p: p.birth_date)),
            ("部门", of_person(lambda p: p.department.name if p.department else None)),
            ("职务", of_person(lambda p: _title(p.title_series, p.title_level))),
            ("手机号码", of_person(lambda p: p.phone)),
            ("电子邮箱", of_person(lambda p: p.email)),
            ("注册时间", lambda m: m.created_at),
        )

    @expose("/")
    def index(self):
        rows = self.list_query(request.args).all()
        return self.render("person/admin_registrations.html", rows=rows, levels=TITLE_LEVELS)

    @expose("/<int:membership_id>")
    def detail(self, membership_id):
        """详细: everything the applicant registered, before approving."""
        m = self._pending().filter(Membership.id == membership_id).first()
        if m is None:
            abort(404)
        return self.render("person/admin_registration_detail.html", m=m, p=m.person, levels=TITLE_LEVELS)

    @expose("/decide", methods=("POST",))
    def decide(self):
        # Only ids that the scope reaches and that are pending person registrations.
        wanted = _ids()
        ids = [m.id for m in self._pending().filter(Membership.id.in_(wanted or [0]))]
        decision = _decision()
        if not ids:
            flash("请选择待审核的注册申请", "error")
            return redirect(url_for(".index"))
        try:
            if decision == "approve":
                done = registration.approve(ids, _actor())
            elif decision == "reject":
                done = registration.reject(ids, _actor(), request.form.get("reason"))
            else:
                flash("未知的操作", "error")
                return redirect(url_for(".index"))
        except registration.RegistrationError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        db.session.commit()
        registration.notify(done)
        flash(f"已{'审核通过' if decision == 'approve' else '审核不通过'} {len(done)} 个注册申请", "success")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- title changes
class TitleChangeReviewView(UnitPage):
    """职务变更审核: title series/level changes of my unit's persons."""

    export_loads = (selectinload(TitleChangeRequest.person), selectinload(TitleChangeRequest.old_series),
                    selectinload(TitleChangeRequest.new_series))

    def list_query(self, args):
        query = current_scope().query(TitleChangeRequest)
        status = args.get("status", "pending")
        if status in REQUEST_STATUSES:
            query = query.filter(TitleChangeRequest.status == status)
        return query.order_by(TitleChangeRequest.created_at.desc(), TitleChangeRequest.id.desc())

    def export_columns(self):
        return PERSON_COLUMNS + (
            ("原职务", lambda r: _title(r.old_series, r.old_level)),
            ("变更为", lambda r: _title(r.new_series, r.new_level)),
            ("申请时间", lambda r: r.created_at),
            ("结果", lambda r: _with_reason(REQUEST_STATUSES.get(r.status, r.status), r.reason)),
        )

    @expose("/")
    def index(self):
        status = request.args.get("status", "pending")
        rows = self.list_query(request.args).limit(200).all()
        return self.render("person/admin_title_changes.html", rows=rows, status=status, statuses=REQUEST_STATUSES,
                           levels=TITLE_LEVELS)

    @expose("/decide", methods=("POST",))
    def decide(self):
        decision = _decision()
        reason = (request.form.get("reason") or "").strip()
        rows = current_scope().query(TitleChangeRequest).filter(
            TitleChangeRequest.id.in_(_ids() or [0]), TitleChangeRequest.status == "pending").all()
        if not rows:
            flash("请选择待审核的变更申请", "error")
            return redirect(url_for(".index"))
        if decision == "reject" and not reason:
            flash("请填写不通过的原因", "error")
            return redirect(url_for(".index"))
        if decision not in ("approve", "reject"):
            flash("未知的操作", "error")
            return redirect(url_for(".index"))
        actor = _actor()
        ids = [r.id for r in rows]
        status = "approved" if decision == "approve" else "rejected"
        audit.record_many(f"{decision}_title_change", "title_change",
                          select(TitleChangeRequest.id).where(TitleChangeRequest.id.in_(ids)),
                          before={"status": "pending"}, after={"status": status}, comment=reason or None, actor=actor)
        if decision == "approve":
            for r in rows:  # each person gets the series/level of their own request
                db.session.execute(update(Person).where(Person.id == r.person_id).values(
                    title_series_id=r.new_series_id, title_level=r.new_level).execution_options(
                    synchronize_session=False))
            from .. import summary

            summary.refresh([r.person_id for r in rows])  # the title level decides the standard
        db.session.execute(update(TitleChangeRequest).where(
            TitleChangeRequest.id.in_(ids), TitleChangeRequest.status == "pending").values(
            status=status, reason=reason[:500] or None, decided_at=now(), decided_by_id=actor.id).execution_options(
            synchronize_session=False))
        db.session.commit()
        from .. import mail

        for r in rows:
            db.session.refresh(r)
            mail.enqueue(r.person.email, "专业技术职务变更审核结果",
                      f"{r.person.name}：您的专业技术职务变更申请{REQUEST_STATUSES[status]}。{reason}")
        flash(f"已处理 {len(ids)} 个变更申请", "success")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- transfers
class TransferOutView(UnitPage):
    """调出管理: release my persons (or start a transfer out of my unit)."""

    export_loads = (selectinload(TransferRequest.person), selectinload(TransferRequest.to_unit))

    def list_query(self, args):
        return current_scope().query(TransferRequest).order_by(TransferRequest.created_at.desc(),
                                                               TransferRequest.id.desc())

    def export_columns(self):
        return PERSON_COLUMNS + (
            ("调入单位", lambda r: r.to_unit.name),
            ("发起方", lambda r: "本人申请" if r.initiated_by == "person" else "本单位发起"),
            ("原因", lambda r: r.reason),
            ("申请时间", lambda r: r.created_at),
            ("状态", lambda r: _with_reason(r.status_label, r.reject_reason)),
        )

    @expose("/", methods=("GET", "POST"))
    def index(self):
        errors, values = {}, {}
        if request.method == "POST":
            person = current_scope().get(Person, request.form.get("person_id"))
            unit = approved_unit(request.form.get("to_unit_id"))
            values = {"person_id": request.form.get("person_id"), "to_unit_id": request.form.get("to_unit_id"),
                      "to_unit_name": unit.name if unit else "", "reason": request.form.get("reason", "")}
            if person is None or person.membership.status != "active":
                errors["person_id"] = ["请选择本单位的在册人员"]
            else:
                try:
                    req = transfers.start(person, unit, request.form.get("reason"), _actor(), by="unit")
                except transfers.TransferError as exc:
                    db.session.rollback()
                    errors[exc.field or "form"] = [exc.message]
                else:
                    db.session.commit()
                    transfers.notify(req)
                    flash("已发起调出，等待调入单位审核", "success")
                    return redirect(url_for(".index"))
        rows = self.list_query(request.args).limit(200).all()
        persons = current_scope().query(Person).join(Membership, Person.membership_id == Membership.id).filter(
            Membership.status == "active", Membership.role == "person").order_by(Person.name).limit(2000).all()
        blocked = transfers.blockers_of(p.id for p in persons)
        return self.render("person/admin_transfers_out.html", rows=rows, persons=persons, blocked=blocked,
                           regions=region_choices(),
                           errors=errors, values=values, statuses=TRANSFER_STATUSES)

    @expose("/decide", methods=("POST",))
    def decide(self):
        decision = _decision()
        rows = current_scope().query(TransferRequest).filter(
            TransferRequest.id.in_(_ids() or [0]), TransferRequest.status == "release_pending").all()
        if not rows:
            flash("请选择待调出审核的申请", "error")
            return redirect(url_for(".index"))
        try:
            for r in rows:
                if decision == "approve":
                    transfers.release(r, _actor())
                else:
                    transfers.reject(r, _actor(), request.form.get("reason"))
        except transfers.TransferError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        db.session.commit()
        for r in rows:
            transfers.notify(r)
        flash(f"已处理 {len(rows)} 个调出申请", "success")
        return redirect(url_for(".index"))


class TransferInView(UnitPage):
    """调入审核: accept persons into my unit (choosing their department)."""

    export_loads = (selectinload(TransferIntake.person), selectinload(TransferIntake.from_unit))

    def list_query(self, args):
        query = current_scope().query(TransferIntake)
        status = args.get("status", "intake_pending")
        if status in TRANSFER_STATUSES:
            query = query.filter(TransferIntake.status == status)
        return query.order_by(TransferIntake.created_at.desc(), TransferIntake.id.desc())

    def export_columns(self):
        return PERSON_COLUMNS + (
            ("原单位", lambda r: r.from_unit.name),
            ("原因", lambda r: r.reason),
            ("申请时间", lambda r: r.created_at),
            ("状态", lambda r: _with_reason(r.status_label, r.reject_reason)),
        )

    @expose("/")
    def index(self):
        status = request.args.get("status", "intake_pending")
        rows = self.list_query(request.args).limit(200).all()
        departments = db.session.scalars(select(Org).where(
            Org.kind == "department", Org.unit_id == current_user.org_id).order_by(Org.parent_path)).all()
        return self.render("person/admin_transfers_in.html", rows=rows, status=status, statuses=TRANSFER_STATUSES,
                           departments=departments)

    @expose("/decide", methods=("POST",))
    def decide(self):
        decision = _decision()
        rows = current_scope().query(TransferIntake).filter(
            TransferIntake.id.in_(_ids() or [0]), TransferIntake.status == "intake_pending").all()
        if not rows:
            flash("请选择待调入审核的申请", "error")
            return redirect(url_for(".index"))
        department = None
        if request.form.get("department_id"):
            department = db.session.get(Org, request.form.get("department_id", type=int) or 0)
            if department is None or department.kind != "department" or department.unit_id != current_user.org_id:
                flash("所选部门不属于本单位", "error")
                return redirect(url_for(".index"))
        # The domain functions work on the releasing-side mapping of the same row.
        requests = [db.session.get(TransferRequest, r.id) for r in rows]
        try:
            for r in requests:
                if decision == "approve":
                    transfers.accept(r, _actor(), department)
                else:
                    transfers.reject(r, _actor(), request.form.get("reason"))
        except transfers.TransferError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        db.session.commit()
        for r in requests:
            transfers.notify(db.session.get(TransferRequest, r.id))
        flash(f"已处理 {len(requests)} 个调入申请", "success")
        return redirect(url_for(".index"))


# --------------------------------------------------------------------------- HRSS: past years
class YearOpeningView(ScopedModelView):
    """往年申报开放: an HRSS admin opens a past counting year for one unit."""

    roles = ("hrss_admin",)
    can_edit = False
    column_list = ("unit", "year", "opened_by", "created_at")
    column_labels = {"unit": "单位", "year": "开放年度", "opened_by": "开放人", "created_at": "开放时间",
                     "unit.name": "单位"}
    column_filters = ("year", "unit.name")
    form_columns = ("unit", "year")
    form_args = {"unit": {"label": "单位"}, "year": {"label": "开放年度"}}
    form_ajax_refs = {"unit": {"fields": ("name",), "page_size": 10, "placeholder": "输入单位名称搜索"}}

    # The session of the request (not the one captured when the view was registered),
    # so that rows loaded through the scope and the new row share one session.
    @property
    def session(self):
        return db.session

    @session.setter
    def session(self, value):
        pass

    def field_choice_query(self, name, query):
        if name == "unit":
            return query.filter(Org.kind == "unit", Org.status == "approved")
        return query

    def after_model_validate(self, model, is_created):
        from datetime import date

        unit = model.unit
        if unit is None or unit.kind != "unit":
            raise ValidationError("请选择单位")
        if model.year is None or not (2000 <= model.year < date.today().year):
            raise ValidationError("只能开放以往年度（2000 年至去年）")
        model.county_id, model.city_id = unit.county_id, unit.city_id
        model.competent_dept_id = unit.competent_dept_id
        model.opened_by_id = current_user.id

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        audit.record("open_year", "year_opening", model.id, after={"unit_id": model.unit_id, "year": model.year})


# --------------------------------------------------------------------------- home
def _url(endpoint, **values):
    from flask import current_app

    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


@waiting_item
def unit_items(membership, scope):
    if membership.role != "unit_admin":
        return []
    items = [{
        "key": "pending_persons", "label": "待审核的人员注册",
        "count": scope.query(Membership).filter(Membership.role == "person", Membership.status == "pending").count(),
        "url": _url("person_registrations.index"),
    }]
    titles = scope.query(TitleChangeRequest).filter(TitleChangeRequest.status == "pending").count()
    items.append({"key": "pending_title_changes", "label": "待审核的职务变更", "count": titles,
                  "url": _url("title_changes.index")})
    out = scope.query(TransferRequest).filter(TransferRequest.status == "release_pending").count()
    items.append({"key": "pending_transfers_out", "label": "待审核的调出申请", "count": out,
                  "url": _url("transfers_out.index")})
    intake = scope.query(TransferIntake).filter(TransferIntake.status == "intake_pending").count()
    items.append({"key": "pending_transfers_in", "label": "待审核的调入申请", "count": intake,
                  "url": _url("transfers_in.index")})
    return items


def register(admin):
    admin.add_view(RegistrationReviewView(name="审核注册账号", endpoint="person_registrations",
                                          url="/admin/person-registrations", category=CATEGORY))
    admin.add_view(TitleChangeReviewView(name="职务变更审核", endpoint="title_changes",
                                         url="/admin/title-changes", category=CATEGORY))
    admin.add_view(TransferOutView(name="人员调出", endpoint="transfers_out", url="/admin/transfers-out",
                                   category=CATEGORY))
    admin.add_view(TransferInView(name="人员调入", endpoint="transfers_in", url="/admin/transfers-in",
                                  category=CATEGORY))
    admin.add_view(YearOpeningView(YearOpening, name="往年申报开放", endpoint="year_openings", category="继续教育"))
