"""Server-side sessions: the browser holds only the opaque id (Flask-Session)."""

from ..extensions import db
from .core import GLOBAL

__all__ = ["HttpSession"]


class HttpSession(db.Model):
    """One signed-in or anonymous browser session; ``data`` is msgpack, never sent out.

    The columns are those of Flask-Session's SQLAlchemy store; the table is created by
    migration 0009, never by ``create_all``.
    """

    __tablename__ = "http_session"
    __scope__ = GLOBAL  # never listed; read and written by the session interface only

    id = db.Column(db.Integer, primary_key=True)
    session_id = db.Column(db.String(255), nullable=False, unique=True)
    data = db.Column(db.LargeBinary, nullable=False)
    expiry = db.Column(db.DateTime, nullable=False, index=True)
