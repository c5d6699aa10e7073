"""How numbers read on every page, export, PDF and e-mail: 学时 as a clerk writes them.

Whole hours print as integers ("30", not "30.0"); a fraction keeps its digits ("17.5").
"""

from decimal import Decimal, InvalidOperation


def hours_text(value, blank=""):
    """30 / 30.0 / Decimal("30.00") → "30"; 17.50 → "17.5"; None → ``blank``."""
    if value is None or value == "":
        return blank
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if d == d.to_integral_value():
        return format(d.quantize(Decimal(1)), "f")
    return format(d.normalize(), "f")


def hours_number(value):
    """A number for spreadsheets: Decimal("30.0") → 30, Decimal("17.50") → 17.5."""
    if value is None or value == "":
        return None
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)


def hours_grouped(value, blank="0"):
    """Totals of 学时 with thousands separators, whole ones without decimals: 12,345 / 17.5."""
    if value is None or value == "":
        return blank
    n = hours_number(value)
    return f"{n:,}" if isinstance(n, int) else f"{n:,.1f}".rstrip("0").rstrip(".")


def init_app(app):
    """The ``hours`` filter: ``{{ d.claimed_hours|hours }}``, ``{{ x|hours('—') }}``."""
    app.jinja_env.filters["hours"] = hours_text
    app.jinja_env.filters["hours_grouped"] = hours_grouped
    from . import audit_text

    audit_text.init_app(app)  # audit_action / audit_change / learning_fields


class HoursInput:
    """Mixin for a DecimalField of 学时: its input shows "24", not "24.0"."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return hours_text(self.data)


# Flask-Admin words whose stock Chinese reads like a machine ("选中的", "20 项目"): the
# catalogue Flask-Admin merges last cannot be overridden, so the list pages get these.
CLERK_WORDS = {
    "With selected": "批量操作",
    "items": "条/页",
}


def clerk_gettext(text, **variables):
    from flask_admin.babel import gettext

    if text in CLERK_WORDS:
        return CLERK_WORDS[text] % variables if variables else CLERK_WORDS[text]
    return gettext(text, **variables)


def clerk_ngettext(singular, plural, num, **variables):
    from flask_admin.babel import ngettext

    if singular.endswith(" item") and singular[:-5].isdigit():
        return f"每页 {singular[:-5]} 条"  # the page-size menu: "20 items"
    return ngettext(singular, plural, num, **variables)
