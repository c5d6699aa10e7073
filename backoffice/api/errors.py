"""Errors of /api/v1: always JSON ``{"code", "message" (Chinese), "field"}``."""

from flask import jsonify

# marshmallow's and webargs' English messages, in the caller's language.
MESSAGES = {
    "Missing data for required field.": "缺少必填字段",
    "Unknown field.": "不支持的字段或参数",
    "Field may not be null.": "不能为空",
    "Not a valid integer.": "须为整数",
    "Not a valid number.": "须为数字",
    "Not a valid string.": "须为字符串",
    "Not a valid boolean.": "须为 true 或 false",
    "Not a valid date.": "日期格式须为 YYYY-MM-DD",
    "Not a valid datetime.": "时间格式须为 ISO 8601，如 2026-05-01T09:30:00+08:00",
    "Not a valid list.": "须为数组",
    "Invalid input type.": "须为 JSON 对象",
    "Invalid JSON body.": "请求体不是合法的 JSON",
    "Special numeric values (nan or infinity) are not permitted.": "须为有限的数字",
}


class ApiError(Exception):
    def __init__(self, status, code, message, field=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers


def error_response(status, code, message, field=None, headers=None):
    response = jsonify({"code": code, "message": message, "field": field})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _first(messages, path=()):
    """(dotted field, first message) of marshmallow's nested error dict."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                return _first(value, path)
            return _first(value, (*path, str(key)))
    if isinstance(messages, (list, tuple)) and messages:
        if all(isinstance(m, str) for m in messages):
            return ".".join(path) or None, messages[0]
        return _first(messages[0], path)
    return ".".join(path) or None, str(messages)


def _chinese(field, text):
    if text in MESSAGES:
        return MESSAGES[text]
    if text.startswith("Must be one of"):
        return "取值不在允许范围内"
    if text.startswith(("Must be greater", "Must be less", "Must be at least", "Must be at most")):
        return "取值超出允许范围"
    if text.startswith(("Length must be", "Shorter than", "Longer than")):
        return "长度不符合要求"
    if text.startswith("String does not match"):
        return "格式不正确"
    return "取值无效"


def validation_error(messages):
    """ApiError from webargs' ``{location: {field: [message]}}``."""
    if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in ("json", "query", "view_args"):
        messages = next(iter(messages.values()))
    field, text = _first(messages)
    label = f"字段 {field}：" if field else ""
    if text == "Invalid JSON body.":
        return ApiError(400, "invalid_json", MESSAGES[text])
    if field in (None, "_schema") and text == "Invalid input type.":
        return ApiError(422, "invalid", "请求体须为 JSON 对象")
    return ApiError(422, "invalid", label + _chinese(field, text), field)
