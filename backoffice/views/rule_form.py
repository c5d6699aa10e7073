"""学时折算标准 as a form: one labelled input per figure of a learning form's rule.

A rule is a small nested dict (``hours.DEFAULT_RULES``): numbers, maps keyed by the
form's choice values (会议级别, 刊物类别…) and rank tables (lists: first name, second
name…). The sysadmin sees one input per figure, labelled in Chinese — a rank table is
one input of comma-separated figures — and the posted inputs are put back into the same
shape, then checked by ``hours.validate_rule`` as before. A whole rule posted as JSON
text under the field's own name is still read (scripts, the old form).
"""

import json
import re
from decimal import Decimal, InvalidOperation

from markupsafe import Markup
from wtforms import fields as wtf
from wtforms.utils import unset_value

from .. import hours

RULE_KEYS = {
    "max_hours": "单条最多学时", "hours_per_course": "每门课程学时", "max_courses": "最多课程门数",
    "hours_per_month": "每月学时", "full_from_months": "满多少个月计全年专业学时", "max_months": "最多月数",
    "levels": "按级别", "per_day": "每天学时", "paper": "宣读、报告论文另加学时", "max_days": "最多天数",
    "per_ten_thousand": "每万字学时", "max_ten_thousand_chars": "最多万字数",
    "journals": "按刊物类别", "kinds": "按类别", "max_rank": "计学时的最多名次",
    "hours": "学时", "min_months": "至少工作月数",
}
SEP = "__"  # input names: rule__levels__national__per_day
_SPLIT = re.compile(r"[\s,，、;；]+")


def _choice_label(code, value):
    for spec in hours.FORM_FIELDS.get(code, []):
        for choice_value, label in spec.get("choices") or []:
            if choice_value == value:
                return label
    return None


def leaves(code, rule, path=()):
    """[(path, value)] of every figure (a number or a rank table) of ``rule``."""
    out = []
    if isinstance(rule, dict):
        for key, value in rule.items():
            out.extend(leaves(code, value, (*path, key)))
    else:
        out.append((path, rule))
    return out


def label_of(code, path):
    words = []
    for key in path:
        if key in ("levels", "journals", "kinds"):
            continue
        words.append(_choice_label(code, key) or RULE_KEYS.get(key, key))
    return " · ".join(words)


def _number(text, label):
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"「{label}」须为数字") from None
    if not number.is_finite():
        raise ValueError(f"「{label}」须为数字")
    return int(number) if number == number.to_integral_value() else float(number)


def _parse(text, was_list, label):
    text = (text or "").strip()
    if was_list:
        parts = [p for p in _SPLIT.split(text) if p]
        if not parts:
            raise ValueError(f"请填写「{label}」（依次为第一名、第二名……的学时，用逗号分隔）")
        return [_number(p, label) for p in parts]
    if not text:
        raise ValueError(f"请填写「{label}」")
    return _number(text, label)


def _put(rule, path, value):
    node = rule
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _text(value):
    if isinstance(value, list):
        return "，".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


class RuleWidget:
    def __call__(self, field, **kwargs):
        code = field.code
        shape = field.shape()
        if not shape:
            return Markup('<p class="text-muted">该学习形式没有可设置的折算项目。</p>')
        rows = []
        posted = field.posted or {}
        for path, value in shape:
            name = field.input_name(path)
            label = label_of(code, path)
            shown = posted.get(name, _text(value))
            hint = "依次为第一名、第二名……的学时，用逗号分隔" if isinstance(value, list) else "学时" if path[-1] in (
                "per_day", "paper", "hours", "hours_per_course", "hours_per_month", "max_hours") else ""
            rows.append(Markup(
                '<div class="form-group row rule-item">'
                '<label class="col-md-4 col-form-label" for="{name}">{label}</label>'
                '<div class="col-md-5"><input class="form-control" id="{name}" name="{name}" value="{value}"'
                ' inputmode="{mode}"></div>'
                '<div class="col-md-3"><small class="form-text text-muted">{hint}</small></div></div>'
            ).format(name=name, label=label, value=shown, hint=hint,
                     mode="text" if isinstance(value, list) else "decimal"))
        return Markup('<div class="rule-form" id="rule-form">') + Markup("").join(rows) + Markup("</div>")


class RuleField(wtf.Field):
    """The rule of one learning form; ``code`` is set by the view before rendering."""

    widget = RuleWidget()
    code = None

    def input_name(self, path):
        return SEP.join((self.name, *path))

    def shape(self):
        """The figures to show: the current rule's, or the default rule's when it is unusable."""
        current = self.data if isinstance(self.data, dict) else None
        return leaves(self.code, current if current else hours.DEFAULT_RULES.get(self.code, {}))

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.posted = None
        super().process(formdata, data, extra_filters)
        if formdata:
            prefix = self.name + SEP
            items = {k: v for k, v in formdata.items() if k.startswith(prefix)}
            if items:
                self.posted = items
                self.raw_data = ["labelled"]

    def set_code(self, code):
        """Name the learning form, then read the labelled inputs (if posted) into a rule."""
        self.code = code
        if not self.posted:
            return
        prefix = self.name + SEP
        base = dict(self.shape())
        rule = {}
        try:
            for name, text in self.posted.items():
                path = tuple(name[len(prefix):].split(SEP))
                if path in base:
                    _put(rule, path, _parse(text, isinstance(base[path], list), label_of(code, path)))
        except ValueError as exc:
            self.data = None
            self.process_errors.append(str(exc))
            return
        self.data = rule

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0] or ""
        if not text.strip():
            self.data = None
            return
        try:
            self.data = json.loads(text)
        except ValueError as exc:
            self.data = None
            raise ValueError(f"折算标准不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）：请检查括号、引号和逗号") from None

    def _value(self):
        return ""
