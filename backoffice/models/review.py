"""Tables of the review area: an index that serves every review queue.

A partial index over pending records only, led by the reviewing organisation and
covering the scope columns, so that a queue page, its capped count and the
other-years hint are answered from the index alone (no table lookups), whatever
the role. Queries must spell ``status = 'pending'`` as a literal for the planner to
pick a partial index (``backoffice.views._queue.PENDING``).
"""

from sqlalchemy import Index, text

from ..extensions import db  # noqa: F401
from .core import GLOBAL, now  # noqa: F401
from .records import Declaration

PENDING_WHERE = text("status = 'pending'")

ix_decl_pending_queue = Index(
    "ix_decl_pending_queue",
    Declaration.current_org_id,
    Declaration.current_level,
    Declaration.year,
    Declaration.created_at,
    Declaration.id,
    Declaration.unit_id,
    Declaration.county_id,
    Declaration.city_id,
    Declaration.competent_dept_id,
    Declaration.declarer_org_id,
    sqlite_where=PENDING_WHERE,
    postgresql_where=PENDING_WHERE,
)

__all__ = []
