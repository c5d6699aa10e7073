"""Request and response schemas of /api/v1 (marshmallow; they are the OpenAPI document)."""

from marshmallow import RAISE, Schema, fields, validate

PAGE_LIMIT_MAX = 200


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class Query(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class ApiErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "机器可读的错误代码，如 not_found、invalid"})
    message = fields.String(required=True, metadata={"description": "中文错误说明"})
    field = fields.String(allow_none=True, required=True, metadata={"description": "出错的字段（如有）"})


class PageQuery(Query):
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,10}$", error="游标无效"),
                           metadata={"description": "上一页响应中的 next_cursor；第一页不传"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, PAGE_LIMIT_MAX),
                           metadata={"description": f"每页条数，1–{PAGE_LIMIT_MAX}，默认 50"})


class Page(Schema):
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "下一页的游标；为 null 时没有更多数据"})


# --------------------------------------------------------------------------- plans
class PlanSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    subject_kind = fields.String(required=True, metadata={"description": "public（公需科目）或 professional（专业科目）"})
    subject = fields.String(allow_none=True, required=True)
    training_year = fields.Integer(required=True)
    ce_year = fields.Integer(required=True)
    form = fields.String(allow_none=True, required=True)
    hours = fields.Float(required=True)
    planned_trainees = fields.Integer(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    location = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)


class PlanPage(Page):
    items = fields.List(fields.Nested(PlanSchema), required=True)


class PlanQuery(PageQuery):
    ce_year = fields.Integer(validate=validate.Range(2000, 2100),
                             metadata={"description": "只列出该继续教育年度的计划"})


# --------------------------------------------------------------------------- classes
class ClassCreateSchema(Strict):
    plan_id = fields.Integer(strict=True, required=True, validate=validate.Range(1, 2**31 - 1),
                             metadata={"description": "审核通过的培训计划 id"})
    name = fields.String(required=True, validate=validate.Length(1, 200))
    hours = fields.Float(required=True, allow_nan=False, validate=validate.Range(0.1, 1000),
                         metadata={"description": "学时，0.1–1000（保留一位小数）"})
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    planned_trainees = fields.Integer(strict=True, required=True, validate=validate.Range(1, 100000))
    location = fields.String(load_default="", validate=validate.Length(max=200))
    teacher = fields.String(load_default="", validate=validate.Length(max=100))
    remark = fields.String(load_default="", validate=validate.Length(max=500))


class ClassSchema(Schema):
    id = fields.Integer(required=True)
    plan_id = fields.Integer(required=True)
    name = fields.String(required=True)
    subject_kind = fields.String(required=True)
    ce_year = fields.Integer(required=True)
    hours = fields.Float(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    planned_trainees = fields.Integer(required=True)
    location = fields.String(allow_none=True, required=True)
    teacher = fields.String(allow_none=True, required=True)
    trainees = fields.Integer(required=True, metadata={"description": "已录入成绩的学员数"})
    passed = fields.Integer(required=True, metadata={"description": "其中合格的学员数"})
    declared = fields.Boolean(required=True)
    declared_at = fields.DateTime(allow_none=True, required=True)
    declared_route = fields.String(allow_none=True, required=True)
    declared_count = fields.Integer(allow_none=True, required=True)


class ClassPage(Page):
    items = fields.List(fields.Nested(ClassSchema), required=True)


# --------------------------------------------------------------------------- scores
class ResultInput(Strict):
    idempotency_key = fields.String(required=True, validate=validate.Length(1, 100), metadata={
        "description": "调用方为这条成绩生成的唯一键（如平台的学习记录号）；同一键重复提交不会产生第二条记录"})
    id_number = fields.String(required=True, validate=validate.Length(1, 30), metadata={"description": "身份证号"})
    name = fields.String(required=True, validate=validate.Length(1, 50), metadata={"description": "姓名，须与注册信息一致"})
    score = fields.Decimal(required=True, allow_nan=False, as_string=False, metadata={"description": "成绩，0–100"})
    completed_at = fields.DateTime(required=True, metadata={"description": "完成学习的时间（ISO 8601）"})
    passed = fields.Boolean(allow_none=True, load_default=None,
                            metadata={"description": "是否合格；不传时成绩 60 分及以上为合格"})
    remark = fields.String(load_default="", validate=validate.Length(max=500))


class ScoresInput(Strict):
    results = fields.List(fields.Nested(ResultInput), required=True, validate=validate.Length(1, 1000),
                          metadata={"description": "1–1000 条学员成绩"})


class ResultOutcome(Schema):
    index = fields.Integer(required=True, metadata={"description": "在提交的 results 中的位置（从 0 开始）"})
    idempotency_key = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "accepted（已接收）或 rejected（未接收）"})
    replayed = fields.Boolean(required=True, metadata={"description": "该幂等键此前已接收过，本次未新建记录"})
    score_id = fields.Integer(allow_none=True, required=True)
    code = fields.String(allow_none=True, required=True, metadata={
        "description": "未接收的原因代码：invalid_id_number、not_registered、not_active、name_mismatch、duplicate、"
                       "invalid_score、invalid_remark、duplicate_key、key_conflict"})
    message = fields.String(allow_none=True, required=True, metadata={"description": "未接收的中文原因"})
    field = fields.String(allow_none=True, required=True)


class ScoresResult(Schema):
    class_id = fields.Integer(required=True)
    accepted = fields.Integer(required=True, metadata={"description": "本次新接收的条数"})
    replayed = fields.Integer(required=True, metadata={"description": "此前已接收、本次未重复创建的条数"})
    rejected = fields.Integer(required=True)
    results = fields.List(fields.Nested(ResultOutcome), required=True)


# --------------------------------------------------------------------------- declarations
class DeclareInput(Strict):
    route = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["hrss", "industry"]),
                          metadata={"description": "专业科目的送审部门：hrss（人社部门）或 industry（行业主管部门）；"
                                                   "公需科目一律送人社部门"})


class DeclareResult(Schema):
    class_id = fields.Integer(required=True)
    declared_at = fields.DateTime(required=True)
    route = fields.String(required=True)
    declarations = fields.Integer(required=True, metadata={"description": "为合格学员生成的学时申报记录数"})


class StepSchema(Schema):
    seq = fields.Integer(required=True)
    level = fields.String(required=True)
    level_label = fields.String(required=True)
    org = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    acted_at = fields.DateTime(allow_none=True, required=True)
    comment = fields.String(allow_none=True, required=True)


class DeclarationSchema(Schema):
    id = fields.Integer(required=True)
    class_id = fields.Integer(allow_none=True, required=True)
    id_number = fields.String(required=True)
    name = fields.String(required=True)
    year = fields.Integer(required=True)
    hours = fields.Float(required=True)
    status = fields.String(required=True, metadata={"description": "pending、approved、rejected 或 draft"})
    status_label = fields.String(required=True)
    current_level = fields.String(allow_none=True, required=True)
    current_org = fields.String(allow_none=True, required=True)
    reject_reason = fields.String(allow_none=True, required=True)
    submitted_at = fields.DateTime(allow_none=True, required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)


class DeclarationDetail(DeclarationSchema):
    trail = fields.List(fields.Nested(StepSchema), required=True, metadata={"description": "审核流程（各级审核记录）"})


class DeclarationPage(Page):
    items = fields.List(fields.Nested(DeclarationSchema), required=True)


class DeclarationQuery(PageQuery):
    class_id = fields.Integer( validate=validate.Range(1, 2**31 - 1),
                              metadata={"description": "只列出该培训班的申报记录"})
