"""The admin home page: what waits for the signed-in role (pending counts)."""

from flask import redirect, url_for
from flask_admin import AdminIndexView
from flask_login import current_user

# Providers of home-page items: fn(membership, scope) -> iterable of dicts
# {"key", "label", "count", "url"}. Each area module registers its own.
WAITING_PROVIDERS = []


def waiting_item(fn):
    """Decorator: register a provider of home-page items."""
    WAITING_PROVIDERS.append(fn)
    return fn


class HomeView(AdminIndexView):
    def is_accessible(self):
        return current_user.is_authenticated and current_user.status == "active"

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login"))

    def waiting_items(self):
        from ..permissions import current_scope

        scope = current_scope()
        items = {}
        for provider in WAITING_PROVIDERS:
            for item in provider(current_user, scope) or ():
                items[item["key"]] = item  # a later (more specific) provider wins
        return list(items.values())


def _url(endpoint, **values):
    from flask import current_app

    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


@waiting_item
def _basic_items(membership, scope):
    """Counts every role has: records waiting at my organisation, registrations to review."""
    from datetime import date

    from sqlalchemy import func, select

    from ..extensions import db
    from ..models import Declaration, Membership

    def count(stmt):
        return db.session.scalar(stmt) or 0

    year = date.today().year
    if membership.role == "person":
        person_id = scope.person_id
        mine = select(func.count()).select_from(Declaration).where(Declaration.person_id == person_id)
        return [
            {"key": "my_drafts", "label": "待提交的学时申报", "count": count(mine.where(Declaration.status == "draft")),
             "url": None},
            {"key": "my_pending", "label": "审核中的学时申报", "count": count(mine.where(Declaration.status == "pending")),
             "url": None},
            {"key": "my_approved", "label": f"{year} 年已通过的申报", "count": count(
                mine.where(Declaration.status == "approved", Declaration.year == year)), "url": None},
        ]
    if membership.role == "sysadmin":
        pending = select(func.count()).select_from(Membership).where(Membership.status == "pending")
        return [{"key": "pending_registrations", "label": "待审核的注册账号", "count": count(pending),
                 "url": _url("memberships.index_view")}]
    if membership.role == "institution_admin":
        return []  # institutions declare; they review nothing
    queue = select(func.count()).select_from(Declaration).where(
        Declaration.current_org_id == membership.org_id, Declaration.status == "pending")
    items = [{"key": "review_queue", "label": "待我审核的学时记录", "count": count(queue),
              "url": _url("records.index_view")}]
    if membership.role == "unit_admin":
        persons = select(func.count()).select_from(Membership).where(
            Membership.org_id == membership.org_id, Membership.role == "person", Membership.status == "pending")
        items.append({"key": "pending_persons", "label": "待审核的人员注册", "count": count(persons), "url": None})
    return items
