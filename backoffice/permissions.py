"""The permission layer: who may see and change which rows.

``Scope`` is built from the signed-in membership and is the only source of row
filters. Each role has one declared rule (``RULES``); a model declares which of its
columns carry its ancestors (``__scope__``). ``ScopedModelView`` is the base of every
Flask-Admin model view and routes every way to a row through ``Scope``: list, count,
details, edit, delete, inline edit, export, actions, ajax look-ups and foreign-key
choices. A model without ``__scope__`` cannot be put behind it.
"""

from datetime import date, datetime
from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model import typefmt
from flask_admin.model.helpers import get_mdict_item_or_list
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, false, func, inspect, or_, select, true
from wtforms.validators import ValidationError

from .extensions import db
from .formatting import clerk_gettext, clerk_ngettext, hours_number, hours_text
from .models import GLOBAL, Org
from .views._export import ExportMixin

OUT_OF_SCOPE = "不能将记录移出您的管理范围"


class ScopeError(RuntimeError):
    """A model or view was wired without a scope declaration."""


# --------------------------------------------------------------------------- rules
def _column(model, spec, key):
    name = spec.get(key)
    return getattr(model, name) if name else None


def _owned_by_scope_orgs(scope, model, spec):
    """Rows owned by an organisation (``spec['org']``, one column or several): in scope
    when (one of) their organisations is."""
    columns = spec["org"] if isinstance(spec["org"], (tuple, list)) else (spec["org"],)
    orgs = select(Org.id).where(scope.org_clause())
    return or_(*(getattr(model, name).in_(orgs) for name in columns))


def _match(model, spec, key, value):
    """``model.<key column> == value``, or nothing when the model has no such column."""
    column = _column(model, spec, key)
    if column is None or value is None:
        return false()
    return column == value


def _rule_sysadmin(scope, model, spec):
    return true()


def _rule_hrss(scope, model, spec):
    kind = scope.org.kind
    if kind == "province_hrss":
        return true()
    if "org" in spec:
        return _owned_by_scope_orgs(scope, model, spec)
    return _match(model, spec, "city" if kind == "city_hrss" else "county", scope.org.id)


def _rule_industry(scope, model, spec):
    if "org" in spec:
        return _owned_by_scope_orgs(scope, model, spec)
    return _match(model, spec, "competent_dept", scope.org.id)


def _rule_unit(scope, model, spec):
    if "org" in spec:
        return _owned_by_scope_orgs(scope, model, spec)
    return _match(model, spec, "unit", scope.org.id)


def _rule_institution(scope, model, spec):
    if "org" in spec:
        return _owned_by_scope_orgs(scope, model, spec)
    return _match(model, spec, "institution", scope.org.id)


def _rule_person(scope, model, spec):
    if "org" in spec:
        return false()
    return _match(model, spec, "person", scope.person_id)


# One rule per role (SPEC §4). Adding a role means adding a rule here.
RULES = {
    "sysadmin": _rule_sysadmin,
    "hrss_admin": _rule_hrss,
    "industry_admin": _rule_industry,
    "unit_admin": _rule_unit,
    "institution_admin": _rule_institution,
    "person": _rule_person,
}


class Scope:
    """What the signed-in membership may reach."""

    def __init__(self, membership):
        self.membership = membership
        self.role = membership.role if membership is not None else None
        self.org = membership.org if membership is not None else None
        person = getattr(membership, "person", None) if membership is not None else None
        self.person_id = person.id if person is not None else None

    # -- the tree itself
    def org_clause(self):
        """Org rows in scope: HRSS by materialised path, others by their ancestor ids."""
        from .tree import subtree_clause

        if self.role is None:
            return false()
        if self.role == "sysadmin":
            return true()
        if self.role == "hrss_admin":
            if self.org.kind == "province_hrss":
                return true()
            return subtree_clause(self.org.parent_path)
        if self.role == "industry_admin":
            return (Org.competent_dept_id == self.org.id) | (Org.id == self.org.id)
        if self.role == "unit_admin":
            return Org.unit_id == self.org.id
        if self.role == "institution_admin":
            return Org.id == self.org.id
        return false()

    def clause(self, model):
        """The WHERE clause that keeps ``model`` rows inside this scope."""
        spec = getattr(model, "__scope__", None)
        if spec is None:
            raise ScopeError(f"{model.__name__} declares no __scope__")
        if self.role is None:
            return false()
        if spec == GLOBAL:
            return true()
        if model is Org:
            return self.org_clause()
        if "via" in spec:
            # Rows reached only through a parent row: in scope when the parent is.
            column, parent_name = spec["via"]
            parent = db.Model.registry._class_registry[parent_name]
            parent_pk = inspect(parent).primary_key[0]
            return getattr(model, column).in_(select(parent_pk).where(self.clause(parent)))
        if "accounts" in spec:
            return self._account_clause(model, spec["accounts"])
        rule = RULES.get(self.role)
        if rule is None:
            return false()
        return rule(self, model, spec)

    def _account_clause(self, model, column_name):
        """Accounts holding a membership in scope (and, for a person, their own)."""
        from .models import Membership

        column = getattr(model, column_name)
        if self.role == "sysadmin":
            return true()
        if self.role == "person":
            return column == self.membership.account_id
        return column.in_(select(Membership.account_id).where(self.clause(Membership)))

    def query(self, model):
        """The one entry to rows of ``model`` (legacy Query API, used by Flask-Admin)."""
        return db.session.query(model).filter(self.clause(model))

    def select(self, model):
        return select(model).where(self.clause(model))

    def get(self, model, id_):
        """One row by primary key inside the scope, or None."""
        pk = inspect(model).primary_key[0]
        try:
            id_ = pk.type.python_type(id_)
        except (TypeError, ValueError):
            return None
        if isinstance(id_, int) and not -(2**63) <= id_ < 2**63:
            return None  # no such row; databases refuse integers this large
        return self.query(model).filter(pk == id_).one_or_none()

    def get_or_404(self, model, id_):
        row = self.get(model, id_)
        if row is None:
            abort(404)
        return row

    def contains(self, row):
        """Is this (possibly changed, flushed) row inside the scope?"""
        model = type(row)
        pk = inspect(model).primary_key[0]
        stmt = select(func.count()).select_from(model).where(
            and_(pk == getattr(row, pk.key), self.clause(model))
        )
        return db.session.execute(stmt).scalar() > 0


def current_scope():
    """The scope of the signed-in user (an empty scope when anonymous)."""
    if current_user and current_user.is_authenticated:
        return Scope(current_user._get_current_object())
    return Scope(None)


def role_allowed(roles, hrss_kinds=None):
    """Does the signed-in membership have one of ``roles`` (and HRSS kind)?"""
    if not current_user.is_authenticated or current_user.status != "active":
        return False
    if current_user.role not in roles:
        return False
    if current_user.role == "hrss_admin" and hrss_kinds is not None:
        return current_user.org.kind in hrss_kinds
    return True


# --------------------------------------------------------------------------- views
class ScopedAjaxLoader(QueryAjaxModelLoader):
    """An ajax loader whose look-ups and resolutions go through the scope."""

    narrow = None  # set by the view: its field_choice_query for this field

    def get_query(self):
        query = current_scope().query(self.model)
        return self.narrow(query) if self.narrow is not None else query

    def get_one(self, pk):
        with db.session.no_autoflush:
            pk_col = inspect(self.model).primary_key[0]
            try:
                pk = pk_col.type.python_type(pk)
            except (TypeError, ValueError):
                return None
            return self.get_query().filter(pk_col == pk).one_or_none()


MAX_PAGE = 1_000_000
NOT_A_CHOICE = "所选项不存在或不在您的管理范围内"


def _refuse_unresolved_ajax_value(field):
    """An ajax field whose posted id the scoped loader cannot resolve is an error,
    not a silent blank (stock Flask-Admin would store None)."""
    original = field.pre_validate

    def pre_validate(form):
        raw = field.raw_data[0] if field.raw_data else None
        if raw not in (None, "", "__None") and field.data is None:
            raise ValidationError(NOT_A_CHOICE)
        original(form)

    field.pre_validate = pre_validate


class RoleMixin:
    """Access by role; a forced password change comes before anything else."""

    roles = ()  # roles that may open the view
    hrss_kinds = None  # e.g. ("province_hrss",) for province-only views

    def is_accessible(self):
        return (
            role_allowed(self.roles, self.hrss_kinds)
            and not current_user.account.must_change_password
            and self.menu_allowed()
        )

    def menu_allowed(self):
        """角色管理: an ordinary admin with a menu list may use only those endpoints."""
        menus = current_user.menus
        return menus is None or current_user.is_super or self.endpoint in menus

    def is_visible(self):
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        if current_user.account.must_change_password:
            return redirect(url_for("auth.change_password"))
        abort(403)


class ScopedBaseView(RoleMixin, BaseView):
    """A custom (non-model) admin page with role access."""


class ScopedModelView(ExportMixin, RoleMixin, ModelView):
    """Base of every model view: every path to a row goes through ``Scope``; every list
    exports .xlsx and CSV of what it shows (``ExportMixin``)."""

    # Flask-WTF forms: the CSRF token that CSRFProtect checks on every POST.
    form_base_class = FlaskForm
    can_view_details = True
    can_set_page_size = True
    page_size = 20
    list_template = "admin/scoped_list.html"
    column_type_formatters = {
        **typefmt.BASE_FORMATTERS,
        datetime: lambda view, value, name=None: value.strftime("%Y-%m-%d %H:%M"),
        date: lambda view, value, name=None: value.strftime("%Y-%m-%d"),
        bool: lambda view, value, name=None: "是" if value else "否",
        Decimal: lambda view, value, name=None: hours_text(value),  # 30.0 → 30 (学时, scores)
    }
    column_type_formatters_detail = column_type_formatters
    column_type_formatters_export = {
        **typefmt.EXPORT_FORMATTERS,
        # Exports keep 学时 as numbers a spreadsheet can add up, whole ones as integers.
        Decimal: lambda view, value, name=None: hours_number(value),
    }
    # Exact counts cost seconds on millions of rows; above the cap the page says so.
    count_cap = None

    def __init__(self, model, session=None, **kwargs):
        if getattr(model, "__scope__", None) is None:
            raise ScopeError(f"{model.__name__} declares no __scope__; it cannot be exposed")
        super().__init__(model, db, **kwargs)

    def scaffold_filters(self, name):
        """A column with fixed choices is filtered by 等于 / 不等于 only (no 包含 / 在列表中)."""
        found = super().scaffold_filters(name)
        if found and isinstance(name, str) and name in (self.column_choices or {}):
            found = [f for f in found if isinstance(f, (sqla_filters.FilterEqual, sqla_filters.FilterNotEqual))]
        return found

    def render(self, template, **kwargs):
        # Page-size and bulk menus in a clerk's words (see formatting.CLERK_WORDS).
        self._template_args.update(_gettext=clerk_gettext, _ngettext=clerk_ngettext)
        return super().render(template, **kwargs)

    # Always the current db.session (never a session captured at start-up).
    @property
    def session(self):
        return db.session

    @session.setter
    def session(self, value):
        pass

    # -- the one query
    @property
    def scope(self):
        return current_scope()

    def get_query(self):
        return self.scope.query(self.model)

    def get_count_query(self):
        return (
            db.session.query(func.count("*"))
            .select_from(self.model)
            .filter(self.scope.clause(self.model))
        )

    def get_one(self, id):
        row = self.scope.get(self.model, id)
        if row is None:
            abort(404)
        return row

    # -- capped counts for province-wide lists
    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        if page is not None:
            page = max(0, min(page, MAX_PAGE))  # a crafted ?page= must not overflow OFFSET
        if self.count_cap and request.args.get("exact") != "1":
            self.simple_list_pager = True
            count, rows = super().get_list(
                page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size
            )
            self.simple_list_pager = False
            self._capped_count = self._capped(search, filters)
            return count, rows
        self._capped_count = None
        return super().get_list(page, sort_column, sort_desc, search, filters, execute, page_size)

    def _capped(self, search, filters):
        query, _, _ = self._filtered_query(search, filters)
        sub = query.with_entities(inspect(self.model).primary_key[0]).limit(self.count_cap + 1).subquery()
        n = db.session.query(func.count()).select_from(sub).scalar()
        return (n, n > self.count_cap)

    def _filtered_query(self, search, filters):
        query = self.get_query()
        joins, count_joins = {}, {}
        if self._search_supported and search:
            query, _, joins, count_joins = self._apply_search(query, None, joins, count_joins, search)
        if filters and self._filters:
            query, _, joins, count_joins = self._apply_filters(query, None, joins, count_joins, filters)
        return query, joins, count_joins

    # -- actions: ids are re-queried through the scope before any handler sees them
    def init_actions(self):
        super().init_actions()
        for name, (handler, text, desc) in list(self._actions_data.items()):
            self._actions_data[name] = (self._scoped_handler(handler), text, desc)

    def _scoped_handler(self, handler):
        def scoped(ids):
            return handler(self.scoped_ids(ids))

        scoped.__name__ = getattr(handler, "__name__", "action")
        return scoped

    def scoped_ids(self, ids):
        pk = inspect(self.model).primary_key[0]
        wanted = []
        for value in ids:
            try:
                value = pk.type.python_type(value)
            except (TypeError, ValueError):
                continue
            if not isinstance(value, int) or -(2**63) <= value < 2**63:
                wanted.append(value)
        if not wanted:
            return []
        rows = self.get_query().filter(pk.in_(wanted)).with_entities(pk).all()
        return [str(r[0]) for r in rows]

    # -- ajax look-ups and foreign-key choices
    def _create_ajax_loader(self, name, options):
        attr = getattr(self.model, name, None)
        remote = attr.property.mapper.class_ if attr is not None else None
        if remote is None:
            raise ScopeError(f"ajax ref {name} is not a relationship")
        loader = ScopedAjaxLoader(name, self.session, remote, **options)
        loader.narrow = lambda query, name=name: self.field_choice_query(name, query)
        return loader

    def _scope_form_choices(self, form):
        scope = self.scope
        for field in form:
            if hasattr(field, "loader"):
                _refuse_unresolved_ajax_value(field)
                continue
            query_factory = getattr(field, "query_factory", None)
            if query_factory is None:
                continue
            remote = self._remote_model_of(field.name)
            if remote is None:
                continue
            base = self.field_choice_query(field.name, scope.query(remote))
            if hasattr(remote, "enabled"):
                # Disabled base data leaves choice lists; the value a row holds stays.
                keep, held = remote.enabled.is_(True), getattr(field, "object_data", None)
                pk = inspect(remote).primary_key[0]
                if held is not None and not isinstance(held, (list, tuple, set)):
                    keep = keep | (pk == getattr(held, pk.key, None))
                base = base.filter(keep)
            field.query_factory = lambda base=base: base
            field.query = None
        return form

    def field_choice_query(self, name, query):
        """Hook: narrow the (already scoped) choices of a foreign-key field further."""
        return query

    def _remote_model_of(self, name):
        attr = getattr(self.model, name, None)
        prop = getattr(attr, "property", None)
        mapper = getattr(prop, "mapper", None)
        return mapper.class_ if mapper is not None else None

    def create_form(self, obj=None):
        return self._scope_form_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._scope_form_choices(super().edit_form(obj))

    def list_form(self, obj=None):
        return self._scope_form_choices(super().list_form(obj))

    # -- writes: a row must still be inside the scope after the change
    def after_model_validate(self, model, is_created):
        """Hook for subclasses, called before the scope check."""

    def on_model_change(self, form, model, is_created):
        self.after_model_validate(model, is_created)
        db.session.flush()
        if not self.scope.contains(model):
            raise ValidationError(OUT_OF_SCOPE)

    def handle_view_exception(self, exc):
        if isinstance(exc, ValidationError):
            flash(str(exc), "error")
            return True
        return super().handle_view_exception(exc)

    # -- details/edit for a row the view refuses by state
    def row_id_from_request(self):
        return get_mdict_item_or_list(request.args, "id")
