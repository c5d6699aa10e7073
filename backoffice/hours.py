"""Continuing-education hours (学时): conversion rules, yearly standards, completion.

Pure Python (standard library only) so that views, seed scripts and tests can use
it without an application context.  Hours are :class:`~decimal.Decimal` throughout.

Three parts:

* **Conversion rules (学时折算标准).**  ``DEFAULT_RULES`` holds one plain-data rule per
  learning form (学习形式), taken from the provincial FAQ 「继续教育学时折算标准」.  The
  system administrator may edit a rule (it is stored in a JSON column);
  :func:`validate_rule` checks an edited rule and :func:`compute_hours` turns the
  fields of a declaration into hours, reading every figure from the rule it is given.
  The FAQ sets no yearly cap for any form, so none is encoded; the ``max_*`` keys of
  the rules are sanity bounds against typing errors, editable like the figures.
* **Yearly standards (年度学时标准).**  ``DEFAULT_STANDARDS`` is the FAQ table
  「各年度学时要求」; :func:`standard_for` picks the row that applies to a person and
  :func:`validate_standards` checks an edited list.
* **Completion of a person-year (年度完成情况).**  :func:`completion` compares approved
  hours with a standard, optionally pro-rated by the months actually at post.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal, InvalidOperation

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_STANDARDS",
    "FORM_FIELDS",
    "FORM_NAMES",
    "REGION_GROUPS",
    "TITLE_GROUPS",
    "TITLE_LEVELS",
    "Completion",
    "HoursError",
    "HoursResult",
    "completion",
    "compute_hours",
    "standard_for",
    "title_group_of",
    "validate_rule",
    "validate_standards",
]


class HoursError(ValueError):
    """Bad input, a malformed rule or standard, or no applicable standard.

    ``str(error)`` is a Chinese message meant for the user; ``field`` names the
    offending input field (or rule key path, or standard attribute), or is None.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --------------------------------------------------------------------------- forms

FORM_NAMES: dict[str, str] = {
    "training_class": "培训班",
    "study_program": "培训研修",
    "degree": "学历学位教育",
    "course_study": "课程进修",
    "conference": "学术会议",
    "research": "课题研究",
    "book": "著作译作",
    "paper": "论文",
    "patent": "专利",
    "award": "奖项",
    "exam": "资格考试",
    "report": "专题调研",
    "aid": "援藏援疆等",
    "grassroots": "服务基层",
    "other": "其他",
}


def _field(name, label, type_, *, required=True, choices=None):
    spec = {"name": name, "label": label, "type": type_, "required": required}
    if choices is not None:
        spec["choices"] = [list(choice) for choice in choices]
    return spec


_RANK_LABEL = "署名排序（第几名）"

FORM_FIELDS: dict[str, list[dict]] = {
    "training_class": [_field("hours", "学时（由基地审批部门按实际学习时间确定）", "decimal")],
    "study_program": [_field("hours", "学时（由主办单位或选派单位主管部门确定）", "decimal")],
    "degree": [_field("courses", "考试合格课程门数", "int")],
    "course_study": [_field("months", "进修月数（考核合格）", "int")],
    "conference": [
        _field("level", "会议级别", "choice",
               choices=[("national", "国家部委举办"), ("provincial", "省级")]),
        _field("days", "实际天数", "int"),
        _field("paper", "宣读、报告论文", "bool", required=False),
    ],
    "research": [
        _field("level", "课题（项目）级别", "choice",
               choices=[("national", "国家级"), ("provincial", "省级")]),
        _field("role", "所在课题组", "choice",
               choices=[("main", "主课题（项目）组"), ("sub", "子课题（项目）组")]),
        _field("rank", "按职责排序（第几名）", "int"),
    ],
    "book": [
        _field("ten_thousand_chars", "字数（万字）", "decimal"),
        _field("rank", _RANK_LABEL, "int"),
    ],
    "paper": [
        _field("journal", "刊物类别", "choice", choices=[
            ("national", "国外及国家一级学会主办的专业刊物"),
            ("provincial_core", "省级专业刊物（核心期刊）"),
            ("issn_cn", "具有国际标准刊号（ISSN）和国内统一刊号（CN）的刊物"),
        ]),
        _field("rank", _RANK_LABEL, "int"),
        _field("supplement", "发表于增刊、副刊", "bool", required=False),
    ],
    "patent": [
        _field("kind", "专利类别", "choice", choices=[
            ("invention", "发明专利"),
            ("utility_model", "实用新型专利"),
            ("design", "外观设计专利"),
        ]),
        _field("rank", "专利权人排序（第几名）", "int"),
    ],
    "award": [
        _field("level", "奖项级别", "choice",
               choices=[("national", "国家级奖项"), ("provincial", "省（部）级奖项")]),
        _field("rank", "获奖者排序（第几名）", "int"),
    ],
    "exam": [
        _field("level", "考试类别", "choice", choices=[
            ("senior", "全国高级专业技术资格考试"),
            ("intermediate", "全国中级专业技术资格考试"),
            ("junior", "全国初级专业技术资格考试"),
            ("practising", "全国执业资格或职业水平考试"),
        ]),
    ],
    "report": [],
    "aid": [_field("months", "工作月数", "int")],
    "grassroots": [_field("days", "服务天数", "int")],
    "other": [_field("hours", "学时（由人力资源社会保障行政部门或省业务主管部门确认）", "decimal")],
}

# Figures from the FAQ 「继续教育学时折算标准」.  Rank tables are lists: index 0 is
# the first name.  Keys of the ``levels``/``journals``/``kinds`` maps are the
# choice values of FORM_FIELDS.
DEFAULT_RULES: dict[str, dict] = {
    # (一) set by the approving body of the CE base from the actual study time
    "training_class": {"max_hours": 1000},
    # (二) set by the organiser (or the sending body's competent department)
    "study_program": {"max_hours": 1000},
    # (三) 15 hours per course passed
    "degree": {"hours_per_course": 15, "max_courses": 30},
    # (三) 10 hours per month under 6 months; from 6 months the year's professional hours
    "course_study": {"hours_per_month": 10, "full_from_months": 6, "max_months": 12},
    # (四) per day, plus the same again for reading or presenting a paper
    "conference": {
        "levels": {
            "national": {"per_day": 6, "paper": 6},
            "provincial": {"per_day": 4, "paper": 4},
        },
        "max_days": 366,
    },
    # (五) per year, by rank of duty
    "research": {
        "levels": {
            "national": {"main": [68, 60, 52, 44, 36], "sub": [52, 44, 36]},
            "provincial": {"main": [60, 52, 44], "sub": [44, 36, 28]},
        },
    },
    # (六) per 10,000 characters, first three authors
    "book": {"per_ten_thousand": [16, 12, 8], "max_ten_thousand_chars": 500},
    # (六) per paper, first three authors; supplements (增刊、副刊) do not count
    "paper": {
        "journals": {
            "national": [52, 44, 36],
            "provincial_core": [44, 36, 28],
            "issn_cn": [36, 28, 20],
        },
    },
    # (七) per patent, first three patentees
    "patent": {"kinds": {"invention": 68, "utility_model": 60, "design": 60}, "max_rank": 3},
    # (八) per award, first three winners
    "award": {"levels": {"national": 68, "provincial": 60}, "max_rank": 3},
    # (九)
    "exam": {"levels": {"senior": 68, "intermediate": 60, "junior": 52, "practising": 68}},
    # (十) report endorsed by provincial or local leaders
    "report": {"hours": 20},
    # (十一) a full year of aid work: the year's full public and professional hours
    "aid": {"min_months": 12, "max_months": 120},
    # (十二) 6 hours per day
    "grassroots": {"per_day": 6, "max_days": 366},
    # (十三) confirmed by the city / county HRSS or provincial competent department
    "other": {"max_hours": 1000},
}


@dataclass(frozen=True)
class HoursResult:
    """Hours earned by one declaration and the Chinese reasoning behind them.

    ``public_hours`` / ``professional_hours`` are set only when the rule itself
    fixes the subject split (援藏援疆等: both; 课程进修 of 6 months or more: the
    professional hours); otherwise the declaration's subject type decides.
    """

    hours: Decimal
    reason: str
    public_hours: Decimal | None = None
    professional_hours: Decimal | None = None


# ------------------------------------------------------------------ formatting

_CN_DIGITS = "零一二三四五六七八九十"


def _cn(n: int) -> str:
    """Small counts in Chinese numerals (前三名), larger ones in digits."""
    return _CN_DIGITS[n] if 0 <= n <= 10 else str(n)


def _fmt(value) -> str:
    """Decimal without exponent or trailing zeros: 16, 12.5."""
    return format(Decimal(value).normalize(), "f")


def _whole(value: Decimal) -> Decimal:
    """Drop a fractional part of zero: 200.0 → 200, 12.5 stays."""
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def _dec(value) -> Decimal:
    """A rule figure (int or float, already validated) as an exact Decimal."""
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _spec(form_code: str, name: str) -> dict:
    """The FORM_FIELDS spec of input ``name`` of a form."""
    return next(spec for spec in FORM_FIELDS[form_code] if spec["name"] == name)


def _choice_label(form_code: str, field: str, value: str) -> str:
    return dict(map(tuple, _spec(form_code, field)["choices"])).get(value, value)


# ------------------------------------------------------------------ rule checks

def _is_number(value) -> bool:
    """An int, float or Decimal that is finite (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return False
    return _dec(value).is_finite()


def _non_negative(path, value):
    if not _is_number(value):
        raise HoursError(f"规则项「{path}」须为数字", path)
    if value < 0:
        raise HoursError(f"规则项「{path}」不能为负数", path)


def _positive(path, value):
    _non_negative(path, value)
    if value == 0:
        raise HoursError(f"规则项「{path}」须大于 0", path)


def _positive_int(path, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise HoursError(f"规则项「{path}」须为正整数", path)
    if value <= 0:
        raise HoursError(f"规则项「{path}」须为正整数", path)


def _rank_table(path, value):
    if not isinstance(value, list) or not value:
        raise HoursError(f"规则项「{path}」须为按名次排列的学时列表（至少一项）", path)
    for i, item in enumerate(value):
        _non_negative(f"{path}[{i}]", item)


def _record(schema: dict[str, Callable]) -> Callable:
    """Checker for a dict with exactly the keys of ``schema``."""

    def check(path, value):
        if not isinstance(value, Mapping):
            raise HoursError(f"规则项「{path or '规则'}」须为对象（键值表）", path or None)
        for key in value:
            if key not in schema:
                raise HoursError(f"规则含未知的项「{_join(path, key)}」", _join(path, key))
        for key, checker in schema.items():
            if key not in value:
                raise HoursError(f"规则缺少项「{_join(path, key)}」", _join(path, key))
            checker(_join(path, key), value[key])

    return check


def _map_of(form_code: str, field: str, item: Callable) -> Callable:
    """Checker for a non-empty dict keyed by choice values of a form field."""
    allowed_values = [value for value, _label in _spec(form_code, field)["choices"]]

    def check(path, value):
        if not isinstance(value, Mapping) or not value:
            raise HoursError(f"规则项「{path}」须为非空对象（键值表）", path)
        for key, sub in value.items():
            if key not in allowed_values:
                raise HoursError(
                    f"规则项「{path}」含未知取值「{key}」，可用取值：{'、'.join(allowed_values)}",
                    _join(path, key),
                )
            item(_join(path, key), sub)

    return check


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


_RULE_SCHEMAS: dict[str, Callable] = {
    "training_class": _record({"max_hours": _positive}),
    "study_program": _record({"max_hours": _positive}),
    "degree": _record({"hours_per_course": _non_negative, "max_courses": _positive_int}),
    "course_study": _record({
        "hours_per_month": _non_negative,
        "full_from_months": _positive_int,
        "max_months": _positive_int,
    }),
    "conference": _record({
        "levels": _map_of("conference", "level",
                          _record({"per_day": _non_negative, "paper": _non_negative})),
        "max_days": _positive_int,
    }),
    "research": _record({
        "levels": _map_of("research", "level", _map_of("research", "role", _rank_table)),
    }),
    "book": _record({"per_ten_thousand": _rank_table, "max_ten_thousand_chars": _positive}),
    "paper": _record({"journals": _map_of("paper", "journal", _rank_table)}),
    "patent": _record({
        "kinds": _map_of("patent", "kind", _non_negative),
        "max_rank": _positive_int,
    }),
    "award": _record({
        "levels": _map_of("award", "level", _non_negative),
        "max_rank": _positive_int,
    }),
    "exam": _record({"levels": _map_of("exam", "level", _non_negative)}),
    "report": _record({"hours": _non_negative}),
    "aid": _record({"min_months": _positive_int, "max_months": _positive_int}),
    "grassroots": _record({"per_day": _non_negative, "max_days": _positive_int}),
    "other": _record({"max_hours": _positive}),
}


def _form_name(form_code) -> str:
    if form_code not in FORM_NAMES:
        raise HoursError(f"未知的学习形式：{form_code}", "form")
    return FORM_NAMES[form_code]


def validate_rule(form_code: str, rule) -> None:
    """Check a (possibly sysadmin-edited) rule for ``form_code``.

    The rule must have exactly the keys of the default rule; figures must be
    non-negative numbers (bounds and ranks positive integers); rank tables are
    non-empty lists; choice maps may only use the choice values of FORM_FIELDS.
    Raises :class:`HoursError` with a Chinese message; ``field`` is the key path.
    """
    _form_name(form_code)
    _RULE_SCHEMAS[form_code]("", rule)
    if form_code == "aid" and rule["min_months"] > rule["max_months"]:
        raise HoursError("规则项「min_months」不能大于「max_months」", "min_months")


# ----------------------------------------------------------------- input fields

_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE = {"1", "true", "on", "yes", "y", "是"}
_FALSE = {"", "0", "false", "off", "no", "n", "否"}


def _raw(fields: Mapping, spec: dict):
    value = fields.get(spec["name"])
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if spec["required"]:
            raise HoursError(f"请填写「{spec['label']}」", spec["name"])
        return None
    return value


def _to_decimal(value, spec: dict) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise HoursError(f"「{spec['label']}」须为数字", spec["name"])
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise HoursError(f"「{spec['label']}」须为数字", spec["name"]) from None
    if not number.is_finite():
        raise HoursError(f"「{spec['label']}」须为数字", spec["name"])
    return number


def _int_field(form_code, fields, name, *, maximum=None) -> int:
    """A required positive integer input, at most ``maximum``."""
    spec = _spec(form_code, name)
    value = _raw(fields, spec)
    if isinstance(value, str) and not _INT_RE.match(value):
        raise HoursError(f"「{spec['label']}」须为整数", name)
    number = _to_decimal(value, spec)
    if number != number.to_integral_value():
        raise HoursError(f"「{spec['label']}」须为整数", name)
    if number <= 0:
        raise HoursError(f"「{spec['label']}」须大于 0", name)
    if maximum is not None and number > maximum:
        raise HoursError(f"「{spec['label']}」不能超过 {_fmt(_dec(maximum))}", name)
    return int(number)


def _decimal_field(form_code, fields, name, *, maximum) -> Decimal:
    """A required positive number with at most one decimal place, at most ``maximum``."""
    spec = _spec(form_code, name)
    number = _to_decimal(_raw(fields, spec), spec)
    if number <= 0:
        raise HoursError(f"「{spec['label']}」须大于 0", name)
    if number > _dec(maximum):
        raise HoursError(f"「{spec['label']}」不能超过 {_fmt(_dec(maximum))}", name)
    if number.normalize().as_tuple().exponent < -1:
        raise HoursError(f"「{spec['label']}」最多保留一位小数", name)
    return _whole(number)


def _bool_field(form_code, fields, name) -> bool:
    spec = _spec(form_code, name)
    value = _raw(fields, spec)
    if value is None or value is False or value is True:
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise HoursError(f"「{spec['label']}」须为是或否", name)


def _choice_field(form_code, fields, name, table: Mapping) -> str:
    """A choice input that must be a known choice value and present in the rule."""
    spec = _spec(form_code, name)
    value = _raw(fields, spec)
    known = [choice_value for choice_value, _label in spec["choices"]]
    if value not in known:
        raise HoursError(f"「{spec['label']}」取值无效：{value}", name)
    if value not in table:
        label = _choice_label(form_code, name, value)
        raise HoursError(f"现行折算标准未规定「{label}」的学时", name)
    return value


def _rank_field(form_code, fields, table_size: int, message: str) -> int:
    rank = _int_field(form_code, fields, "rank")
    if rank > table_size:
        raise HoursError(message.format(n=_cn(table_size)), "rank")
    return rank


def _required_figure(name: str, value) -> Decimal:
    label = {"public_required": "公需科目", "professional_required": "专业科目"}[name]
    if value is None:
        raise HoursError(f"须提供当年{label}学时要求才能计算", name)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise HoursError(f"当年{label}学时要求须为数字", name)
    number = _dec(value)
    if not number.is_finite() or number < 0:
        raise HoursError(f"当年{label}学时要求须为非负数", name)
    return number


# ------------------------------------------------------------------ computation

def _set_hours(form_code, fields, rule, *, decided_by):
    hours = _decimal_field(form_code, fields, "hours", maximum=rule["max_hours"])
    return HoursResult(hours, f"{FORM_NAMES[form_code]}学时由{decided_by}确定：{_fmt(hours)} 学时")


def _training_class(fields, rule, **_):
    return _set_hours("training_class", fields, rule, decided_by="基地审批部门按实际学习时间")


def _study_program(fields, rule, **_):
    return _set_hours("study_program", fields, rule, decided_by="主办单位或选派单位的主管部门")


def _other(fields, rule, **_):
    return _set_hours("other", fields, rule, decided_by="人力资源社会保障行政部门或省业务主管部门")


def _degree(fields, rule, **_):
    courses = _int_field("degree", fields, "courses", maximum=rule["max_courses"])
    per = _dec(rule["hours_per_course"])
    hours = per * courses
    return HoursResult(hours, f"考试合格 {courses} 门 × {_fmt(per)} 学时 = {_fmt(hours)} 学时")


def _course_study(fields, rule, *, professional_required, **_):
    months = _int_field("course_study", fields, "months", maximum=rule["max_months"])
    full_from = rule["full_from_months"]
    if months >= full_from:
        full = _required_figure("professional_required", professional_required)
        return HoursResult(
            full,
            f"课程进修 {months} 个月（满 {full_from} 个月），"
            f"计完成年度全部专业科目学时 {_fmt(full)} 学时",
            professional_hours=full,
        )
    per = _dec(rule["hours_per_month"])
    hours = per * months
    return HoursResult(hours, f"课程进修 {months} 个月 × {_fmt(per)} 学时 = {_fmt(hours)} 学时")


def _conference(fields, rule, **_):
    level = _choice_field("conference", fields, "level", rule["levels"])
    days = _int_field("conference", fields, "days", maximum=rule["max_days"])
    paper = _bool_field("conference", fields, "paper")
    figures = rule["levels"][level]
    per_day = _dec(figures["per_day"])
    hours = per_day * days
    name = {"national": "国家级", "provincial": "省级"}[level]
    reason = f"{name}学术会议 {days} 天 × {_fmt(per_day)} 学时"
    if paper:
        extra = _dec(figures["paper"])
        hours += extra
        reason += f" + 宣读论文 {_fmt(extra)} 学时"
    return HoursResult(hours, f"{reason} = {_fmt(hours)} 学时")


def _research(fields, rule, **_):
    level = _choice_field("research", fields, "level", rule["levels"])
    role = _choice_field("research", fields, "role", rule["levels"][level])
    table = rule["levels"][level][role]
    level_name = {"national": "国家级", "provincial": "省级"}[level]
    role_name = {"main": "主课题（项目）组", "sub": "子课题（项目）组"}[role]
    rank = _rank_field("research", fields, len(table),
                       f"{level_name}{role_name}仅按职责排序前{{n}}名可计学时")
    hours = _dec(table[rank - 1])
    return HoursResult(hours, f"{level_name}{role_name}第 {rank} 名，每年 {_fmt(hours)} 学时")


def _book(fields, rule, **_):
    table = rule["per_ten_thousand"]
    chars = _decimal_field("book", fields, "ten_thousand_chars",
                           maximum=rule["max_ten_thousand_chars"])
    rank = _rank_field("book", fields, len(table), "著作译作仅署名前{n}名的作者可计学时")
    per = _dec(table[rank - 1])
    hours = chars * per
    return HoursResult(
        hours,
        f"著作译作第 {rank} 作者 {_fmt(chars)} 万字 × {_fmt(per)} 学时 = {_fmt(hours)} 学时",
    )


def _paper(fields, rule, **_):
    if _bool_field("paper", fields, "supplement"):
        raise HoursError("在增刊、副刊上发表的论文不计学时", "supplement")
    journal = _choice_field("paper", fields, "journal", rule["journals"])
    table = rule["journals"][journal]
    rank = _rank_field("paper", fields, len(table), "论文仅署名前{n}名的作者可计学时")
    hours = _dec(table[rank - 1])
    label = _choice_label("paper", "journal", journal)
    return HoursResult(hours, f"{label}论文第 {rank} 作者，每篇 {_fmt(hours)} 学时")


def _patent(fields, rule, **_):
    kind = _choice_field("patent", fields, "kind", rule["kinds"])
    rank = _rank_field("patent", fields, rule["max_rank"], "专利仅前{n}位专利权人可计学时")
    hours = _dec(rule["kinds"][kind])
    label = _choice_label("patent", "kind", kind)
    return HoursResult(hours, f"{label}第 {rank} 位专利权人，每项 {_fmt(hours)} 学时")


def _award(fields, rule, **_):
    level = _choice_field("award", fields, "level", rule["levels"])
    rank = _rank_field("award", fields, rule["max_rank"], "奖项仅署名前{n}名的获奖者可计学时")
    hours = _dec(rule["levels"][level])
    label = _choice_label("award", "level", level)
    return HoursResult(hours, f"{label}第 {rank} 名获奖者，每项 {_fmt(hours)} 学时")


def _exam(fields, rule, **_):
    level = _choice_field("exam", fields, "level", rule["levels"])
    hours = _dec(rule["levels"][level])
    label = _choice_label("exam", "level", level)
    return HoursResult(hours, f"通过{label}，计 {_fmt(hours)} 学时")


def _report(fields, rule, **_):
    hours = _dec(rule["hours"])
    return HoursResult(hours, f"专题调研报告获领导批示，计 {_fmt(hours)} 学时")


def _aid(fields, rule, *, public_required, professional_required, **_):
    months = _int_field("aid", fields, "months", maximum=rule["max_months"])
    minimum = rule["min_months"]
    if months < minimum:
        raise HoursError(
            f"援藏、援疆、援外及基层服务等须工作满 {minimum} 个月方可计算年度全部学时", "months"
        )
    public = _required_figure("public_required", public_required)
    professional = _required_figure("professional_required", professional_required)
    hours = public + professional
    return HoursResult(
        hours,
        f"援藏援疆等工作 {months} 个月（满 {minimum} 个月），计完成年度全部公需科目 "
        f"{_fmt(public)} 学时和专业科目 {_fmt(professional)} 学时 = {_fmt(hours)} 学时",
        public_hours=public,
        professional_hours=professional,
    )


def _grassroots(fields, rule, **_):
    days = _int_field("grassroots", fields, "days", maximum=rule["max_days"])
    per = _dec(rule["per_day"])
    hours = per * days
    return HoursResult(hours, f"服务基层 {days} 天 × {_fmt(per)} 学时 = {_fmt(hours)} 学时")


_COMPUTERS: dict[str, Callable[..., HoursResult]] = {
    "training_class": _training_class,
    "study_program": _study_program,
    "degree": _degree,
    "course_study": _course_study,
    "conference": _conference,
    "research": _research,
    "book": _book,
    "paper": _paper,
    "patent": _patent,
    "award": _award,
    "exam": _exam,
    "report": _report,
    "aid": _aid,
    "grassroots": _grassroots,
    "other": _other,
}


def compute_hours(
    form_code: str,
    fields: Mapping,
    rule: Mapping | None = None,
    *,
    public_required=None,
    professional_required=None,
) -> HoursResult:
    """Hours earned by a declaration of learning form ``form_code``.

    ``fields`` maps the input names of ``FORM_FIELDS[form_code]`` to values
    (strings from a web form, or numbers / bools); other keys are ignored.
    ``rule`` defaults to ``DEFAULT_RULES[form_code]``; it is validated first and
    every figure is read from it.  ``public_required`` / ``professional_required``
    are the year's required hours of the person (see :func:`standard_for`): 课程进修
    of ``full_from_months`` months or more earns the professional figure (the FAQ
    says 不满 6 个月 per month, 超过 6 个月 the full year; exactly 6 months counts
    as full), 援藏援疆等 of a full year earns both.

    Raises :class:`HoursError` (Chinese message, ``field`` set) on bad input.
    """
    _form_name(form_code)
    if rule is None:
        rule = DEFAULT_RULES[form_code]
    validate_rule(form_code, rule)
    if not isinstance(fields, Mapping):
        raise HoursError("申报信息格式错误", None)
    result = _COMPUTERS[form_code](
        fields,
        rule,
        public_required=public_required,
        professional_required=professional_required,
    )
    return replace(result, hours=_whole(result.hours))


# ------------------------------------------------------------- yearly standards

TITLE_LEVELS: dict[str, str] = {
    "junior": "初级",
    "intermediate": "中级",
    "associate_senior": "副高级",
    "senior": "正高级",
}

TITLE_GROUPS: dict[str, str] = {"junior": "初级", "mid_senior": "中高级", "all": "不分职称"}
REGION_GROUPS: dict[str, str] = {"zhengzhou": "郑州地区", "other": "郑州以外地区", "all": "不分地区"}

# The FAQ 「各年度学时要求」: public and professional are minima adding up to the total.
DEFAULT_STANDARDS: list[dict] = [
    {"year_from": 2013, "year_to": 2015, "title_group": "junior", "region_group": "all",
     "total": 74, "public": 22, "professional": 52},
    {"year_from": 2013, "year_to": 2015, "title_group": "mid_senior", "region_group": "all",
     "total": 86, "public": 26, "professional": 60},
    {"year_from": 2016, "year_to": 2017, "title_group": "all", "region_group": "zhengzhou",
     "total": 90, "public": 30, "professional": 60},
    {"year_from": 2016, "year_to": 2017, "title_group": "all", "region_group": "other",
     "total": 90, "public": 24, "professional": 66},
    {"year_from": 2018, "year_to": None, "title_group": "all", "region_group": "all",
     "total": 90, "public": 30, "professional": 60},
]


def title_group_of(level: str | None) -> str:
    """Title group (``junior`` / ``mid_senior``) of a person's title level code.

    A person with no title level (``None`` or ``""``) counts as ``junior``: the FAQ
    distinguishes only 初级 and 中高级 (2013–2015) and from 2016 on no longer
    distinguishes titles, so an untitled person gets the lowest (初级) requirement.
    """
    if level in (None, ""):
        return "junior"
    if level not in TITLE_LEVELS:
        raise HoursError(f"未知的职称级别：{level}", "title_level")
    return "junior" if level == "junior" else "mid_senior"


def _enabled(row: Mapping) -> bool:
    return bool(row.get("enabled", True))


def _years_text(row: Mapping) -> str:
    end = row.get("year_to")
    return f"{row.get('year_from')}–{'至今' if end is None else end} 年"


def _row_name(index: int, row: Mapping) -> str:
    ident = f"标准 #{row['id']}" if row.get("id") is not None else f"第 {index + 1} 条标准"
    title = TITLE_GROUPS.get(row.get("title_group"), row.get("title_group"))
    region = REGION_GROUPS.get(row.get("region_group"), row.get("region_group"))
    return f"{ident}（{_years_text(row)}，{title}，{region}）"


def _matches(row: Mapping, year: int, title_group: str, region_group: str) -> bool:
    start, end = row.get("year_from"), row.get("year_to")
    return (
        start is not None
        and start <= year
        and (end is None or year <= end)
        and row.get("title_group") in ("all", title_group)
        and row.get("region_group") in ("all", region_group)
    )


def standard_for(standards, year: int, title_level: str | None, is_zhengzhou: bool) -> dict:
    """The enabled standard row that applies to a person in ``year``.

    ``title_level`` is a key of TITLE_LEVELS or None (counted as junior, see
    :func:`title_group_of`).  Rows with ``enabled`` false are ignored.  When
    several rows match (only possible with an unvalidated list) the most specific
    one wins.  Raises ``HoursError("无适用的年度学时标准…")`` when none applies.
    """
    if isinstance(year, bool) or not isinstance(year, int):
        raise HoursError("年度须为整数", "year")
    title_group = title_group_of(title_level)
    region_group = "zhengzhou" if is_zhengzhou else "other"
    candidates = [
        row for row in standards
        if _enabled(row) and _matches(row, year, title_group, region_group)
    ]
    if not candidates:
        raise HoursError(
            f"无适用的年度学时标准（{year} 年，{TITLE_GROUPS[title_group]}，"
            f"{REGION_GROUPS[region_group]}）",
            None,
        )

    def specificity(row):
        return (row.get("title_group") != "all") + (row.get("region_group") != "all")

    return max(candidates, key=specificity)


def _check_standard_row(index: int, row) -> None:
    if not isinstance(row, Mapping):
        raise HoursError(f"第 {index + 1} 条标准格式错误", None)
    name = _row_name(index, row)
    for key in ("year_from", "year_to", "title_group", "region_group",
                "total", "public", "professional"):
        if key not in row:
            raise HoursError(f"{name}缺少「{key}」", key)
    start, end = row["year_from"], row["year_to"]
    if isinstance(start, bool) or not isinstance(start, int):
        raise HoursError(f"{name}：起始年度须为整数", "year_from")
    if end is not None and (isinstance(end, bool) or not isinstance(end, int)):
        raise HoursError(f"{name}：截止年度须为整数或留空（至今）", "year_to")
    if end is not None and start > end:
        raise HoursError(f"{name}：起始年度不能晚于截止年度", "year_from")
    if row["title_group"] not in TITLE_GROUPS:
        raise HoursError(f"{name}：未知的职称分组「{row['title_group']}」", "title_group")
    if row["region_group"] not in REGION_GROUPS:
        raise HoursError(f"{name}：未知的地区分组「{row['region_group']}」", "region_group")
    labels = {"total": "总学时", "public": "公需科目学时", "professional": "专业科目学时"}
    for key, label in labels.items():
        if not _is_number(row[key]):
            raise HoursError(f"{name}：{label}须为数字", key)
        if row[key] <= 0:
            raise HoursError(f"{name}：{label}须大于 0", key)
    if _dec(row["public"]) + _dec(row["professional"]) != _dec(row["total"]):
        raise HoursError(
            f"{name}：公需科目学时 {_fmt(_dec(row['public']))} + 专业科目学时 "
            f"{_fmt(_dec(row['professional']))} 须等于总学时 {_fmt(_dec(row['total']))}",
            "total",
        )


def _years_overlap(a: Mapping, b: Mapping) -> bool:
    a_end = a["year_to"] if a["year_to"] is not None else float("inf")
    b_end = b["year_to"] if b["year_to"] is not None else float("inf")
    return a["year_from"] <= b_end and b["year_from"] <= a_end


def validate_standards(standards) -> None:
    """Check a (possibly sysadmin-edited) list of standard rows.

    Every row (enabled or not) must have whole fields: integer years with
    ``year_from <= year_to`` (``year_to`` None = open ended), known groups, positive
    figures and ``public + professional == total``.  Among enabled rows, two rows
    may not cover the same year for the same person: neither the same
    (title_group, region_group) with overlapping years, nor an ``all`` row
    overlapping a specific one.  Raises :class:`HoursError` with a Chinese message.
    """
    rows = list(standards)
    for index, row in enumerate(rows):
        _check_standard_row(index, row)
    enabled = [(index, row) for index, row in enumerate(rows) if _enabled(row)]
    for pos, (i, a) in enumerate(enabled):
        for j, b in enabled[pos + 1:]:
            if not _years_overlap(a, b):
                continue
            same = a["title_group"] == b["title_group"] and a["region_group"] == b["region_group"]
            titles_meet = "all" in (a["title_group"], b["title_group"]) \
                or a["title_group"] == b["title_group"]
            regions_meet = "all" in (a["region_group"], b["region_group"]) \
                or a["region_group"] == b["region_group"]
            if same:
                raise HoursError(f"{_row_name(i, a)}与{_row_name(j, b)}年度重叠", "year_from")
            if titles_meet and regions_meet:
                raise HoursError(
                    f"{_row_name(i, a)}与{_row_name(j, b)}年度重叠："
                    "通用（不分职称或不分地区）标准不能与特定标准覆盖同一年度",
                    "year_from",
                )


# ------------------------------------------------------------------- completion

@dataclass(frozen=True)
class Completion:
    """Completion of a person-year (年度完成情况) against a standard."""

    public: Decimal
    professional: Decimal
    total: Decimal
    required_public: Decimal
    required_professional: Decimal
    required_total: Decimal
    passed: bool
    result_label: str
    prorated: bool
    note: str


def _hours_input(name: str, label: str, value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise HoursError(f"{label}学时须为数字", name)
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise HoursError(f"{label}学时须为数字", name) from None
    if not number.is_finite() or number < 0:
        raise HoursError(f"{label}学时须为非负数", name)
    return number


def _scaled(required: Decimal, months: int | None) -> Decimal:
    if months is None:
        return required
    return (required * months / 12).to_integral_value(rounding=ROUND_CEILING)


def completion(standard: Mapping, public_hours, professional_hours, *,
               prorate_months: int | None = None) -> Completion:
    """Whether a person-year passes (认定结果：通过) the given standard row.

    ``public_hours`` / ``professional_hours`` are the year's **approved** hours
    (the caller sums approved declarations only).  The year passes when the
    public hours reach the required public hours and the professional hours reach
    the required professional hours (hence also the total); more of one never makes
    up for less of the other.

    ``prorate_months`` (0–12, months actually at post) applies 按实际在岗时间折算
    (more than 6 months abroad or on sick leave, childbirth, other approved cases):
    each requirement becomes ``requirement × months / 12`` rounded **up** to the
    whole hour (30 × 7/12 = 17.5 → 18).  The required total is the larger of the
    scaled total and the sum of the scaled parts.
    """
    for key in ("total", "public", "professional"):
        if key not in standard or not _is_number(standard[key]):
            raise HoursError(f"年度学时标准缺少或错误：{key}", key)
    if prorate_months is not None and (
        isinstance(prorate_months, bool)
        or not isinstance(prorate_months, int)
        or not 0 <= prorate_months <= 12
    ):
        raise HoursError("实际在岗月数须为 0 到 12 之间的整数", "prorate_months")

    public = _hours_input("public_hours", "公需科目", public_hours)
    professional = _hours_input("professional_hours", "专业科目", professional_hours)
    total = public + professional
    required_public = _scaled(_dec(standard["public"]), prorate_months)
    required_professional = _scaled(_dec(standard["professional"]), prorate_months)
    required_total = max(_scaled(_dec(standard["total"]), prorate_months),
                         required_public + required_professional)
    passed = (public >= required_public and professional >= required_professional
              and total >= required_total)

    notes = []
    if prorate_months is not None:
        notes.append(
            f"按实际在岗 {prorate_months} 个月折算（向上取整）：公需科目 "
            f"{_fmt(required_public)} 学时，专业科目 {_fmt(required_professional)} 学时"
        )
    if public < required_public:
        notes.append(f"公需科目差 {_fmt(required_public - public)} 学时")
    if professional < required_professional:
        notes.append(f"专业科目差 {_fmt(required_professional - professional)} 学时")
    if passed:
        notes.append("公需科目和专业科目均已达到年度学时要求")

    return Completion(
        public=public,
        professional=professional,
        total=total,
        required_public=required_public,
        required_professional=required_professional,
        required_total=required_total,
        passed=passed,
        result_label="通过" if passed else "未通过",
        prorated=prorate_months is not None,
        note="；".join(notes),
    )
