"""The audit trail in a clerk's Chinese: event names, object names, and before → after
as "字段：值" with names instead of internal ids.

Used by the audit log (审计日志), the review trail of a record and the person's own
record page. Nothing here writes; unknown codes fall back to the stored text.
"""

import json
from decimal import Decimal

from .extensions import db
from .formatting import hours_text
from .hours import FORM_FIELDS
from .models import (
    DECLARATION_SOURCES,
    ORG_KINDS,
    ROLES,
    STEP_LEVELS,
    SUBJECT_KINDS,
    TITLE_LEVELS,
)

ACTIONS = {
    # declarations and the review chain
    "create": "新增",
    "create_draft": "保存草稿",
    "edit_draft": "修改草稿",
    "delete_draft": "删除草稿",
    "copy_rejected": "复制为新申报（修改后重新提交）",
    "submit": "提交审核",
    "approve": "审核通过",
    "reject": "审核不通过",
    "withdraw": "撤销",
    "send_back": "驳回",
    "reopen": "重新编辑",
    "declare": "申报学时",
    # accounts and organisations
    "login": "登录",
    "register": "注册",
    "approve_registration": "注册审核通过",
    "reject_registration": "注册审核不通过",
    "withdraw_registration": "撤销注册申请",
    "change_password": "修改密码",
    "reset_password": "重置密码",
    "reset_password_by_link": "通过邮件链接重置密码",
    "add_admin": "添加管理员",
    "remove_admin": "移除管理员",
    "set_menus": "设置菜单权限",
    "hand_over_super": "移交超级管理员",
    "add_sysadmin": "添加系统管理员",
    "add_department": "添加部门",
    "edit_department": "修改部门",
    "edit_profile": "修改个人信息",
    "request_change": "申请变更单位信息",
    "release": "原上级部门同意",
    "enable": "启用",
    "disable": "停用",
    "edit": "修改",
    "delete": "删除",
    # persons: title changes and transfers
    "request_title_change": "申请专业技术职务变更",
    "approve_title_change": "职务变更审核通过",
    "reject_title_change": "职务变更审核不通过",
    "start_transfer": "发起调转",
    "release_transfer": "同意调出",
    "accept_transfer": "同意调入",
    "reject_transfer": "调转审核不通过",
    "cancel_transfer": "撤销调转",
    # years and certificates
    "certify": "年度学时认定",
    "revoke": "撤销",
    "open_year": "开放往年申报",
    "issue": "打印证书",
    "import": "导入成绩",
}

OBJECTS = {
    "declaration": "学时申报记录",
    "membership": "账号角色",
    "account": "账号",
    "org": "组织机构",
    "person": "专业技术人员",
    "org_change_request": "单位变更申请",
    "title_change": "职务变更申请",
    "transfer": "调转申请",
    "training_plan": "培训计划",
    "training_class": "培训班",
    "trainee_score": "学员成绩",
    "unit_plan_declaration": "单位培训计划申报",
    "year_result": "年度认定结果",
    "year_opening": "往年申报开放",
    "certificate": "证书",
    "hour_standard": "年度学时标准",
    "learning_form": "学习形式",
    "subject": "科目",
    "unit_type": "单位性质",
    "affiliation": "隶属关系",
    "unit_level": "单位级别",
    "industry": "所属行业",
    "title_series": "职务系列",
    "major": "专业",
    "region": "行政区划",
}

FIELDS = {
    "status": "状态", "level": "审核级别", "current_level": "审核级别", "org_id": "审核部门",
    "current_org_id": "当前审核部门", "org": "组织", "account": "账号", "role": "角色", "kind": "类别",
    "name": "名称", "code": "代码", "parent": "上级", "parent_id": "上级", "mode": "方式",
    "must_change_password": "须修改密码", "menus": "菜单", "super": "超级管理员", "year": "年度",
    "subject_kind": "科目类型", "subject_id": "科目", "form_id": "学习形式", "fields": "学习内容",
    "computed_hours": "折算学时", "claimed_hours": "申报学时", "remarks": "备注", "attachment": "附件",
    "source": "来源", "unit_id": "单位", "department_id": "部门", "competent_dept_id": "行业主管部门",
    "person_id": "人员", "account_id": "账号", "membership_id": "账号角色", "plan_id": "培训计划",
    "class_id": "培训班", "institution_id": "施教机构", "to_unit_id": "调入单位", "from_unit_id": "调出单位",
    "phone": "手机号码", "email": "电子邮箱", "address": "地址", "contact_name": "联系人",
    "contact_phone": "联系电话", "hours": "学时", "start_date": "开始日期", "end_date": "结束日期",
    "planned_trainees": "计划人数", "training_year": "培训年度", "ce_year": "继续教育年度", "route": "送审部门",
    "score": "成绩", "passed": "是否合格", "remark": "备注", "reason": "原因", "comment": "意见",
    "year_from": "起始年度", "year_to": "截止年度", "title_group": "职称", "region_group": "地区",
    "total": "总学时", "public": "公需科目学时", "professional": "专业科目学时", "enabled": "启用",
    "note": "备注", "rule": "折算规则", "title_level": "职称级别", "title_series_id": "职务系列",
    "major_id": "专业", "industry_id": "所属行业", "unit_type_id": "单位性质", "affiliation_id": "隶属关系",
    "unit_level_id": "单位级别", "moved": "调整数量", "next": "下一步", "number": "证书编号",
    "location": "地点", "teacher": "授课教师", "content": "内容", "organiser": "主办单位", "result": "考核结果",
    "copied_from": "复制自记录", "copy": "新记录",
}

_STATUS_WORDS = {
    "draft": "待提交", "pending": "待审核", "approved": "审核通过", "rejected": "审核不通过", "active": "正常",
    "disabled": "已停用", "removed": "已移除", "withdrawn": "已撤销", "cancelled": "已撤销", "valid": "有效",
    "revoked": "已撤销", "completed": "调转完成", "release_pending": "待调出单位审核",
    "intake_pending": "待调入单位审核", "waiting": "未开始", "returned": "已驳回",
}
_VALUE_WORDS = {
    "status": _STATUS_WORDS, "level": STEP_LEVELS, "current_level": STEP_LEVELS, "role": ROLES,
    "kind": ORG_KINDS, "subject_kind": SUBJECT_KINDS, "source": DECLARATION_SOURCES, "title_level": TITLE_LEVELS,
    "route": {"hrss": "人社部门", "industry": "行业主管部门"},
    "mode": {"zeros": "重置为 000000", "id_tail": "重置为身份证号后六位"},
}
_ORG_KEYS = {"org_id", "current_org_id", "parent_id", "unit_id", "department_id", "competent_dept_id",
             "institution_id", "to_unit_id", "from_unit_id", "county_id", "city_id", "owner_org_id",
             "declarer_org_id"}


def _model_names():
    from . import models as m

    return {
        "org": m.Org, "person": m.Person, "account": m.Account, "membership": m.Membership,
        "subject": m.Subject, "form": m.LearningForm, "plan": m.TrainingPlan, "class": m.TrainingClass,
        "major": m.Major, "title_series": m.TitleSeries, "industry": m.Industry, "unit_type": m.UnitType,
        "affiliation": m.Affiliation, "unit_level": m.UnitLevel, "declaration": m.Declaration,
    }


def _name_of(kind, row_id):
    """The display name of a row by kind, or None."""
    model = _model_names().get(kind)
    if model is None or row_id is None:
        return None
    try:
        row = db.session.get(model, int(row_id))
    except (TypeError, ValueError):
        return None
    if row is None:
        return None
    if kind == "membership":
        return f"{row.account.name}（{row.role_label}）"
    if kind == "declaration":
        return f"{row.person.name} {row.year} 年度{SUBJECT_KINDS.get(row.subject_kind, '')}"
    return getattr(row, "name", None) or str(row)


def action_label(action):
    return ACTIONS.get(action, action or "")


def object_label(object_type):
    return OBJECTS.get(object_type, object_type or "")


def object_name(object_type, object_id):
    """"金水区人民医院" for ("org", 23); the table's own words when the row is gone."""
    kind = {"training_plan": "plan", "training_class": "class", "learning_form": "form"}.get(object_type, object_type)
    name = _name_of(kind, object_id)
    if name:
        return name
    return f"{object_label(object_type)}（已删除）" if object_id is not None else ""


def _value_text(key, value):
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in _VALUE_WORDS and isinstance(value, str):
        return _VALUE_WORDS[key].get(value, value)
    if key in _ORG_KEYS:
        return _name_of("org", value) or str(value)
    if key in ("copied_from", "copy") and isinstance(value, int):
        return f"{_name_of('declaration', value) or ''}（记录编号 {value}）"
    if key == "super":
        return _name_of("membership", value) or str(value) if isinstance(value, int) else str(value)
    if key.endswith("_id") and isinstance(value, int):
        return _name_of(key[:-3], value) or str(value)
    if key == "fields" and isinstance(value, dict):
        return fields_text(None, value)
    if key.endswith("hours") or key in ("total", "public", "professional", "score"):
        try:
            return hours_text(Decimal(str(value)))
        except ArithmeticError:
            return str(value)
    if isinstance(value, (list, tuple)):
        return "、".join(_value_text(key, v) for v in value) or "（空）"
    if isinstance(value, dict):
        return "；".join(f"{FIELDS.get(k, k)}：{_value_text(k, v)}" for k, v in value.items())
    return str(value)


def change_text(raw):
    """Stored JSON of ``before``/``after`` → "状态：待审核；审核部门：金水区人民医院"."""
    if raw is None or raw == "":
        return ""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return str(raw)
    if not isinstance(data, dict):
        return _value_text("", data)
    return "；".join(f"{FIELDS.get(k, k)}：{_value_text(k, v)}" for k, v in data.items())


_COMMON = {"content": "学习内容", "organiser": "主办单位", "start_date": "开始日期", "end_date": "结束日期",
           "result": "考核结果", "place": "地点", "hours": "学时"}


def fields_text(form_code, fields):
    """A declaration's 学习内容 ({"hours": 30, "level": "national"}) in labelled Chinese."""
    if not fields:
        return ""
    specs = {}
    for code, spec_list in FORM_FIELDS.items():
        if form_code is None or code == form_code:
            for spec in spec_list:
                specs.setdefault(spec["name"], spec)
    parts = []
    for key, value in fields.items():
        spec = specs.get(key)
        if spec is not None:
            label = spec["label"].split("（")[0]
            if spec["type"] == "choice":
                value = next((c[1] for c in spec["choices"] if c[0] == value), value)
            elif spec["type"] == "bool":
                value = "是" if value in (True, "1", "true", "on", "是") else "否"
            elif spec["type"] == "decimal":
                value = hours_text(value)
        else:
            label = _COMMON.get(key) or FIELDS.get(key, key)
            if key in _ORG_KEYS or key.endswith("_id"):
                value = _value_text(key, value)
            elif key == "hours":
                value = hours_text(value)
        if value in (None, ""):
            continue
        parts.append(f"{label}：{value}")
    return "；".join(parts)


def init_app(app):
    app.jinja_env.filters["audit_action"] = action_label
    app.jinja_env.filters["audit_object"] = object_label
    app.jinja_env.filters["audit_change"] = change_text
    app.jinja_env.filters["learning_fields"] = fields_text
