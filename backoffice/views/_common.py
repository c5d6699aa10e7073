"""Shared helpers of the admin views: Chinese labels and formatters."""

from flask_admin.tools import rec_getattr
from markupsafe import Markup, escape

from ..models import ACCOUNT_STATUSES, ORG_KINDS, ORG_STATUSES, ROLES, TITLE_LEVELS


def label_formatter(mapping):
    """A column formatter that shows the Chinese label of a coded value."""

    def fmt(view, context, model, name):
        value = rec_getattr(model, name, None)
        return mapping.get(value, value) if value is not None else ""

    fmt.export_map = mapping  # exports map the stored codes without building objects
    return fmt


def badge_formatter(mapping, colours):
    def fmt(view, context, model, name):
        value = getattr(model, name)
        text = mapping.get(value, value) if value is not None else ""
        return Markup('<span class="badge badge-{}">{}</span>').format(colours.get(value, "secondary"), escape(text))

    fmt.export_map = mapping
    return fmt


STATUS_COLOURS = {
    "pending": "warning",
    "approved": "success",
    "active": "success",
    "rejected": "danger",
    "disabled": "secondary",
    "draft": "light",
}

org_kind = label_formatter(ORG_KINDS)
org_status = badge_formatter(ORG_STATUSES, STATUS_COLOURS)
account_status = badge_formatter(ACCOUNT_STATUSES, STATUS_COLOURS)
role_label = label_formatter(ROLES)
title_level = label_formatter(TITLE_LEVELS)


def choices(mapping):
    return list(mapping.items())
