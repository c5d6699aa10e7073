"""Tests of backoffice.hours against the FAQ 「继续教育学时折算标准」 and 「各年度学时要求」."""

import copy
import json
from decimal import Decimal

import pytest

from backoffice.hours import (
    DEFAULT_RULES,
    DEFAULT_STANDARDS,
    FORM_FIELDS,
    FORM_NAMES,
    TITLE_LEVELS,
    Completion,
    HoursError,
    HoursResult,
    completion,
    compute_hours,
    standard_for,
    title_group_of,
    validate_rule,
    validate_standards,
)

# ------------------------------------------------------------------ plain data


def test_form_codes_and_names():
    assert FORM_NAMES == {
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
    assert set(DEFAULT_RULES) == set(FORM_NAMES) == set(FORM_FIELDS)


def test_rules_are_plain_json_data():
    assert json.loads(json.dumps(DEFAULT_RULES)) == DEFAULT_RULES
    assert json.loads(json.dumps(FORM_FIELDS)) == FORM_FIELDS
    assert json.loads(json.dumps(DEFAULT_STANDARDS)) == DEFAULT_STANDARDS


@pytest.mark.parametrize("form_code", sorted(FORM_NAMES))
def test_default_rules_validate(form_code):
    validate_rule(form_code, DEFAULT_RULES[form_code])


@pytest.mark.parametrize("form_code", sorted(FORM_NAMES))
def test_field_specs_are_well_formed(form_code):
    for spec in FORM_FIELDS[form_code]:
        assert set(spec) >= {"name", "label", "type", "required"}
        assert spec["type"] in {"int", "decimal", "choice", "bool", "date"}
        assert isinstance(spec["required"], bool)
        if spec["type"] == "choice":
            assert all(len(choice) == 2 for choice in spec["choices"])
        else:
            assert "choices" not in spec


@pytest.mark.parametrize(
    ("form_code", "names"),
    [
        ("training_class", ["hours"]),
        ("study_program", ["hours"]),
        ("degree", ["courses"]),
        ("course_study", ["months"]),
        ("conference", ["level", "days", "paper"]),
        ("research", ["level", "role", "rank"]),
        ("book", ["ten_thousand_chars", "rank"]),
        ("paper", ["journal", "rank", "supplement"]),
        ("patent", ["kind", "rank"]),
        ("award", ["level", "rank"]),
        ("exam", ["level"]),
        ("report", []),
        ("aid", ["months"]),
        ("grassroots", ["days"]),
        ("other", ["hours"]),
    ],
)
def test_field_names(form_code, names):
    assert [spec["name"] for spec in FORM_FIELDS[form_code]] == names


# ------------------------------------------------------- every figure of the FAQ


@pytest.mark.parametrize(
    ("level", "role", "rank", "hours"),
    [
        ("national", "main", 1, 68),
        ("national", "main", 2, 60),
        ("national", "main", 3, 52),
        ("national", "main", 4, 44),
        ("national", "main", 5, 36),
        ("national", "sub", 1, 52),
        ("national", "sub", 2, 44),
        ("national", "sub", 3, 36),
        ("provincial", "main", 1, 60),
        ("provincial", "main", 2, 52),
        ("provincial", "main", 3, 44),
        ("provincial", "sub", 1, 44),
        ("provincial", "sub", 2, 36),
        ("provincial", "sub", 3, 28),
    ],
)
def test_research(level, role, rank, hours):
    result = compute_hours("research", {"level": level, "role": role, "rank": rank})
    assert result.hours == Decimal(hours)
    assert f"第 {rank} 名，每年 {hours} 学时" in result.reason


@pytest.mark.parametrize(
    ("level", "role", "rank", "message"),
    [
        ("national", "main", 6, "国家级主课题（项目）组仅按职责排序前五名可计学时"),
        ("national", "sub", 4, "国家级子课题（项目）组仅按职责排序前三名可计学时"),
        ("provincial", "main", 4, "省级主课题（项目）组仅按职责排序前三名可计学时"),
        ("provincial", "sub", 4, "省级子课题（项目）组仅按职责排序前三名可计学时"),
    ],
)
def test_research_rank_beyond_table(level, role, rank, message):
    with pytest.raises(HoursError) as info:
        compute_hours("research", {"level": level, "role": role, "rank": rank})
    assert str(info.value) == message
    assert info.value.field == "rank"


@pytest.mark.parametrize(
    ("journal", "rank", "hours"),
    [
        ("national", 1, 52),
        ("national", 2, 44),
        ("national", 3, 36),
        ("provincial_core", 1, 44),
        ("provincial_core", 2, 36),
        ("provincial_core", 3, 28),
        ("issn_cn", 1, 36),
        ("issn_cn", 2, 28),
        ("issn_cn", 3, 20),
    ],
)
def test_paper(journal, rank, hours):
    result = compute_hours("paper", {"journal": journal, "rank": str(rank)})
    assert result.hours == Decimal(hours)
    assert result.reason.endswith(f"论文第 {rank} 作者，每篇 {hours} 学时")


def test_paper_fourth_author_and_supplement():
    with pytest.raises(HoursError) as info:
        compute_hours("paper", {"journal": "national", "rank": 4})
    assert str(info.value) == "论文仅署名前三名的作者可计学时"
    assert info.value.field == "rank"
    with pytest.raises(HoursError) as info:
        compute_hours("paper", {"journal": "national", "rank": 1, "supplement": "on"})
    assert str(info.value) == "在增刊、副刊上发表的论文不计学时"
    assert info.value.field == "supplement"
    unticked = compute_hours("paper", {"journal": "national", "rank": 1, "supplement": ""})
    assert unticked.hours == 52


@pytest.mark.parametrize(
    ("chars", "rank", "hours", "reason"),
    [
        (1, 1, 16, "著作译作第 1 作者 1 万字 × 16 学时 = 16 学时"),
        (1, 2, 12, "著作译作第 2 作者 1 万字 × 12 学时 = 12 学时"),
        (1, 3, 8, "著作译作第 3 作者 1 万字 × 8 学时 = 8 学时"),
        (10, 1, 160, "著作译作第 1 作者 10 万字 × 16 学时 = 160 学时"),
        ("12.5", 2, 150, "著作译作第 2 作者 12.5 万字 × 12 学时 = 150 学时"),
        ("2.5", 3, 20, "著作译作第 3 作者 2.5 万字 × 8 学时 = 20 学时"),
        ("0.3", 1, Decimal("4.8"), "著作译作第 1 作者 0.3 万字 × 16 学时 = 4.8 学时"),
    ],
)
def test_book(chars, rank, hours, reason):
    result = compute_hours("book", {"ten_thousand_chars": chars, "rank": rank})
    assert result.hours == Decimal(hours)
    assert result.reason == reason


def test_book_fourth_author():
    with pytest.raises(HoursError) as info:
        compute_hours("book", {"ten_thousand_chars": 5, "rank": 4})
    assert str(info.value) == "著作译作仅署名前三名的作者可计学时"
    assert info.value.field == "rank"


@pytest.mark.parametrize(
    ("kind", "hours"), [("invention", 68), ("utility_model", 60), ("design", 60)]
)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_patent(kind, rank, hours):
    assert compute_hours("patent", {"kind": kind, "rank": rank}).hours == Decimal(hours)


def test_patent_fourth_patentee():
    with pytest.raises(HoursError) as info:
        compute_hours("patent", {"kind": "invention", "rank": 4})
    assert str(info.value) == "专利仅前三位专利权人可计学时"
    assert info.value.field == "rank"


@pytest.mark.parametrize(("level", "hours"), [("national", 68), ("provincial", 60)])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_award(level, rank, hours):
    assert compute_hours("award", {"level": level, "rank": rank}).hours == Decimal(hours)


def test_award_fourth_winner():
    with pytest.raises(HoursError) as info:
        compute_hours("award", {"level": "national", "rank": 4})
    assert str(info.value) == "奖项仅署名前三名的获奖者可计学时"
    assert info.value.field == "rank"


@pytest.mark.parametrize(
    ("level", "hours"),
    [("senior", 68), ("intermediate", 60), ("junior", 52), ("practising", 68)],
)
def test_exam(level, hours):
    result = compute_hours("exam", {"level": level})
    assert result.hours == Decimal(hours)
    assert result.reason.endswith(f"计 {hours} 学时")


@pytest.mark.parametrize(
    ("fields", "hours", "reason"),
    [
        ({"level": "provincial", "days": 3, "paper": True}, 16,
         "省级学术会议 3 天 × 4 学时 + 宣读论文 4 学时 = 16 学时"),
        ({"level": "provincial", "days": "3"}, 12, "省级学术会议 3 天 × 4 学时 = 12 学时"),
        ({"level": "provincial", "days": 1, "paper": "false"}, 4,
         "省级学术会议 1 天 × 4 学时 = 4 学时"),
        ({"level": "national", "days": 2, "paper": "on"}, 18,
         "国家级学术会议 2 天 × 6 学时 + 宣读论文 6 学时 = 18 学时"),
        ({"level": "national", "days": 2, "paper": False}, 12,
         "国家级学术会议 2 天 × 6 学时 = 12 学时"),
        ({"level": "national", "days": 1, "paper": "1"}, 12,
         "国家级学术会议 1 天 × 6 学时 + 宣读论文 6 学时 = 12 学时"),
    ],
)
def test_conference(fields, hours, reason):
    result = compute_hours("conference", fields)
    assert result == HoursResult(Decimal(hours), reason)


@pytest.mark.parametrize(("courses", "hours"), [(1, 15), (2, 30), ("4", 60)])
def test_degree(courses, hours):
    result = compute_hours("degree", {"courses": courses})
    assert result.hours == Decimal(hours)
    assert result.reason == f"考试合格 {courses} 门 × 15 学时 = {hours} 学时"


@pytest.mark.parametrize(("months", "hours"), [(1, 10), (3, 30), (5, 50)])
def test_course_study_under_six_months(months, hours):
    result = compute_hours("course_study", {"months": months}, professional_required=60)
    assert result.hours == Decimal(hours)
    assert result.professional_hours is None
    assert result.reason == f"课程进修 {months} 个月 × 10 学时 = {hours} 学时"


@pytest.mark.parametrize(("months", "required"), [(6, 60), (8, 66), (12, 52)])
def test_course_study_six_months_or_more_is_the_full_professional_year(months, required):
    result = compute_hours("course_study", {"months": months}, professional_required=required)
    assert result.hours == Decimal(required)
    assert result.professional_hours == Decimal(required)
    assert result.public_hours is None
    assert f"计完成年度全部专业科目学时 {required} 学时" in result.reason


def test_course_study_full_year_needs_the_professional_figure():
    with pytest.raises(HoursError) as info:
        compute_hours("course_study", {"months": 6})
    assert info.value.field == "professional_required"
    assert "专业科目学时要求" in str(info.value)


@pytest.mark.parametrize(("days", "hours"), [(1, 6), (5, 30), (20, 120), (366, 2196)])
def test_grassroots(days, hours):
    result = compute_hours("grassroots", {"days": days})
    assert result.hours == Decimal(hours)
    assert result.reason == f"服务基层 {days} 天 × 6 学时 = {hours} 学时"


def test_report():
    result = compute_hours("report", {})
    assert result.hours == Decimal(20)
    assert "20 学时" in result.reason


@pytest.mark.parametrize(("public", "professional"), [(30, 60), (24, 66), (22, 52)])
def test_aid_gives_the_years_full_hours(public, professional):
    result = compute_hours(
        "aid", {"months": 12}, public_required=public, professional_required=professional
    )
    assert result.hours == Decimal(public + professional)
    assert result.public_hours == Decimal(public)
    assert result.professional_hours == Decimal(professional)
    assert f"= {public + professional} 学时" in result.reason


def test_aid_needs_a_full_year_and_the_required_figures():
    with pytest.raises(HoursError) as info:
        compute_hours("aid", {"months": 11}, public_required=30, professional_required=60)
    assert info.value.field == "months"
    assert "满 12 个月" in str(info.value)
    with pytest.raises(HoursError) as info:
        compute_hours("aid", {"months": 12}, professional_required=60)
    assert info.value.field == "public_required"
    with pytest.raises(HoursError) as info:
        compute_hours("aid", {"months": 12}, public_required=30, professional_required=-1)
    assert info.value.field == "professional_required"


@pytest.mark.parametrize("form_code", ["training_class", "study_program", "other"])
@pytest.mark.parametrize(("value", "hours"), [(8, 8), ("24", 24), ("12.5", "12.5"), (3.5, "3.5")])
def test_hours_set_by_the_approving_body(form_code, value, hours):
    result = compute_hours(form_code, {"hours": value})
    assert result.hours == Decimal(hours)
    assert result.reason.startswith(f"{FORM_NAMES[form_code]}学时由")
    assert result.reason.endswith(f"：{hours} 学时")


def test_fractional_hours_are_exact_decimals():
    assert compute_hours("book", {"ten_thousand_chars": 0.1, "rank": 1}).hours == Decimal("1.6")
    assert compute_hours("training_class", {"hours": "10.0"}).hours == Decimal(10)
    assert str(compute_hours("book", {"ten_thousand_chars": "12.5", "rank": 1}).hours) == "200"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("form_code", "fields", "field", "message"),
    [
        ("conference", {"level": "provincial"}, "days", "请填写「实际天数」"),
        ("conference", {"level": "provincial", "days": "  "}, "days", "请填写「实际天数」"),
        ("conference", {"days": 3}, "level", "请填写「会议级别」"),
        ("conference", {"level": "provincial", "days": "三"}, "days", "「实际天数」须为整数"),
        ("conference", {"level": "provincial", "days": "2.5"}, "days", "「实际天数」须为整数"),
        ("conference", {"level": "provincial", "days": 2.5}, "days", "「实际天数」须为整数"),
        ("conference", {"level": "provincial", "days": -1}, "days", "「实际天数」须大于 0"),
        ("conference", {"level": "provincial", "days": 0}, "days", "「实际天数」须大于 0"),
        ("conference", {"level": "provincial", "days": 367}, "days", "「实际天数」不能超过 366"),
        ("conference", {"level": "provincial", "days": True}, "days", "「实际天数」须为数字"),
        ("conference", {"level": "city", "days": 1}, "level", "「会议级别」取值无效：city"),
        ("conference", {"level": "national", "days": 1, "paper": "maybe"}, "paper",
         "「宣读、报告论文」须为是或否"),
        ("grassroots", {"days": 400}, "days", "「服务天数」不能超过 366"),
        ("course_study", {"months": 0}, "months", "「进修月数（考核合格）」须大于 0"),
        ("course_study", {"months": -2}, "months", "「进修月数（考核合格）」须大于 0"),
        ("course_study", {"months": 13}, "months", "「进修月数（考核合格）」不能超过 12"),
        ("degree", {}, "courses", "请填写「考试合格课程门数」"),
        ("degree", {"courses": 31}, "courses", "「考试合格课程门数」不能超过 30"),
        ("book", {"ten_thousand_chars": "abc", "rank": 1}, "ten_thousand_chars",
         "「字数（万字）」须为数字"),
        ("book", {"ten_thousand_chars": "NaN", "rank": 1}, "ten_thousand_chars",
         "「字数（万字）」须为数字"),
        ("book", {"ten_thousand_chars": "1.25", "rank": 1}, "ten_thousand_chars",
         "「字数（万字）」最多保留一位小数"),
        ("book", {"ten_thousand_chars": 0, "rank": 1}, "ten_thousand_chars",
         "「字数（万字）」须大于 0"),
        ("book", {"ten_thousand_chars": 501, "rank": 1}, "ten_thousand_chars",
         "「字数（万字）」不能超过 500"),
        ("book", {"ten_thousand_chars": 5, "rank": 0}, "rank", "「署名排序（第几名）」须大于 0"),
        ("training_class", {"hours": "-8"}, "hours",
         "「学时（由基地审批部门按实际学习时间确定）」须大于 0"),
        ("other", {"hours": 1001}, "hours",
         "「学时（由人力资源社会保障行政部门或省业务主管部门确认）」不能超过 1000"),
        ("other", {"hours": [1]}, "hours",
         "「学时（由人力资源社会保障行政部门或省业务主管部门确认）」须为数字"),
        ("patent", {"kind": "copyright", "rank": 1}, "kind", "「专利类别」取值无效：copyright"),
        ("patent", {"kind": "invention"}, "rank", "请填写「专利权人排序（第几名）」"),
        ("award", {"level": "city", "rank": 1}, "level", "「奖项级别」取值无效：city"),
        ("exam", {}, "level", "请填写「考试类别」"),
        ("exam", {"level": "expert"}, "level", "「考试类别」取值无效：expert"),
        ("research", {"level": "national", "role": "lead", "rank": 1}, "role",
         "「所在课题组」取值无效：lead"),
        ("paper", {"journal": "newspaper", "rank": 1}, "journal", "「刊物类别」取值无效：newspaper"),
        ("aid", {"months": 121}, "months", "「工作月数」不能超过 120"),
    ],
)
def test_bad_input(form_code, fields, field, message):
    with pytest.raises(HoursError) as info:
        compute_hours(form_code, fields, public_required=30, professional_required=60)
    assert str(info.value) == message
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_unknown_form():
    with pytest.raises(HoursError) as info:
        compute_hours("holiday", {"days": 3})
    assert str(info.value) == "未知的学习形式：holiday"
    assert info.value.field == "form"


def test_fields_must_be_a_mapping():
    with pytest.raises(HoursError, match="申报信息格式错误"):
        compute_hours("degree", [("courses", 2)])


# ------------------------------------------------------------ edited rules


def _edited(form_code):
    return copy.deepcopy(DEFAULT_RULES[form_code])


def test_edited_rule_changes_the_result():
    rule = _edited("conference")
    rule["levels"]["provincial"] = {"per_day": 5, "paper": 3}
    result = compute_hours("conference", {"level": "provincial", "days": 3, "paper": True}, rule)
    assert result.hours == Decimal(18)
    assert result.reason == "省级学术会议 3 天 × 5 学时 + 宣读论文 3 学时 = 18 学时"
    # the default is untouched
    assert compute_hours("conference", {"level": "provincial", "days": 3}).hours == 12


@pytest.mark.parametrize(
    ("form_code", "edit", "fields", "hours"),
    [
        ("degree", lambda r: r.update(hours_per_course=20), {"courses": 2}, 40),
        ("course_study", lambda r: r.update(hours_per_month=12), {"months": 5}, 60),
        ("course_study", lambda r: r.update(full_from_months=7), {"months": 6}, 60),
        ("grassroots", lambda r: r.update(per_day=6.5), {"days": 2}, 13),
        ("report", lambda r: r.update(hours=24), {}, 24),
        ("exam", lambda r: r["levels"].update(junior=48), {"level": "junior"}, 48),
        ("patent", lambda r: r["kinds"].update(design=56), {"kind": "design", "rank": 1}, 56),
        ("award", lambda r: r.update(max_rank=5), {"level": "national", "rank": 5}, 68),
        ("research", lambda r: r["levels"]["provincial"]["sub"].append(20),
         {"level": "provincial", "role": "sub", "rank": 4}, 20),
        ("paper", lambda r: r["journals"].update(issn_cn=[30, 24, 18]),
         {"journal": "issn_cn", "rank": 3}, 18),
        ("book", lambda r: r.update(per_ten_thousand=[20, 15]),
         {"ten_thousand_chars": 2, "rank": 2}, 30),
    ],
)
def test_every_figure_is_read_from_the_rule(form_code, edit, fields, hours):
    rule = _edited(form_code)
    edit(rule)
    assert compute_hours(form_code, fields, rule, professional_required=99).hours == hours


def test_edited_rule_limits_apply():
    rule = _edited("book")
    rule["per_ten_thousand"] = [16, 12]
    with pytest.raises(HoursError) as info:
        compute_hours("book", {"ten_thousand_chars": 1, "rank": 3}, rule)
    assert str(info.value) == "著作译作仅署名前二名的作者可计学时"
    rule = _edited("grassroots")
    rule["max_days"] = 30
    with pytest.raises(HoursError, match="不能超过 30"):
        compute_hours("grassroots", {"days": 31}, rule)


def test_choice_missing_from_an_edited_rule():
    rule = _edited("exam")
    del rule["levels"]["practising"]
    with pytest.raises(HoursError) as info:
        compute_hours("exam", {"level": "practising"}, rule)
    assert str(info.value) == "现行折算标准未规定「全国执业资格或职业水平考试」的学时"
    assert info.value.field == "level"


@pytest.mark.parametrize(
    ("form_code", "edit", "field", "message"),
    [
        ("degree", lambda r: r.pop("hours_per_course"), "hours_per_course",
         "规则缺少项「hours_per_course」"),
        ("degree", lambda r: r.update(hours_per_cours=15), "hours_per_cours",
         "规则含未知的项「hours_per_cours」"),
        ("degree", lambda r: r.update(hours_per_course=-15), "hours_per_course",
         "规则项「hours_per_course」不能为负数"),
        ("degree", lambda r: r.update(hours_per_course="15"), "hours_per_course",
         "规则项「hours_per_course」须为数字"),
        ("degree", lambda r: r.update(hours_per_course=True), "hours_per_course",
         "规则项「hours_per_course」须为数字"),
        ("degree", lambda r: r.update(max_courses=0), "max_courses",
         "规则项「max_courses」须为正整数"),
        ("conference", lambda r: r["levels"]["national"].update(per_day=float("nan")),
         "levels.national.per_day", "规则项「levels.national.per_day」须为数字"),
        ("conference", lambda r: r["levels"]["national"].pop("paper"),
         "levels.national.paper", "规则缺少项「levels.national.paper」"),
        ("conference", lambda r: r["levels"].update(city={"per_day": 2, "paper": 2}),
         "levels.city",
         "规则项「levels」含未知取值「city」，可用取值：national、provincial"),
        ("conference", lambda r: r.update(levels={}), "levels",
         "规则项「levels」须为非空对象（键值表）"),
        ("research", lambda r: r["levels"]["national"].update(main=[]),
         "levels.national.main", "规则项「levels.national.main」须为按名次排列的学时列表（至少一项）"),
        ("research", lambda r: r["levels"]["national"]["sub"].__setitem__(1, -44),
         "levels.national.sub[1]", "规则项「levels.national.sub[1]」不能为负数"),
        ("paper", lambda r: r["journals"].update(national="52/44/36"), "journals.national",
         "规则项「journals.national」须为按名次排列的学时列表（至少一项）"),
        ("patent", lambda r: r.update(max_rank=2.5), "max_rank", "规则项「max_rank」须为正整数"),
        ("award", lambda r: r["levels"].update(national=None), "levels.national",
         "规则项「levels.national」须为数字"),
        ("aid", lambda r: r.update(min_months=13, max_months=12), "min_months",
         "规则项「min_months」不能大于「max_months」"),
        ("other", lambda r: r.update(max_hours=0), "max_hours", "规则项「max_hours」须大于 0"),
    ],
)
def test_validate_rule_errors(form_code, edit, field, message):
    rule = _edited(form_code)
    edit(rule)
    with pytest.raises(HoursError) as info:
        validate_rule(form_code, rule)
    assert str(info.value) == message
    assert info.value.field == field
    # compute_hours refuses a malformed rule the same way
    with pytest.raises(HoursError, match="规则"):
        compute_hours(form_code, {}, rule)


def test_validate_rule_rejects_a_non_dict_and_unknown_form():
    with pytest.raises(HoursError, match="须为对象"):
        validate_rule("report", [20])
    with pytest.raises(HoursError, match="未知的学习形式"):
        validate_rule("holiday", {})


# ------------------------------------------------------------------ standards


@pytest.mark.parametrize(
    ("year", "title_level", "is_zhengzhou", "figures"),
    [
        (2013, "junior", True, (74, 22, 52)),
        (2014, "junior", False, (74, 22, 52)),
        (2015, "junior", False, (74, 22, 52)),
        (2013, "intermediate", False, (86, 26, 60)),
        (2014, "associate_senior", True, (86, 26, 60)),
        (2015, "senior", False, (86, 26, 60)),
        (2014, None, False, (74, 22, 52)),
        (2016, "junior", True, (90, 30, 60)),
        (2017, "senior", True, (90, 30, 60)),
        (2016, "junior", False, (90, 24, 66)),
        (2017, "intermediate", False, (90, 24, 66)),
        (2016, None, False, (90, 24, 66)),
        (2018, "junior", False, (90, 30, 60)),
        (2018, "senior", True, (90, 30, 60)),
        (2025, "junior", False, (90, 30, 60)),
        (2025, "associate_senior", True, (90, 30, 60)),
        (2025, None, False, (90, 30, 60)),
    ],
)
def test_standard_for(year, title_level, is_zhengzhou, figures):
    row = standard_for(DEFAULT_STANDARDS, year, title_level, is_zhengzhou)
    assert (row["total"], row["public"], row["professional"]) == figures


def test_default_standards_table():
    validate_standards(DEFAULT_STANDARDS)
    rows = [
        (r["year_from"], r["year_to"], r["title_group"], r["region_group"],
         r["total"], r["public"], r["professional"])
        for r in DEFAULT_STANDARDS
    ]
    assert rows == [
        (2013, 2015, "junior", "all", 74, 22, 52),
        (2013, 2015, "mid_senior", "all", 86, 26, 60),
        (2016, 2017, "all", "zhengzhou", 90, 30, 60),
        (2016, 2017, "all", "other", 90, 24, 66),
        (2018, None, "all", "all", 90, 30, 60),
    ]


def test_no_standard_applies():
    with pytest.raises(HoursError) as info:
        standard_for(DEFAULT_STANDARDS, 2012, "junior", False)
    assert str(info.value).startswith("无适用的年度学时标准")


def test_disabled_rows_are_ignored():
    rows = copy.deepcopy(DEFAULT_STANDARDS)
    rows[4]["enabled"] = False
    rows.append({"id": 9, "enabled": True, "year_from": 2024, "year_to": None,
                 "title_group": "all", "region_group": "all",
                 "total": 100, "public": 40, "professional": 60})
    validate_standards(rows)
    assert standard_for(rows, 2025, "senior", True)["id"] == 9
    with pytest.raises(HoursError, match="无适用的年度学时标准"):
        standard_for(rows, 2020, "senior", True)


def test_standard_for_bad_arguments():
    with pytest.raises(HoursError) as info:
        standard_for(DEFAULT_STANDARDS, 2020, "professor", False)
    assert info.value.field == "title_level"
    with pytest.raises(HoursError) as info:
        standard_for(DEFAULT_STANDARDS, "2020", "junior", False)
    assert info.value.field == "year"


@pytest.mark.parametrize(
    ("level", "group"),
    [("junior", "junior"), ("intermediate", "mid_senior"),
     ("associate_senior", "mid_senior"), ("senior", "mid_senior"),
     (None, "junior"), ("", "junior")],
)
def test_title_group_of(level, group):
    assert title_group_of(level) == group


def test_title_levels():
    assert TITLE_LEVELS == {
        "junior": "初级",
        "intermediate": "中级",
        "associate_senior": "副高级",
        "senior": "正高级",
    }


def _row(**overrides):
    row = {"year_from": 2030, "year_to": 2031, "title_group": "all", "region_group": "all",
           "total": 90, "public": 30, "professional": 60}
    row.update(overrides)
    return row


@pytest.mark.parametrize(
    ("rows", "field", "fragment"),
    [
        ([_row(total=0, public=0, professional=0)], "total", "总学时须大于 0"),
        ([_row(public=-30, professional=120)], "public", "公需科目学时须大于 0"),
        ([_row(professional=0, public=90)], "professional", "专业科目学时须大于 0"),
        ([_row(public="30")], "public", "公需科目学时须为数字"),
        ([_row(public=24)], "total",
         "公需科目学时 24 + 专业科目学时 60 须等于总学时 90"),
        ([_row(year_from=2032)], "year_from", "起始年度不能晚于截止年度"),
        ([_row(year_from="2030")], "year_from", "起始年度须为整数"),
        ([_row(year_to=2031.5)], "year_to", "截止年度须为整数或留空"),
        ([_row(title_group="senior")], "title_group", "未知的职称分组「senior」"),
        ([_row(region_group="luoyang")], "region_group", "未知的地区分组「luoyang」"),
        ([{"year_from": 2030, "title_group": "all"}], "year_to", "缺少「year_to」"),
        ([_row(), _row(year_from=2031, year_to=None)], "year_from", "年度重叠"),
        ([_row(title_group="junior", id=1), _row(title_group="junior", id=2, year_from=2031)],
         "year_from", "标准 #1（2030–2031 年，初级，不分地区）与标准 #2"),
        ([_row(), _row(title_group="junior")], "year_from",
         "通用（不分职称或不分地区）标准不能与特定标准覆盖同一年度"),
        ([_row(region_group="zhengzhou"), _row(title_group="mid_senior")], "year_from",
         "通用（不分职称或不分地区）标准不能与特定标准覆盖同一年度"),
        (DEFAULT_STANDARDS + [_row(year_from=2017, year_to=2017, region_group="other")],
         "year_from", "第 4 条标准（2016–2017 年，不分职称，郑州以外地区）与第 6 条标准"),
        (DEFAULT_STANDARDS + [_row(year_from=2040, year_to=None)], "year_from", "年度重叠"),
    ],
)
def test_validate_standards_errors(rows, field, fragment):
    with pytest.raises(HoursError) as info:
        validate_standards(rows)
    assert fragment in str(info.value)
    assert info.value.field == field


def test_validate_standards_accepts_disjoint_and_disabled_rows():
    validate_standards([
        _row(title_group="junior", region_group="zhengzhou"),
        _row(title_group="junior", region_group="other"),
        _row(title_group="mid_senior", region_group="all"),
        _row(year_from=2032, year_to=None),
        _row(enabled=False),  # would overlap, but it is switched off
    ])
    rows = [_row(), _row(enabled=False, public=0)]
    with pytest.raises(HoursError, match="公需科目学时须大于 0"):
        validate_standards(rows)  # disabled rows must still be well formed


# ------------------------------------------------------------------ completion

STD_2025 = {"year_from": 2018, "year_to": None, "title_group": "all", "region_group": "all",
            "total": 90, "public": 30, "professional": 60}
STD_JUNIOR_2014 = DEFAULT_STANDARDS[0]


@pytest.mark.parametrize(
    ("standard", "public", "professional", "passed"),
    [
        (STD_2025, 30, 60, True),
        (STD_2025, "30.0", Decimal(60), True),
        (STD_2025, 31, 59, False),
        (STD_2025, 29, 200, False),
        (STD_2025, 100, 59, False),
        (STD_2025, Decimal("29.5"), 60, False),
        (STD_2025, 0, 0, False),
        (STD_JUNIOR_2014, 22, 52, True),
        (STD_JUNIOR_2014, 21, 80, False),
        (DEFAULT_STANDARDS[3], 24, 66, True),
        (DEFAULT_STANDARDS[3], 30, 60, False),
        (DEFAULT_STANDARDS[2], 30, 60, True),
    ],
)
def test_completion_boundaries(standard, public, professional, passed):
    result = completion(standard, public, professional)
    assert result.passed is passed
    assert result.result_label == ("通过" if passed else "未通过")
    assert result.prorated is False
    assert result.required_public == standard["public"]
    assert result.required_professional == standard["professional"]
    assert result.required_total == standard["total"]
    assert result.total == Decimal(str(public)) + Decimal(str(professional))


def test_completion_note_names_the_shortfall():
    result = completion(STD_2025, 29, 200)
    assert isinstance(result, Completion)
    assert result.note == "公需科目差 1 学时"
    assert result.total == Decimal(229)
    assert completion(STD_2025, 10, 50).note == "公需科目差 20 学时；专业科目差 10 学时"


@pytest.mark.parametrize(
    ("standard", "months", "required"),
    [
        (STD_2025, 12, (30, 60, 90)),
        (STD_2025, 6, (15, 30, 45)),
        (STD_2025, 7, (18, 35, 53)),  # 17.5 → 18, 35, 52.5 → 53
        (STD_2025, 1, (3, 5, 8)),  # 2.5 → 3, 5, 7.5 → 8
        (STD_2025, 0, (0, 0, 0)),
        (STD_JUNIOR_2014, 5, (10, 22, 32)),  # 9.17 → 10, 21.67 → 22; 30.83 → 31 < 32
        (DEFAULT_STANDARDS[3], 9, (18, 50, 68)),  # 18, 49.5 → 50, 67.5 → 68
    ],
)
def test_prorated_requirements_round_up(standard, months, required):
    result = completion(standard, 0, 0, prorate_months=months)
    assert (result.required_public, result.required_professional,
            result.required_total) == tuple(Decimal(n) for n in required)
    assert result.prorated is True
    assert f"按实际在岗 {months} 个月折算" in result.note


def test_prorated_pass_and_fail_at_the_boundary():
    assert completion(STD_2025, 18, 35, prorate_months=7).passed is True
    assert completion(STD_2025, Decimal("17.5"), 100, prorate_months=7).passed is False
    assert completion(STD_2025, 18, 34, prorate_months=7).passed is False
    assert completion(STD_2025, 0, 0, prorate_months=0).passed is True
    assert completion(STD_2025, 29, 60, prorate_months=12).passed is False


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"public_hours": -1, "professional_hours": 60}, "public_hours"),
        ({"public_hours": 30, "professional_hours": "lots"}, "professional_hours"),
        ({"public_hours": None, "professional_hours": 60}, "public_hours"),
        ({"public_hours": 30, "professional_hours": 60, "prorate_months": 13}, "prorate_months"),
        ({"public_hours": 30, "professional_hours": 60, "prorate_months": -1}, "prorate_months"),
        ({"public_hours": 30, "professional_hours": 60, "prorate_months": 6.5}, "prorate_months"),
    ],
)
def test_completion_bad_input(kwargs, field):
    with pytest.raises(HoursError) as info:
        completion(STD_2025, **kwargs)
    assert info.value.field == field


def test_completion_bad_standard():
    with pytest.raises(HoursError) as info:
        completion({"total": 90, "public": 30}, 30, 60)
    assert info.value.field == "professional"


def test_results_are_frozen():
    result = compute_hours("report", {})
    with pytest.raises(AttributeError):
        result.hours = Decimal(99)
    state = completion(STD_2025, 30, 60)
    with pytest.raises(AttributeError):
        state.passed = False
