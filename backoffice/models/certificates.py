"""Tables of the certificates area."""

from ..extensions import db  # noqa: F401
from .core import GLOBAL, now  # noqa: F401

__all__ = []
