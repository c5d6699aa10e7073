"""Audit entries: written in the same transaction as the change they describe."""

import json

from flask_login import current_user
from sqlalchemy import insert

from .extensions import db
from .models import AuditLog, now


def _dump(value):
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def actor_ids(actor=None):
    """(membership_id, account_id, org_id) of the acting membership, if any."""
    if actor is None:
        try:
            actor = current_user._get_current_object() if current_user.is_authenticated else None
        except (RuntimeError, AttributeError):
            actor = None
    if actor is None:
        return None, None, None
    return actor.id, actor.account_id, actor.org_id


def record(action, object_type, object_id, before=None, after=None, comment=None, actor=None):
    """Add one audit row to the current session (committed with the change)."""
    membership_id, account_id, org_id = actor_ids(actor)
    entry = AuditLog(
        at=now(),
        actor_membership_id=membership_id,
        actor_account_id=account_id,
        actor_org_id=org_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_dump(before),
        after=_dump(after),
        comment=comment,
    )
    db.session.add(entry)
    return entry


def record_many(action, object_type, ids_select, before=None, after=None, comment=None, actor=None):
    """One audit row per id of ``ids_select`` with a single INSERT … SELECT."""
    from sqlalchemy import literal

    membership_id, account_id, org_id = actor_ids(actor)
    cols = ids_select.selected_columns
    select_stmt = ids_select.with_only_columns(
        literal(now()),
        literal(membership_id),
        literal(account_id),
        literal(org_id),
        literal(action),
        literal(object_type),
        cols[0],
        literal(_dump(before)),
        literal(_dump(after)),
        literal(comment),
    )
    db.session.execute(
        insert(AuditLog).from_select(
            [
                "at",
                "actor_membership_id",
                "actor_account_id",
                "actor_org_id",
                "action",
                "object_type",
                "object_id",
                "before",
                "after",
                "comment",
            ],
            select_stmt,
        )
    )


def record_rows(action, object_type, items, comment=None, actor=None):
    """One audit row per ``(object_id, before, after)`` of ``items``, written with one
    multi-row INSERT (set-based moves of thousands of records)."""
    items = list(items)
    if not items:
        return
    membership_id, account_id, org_id = actor_ids(actor)
    at = now()
    db.session.execute(insert(AuditLog.__table__), [
        {"at": at, "actor_membership_id": membership_id, "actor_account_id": account_id, "actor_org_id": org_id,
         "action": action, "object_type": object_type, "object_id": object_id, "before": _dump(before),
         "after": _dump(after), "comment": comment}
        for object_id, before, after in items
    ])
