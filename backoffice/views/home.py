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
        items = []
        for provider in WAITING_PROVIDERS:
            items.extend(provider(current_user, scope) or ())
        return items
