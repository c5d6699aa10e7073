"""Public and person-facing pages outside the admin (registration, queries)."""

from flask import Blueprint

bp = Blueprint("portal", __name__)
