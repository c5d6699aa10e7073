"""One export for every admin list: .xlsx and CSV of exactly what the list shows.

``ExportMixin`` sits on ``ScopedModelView``: the rows come from the view's own scoped
query (``get_query``) with the list's current search, filters and sort, read in batches
(``yield_per``) with the relationships the columns show loaded per batch, formatted with
the list's Chinese labels (HTML stripped) and written by ``backoffice.exports``.

``ListExportMixin`` does the same for the custom list pages (``ScopedBaseView``): the
page names its one list query and its columns, and exports exactly what it lists.

Up to ``EXPORT_JOB_THRESHOLD`` rows (default 20,000) the file is built in the request;
above it the export becomes a background job (``backoffice.export_jobs``) with progress
and a download link — never a silent cap.
"""

from datetime import date

from flask import Response, abort, redirect, request, stream_with_context, url_for
from flask_admin.base import expose
from flask_admin.tools import rec_getattr
from markupsafe import Markup
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import ColumnProperty, Query, RelationshipProperty, aliased, selectinload

from .. import export_jobs, exports
from ..extensions import db

BATCH = 2000
PLAIN = (int, float, str)  # Decimal goes through the export type formatter

# How a many-to-one column shows its row, as SQL (the same text as the model's __str__;
# tests compare the two). Relationships to other models are read through the ORM.
_name = lambda t: t.name  # noqa: E731
_name_id = lambda t: t.name + "（" + t.id_number + "）"  # noqa: E731
SQL_LABELS = {
    "Org": _name, "LearningForm": _name, "Region": _name, "UnitType": _name, "Affiliation": _name,
    "UnitLevel": _name, "Industry": _name, "TitleSeries": _name, "Major": _name, "TrainingPlan": _name,
    "TrainingClass": _name, "Person": _name_id, "Account": _name_id,
}


def _plain(value):
    """A formatter's output as plain text (badges and links lose their HTML)."""
    if isinstance(value, Markup):
        return value.striptags()
    if hasattr(value, "__html__"):
        return Markup(value.__html__()).striptags()
    return value


class ExportMixin:
    """Mixed into ``ScopedModelView``; a view opts out with ``can_export = False``."""

    can_export = True
    export_types = list(exports.EXPORT_TYPES)
    export_options = ()  # extra loader options for columns whose formatters reach further

    # -- what is exported
    def export_headers(self):
        return [str(label) for _, label in self.get_export_columns()]

    def _export_loads(self):
        """selectinload for every relationship an exported column walks through."""
        options = []
        for name, _ in self.get_export_columns():
            if not isinstance(name, str):
                continue
            model, option = self.model, None
            for part in name.split("."):
                attr = getattr(model, part, None)
                prop = getattr(attr, "property", None)
                if not isinstance(prop, RelationshipProperty):
                    break
                option = selectinload(attr) if option is None else option.selectinload(attr)
                model = prop.mapper.class_
            if option is not None:
                options.append(option)
        return options + list(self.export_options)

    def _export_getters(self):
        formatters = dict(self.column_formatters or {})
        formatters.update(self.column_formatters_export or {})
        type_formatters = self.column_type_formatters or {}  # the list's own (dates, 是/否)
        getters = []
        for name, _ in self.get_export_columns():
            fmt = formatters.get(name)
            if fmt is not None:
                getters.append(lambda row, fmt=fmt, name=name: _plain(fmt(self, None, row, name)))
                continue

            def get(row, name=name):
                value = rec_getattr(row, name, None)
                if value is None or isinstance(value, (int, float, str)) or type(value) is date:
                    return value
                type_fmt = type_formatters.get(type(value))
                if type_fmt is not None:
                    return _plain(type_fmt(self, value, name))
                if isinstance(value, (list, tuple, set)):
                    return "，".join(str(v) for v in value)
                return value if not hasattr(value, "__table__") else str(value)

            getters.append(get)
        return getters

    def export_query(self):
        """The list's query: scope, search, filters and sort of the current request."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        query, joins, _ = self._filtered_query(args.search, args.filters)
        query, joins = self._apply_sorting(query, joins, sort[0] if sort else None, args.sort_desc)
        pk = inspect(self.model).primary_key[0]
        return query.order_by(pk).options(*self._export_loads())

    def export_count(self, limit=None):
        """Rows the export will hold (counted only up to ``limit`` + 1 when given)."""
        args = self._get_list_extra_args()
        query, _, _ = self._filtered_query(args.search, args.filters)
        sub = query.with_entities(inspect(self.model).primary_key[0])
        if limit is not None:
            sub = sub.limit(limit + 1)
        return db.session.query(func.count()).select_from(sub.subquery()).scalar()

    def export_rows(self):
        """The exported rows as lists of cell values. Lists whose columns are plain
        columns, many-to-one labels and coded values (label maps) are read as SQL rows
        (no ORM objects: ~5× faster, flat memory); others through the ORM in batches."""
        plan = self._export_plan()
        if plan is not None:
            return self._export_rows_sql(*plan)
        return self._export_rows_orm()

    def _export_rows_orm(self):
        getters = self._export_getters()
        for row in self.export_query().yield_per(BATCH):
            yield [get(row) for get in getters]

    def _export_rows_sql(self, exprs, converters, joins):
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        query, list_joins, _ = self._filtered_query(args.search, args.filters)
        query, _ = self._apply_sorting(query, list_joins, sort[0] if sort else None, args.sort_desc)
        for relationship, alias in joins.values():
            query = query.outerjoin(relationship.of_type(alias))
        pk = inspect(self.model).primary_key[0]
        query = query.order_by(pk).with_entities(*exprs).yield_per(BATCH * 2)
        pairs = list(enumerate(converters))
        for row in query:
            yield [convert(row[i]) for i, convert in pairs]

    def _export_plan(self):
        """(SQL expressions, converters, joins) for the exported columns, or None when
        a column needs the ORM (a formatter without a label map, a property, a
        collection, a relationship without an SQL label)."""
        if self.export_options:
            return None
        formatters = dict(self.column_formatters or {})
        formatters.update(self.column_formatters_export or {})
        type_formatters = self.column_type_formatters or {}
        exprs, converters, joins = [], [], {}
        for name, _ in self.get_export_columns():
            if not isinstance(name, str):
                return None
            fmt = formatters.get(name)
            mapping = getattr(fmt, "export_map", None)
            if fmt is not None and mapping is None:
                return None
            model, entity, path, expr = self.model, self.model, (), None
            parts = name.split(".")
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                prop = getattr(getattr(model, part, None), "property", None)
                if isinstance(prop, RelationshipProperty) and not prop.uselist:
                    path += (part,)
                    target = prop.mapper.class_
                    if path not in joins:
                        joins[path] = (getattr(entity, part), aliased(target))
                    entity, model = joins[path][1], target
                    if last:
                        label = SQL_LABELS.get(target.__name__)
                        if label is None:
                            return None
                        expr = label(entity)
                elif isinstance(prop, ColumnProperty) and last:
                    expr = getattr(entity, part)
                else:
                    return None
            exprs.append(expr)
            converters.append(_converter(mapping, type_formatters, self, name))
        return exprs, converters, joins

    def export_filename(self, export_type):
        return f"{self.endpoint}-{date.today().isoformat()}.{export_type}"

    # -- the endpoint (replaces Flask-Admin's, which loads lazily after the session closed)
    @expose("/export/<export_type>/")
    def export(self, export_type):
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        return serve(self, export_type)


class ListExportMixin:
    """Export of a custom list page (``ScopedBaseView``): .xlsx and CSV of the rows the
    page lists, under its current filters, through the same scoped query.

    The page declares ``list_query(args)`` — the one function its list is read with
    (scope, filters from ``args``, the list's order; a Query or a SELECT) — and
    ``export_columns()``, (Chinese header, cell function of one result row) pairs with
    the page's labels; ``export_loads`` are loader options for what the cells read.
    The page links ``export_url('xlsx')`` / ``export_url('csv')`` (template
    ``admin/_export_links.html``); above the threshold the export becomes a job, which
    re-runs ``list_query`` in the worker under the owner's membership and request args.
    """

    can_export = True
    export_types = list(exports.EXPORT_TYPES)
    export_loads = ()

    def list_query(self, args):
        raise NotImplementedError

    def export_columns(self):
        raise NotImplementedError

    def _export_stmt(self):
        query = self.list_query(request.args)
        return query.statement if isinstance(query, Query) else query

    def export_headers(self):
        return [header for header, _ in self.export_columns()]

    def export_count(self, limit=None):
        stmt = self._export_stmt().order_by(None)
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    def export_rows(self):
        cells = [cell for _, cell in self.export_columns()]
        stmt = self._export_stmt()
        if self.export_loads:
            stmt = stmt.options(*self.export_loads)
        result = db.session.execute(stmt.execution_options(yield_per=BATCH))
        if len(stmt.column_descriptions) == 1:
            result = result.scalars()
        for row in result:
            yield [cell(row) for cell in cells]

    def export_filename(self, export_type):
        return f"{self.endpoint}-{date.today().isoformat()}.{export_type}"

    def export_url(self, export_type):
        """The export of what the page shows now: its query args, without the page number."""
        args = {k: v for k, v in request.args.items() if k != "page"}
        return url_for(".export", export_type=export_type, **args)

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if export_type not in self.export_types:
            abort(404)
        return serve(self, export_type)


def serve(source, export_type):
    """Answer an export request for ``source`` — a view with ``export_count(limit)``,
    ``export_headers()``, ``export_rows()`` and ``export_filename(type)`` that read the
    current request's scope and filters: the file itself up to the threshold, above it
    a job (and a redirect to its progress page)."""
    threshold = export_jobs.threshold()
    if source.export_count(limit=threshold) > threshold:
        job = export_jobs.submit(source, export_type)
        return redirect(url_for("export_jobs.job_view", job_id=job.id))
    filename = source.export_filename(export_type)
    headers = {"Content-Disposition": export_jobs.disposition(filename)}
    if export_type == "csv":
        return Response(
            stream_with_context(exports.iter_csv(source.export_headers(), source.export_rows())),
            mimetype=exports.CSV_MIME, headers=headers,
        )
    spool = export_jobs.spool()
    exports.write_xlsx(spool, source.export_headers(), source.export_rows())
    spool.seek(0)
    return Response(_chunks(spool), mimetype=exports.XLSX_MIME, headers=headers, direct_passthrough=True)


def _converter(mapping, type_formatters, view, name):
    if mapping is not None:
        return lambda value: "" if value is None else mapping.get(value, value)

    def convert(value):
        if value is None or isinstance(value, PLAIN):
            return value
        fmt = type_formatters.get(type(value))
        return _plain(fmt(view, value, name)) if fmt is not None else value

    return convert


def _chunks(fileobj, size=1 << 16):
    try:
        while True:
            block = fileobj.read(size)
            if not block:
                break
            yield block
    finally:
        fileobj.close()


__all__ = ["ExportMixin", "ListExportMixin", "serve"]
