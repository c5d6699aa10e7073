"""A person's own declarations (学时申报): drafts, attachments, open years.

The review moves (submit, withdraw) belong to ``workflow``; this module only writes
drafts and never sets a status by hand. Callers commit.
"""

import secrets
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from . import audit, hours
from . import storage as file_storage
from .extensions import db
from .models import Declaration, LearningForm, Subject, YearOpening
from .tree import stamp_declaration

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_REMARKS = 1000
MAX_CLAIMED = Decimal("1000")

# extension -> accepted leading bytes
ATTACHMENT_TYPES = {
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
    "pdf": (b"%PDF-",),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
}
ATTACHMENT_MIMETYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "bmp": "image/bmp", "pdf": "application/pdf", "zip": "application/zip",
}
MSG_ATTACHMENT_TYPE = "附件只能是图片（jpg、png、gif、bmp）、PDF 或 zip 压缩包"
MSG_ATTACHMENT_SIZE = "附件不能超过 10 MB，多个文件请压缩后上传"
MSG_YEAR_CLOSED = "往年学时申报已截止：该年度未开放申报"


class DeclarationError(ValueError):
    """Refused input; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


# --------------------------------------------------------------------------- years
def open_years(person, today=None):
    """Counting years a person may declare: the current one and those opened by HRSS."""
    current = (today or date.today()).year
    opened = db.session.scalars(
        select(YearOpening.year).where(YearOpening.unit_id == person.unit_id, YearOpening.year < current)
    )
    return sorted({current, *opened}, reverse=True)


def check_year(person, year):
    if year not in open_years(person):
        raise DeclarationError(MSG_YEAR_CLOSED, "year")


# --------------------------------------------------------------------------- attachments
ATTACHMENT_PREFIX = "declarations"


def check_attachment(storage):
    """Validate an uploaded file (extension, magic bytes, size); return (ext, bytes)."""
    filename = storage.filename or ""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ATTACHMENT_TYPES:
        raise DeclarationError(MSG_ATTACHMENT_TYPE, "attachment")
    data = storage.stream.read(MAX_ATTACHMENT_BYTES + 1)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise DeclarationError(MSG_ATTACHMENT_SIZE, "attachment")
    if not data:
        raise DeclarationError("附件是空文件", "attachment")
    if not any(data.startswith(magic) for magic in ATTACHMENT_TYPES[ext]):
        raise DeclarationError(MSG_ATTACHMENT_TYPE + "（文件内容与扩展名不符）", "attachment")
    return ext, data


def store_attachment(ext, data):
    """Put the file into the file storage under a random key; return the key (what
    ``Declaration.attachment`` holds)."""
    key = f"{ATTACHMENT_PREFIX}/{secrets.token_hex(16)}.{ext}"
    file_storage.put(key, data)
    return key


def attachment_key(value):
    """The storage key of a ``Declaration.attachment`` value. Values written before the
    storage layer are bare names: the person portal's under ``declarations/``, the unit
    declaration page's at the top of the upload directory."""
    if not value:
        return None
    try:
        if "/" in value:
            return file_storage.check_key(value)
        nested = f"{ATTACHMENT_PREFIX}/{value}"
        return nested if file_storage.exists(nested) else file_storage.check_key(value)
    except ValueError:
        return None


def send_attachment(declaration, *, inline_types=("jpg", "jpeg", "png", "gif", "bmp", "pdf"), as_attachment=None):
    """The download response of a declaration's attachment (404 when missing).
    Call only with a declaration fetched through the permission layer."""
    from flask import abort

    key = attachment_key(declaration.attachment)
    if key is None:
        abort(404)
    ext = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
    if as_attachment is None:
        as_attachment = ext not in inline_types
    response = file_storage.send(key, mimetype=ATTACHMENT_MIMETYPES.get(ext, "application/octet-stream"),
                                 download_name=declaration.attachment_name or key.rsplit("/", 1)[-1],
                                 as_attachment=as_attachment)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def copy_attachment_file(name):
    """A second stored copy of an attachment (for a copied record); None when the file is gone."""
    key = attachment_key(name)
    if key is None or not file_storage.exists(key):
        return None
    last = key.rsplit("/", 1)[-1]
    ext = last.rsplit(".", 1)[-1] if "." in last else "bin"
    return store_attachment(ext, file_storage.read(key))


def remove_attachment_file(name):
    key = attachment_key(name)
    if key:
        try:
            file_storage.delete(key)
        except Exception:  # noqa: BLE001 - a leftover file is harmless; the record is what counts
            pass


# --------------------------------------------------------------------------- input
def _decimal(value, field, label):
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DeclarationError(f"{label}须为数字", field) from None
    if not number.is_finite() or number <= 0:
        raise DeclarationError(f"{label}须大于 0", field)
    if number > MAX_CLAIMED:
        raise DeclarationError(f"{label}不能超过 {MAX_CLAIMED}", field)
    if number.as_tuple().exponent < -1:
        raise DeclarationError(f"{label}最多保留一位小数", field)
    return number


def compute(form, fields, person=None, year=None):
    """Hours the rule gives for ``fields`` of learning form ``form`` (a LearningForm).

    Forms that earn "the year's full hours" (课程进修 ≥ 6 months, 援藏援疆等) read the
    standard that applies to the person in that year.
    """
    required = {}
    if person is not None and year:
        from .standards import standard_for_person

        try:
            standard = standard_for_person(person, year)
            required = {"public_required": standard["public"], "professional_required": standard["professional"]}
        except hours.HoursError:
            required = {}
    return hours.compute_hours(form.code, fields, form.rule or None, **required)


def clean(person, raw):
    """Validate the posted values of a declaration; return a dict of column values.

    ``raw``: subject_kind, form_id, year, subject_id, claimed_hours, remarks and the
    chosen form's fields under ``fields``. Raises :class:`DeclarationError`.
    """
    kind = raw.get("subject_kind")
    if kind not in ("public", "professional"):
        raise DeclarationError("请选择计入科目", "subject_kind")
    try:
        form = db.session.get(LearningForm, int(raw.get("form_id") or 0))
    except (TypeError, ValueError):
        form = None
    if form is None or not form.enabled:
        raise DeclarationError("请选择学习形式", "form_id")
    try:
        year = int(raw.get("year") or 0)
    except (TypeError, ValueError):
        year = 0
    if not year:
        raise DeclarationError("请选择计入年度", "year")
    check_year(person, year)
    subject = None
    if raw.get("subject_id"):
        try:
            subject = db.session.get(Subject, int(raw["subject_id"]))
        except (TypeError, ValueError):
            subject = None
        if subject is None or not subject.enabled or subject.kind != kind or subject.year != year:
            raise DeclarationError("所选科目不属于该计入科目和年度，或已停用", "subject_id")
    elif db.session.scalar(
        select(Subject.id).where(Subject.kind == kind, Subject.year == year, Subject.enabled.is_(True)).limit(1)
    ):
        raise DeclarationError("请选择科目", "subject_id")
    fields = {spec["name"]: raw.get("fields", {}).get(spec["name"]) for spec in hours.FORM_FIELDS[form.code]}
    for spec in hours.FORM_FIELDS[form.code]:
        if spec["type"] == "bool":
            fields[spec["name"]] = fields[spec["name"]] in ("1", "on", "true", True)
    try:
        result = compute(form, fields, person, year)
    except hours.HoursError as exc:
        raise DeclarationError(exc.message, f"fields-{form.code}-{exc.field}" if exc.field else "form_id") from None
    record = _record_fields(raw)  # 学习内容、主办单位、起止时间、考核结果 (FAQ 学时申报需登记哪些内容)
    claimed_raw = raw.get("claimed_hours")
    if claimed_raw in (None, ""):
        raise DeclarationError("请填写申报学时", "claimed_hours")
    claimed = _decimal(claimed_raw, "claimed_hours", "申报学时")
    remarks = (raw.get("remarks") or "").strip()
    if len(remarks) > MAX_REMARKS:
        raise DeclarationError(f"备注不能超过 {MAX_REMARKS} 个字符（当前 {len(remarks)} 个）", "remarks")
    return {
        "subject_kind": kind,
        "form_id": form.id,
        "year": year,
        "subject_id": subject.id if subject else None,
        "fields": {**{k: (str(v) if isinstance(v, Decimal) else v) for k, v in fields.items()}, **record},
        "computed_hours": result.hours,
        "computed_reason": result.reason[:300],
        "claimed_hours": claimed,
        "remarks": remarks,
    }


RECORD_FIELDS = {"content": "学习内容", "organiser": "主办单位", "start_date": "开始日期", "end_date": "结束日期",
                 "result": "考核结果"}


def _record_fields(raw):
    """What every declaration records besides the form's own fields (as the unit's form does)."""
    content = (raw.get("content") or "").strip()
    if not content:
        raise DeclarationError("请填写学习内容（培训、会议、论文等的名称）", "content")
    if len(content) > 200:
        raise DeclarationError("学习内容不能超过 200 个字", "content")
    organiser = (raw.get("organiser") or "").strip()
    if len(organiser) > 100:
        raise DeclarationError("主办单位不能超过 100 个字", "organiser")
    dates = {}
    for key, label in (("start_date", "开始日期"), ("end_date", "结束日期")):
        value = (raw.get(key) or "").strip()
        if not value:
            raise DeclarationError(f"请填写{label}", key)
        try:
            dates[key] = date.fromisoformat(value)
        except ValueError:
            raise DeclarationError(f"{label}格式应为 年-月-日（如 2026-03-01）", key) from None
    if dates["end_date"] < dates["start_date"]:
        raise DeclarationError("结束日期不能早于开始日期", "end_date")
    result = (raw.get("result") or "").strip()
    if len(result) > 50:
        raise DeclarationError("考核结果不能超过 50 个字", "result")
    out = {"content": content, "start_date": dates["start_date"].isoformat(), "end_date": dates["end_date"].isoformat()}
    if organiser:
        out["organiser"] = organiser
    if result:
        out["result"] = result
    return out


def over_computed(values):
    """A warning when the claimed hours exceed the computed ones (saved, but the reviewer sees it)."""
    computed, claimed = values.get("computed_hours"), values.get("claimed_hours")
    if computed is None or claimed is None or claimed <= computed:
        return None
    from .formatting import hours_text

    return (f"申报学时 {hours_text(claimed)} 高于按标准折算的 {hours_text(computed)} 学时，"
            "审核部门将看到这一差异；如有依据请在备注中说明")


# --------------------------------------------------------------------------- writes
def save_draft(person, values, attachment=None, declaration=None, actor=None):
    """Create or update a draft of ``person``. ``attachment``: (ext, bytes, filename)."""
    if declaration is not None and declaration.status != "draft":
        raise DeclarationError("只有待提交的记录可以修改")
    created = declaration is None
    if created:
        declaration = Declaration(source="self", status="draft")
        stamp_declaration(declaration, person)
        db.session.add(declaration)
    before = None if created else _snapshot(declaration)
    for key, value in values.items():
        setattr(declaration, key, value)
    old_file = None
    if attachment is not None:
        ext, data, filename = attachment
        old_file = declaration.attachment
        declaration.attachment = store_attachment(ext, data)
        declaration.attachment_name = (filename or f"附件.{ext}")[-200:]
    db.session.flush()
    audit.record("create_draft" if created else "edit_draft", "declaration", declaration.id,
                 before=before, after=_snapshot(declaration), actor=actor)
    return declaration, old_file


def delete_draft(declaration, actor=None):
    if declaration.status != "draft" or declaration.source != "self":
        raise DeclarationError("只有本人待提交的记录可以删除")
    name = declaration.attachment
    audit.record("delete_draft", "declaration", declaration.id, before=_snapshot(declaration), actor=actor)
    db.session.delete(declaration)
    db.session.flush()
    return name


def _snapshot(d):
    return {
        "year": d.year, "subject_kind": d.subject_kind, "form_id": d.form_id, "subject_id": d.subject_id,
        "fields": d.fields, "computed_hours": str(d.computed_hours) if d.computed_hours is not None else None,
        "claimed_hours": str(d.claimed_hours) if d.claimed_hours is not None else None,
        "remarks": d.remarks, "attachment": d.attachment_name, "status": d.status,
    }


def can_withdraw(declaration):
    """Pending, declared by the person or the unit (not an institution), no approval yet."""
    if declaration.status != "pending" or declaration.source == "institution":
        return False
    from .workflow import steps_of_round

    return not any(step.status == "approved" for step in steps_of_round(declaration))
